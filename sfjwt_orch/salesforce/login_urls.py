"""Any URL a person pastes, turned into the login URL to give sf and the JWT audience sf will sign
for it, with the reason (`sfjwt-orch resolve`, and the fixes that name a My Domain).

What sf does with a login URL (@salesforce/core 9.4.0, the one sf 2.150.6 bundles:
lib/org/authInfo.js `authJwt`, lib/util/sfdcUrl.js `getLoginAudienceCombos` and `getJwtAudienceUrl`):
its first attempt posts to the login URL and signs that same URL (with a trailing "/") as `aud`; only
when that fails does it try https://test.salesforce.com and https://login.salesforce.com, then the
login URL with a generic `aud` (or SF_AUDIENCE_URL's). So the My Domain as login URL is also the My
Domain as audience, which is what an External Client App takes since Spring '26: it refuses the
generic hosts as audience ("External client app is not installed in this org"; third-party reports:
n8n-io/n8n issue 28990, simple-salesforce issue 814, forcedotcom/cli issues 3482 and 3325). That is
why sfjwt-orch reaches an org through its My Domain where it knows it, and sets no SF_AUDIENCE_URL:
with a generic login URL that variable only adds later attempts (the first one still signs the
generic host), and with a My Domain login URL it is not needed.

Host forms (Salesforce Help "My Domain URL formats"): production `NAME.my.salesforce.com`, sandbox
`NAME--SBX.sandbox.my.salesforce.com`, scratch `NAME.scratch.my.salesforce.com`, Developer Edition
`NAME.develop.my.salesforce.com`; their Lightning pages `….lightning.force.com` and Setup pages
`….my.salesforce-setup.com` are UI hosts, not login hosts. Pure: text in, Resolved out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sfjwt_orch.errors import Code, SfjwtError, usage
from sfjwt_orch.salesforce import validate

Kind = Literal[
    "production", "sandbox", "my-domain", "sandbox-my-domain", "lightning", "setup", "instance", "loopback", "other"
]

# UI hosts and the My Domain login host each maps to (the part before the suffix is kept).
UI_HOSTS: tuple[tuple[str, str, Kind], ...] = (
    (".lightning.force.com", ".my.salesforce.com", "lightning"),
    (".lightning.crmforce.mil", ".my.salesforce.mil", "lightning"),
    (".my.salesforce-setup.com", ".my.salesforce.com", "setup"),
)
_WORDS = {"login": validate.PRODUCTION, "production": validate.PRODUCTION, "test": validate.SANDBOX,
          "sandbox": validate.SANDBOX}  # fmt: skip
# Legacy instance hosts (na123, cs42, eu5, um1, usa3s …): Spring '26 ended the redirections of
# legacy host names, and an instance name says nothing of the org's My Domain.
_INSTANCE = re.compile(r"[a-z]{2,3}\d+s?(-s)?\.salesforce\.com")
MY_DOMAIN_FORM = "https://<MyDomain>.my.salesforce.com"
SANDBOX_MY_DOMAIN_FORM = "https://<MyDomain>--<sandbox>.sandbox.my.salesforce.com"


@dataclass(frozen=True)
class Resolved:
    given: str
    kind: Kind
    login_url: str  # what to pass as --instance-url
    audience: str  # the aud sf signs on its first attempt at that login URL
    eca_ok: bool  # does an External Client App take that audience (Spring '26)?
    why: str

    def to_json(self) -> dict[str, object]:
        return {
            "given": self.given,
            "kind": self.kind,
            "login_url": self.login_url,
            "audience": self.audience,
            "eca_ok": self.eca_ok,
            "why": self.why,
        }


def ui_host_login(host: str) -> tuple[str, Kind] | None:
    """The My Domain login URL of a Lightning or Setup host, and which of the two it was."""
    for suffix, login_suffix, kind in UI_HOSTS:
        if host.endswith(suffix) and len(host) > len(suffix):
            return f"https://{host.removesuffix(suffix)}{login_suffix}", kind
    return None


def is_generic(url: str) -> bool:
    return url.rstrip("/").casefold() in (validate.PRODUCTION, validate.SANDBOX)


def resolve(text: str) -> Resolved:
    """The login URL and first audience for what a person pasted. Raises SfjwtError (USAGE,
    URL_REFUSED) for what is not a URL or not a Salesforce host."""
    given = text.strip()
    word = _WORDS.get(given.casefold())
    if word is not None:
        return _generic(given, word)
    candidate = given if "://" in given else f"https://{given}"
    parsed = validate.parse(candidate, "URL", f"paste a Salesforce URL, e.g. {MY_DOMAIN_FORM}")
    host = parsed.host
    ui = ui_host_login(host)
    if ui is not None:
        login_url, kind = ui
        page = "a Lightning page" if kind == "lightning" else "a Setup page"
        why = f"{host} serves {page}, not logins; its org logs in at its My Domain, {login_url}"
        return _my_domain(given, kind, login_url, why)
    if parsed.loopback:
        url = parsed.origin
        return Resolved(given, "loopback", url, url + "/", True, "this machine (the emulator): sf signs it as given")
    try:
        validate.check_host(parsed, "URL")
    except SfjwtError as exc:
        exc.fix = f"paste a URL of your org: its My Domain ({MY_DOMAIN_FORM}), a Lightning or Setup page, login or test"
        raise
    if is_generic(parsed.origin):
        return _generic(given, parsed.origin)
    if _INSTANCE.fullmatch(host):
        fallback = validate.SANDBOX if host.startswith("cs") else validate.PRODUCTION
        why = (
            f"{host} is a legacy instance host, which says nothing of the org's My Domain (Spring '26 ended "
            f"the redirection of legacy host names); log in at the My Domain (Setup > My Domain), {MY_DOMAIN_FORM}; "
            f"{fallback} works only for a Connected App"
        )
        return Resolved(given, "instance", fallback, fallback + "/", False, why)
    if host.endswith((".my.salesforce.com", ".my.salesforce.mil")):
        sandbox = ".sandbox.my." in host
        what = "a sandbox's My Domain" if sandbox else "a My Domain"
        return _my_domain(
            given,
            "sandbox-my-domain" if sandbox else "my-domain",
            parsed.origin,
            f"{host} is {what}: the login URL as it is",
        )
    why = f"{host} is a Salesforce host but not a login host sfjwt-orch knows; sf signs it as given"
    return Resolved(given, "other", parsed.origin, parsed.origin + "/", True, why)


def _generic(given: str, url: str) -> Resolved:
    sandbox = url == validate.SANDBOX
    form = SANDBOX_MY_DOMAIN_FORM if sandbox else MY_DOMAIN_FORM
    why = (
        f"the generic {'sandbox' if sandbox else 'production'} login host: a Connected App takes it, an External "
        f"Client App refuses it as audience since Spring '26; pass the org's My Domain instead, {form}"
    )
    return Resolved(given, "sandbox" if sandbox else "production", url, url + "/", False, why)


def _my_domain(given: str, kind: Kind, login_url: str, why: str) -> Resolved:
    return Resolved(given, kind, login_url, login_url + "/", True, why + "; sf signs it as the audience, as ECAs need")


def ui_url_error(flag: str, url: validate.Url) -> SfjwtError | None:
    """The refusal of a pasted Lightning or Setup URL, naming its My Domain (None for other hosts)."""
    found = ui_host_login(url.host)
    if found is None:
        return None
    login_url, kind = found
    what = "a Lightning domain; sf refuses those" if kind == "lightning" else "a Setup page's domain, not a login URL"
    return SfjwtError(
        Code.LIGHTNING_URL,
        f"{flag} {url.origin} is {what}",
        f"use the My Domain login URL instead: {login_url}",
    )


def check(text: str) -> Resolved:
    """resolve(), with an empty input refused as usage."""
    if not text.strip():
        raise usage("no URL given", f"paste a URL, e.g. sfjwt-orch resolve {MY_DOMAIN_FORM}")
    return resolve(text)
