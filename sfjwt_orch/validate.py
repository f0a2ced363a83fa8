"""Getting the user's one-time approval: URLs and their checks.

The authorize URL is the web-server flow's first step. Visiting it as the JWT user and clicking
Allow records an approval for the app; later JWT grants for that user then pass. `redirect_uri`
must exactly match a callback URL on the app, or Salesforce refuses with redirect_uri_mismatch.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlencode, urlsplit

from sfjwt_orch.errors import Code, SfjwtError, usage

PRODUCTION = "https://login.salesforce.com"
SANDBOX = "https://test.salesforce.com"
DEFAULT_CALLBACK = "http://localhost:1717/OauthRedirect"  # what the sf docs tell users to register

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._]{18,255}$")


_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")  # DNS names (ASCII: Salesforce hosts are), IPv4


def is_loopback_host(host: str) -> bool:
    """localhost or a loopback IP literal (127.0.0.0/8, ::1); never a name that merely starts with 127."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _valid_host(host: str) -> bool:
    if _HOST.fullmatch(host):
        return True
    try:
        ipaddress.IPv6Address(host)  # urlsplit gives "[::1]" as "::1"
    except ValueError:
        return False
    return True


def _split(url: str, flag: str, fix: str) -> SplitResult:
    """urlsplit, refusing what no URL holds: spaces and control characters (which would also break
    our one-line messages), and a malformed [IPv6] host (urlsplit raises ValueError for it)."""
    text = url.strip()
    if any(c.isspace() or not c.isprintable() for c in text):
        raise usage(f"{flag} {url!r} is not a URL", fix)
    try:
        return urlsplit(text)
    except ValueError:
        raise usage(f"{flag} {url!r} is not a URL", fix) from None


def check_instance_url(url: str) -> str:
    """The login URL sf should use, normalised (no trailing slash); refused when sf would fail."""
    fix = "pass https://login.salesforce.com, https://test.salesforce.com (or --sandbox) or your My Domain URL"
    parts = _split(url, "--instance-url", fix)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or not _valid_host(host):
        raise usage(f"--instance-url {url!r} is not a URL", fix)
    if host.endswith(".lightning.force.com"):
        mydomain = host.split(".lightning.force.com")[0]
        raise SfjwtError(
            Code.LIGHTNING_URL,
            f"--instance-url {url} is a Lightning domain; sf refuses those",
            f"use the My Domain login URL instead: https://{mydomain}.my.salesforce.com",
        )
    if parts.scheme == "http" and not is_loopback_host(host):
        raise usage(f"--instance-url {url} uses http://", f"use https://{parts.netloc}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise usage(
            f"--instance-url {url} has a path or query", f"use only the origin: {parts.scheme}://{parts.netloc}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise usage(f"--instance-url {url!r} has an invalid port", fix) from None
    return f"{parts.scheme}://{parts.netloc}"


def reported_url(url: str) -> str:
    """A URL sf reported (instanceUrl, loginUrl), through the same parser as the user's, before it is
    saved or shown: an http(s) URL with a valid host and no credentials, else "" (never shown)."""
    try:
        parts = _split(url, "sf's URL", "")
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except (SfjwtError, ValueError):
        return ""
    if parts.scheme not in ("https", "http") or not host or not _valid_host(host) or "@" in parts.netloc:
        return ""
    return url.strip()


def check_callback_url(url: str) -> str:
    fix = f"pass the callback URL registered on the app, e.g. --callback-url {DEFAULT_CALLBACK}"
    parts = _split(url, "--callback-url", fix)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise usage(f"--callback-url {url!r} is not a URL", fix)
    if parts.scheme == "http" and not is_loopback_host(host):
        raise usage(f"--callback-url {url} uses http:// for a non-local host", fix)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise usage(f"--callback-url {url!r} has an invalid port", fix) from None
    return url.strip()


def check_client_id(client_id: str) -> str:
    if not _CLIENT_ID.fullmatch(client_id.strip()):
        raise usage(
            "--client-id does not look like a consumer key",
            "copy the app's Consumer Key: 18 or more letters and digits, no spaces",
        )
    return client_id.strip()


def check_username(username: str) -> str:
    if not EMAIL.fullmatch(username.strip()):
        raise usage(
            f"--username {username!r} is not a Salesforce username",
            "Salesforce usernames look like an email address, e.g. ci-bot@acme.com(.sandbox)",
        )
    return username.strip()


def authorize_url(instance_url: str, client_id: str, callback_url: str, state: str | None = None) -> str:
    """The one-time approval URL; `state` (echoed back to the callback) lets our listener tell the
    browser's return from this login apart from any other request to that port."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": callback_url}
    if state:
        params["state"] = state
    query = urlencode(params)
    return f"{instance_url.rstrip('/')}/services/oauth2/authorize?{query}"
