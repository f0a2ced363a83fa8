"""The one-time approval: the loopback listener that notices Allow or Deny, and its pages."""
