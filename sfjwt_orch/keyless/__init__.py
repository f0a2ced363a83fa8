"""Keyless CI: a pipeline logs in with its CI provider's identity token (OAuth 2.0 token exchange,
RFC 8693) through an Apex handler generated from one declarative spec (spec.py -> apex.py)."""
