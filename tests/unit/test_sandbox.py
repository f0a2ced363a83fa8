"""A sandbox's profile derived from production's (flows.sandbox): table-tested."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.flows.sandbox import check_name, derive, production_my_domain, sandbox_url
from sfjwt_orch.store.profiles import Profile


@pytest.mark.parametrize(
    ("production", "name", "expected"),
    [
        ("https://acme.my.salesforce.com", "uat", "https://acme--uat.sandbox.my.salesforce.com"),
        ("https://acme.my.salesforce.com/", "UAT", "https://acme--uat.sandbox.my.salesforce.com"),
        ("https://Acme-Corp.my.salesforce.com", "qa2", "https://acme-corp--qa2.sandbox.my.salesforce.com"),
        ("https://login.salesforce.com", "uat", "https://test.salesforce.com"),
        ("", "uat", "https://test.salesforce.com"),  # no URL saved: production's default login host
        ("https://acme.lightning.force.com", "uat", "https://test.salesforce.com"),
        ("http://127.0.0.1:8555", "uat", "https://test.salesforce.com"),  # an emulated org: e2e passes the URL
        ("https://acme.my.salesforce.com.evil.example", "uat", "https://test.salesforce.com"),
    ],
)
def test_the_login_url_is_the_my_domain_sandbox_form_when_production_has_one(
    production: str, name: str, expected: str
) -> None:
    assert sandbox_url(production, name) == expected


PROD = Profile("prod", "3MVG9KEY", "ci@acme.com", "https://acme.my.salesforce.com", "/k/server.key", "/k/server.crt")


@pytest.mark.parametrize(
    ("production", "name", "username", "url"),
    [
        (PROD, "uat", "ci@acme.com.uat", "https://acme--uat.sandbox.my.salesforce.com"),
        (dataclasses.replace(PROD, instance_url="https://login.salesforce.com"), "Dev1", "ci@acme.com.dev1", "https://test.salesforce.com"),
        (replace(PROD, username=""), "uat", "", "https://acme--uat.sandbox.my.salesforce.com"),  # asked for by login
    ],
)  # fmt: skip
def test_derive_keeps_key_and_consumer_key_and_suffixes_the_username(
    production: Profile, name: str, username: str, url: str
) -> None:
    derived = derive(production, name, "prod-uat", "/k/server.key")
    assert (derived.alias, derived.username, derived.instance_url) == ("prod-uat", username, url)
    assert (derived.client_id, derived.key_file, derived.cert_file) == ("3MVG9KEY", "/k/server.key", "/k/server.crt")


@pytest.mark.parametrize("url", ["https://test.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com"])
def test_a_sandbox_is_not_a_production_to_derive_from(url: str) -> None:
    with pytest.raises(SfjwtError, match="not production"):
        derive(dataclasses.replace(PROD, instance_url=url), "qa", "x", "/k/server.key")


@pytest.mark.parametrize(("name", "ok"), [("uat", True), ("QA2", True), ("a" * 10, True), ("a" * 11, False),
                                          ("2uat", False), ("u-at", False), ("", False), ("../x", False)])  # fmt: skip
def test_sandbox_names_are_what_salesforce_accepts(name: str, ok: bool) -> None:
    if ok:
        assert check_name(name) == name.lower()
    else:
        with pytest.raises(SfjwtError):
            check_name(name)


@pytest.mark.parametrize(
    ("profile_url", "reported", "expected"),
    [
        # production logs in at the generic host; sf reported its My Domain: the sandbox gets its own
        ("https://login.salesforce.com", "https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("", "https://acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://other.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("https://login.salesforce.com", "", "https://login.salesforce.com"),
        ("https://login.salesforce.com", "https://na123.salesforce.com", "https://login.salesforce.com"),
        ("https://login.salesforce.com", "http://127.0.0.1:8555", "https://login.salesforce.com"),
        ("https://login.salesforce.com", "not a url", "https://login.salesforce.com"),
    ],
)
def test_production_my_domain_comes_from_sfs_last_report_when_the_profile_is_generic(
    profile_url: str, reported: str, expected: str
) -> None:
    assert production_my_domain(profile_url, reported) == expected
    if expected.endswith(".my.salesforce.com"):
        assert sandbox_url(production_my_domain(profile_url, reported), "uat") == (
            "https://acme--uat.sandbox.my.salesforce.com"
        )
