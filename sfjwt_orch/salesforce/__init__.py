"""Salesforce's values: URLs, usernames and consumer keys checked; app metadata; shared advice."""
