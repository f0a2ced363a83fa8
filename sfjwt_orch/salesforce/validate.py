"""Input checks (URLs, usernames, consumer keys) and the approval URL.

One URL parser for every URL we take in or hand on: `parse` runs the WHATWG URL parser (`ada-url`,
the parser Node itself uses, so the URL we check is the URL sf connects to), refuses what two
parsers could read differently, and returns the parts; the URL handed to sf, the browser and the
profile is rebuilt from them, never the text as typed. Security review, issue 16 item 1: for
`https://evil.example\\@login.salesforce.com` Python's urlsplit saw login.salesforce.com while
Node connected to evil.example and posted signed assertions there.

The authorize URL is the web-server flow's first step. Visiting it as the JWT user and clicking
Allow records an approval for the app; later JWT grants for that user then pass. `redirect_uri`
must exactly match a callback URL on the app, or Salesforce refuses with redirect_uri_mismatch.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from sfjwt_orch.errors import Code, SfjwtError, usage

PRODUCTION = "https://login.salesforce.com"
SANDBOX = "https://test.salesforce.com"
DEFAULT_CALLBACK = "http://localhost:1717/OauthRedirect"  # what the sf docs tell users to register
ALLOW_FLAG = "--allow-non-salesforce-host"

# Salesforce's own domains, where every login host lives (login., test., NAME.my., NAME--SBX.sandbox.my.,
# NAME.scratch.my., NAME.develop.my., Hyperforce and the regional clouds). Source: the list sf itself
# trusts, @salesforce/core 9.4.0 lib/util/sfdcUrl.js `isSalesforceDomain` (citing Salesforce help
# article 000003652, "Allowlist Salesforce domains"), without its chat-only salesforceliveagent.com:
# salesforce.com and force.com (commercial clouds, My Domain, sandboxes); cloudforce.com (older
# instance hosts); salesforce.mil and crmforce.mil (Government Cloud Plus - Defense, whose My Domain
# is NAME.my.salesforce.mil); sfcrmproducts.cn (Salesforce on Alibaba Cloud, NAME.my.sfcrmproducts.cn).
SALESFORCE_DOMAINS = (
    *("salesforce.com", "force.com", "cloudforce.com"),
    *("salesforce.mil", "crmforce.mil", "sfcrmproducts.cn"),
)

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._]{18,255}$")
# What our check keeps from a host ada has normalised (lower case, IDNA to xn--, IPv4 dotted): DNS
# names. WHATWG lets `$`, `'`, `(`, `!` … through in a host; no DNS name has them, and each would
# need quoting in a command we print.
_DNS_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_RAW = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)


def is_loopback_host(host: str) -> bool:
    """localhost or a loopback IP literal (127.0.0.0/8, ::1); never a name that merely starts with 127."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_salesforce_host(host: str) -> bool:
    """A host under one of Salesforce's domains (a dot before it: evilsalesforce.com is not)."""
    return any(host.endswith("." + domain) for domain in SALESFORCE_DOMAINS)


@dataclass(frozen=True)
class Url:
    """A URL as the WHATWG parser read it, from which every URL we hand on is rebuilt."""

    scheme: str  # "https" or "http"
    host: str  # normalised: lower case, xn-- for IDN, 127.0.0.1 for 127.1 and 2130706433, [::1]
    port: str  # "" for the scheme's default (443 and 80 are dropped, as Node does)
    path: str  # "" when the text had nothing after the host, else ada's path and query ("/x?y")

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}" + (f":{self.port}" if self.port else "")

    @property
    def text(self) -> str:
        return self.origin + self.path

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.host)


def _refused(flag: str, why: str, fix: str) -> SfjwtError:
    return SfjwtError(Code.URL_REFUSED, f"{flag} refused: {why}", fix)


def parse(url: str, flag: str, fix: str) -> Url:
    """The one parser: an http(s) URL with a DNS name or IP host, nothing two parsers could read
    differently, no credentials, and http only on loopback (where no one else can listen)."""
    text = url.strip()
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        raise usage(f"{flag} {url!r} is not a URL", fix)
    if "\\" in text:
        # WHATWG reads `\` as `/` in http(s) URLs, other parsers as part of the user name: the
        # host checked would not be the host connected to.
        raise _refused(flag, "it contains a backslash (\\), which programs read in different ways", fix)
    raw = _RAW.fullmatch(text)
    if raw is None or raw["scheme"].lower() not in ("https", "http") or not raw["authority"]:
        raise usage(f"{flag} {url!r} is not a URL", fix)
    if "@" in raw["authority"]:
        raise _refused(
            flag,
            "it carries a user name or password (user:password@host); they would be sent to that host "
            "and shown in logs",
            "remove the user:password@ part: the login is made with the key",
        )
    if "%" in raw["authority"]:
        raise _refused(flag, "its host has %-escapes, which hide what host it names", fix)
    port = re.search(r":(\d*)$", raw["authority"])
    if port and not (port[1].isdigit() and 0 < int(port[1]) < 65536):
        raise usage(f"{flag} {url!r} has an invalid port", "use a port from 1 to 65535, or none")
    return _parsed(text, raw["rest"], flag, fix)


def _parsed(text: str, rest: str, flag: str, fix: str) -> Url:
    from ada_url import HostType, parse_url  # here: ~10 ms to load (after typer), and --help never needs it

    try:
        parts = parse_url(text, attributes=("protocol", "username", "password", "hostname", "port", "pathname",
                                            "search", "hash", "host_type"))  # fmt: skip
    except ValueError:
        raise usage(f"{flag} {text!r} is not a URL", fix) from None
    host = str(parts["hostname"])
    if parts["username"] or parts["password"]:  # the raw check has caught these; a guard all the same
        raise _refused(flag, "it carries a user name or password", "remove the user:password@ part")
    if host.endswith("."):
        raise _refused(flag, f"its host {host} ends with a dot", f"drop the dot: {host.rstrip('.')}")
    if parts["host_type"] == HostType.DEFAULT and not _DNS_NAME.fullmatch(host):
        raise _refused(flag, f"its host {host!r} has characters no DNS name has", fix)
    url = Url(str(parts["protocol"]).rstrip(":"), host, str(parts["port"]), "")
    if parts["hash"]:
        raise usage(f"{flag} {url.origin}… has a #fragment", f"drop the # part: {url.origin}")
    if url.scheme == "http" and not url.loopback:
        raise _refused(flag, f"it uses http:// for {host}, which is not this machine", f"use https://{host}")
    return Url(url.scheme, host, url.port, f"{parts['pathname']}{parts['search']}" if rest else "")


def check_host(url: Url, flag: str, *, allow_any_host: bool = False) -> None:
    """Only Salesforce's hosts, or this machine (the emulator), receive a login's signed assertions,
    unless the user opted in for another host (a proxy in front of Salesforce)."""
    if url.loopback:
        return
    if any(label.startswith("xn--") for label in url.host.split(".")):
        raise _refused(
            flag,
            f"its host {url.host} has non-ASCII letters; Salesforce's hosts have none, and a look-alike "
            "of one would receive your signed logins",
            f"type the login URL again in plain ASCII, e.g. {PRODUCTION}",
        )
    if not allow_any_host and not is_salesforce_host(url.host):
        domains = ", ".join(f"*.{d}" for d in SALESFORCE_DOMAINS)
        raise _refused(
            flag,
            f"{url.host} is not a Salesforce host ({domains}) nor this machine; sf would send it signed logins",
            f"use your org's login URL ({PRODUCTION}, {SANDBOX} or https://NAME.my.salesforce.com), "
            f"or pass {ALLOW_FLAG} if this host really fronts Salesforce",
        )


def check_instance_url(url: str, *, allow_any_host: bool = False) -> str:
    """The login URL sf should use, rebuilt from its parsed parts (origin only, no trailing slash)."""
    fix = f"pass {PRODUCTION}, {SANDBOX} (or --sandbox) or your My Domain URL"
    parsed = parse(url, "--instance-url", fix)
    from sfjwt_orch.salesforce.login_urls import ui_url_error  # here, not at the top: login_urls imports this module

    ui_host = ui_url_error("--instance-url", parsed)  # a pasted Lightning or Setup page: name its My Domain
    if ui_host is not None:
        raise ui_host
    if parsed.path not in ("", "/"):
        raise usage(f"--instance-url {parsed.text} has a path or query", f"use only the origin: {parsed.origin}")
    check_host(parsed, "--instance-url", allow_any_host=allow_any_host)
    return parsed.origin


def reported_url(url: str) -> str:
    """A URL sf reported (instanceUrl, loginUrl), through the same parser and host rules as the
    user's, before it is saved or shown: rebuilt from its parts, or "" (never shown) when refused.
    Salesforce reports its own hosts (the emulator: loopback), whatever host the login went through."""
    try:
        parsed = parse(url, "sf's URL", "")
        check_host(parsed, "sf's URL")
    except SfjwtError:
        return ""
    return parsed.text


def check_callback_url(url: str) -> str:
    """The app's callback URL, rebuilt; any https host (the app's owner chose it), http on loopback only."""
    fix = f"pass the callback URL registered on the app, e.g. --callback-url {DEFAULT_CALLBACK}"
    return parse(url, "--callback-url", fix).text


def check_client_id(client_id: str) -> str:
    if not _CLIENT_ID.fullmatch(client_id.strip()):
        raise usage(
            "--client-id does not look like a consumer key",
            "copy the app's Consumer Key: 18 or more letters and digits, no spaces",
        )
    return client_id.strip()


# The one username grammar (issue 15 item 6): Salesforce usernames are email-shaped, at most 80
# characters (Salesforce help, "Username" field). RFC 5322 `dot-atom@dot-atom` over `atext`, with
# `/` refused too (sf builds its auth file's path from the username, and wrote outside ~/.sfdx).
# Whatever passes is quoted (shlex.quote) in every command we print for pasting: `'`, `$`, ` ` `, `|`
# are legal here.
_ATEXT = r"[A-Za-z0-9!#$%&'*+=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
USERNAME = re.compile(rf"\A{_DOT_ATOM}@{_ATEXT}+(?:\.{_ATEXT}+)+\Z")  # anchored: match() and fullmatch() agree
EMAIL = USERNAME  # the emulator checks its users with the same grammar (EMAIL.match)
USERNAME_MAX = 80
_USERNAME_FIX = "Salesforce usernames look like an email address, e.g. ci-bot@acme.com(.sandbox)"


def check_username(username: str, flag: str = "--username") -> str:
    name = username.strip()
    bad = next((c for c in name if c in "/\\()" or c.isspace() or not c.isprintable()), None)
    why = ""  # repr() below shows a control character escaped, never raw
    if bad is not None:
        why = f": it contains {'a space or control character' if bad.isspace() or not bad.isprintable() else repr(bad)}"
    elif len(name) > USERNAME_MAX:
        why = f": it has {len(name)} characters, and Salesforce allows {USERNAME_MAX}"
    if why or not USERNAME.fullmatch(name):
        raise usage(f"{flag} {name!r} is not a Salesforce username{why}", _USERNAME_FIX)
    return name


def pkce_verifier() -> str:
    """A fresh PKCE code verifier (RFC 7636: 43-128 unreserved characters); nobody keeps it, so a
    code stolen from the callback cannot be exchanged."""
    import secrets  # with hashlib below: only a login that waits for an approval needs them

    return secrets.token_urlsafe(48)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    import hashlib

    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    instance_url: str, client_id: str, callback_url: str, state: str | None = None, code_challenge: str | None = None
) -> str:
    """The one-time approval URL; `state` (echoed back to the callback) lets our listener tell the
    browser's return from this login apart from any other request to that port. `code_challenge`
    (PKCE, S256, RFC 7636) makes the code that comes back useless to a program that took the
    callback's port first: it would need the verifier, which we never keep (the JWT flow never
    exchanges the code)."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": callback_url}
    if state:
        params["state"] = state
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    query = urlencode(params)
    return f"{instance_url.rstrip('/')}/services/oauth2/authorize?{query}"
