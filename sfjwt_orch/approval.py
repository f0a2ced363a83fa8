"""Getting the user's one-time approval: URLs and their checks.

The authorize URL is the web-server flow's first step. Visiting it as the JWT user and clicking
Allow records an approval for the app; later JWT grants for that user then pass. `redirect_uri`
must exactly match a callback URL on the app, or Salesforce refuses with redirect_uri_mismatch.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from sfjwt_orch.errors import Code, SfjwtError, usage

PRODUCTION = "https://login.salesforce.com"
SANDBOX = "https://test.salesforce.com"
DEFAULT_CALLBACK = "http://localhost:1717/OauthRedirect"  # what the sf docs tell users to register

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._]{18,255}$")


def _is_loopback(host: str) -> bool:
    return host == "localhost" or host == "::1" or host.startswith("127.")


def check_instance_url(url: str) -> str:
    """The login URL sf should use, normalised (no trailing slash); refused when sf would fail."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    fix = "pass https://login.salesforce.com, https://test.salesforce.com (or --sandbox) or your My Domain URL"
    if parts.scheme not in ("https", "http") or not host:
        raise usage(f"--instance-url {url!r} is not a URL", fix)
    if host.endswith(".lightning.force.com"):
        mydomain = host.split(".lightning.force.com")[0]
        raise SfjwtError(
            Code.LIGHTNING_URL,
            f"--instance-url {url} is a Lightning domain; sf refuses those",
            f"use the My Domain login URL instead: https://{mydomain}.my.salesforce.com",
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise usage(f"--instance-url {url} uses http://", f"use https://{parts.netloc}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise usage(f"--instance-url {url} has a path or query", f"use only the origin: {parts.scheme}://{parts.netloc}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise usage(f"--instance-url {url!r} has an invalid port", fix) from None
    return f"{parts.scheme}://{parts.netloc}"


def check_callback_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    fix = f"pass the callback URL registered on the app, e.g. --callback-url {DEFAULT_CALLBACK}"
    if parts.scheme not in ("https", "http") or not host:
        raise usage(f"--callback-url {url!r} is not a URL", fix)
    if parts.scheme == "http" and not _is_loopback(host):
        raise usage(f"--callback-url {url} uses http:// for a non-local host", fix)
    return url.strip()


def check_client_id(client_id: str) -> str:
    if not _CLIENT_ID.fullmatch(client_id.strip()):
        raise usage(
            "--client-id does not look like a consumer key",
            "copy the app's Consumer Key: 18 or more letters and digits, no spaces",
        )
    return client_id.strip()


def check_username(username: str) -> str:
    if not _EMAIL.fullmatch(username.strip()):
        raise usage(
            f"--username {username!r} is not a Salesforce username",
            "Salesforce usernames look like an email address, e.g. ci-bot@acme.com(.sandbox)",
        )
    return username.strip()


def authorize_url(instance_url: str, client_id: str, callback_url: str) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": callback_url})
    return f"{instance_url.rstrip('/')}/services/oauth2/authorize?{query}"
