"""trust and login --oidc refuse bad input before anything runs (issue 23): one line, a fix, exit 2,
the command's --json shape, and no sf run, no request, nothing written."""

from __future__ import annotations

import pytest

from sfjwt_orch.store import profiles
from tests.cli.conftest import World

TRUST = ("trust", "github", "--alias", "ci", "--target-org", "admin", "--username", "ci@acme.com")
TRUST_KEYS = {"ok", "alias", "app_name", "client_id", "login_url", "issuer", "bound_claims", "created", "error"}


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (("--repo", "acme"), "is not OWNER/NAME"),
        (("--repo", "acme/app", "--ref", "main"), "is not a full Git ref"),
        (("--repo", "acme/app", "--issuer", "http://issuer.example.com"), "is not an https URL"),
        (("--repo", "acme/app", "--output-dir", "md"), "--output-dir goes with --dry-run"),
    ],
)
def test_trust_refuses_bad_input_before_any_sf_run(world: World, extra: tuple[str, ...], said: str) -> None:
    result = world.invoke(*TRUST, *extra, "--json")
    assert result.code == 2, result.stderr
    assert set(result.doc) == TRUST_KEYS and result.doc["ok"] is False
    assert result.doc["error"]["code"] == "USAGE" and said in result.doc["error"]["message"]
    assert result.doc["error"]["fix"]
    world.done()  # the strict runner: sf never ran
    assert profiles.load(world.paths, "ci") is None


@pytest.mark.parametrize(
    ("extra", "code", "said"),
    [
        (("--oidc", "jenkins"), "USAGE", "--oidc 'jenkins' is not known"),
        (("--oidc", "github"), "USAGE", "--client-id is missing"),
        (("--oidc", "github", "--client-id", "3MVG9CLIENTID1234567"), "USAGE", "--instance-url is missing"),
        (("--oidc", "github", "--client-id", "3MVG9CLIENTID1234567", "--instance-url", "https://acme.my.salesforce.com"),
         "OIDC_NO_ID_TOKEN", "no identity token"),
    ],
)  # fmt: skip
def test_login_oidc_says_what_is_missing_before_any_request(
    world: World, extra: tuple[str, ...], code: str, said: str
) -> None:
    result = world.invoke("login", "--alias", "ci", *extra, "--json")
    assert result.code == 2, result.stderr
    doc = result.doc
    assert set(doc) == {"ok", "alias", "provider", "username", "org_id", "instance_url", "error"}
    assert doc["error"]["code"] == code and said in doc["error"]["message"], doc
    world.done()
