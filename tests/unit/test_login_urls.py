"""What `sfjwt-orch resolve` and the My Domain fixes make of every form of URL a person pastes."""

from __future__ import annotations

import pytest

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.salesforce import login_urls, validate

# (pasted, kind, login URL, does an ECA take sf's first audience?)
CASES = [
    ("https://acme.lightning.force.com/lightning/page/home", "lightning", "https://acme.my.salesforce.com", True),
    ("acme--uat.sandbox.lightning.force.com", "lightning", "https://acme--uat.sandbox.my.salesforce.com", True),
    ("https://acme.scratch.lightning.force.com", "lightning", "https://acme.scratch.my.salesforce.com", True),
    ("https://ops.lightning.crmforce.mil/x", "lightning", "https://ops.my.salesforce.mil", True),
    ("https://acme.my.salesforce-setup.com/lightning/setup/SetupOneHome/home", "setup",
     "https://acme.my.salesforce.com", True),
    ("acme--uat.sandbox.my.salesforce-setup.com", "setup", "https://acme--uat.sandbox.my.salesforce.com", True),
    ("https://ACME.my.salesforce.com/", "my-domain", "https://acme.my.salesforce.com", True),
    ("acme.develop.my.salesforce.com", "my-domain", "https://acme.develop.my.salesforce.com", True),
    ("https://acme--uat.sandbox.my.salesforce.com", "sandbox-my-domain",
     "https://acme--uat.sandbox.my.salesforce.com", True),
    ("https://na123.salesforce.com", "instance", validate.PRODUCTION, False),
    ("cs42.salesforce.com", "instance", validate.SANDBOX, False),
    ("login", "production", validate.PRODUCTION, False),
    ("TEST", "sandbox", validate.SANDBOX, False),
    ("sandbox", "sandbox", validate.SANDBOX, False),
    ("https://login.salesforce.com/", "production", validate.PRODUCTION, False),
    ("https://test.salesforce.com", "sandbox", validate.SANDBOX, False),
    ("http://127.0.0.1:8555", "loopback", "http://127.0.0.1:8555", True),
    ("http://localhost:8555/", "loopback", "http://localhost:8555", True),
]  # fmt: skip


@pytest.mark.parametrize(("pasted", "kind", "login_url", "eca_ok"), CASES, ids=[c[0] for c in CASES])
def test_every_pasted_form_gives_its_login_url_and_audience(
    pasted: str, kind: str, login_url: str, eca_ok: bool
) -> None:
    found = login_urls.resolve(pasted)
    assert (found.kind, found.login_url, found.eca_ok) == (kind, login_url, eca_ok)
    # sf's first attempt signs the login URL itself, with a trailing slash (@salesforce/core 9.4.0
    # getLoginAudienceCombos: [loginUrl, loginUrl] first).
    assert found.audience == login_url + "/"
    assert found.why.strip() and "\n" not in found.why
    if not eca_ok:
        assert "My Domain" in found.why
    assert found.to_json()["login_url"] == login_url


@pytest.mark.parametrize(
    ("pasted", "code"),
    [
        ("https://evil.example", Code.URL_REFUSED),
        ("https://acme.my.salesforce.com.evil.example", Code.URL_REFUSED),
        ("ftp://acme.my.salesforce.com", Code.USAGE),
        ("   ", Code.USAGE),
        ("https://user:pw@acme.my.salesforce.com", Code.URL_REFUSED),
    ],
)
def test_what_is_not_a_salesforce_url_is_refused_with_a_fix(pasted: str, code: Code) -> None:
    with pytest.raises(SfjwtError) as caught:
        login_urls.check(pasted)
    assert caught.value.code is code and caught.value.fix.strip()
    assert "--allow-non-salesforce-host" not in caught.value.fix  # resolve has no such flag


@pytest.mark.parametrize(
    ("url", "my_domain", "wording"),
    [
        ("https://acme.lightning.force.com", "https://acme.my.salesforce.com", "Lightning domain"),
        ("https://acme--uat.sandbox.my.salesforce-setup.com/", "https://acme--uat.sandbox.my.salesforce.com", "Setup"),
    ],
)
def test_instance_url_maps_a_pasted_ui_url_to_its_my_domain(url: str, my_domain: str, wording: str) -> None:
    with pytest.raises(SfjwtError) as caught:
        validate.check_instance_url(url)
    assert caught.value.code is Code.LIGHTNING_URL and wording in caught.value.message
    assert caught.value.fix == f"use the My Domain login URL instead: {my_domain}"
