"""sfjwt-orch: Salesforce JWT bearer-flow set-up in one command."""

__version__ = "0.1.0"
