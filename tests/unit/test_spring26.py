"""The Spring '26 messages: when an ECA's refusal of a generic audience decides a login's fix, the My
Domain that fix names, and the C-1016 note for a Dev Hub by the kind of its app."""

from __future__ import annotations

import pytest

from sfjwt_orch.errors import Code
from sfjwt_orch.salesforce import spring26
from sfjwt_orch.tools.sf.catalog import classify_lines

ECA = "External client app is not installed in this org"
AUD = "audience is invalid  [audience=https://login.salesforce.com login=http://127.0.0.1:1/]"


@pytest.mark.parametrize(
    ("lines", "login_url", "refused"),
    [
        # login --sandbox: test.salesforce.com signs itself as aud, the ECA refuses; login.salesforce.com is another org
        ((ECA, "client identifier invalid"), "https://test.salesforce.com", True),
        ((ECA, "fetch failed"), "https://login.salesforce.com", True),
        # the same words through the org's My Domain: the app really is missing there
        ((ECA, "fetch failed"), "https://acme.my.salesforce.com", False),
        # not the org's My Domain: sf's fall-back pairs signed the generic host, and the ECA refused it
        (("audience is invalid", "fetch failed", ECA), "http://127.0.0.1:1", True),
        (("audience is invalid", "fetch failed", AUD), "http://127.0.0.1:1", False),  # a Connected App
        (("client identifier invalid",), "https://test.salesforce.com", False),
    ],
)
def test_an_eca_refusing_the_generic_audience_is_told_apart(
    lines: tuple[str, ...], login_url: str, refused: bool
) -> None:
    outcome = classify_lines(lines)
    assert spring26.eca_refused_generic(outcome.code, outcome.lines, login_url) is refused


@pytest.mark.parametrize(
    ("login_url", "known", "named"),
    [
        ("https://test.salesforce.com", "", "https://<MyDomain>--<sandbox>.sandbox.my.salesforce.com"),
        ("https://login.salesforce.com", "", "https://<MyDomain>.my.salesforce.com"),
        ("https://test.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com",
         "https://acme--uat.sandbox.my.salesforce.com"),
        # an instance URL sf reported once that is no My Domain is not named: the form is
        ("https://login.salesforce.com", "https://na123.salesforce.com", "https://<MyDomain>.my.salesforce.com"),
        ("https://login.salesforce.com", "not a url", "https://<MyDomain>.my.salesforce.com"),
    ],
)  # fmt: skip
def test_the_fix_names_the_my_domain(login_url: str, known: str, named: str) -> None:
    fix = spring26.my_domain_fix(login_url, known)
    assert f"--instance-url {named} " in fix and "Spring '26" in fix and "\n" not in fix


def test_the_dev_hub_note_follows_the_apps_kind() -> None:
    eca = spring26.dev_hub_note("eca")
    assert "C-1016" in eca and "SF_SCRATCH_SIGNUP_CONNECTED_APP=PlatformCLI" in eca
    assert "SF_SCRATCH_SIGNUP_CALLBACK_URL=http://localhost:1717/OauthRedirect" in eca
    assert spring26.dev_hub_note("connected-app") == ""
    unknown = spring26.dev_hub_note("")
    assert "C-1016" in unknown and "\n" not in unknown and len(unknown) < len(eca)
    assert spring26.dev_hub_finding("connected-app")[0] == "pass"
    assert spring26.dev_hub_finding("eca")[0] == spring26.dev_hub_finding("")[0] == "warn"


def test_the_login_cap_fix_says_how_long_to_wait() -> None:
    outcome = classify_lines(("login rate exceeded", "fetch failed", "fetch failed"))
    assert outcome.code is Code.RATE_LIMITED and "up to an hour" in outcome.fix and "3,600" in outcome.fix
