"""What the Spring '26 platform rules change in our messages (docs/platform-2026.md): an External
Client App refusing the generic audiences, and a Dev Hub logged in through an ECA that cannot
create scratch orgs (C-1016). Pure: values in, text out.
"""

from __future__ import annotations

from typing import Literal

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.salesforce import login_urls, validate

_ECA_REFUSAL = "external client app is not installed"


def eca_refused_generic(code: Code, lines: tuple[str, ...], login_url: str) -> bool:
    """Did an External Client App refuse a generic audience? sf keeps only error_description, one
    line per (login URL, aud) pair; "External client app is not installed in this org" answers a
    generic aud since Spring '26 (n8n-io/n8n issue 28990, forcedotcom/cli issue 3482). It decides the
    outcome when the login URL is the generic host itself, and sits beside "audience is invalid" when
    the login URL was not the org's My Domain (sf's fall-back pairs then sign the generic hosts)."""
    seen = any(_ECA_REFUSAL in line.casefold() for line in lines)
    if code is Code.APP_NOT_INSTALLED:
        return seen and login_urls.is_generic(login_url)
    return seen and code is Code.AUDIENCE_INVALID


def my_domain_fix(login_url: str, known: str = "") -> str:
    """The fix naming the My Domain to log in at: `known` (an instance URL sf reported for this
    alias before) when it is one, else the form for production or sandbox."""
    target = ""
    if known:
        try:
            found = login_urls.resolve(known)
        except SfjwtError:
            found = None
        if found is not None and found.eca_ok:
            target = found.login_url
    if not target:
        sandbox = login_url.rstrip("/").casefold() == validate.SANDBOX
        target = login_urls.SANDBOX_MY_DOMAIN_FORM if sandbox else login_urls.MY_DOMAIN_FORM
    return (
        "an External Client App refuses the generic login hosts as audience since Spring '26: log in at the "
        f"org's My Domain, --instance-url {target} (Setup > My Domain shows it; "
        "sfjwt-orch resolve URL turns a pasted Lightning or Setup URL into it)"
    )


# forcedotcom/cli issue 3515 (maintainers' announcement): `sf org create scratch` fails with C-1016
# when the Dev Hub was logged in through an External Client App. sf's own remedy, quoted from sf
# 2.150.6's @salesforce/core 9.4.0 (messages/scratchOrgErrorCodes.md, "action.C-1016"; the variables
# are read in lib/org/scratchOrgInfoGenerator.js and lib/org/authInfo.js: verified with grep): use
# Salesforce's built-in Connected App for the sign-up.
SCRATCH_REMEDY = (
    "before `sf org create scratch` set SF_SCRATCH_SIGNUP_CONNECTED_APP=PlatformCLI and "
    "SF_SCRATCH_SIGNUP_CALLBACK_URL=http://localhost:1717/OauthRedirect (sf's own remedy, forcedotcom/cli issue 3515)"
)


def dev_hub_note(app_kind: str) -> str:
    """What to say about scratch orgs for a Dev Hub whose app is of `app_kind` ("eca",
    "connected-app", or "" when unknown): "" for a Connected App."""
    if app_kind == "eca":
        return (
            "this Dev Hub logs in through an External Client App: `sf org create scratch` fails with C-1016 "
            f"(Proxy Signup cannot copy an ECA); {SCRATCH_REMEDY}"
        )
    if app_kind == "connected-app":
        return ""
    return (
        "if this Dev Hub's app is an External Client App, `sf org create scratch` fails with C-1016: "
        "set SF_SCRATCH_SIGNUP_CONNECTED_APP=PlatformCLI then (forcedotcom/cli issue 3515)"
    )


def dev_hub_finding(app_kind: str) -> tuple[Literal["pass", "warn"], str]:
    """doctor's finding for a Dev Hub: ("warn", detail) for an ECA, ("pass", detail) for a
    Connected App, ("warn", caution) when the kind is unknown."""
    if app_kind == "connected-app":
        return "pass", "the Dev Hub logs in through a Connected App: scratch org sign-up can copy it"
    if app_kind == "eca":
        return "warn", "this Dev Hub logs in through an External Client App: `sf org create scratch` fails with C-1016"
    return "warn", "if this Dev Hub's app is an External Client App, `sf org create scratch` fails with C-1016"
