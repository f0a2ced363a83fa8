"""The keyless-CI spec and package (issue 23): bindings checked as typed, one binding per subject,
the package's files and names, and the emulator's reading of the handler it deploys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfjwt_orch.emulator import Emulator, empty_org_config
from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.keyless import apex
from sfjwt_orch.keyless.package import TrustPackage
from sfjwt_orch.keyless.spec import Provider, TrustSpec, binding, check_issuer, from_json
from sfjwt_orch.salesforce import metadata


def spec(*bindings: tuple[str, str | None, str | None]) -> TrustSpec:
    made = tuple(binding(Provider.GITHUB, s, r, e) for s, r, e in bindings)
    return TrustSpec(Provider.GITHUB, "https://token.actions.githubusercontent.com", "https://acme.my.salesforce.com",
                     "ci@acme.com", made)  # fmt: skip


@pytest.mark.parametrize(
    ("provider", "subject", "ref"),
    [
        (Provider.GITHUB, "acme", None),  # no owner/name
        (Provider.GITHUB, "acme/a/b", None),  # GitHub has no subgroups
        (Provider.GITHUB, "acme/app", "main"),  # GitHub's ref claim is a full ref
        (Provider.GITLAB, "group", None),
        (Provider.GITLAB, "group/../x", None),
    ],
)
def test_a_binding_that_cannot_match_a_real_claim_is_refused_as_typed(
    provider: Provider, subject: str, ref: str | None
) -> None:
    with pytest.raises(SfjwtError) as caught:
        binding(provider, subject, ref, None)
    assert caught.value.code.value == "USAGE"


def test_gitlab_allows_subgroups_and_a_short_ref() -> None:
    made = binding(Provider.GITLAB, "group/sub/project", "main", "production")
    assert made.to_json() == {"environment": "production", "project_path": "group/sub/project", "ref": "main"}
    assert made.subject == "group/sub/project"


def test_one_binding_per_subject_rerun_changes_nothing_and_remove_withdraws() -> None:
    one = spec(("acme/app", None, None))
    same, changed = one.with_binding(binding(Provider.GITHUB, "acme/app", None, None))
    assert same == one and changed is False
    narrowed, changed = one.with_binding(binding(Provider.GITHUB, "acme/app", "refs/heads/main", None))
    assert changed and [b.to_json() for b in narrowed.bindings] == [
        {"ref": "refs/heads/main", "repository": "acme/app"}
    ]
    two, _ = narrowed.with_binding(binding(Provider.GITHUB, "acme/other", None, None))
    left, removed = two.without("acme/app")
    assert removed and [b.subject for b in left.bindings] == ["acme/other"]
    assert from_json(json.loads(json.dumps(two.to_json()))) == two


@pytest.mark.parametrize("issuer", ["http://ghe.acme.com/_services/token", "https://x?y=1", "ftp://x"])
def test_an_issuer_must_be_https_unless_on_loopback(issuer: str) -> None:
    with pytest.raises(SfjwtError):
        check_issuer(issuer)
    assert check_issuer("http://127.0.0.1:8555/__ci/github/") == "http://127.0.0.1:8555/__ci/github"


def test_the_handler_literal_round_trips_any_value() -> None:
    hostile = TrustSpec(Provider.GITHUB, "https://i", "https://a", "o'brien\\x@acme.com", ())
    text = apex.handler_class(hostile, "H_Tx")
    assert apex.extract_spec(text) == hostile.text()


def test_the_package_deploys_on_the_emulator_and_names_the_handler_everywhere(tmp_path: Path) -> None:
    package = TrustPackage(
        "SfjwtOrch_ci", "SfjwtOrch_ci_Jwt", spec(("acme/app", None, None)), "admin@example.com", "K" * 72
    )
    files = package.files()
    assert f"classes/{package.handler}.cls" in files and f"classes/{package.test_class}.cls-meta.xml" in files
    xchg = files[f"oauthtokenexchangehandlers/{package.exchange_handler}.oauthtokenexchangehandler"]
    assert f"<tokenHandlerApex>{package.handler}</tokenHandlerApex>" in xchg
    assert "<externalClientApp>SfjwtOrch_ci</externalClientApp>" in xchg
    assert (
        "<url>https://token.actions.githubusercontent.com</url>"
        in files[f"remoteSiteSettings/{package.remote_site}.remoteSite"]
    )
    metadata.write(tmp_path, files)
    with Emulator(empty_org_config(("ci@acme.com",))) as emu:
        outcome = emu.deploy(tmp_path)
        assert outcome.success, outcome.failures
        deployed = {(m.component_type, m.full_name) for m in outcome.successes}
        assert ("ApexClass", package.handler) in deployed and (
            "OauthTokenExchangeHandler",
            package.exchange_handler,
        ) in deployed
    # An app that exists already: its header is not redeployed (a duplicate DeveloperName otherwise).
    again = TrustPackage(
        "SfjwtOrch_ci", "SfjwtOrch_ci_Jwt", package.spec, "admin@example.com", "K" * 72, app_exists=True
    )
    assert "externalClientApps/SfjwtOrch_ci.eca" not in again.files()


@pytest.mark.parametrize(
    ("error", "description", "code", "exit_code"),
    [
        (
            "invalid_request",
            "claim repository: expected one of repository 'a/b', received 'c/d'",
            "OIDC_CLAIM_MISMATCH",
            3,
        ),
        (
            "invalid_request",
            "signature: the token does not verify against the keys of https://i (x)",
            "OIDC_SIGNATURE",
            3,
        ),
        ("unsupported_grant_type", "grant type not supported", "OIDC_EXCHANGE_DISABLED", 3),
        ("invalid_request", "no token exchange handler is enabled for this app", "OIDC_EXCHANGE_DISABLED", 3),
        ("invalid_app_access", "user is not admin approved to access this app", "OIDC_NOT_PREAUTHORIZED", 3),
        ("invalid_client_id", "client identifier invalid", "CLIENT_ID_INVALID", 3),
        ("server_error", "", "UNKNOWN", 3),
    ],
)
def test_each_answer_of_the_org_gets_its_code_and_a_fix(
    error: str, description: str, code: str, exit_code: int
) -> None:
    from sfjwt_orch.keyless.login import OidcLoginRequest, refusal

    found = refusal(
        error, description, 400, OidcLoginRequest("ci", Provider.GITHUB, "K", "https://acme.my.salesforce.com")
    )
    assert (found.code.value, found.exit_code) == (code, exit_code)
    assert found.fix and (description or error) in found.message
