"""Salesforce-shaped identifiers the emulator hands out: record ids, access tokens, consumer keys.

Record ids are 18 characters: a 3-character key prefix naming the object (``0PS`` permission set,
``0Pa`` assignment, ``0Af`` deploy request, ``09S`` retrieve request...), then 15 characters. The
last three of a real id are a case checksum; nothing reads it, so random characters stand in.
"""

from __future__ import annotations

import secrets
import string

# Salesforce access tokens: the 15-character org id, "!", then letters, digits, "." and "_".
# `sf org login access-token` checks the shape: (00D\w{12,15})![.\w]* (plugin-auth).
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "._"
_ID_ALPHABET = string.ascii_letters + string.digits

PERMISSION_SET = "0PS"
PERMISSION_SET_ASSIGNMENT = "0Pa"
DEPLOY_REQUEST = "0Af"
RETRIEVE_REQUEST = "09S"
# The ids of the metadata records an app is made of (ExternalClientApplication, its settings and
# policies, ConnectedApp): prefixes as seen in retrieves, close enough for a test double.
COMPONENT_PREFIXES = {
    "ExternalClientApplication": "0xI",
    "ExtlClntAppGlobalOauthSettings": "0xk",
    "ExtlClntAppOauthSettings": "0xl",
    "ExtlClntAppOauthConfigurablePolicies": "0xm",
    "ExtlClntAppConfigurablePolicies": "0xn",
    "ConnectedApp": "0H4",
    "PermissionSet": PERMISSION_SET,
    "ApexClass": "01p",
    "RemoteSiteSetting": "0rp",
    "OauthTokenExchangeHandler": "0hx",  # [inferred]: no public source gives this type's key prefix
}


def record_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(15))


def access_token(org_id: str) -> str:
    return f"{org_id[:15]}!" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(96))


def consumer_key() -> str:
    """A generated consumer key shaped like Salesforce's: 85 characters starting 3MVG9."""
    return "3MVG9" + "".join(secrets.choice(_ID_ALPHABET + "._") for _ in range(80))
