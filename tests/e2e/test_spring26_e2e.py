"""The Spring '26 rules end to end (docs/platform-2026.md): the real sf against an emulated org
set up as a new real org is, each refusal worded as Salesforce words it, and sfjwt-orch's code,
exit code and fix, or the login that avoids the refusal."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import Emulator
from sfjwt_orch.keys import certs
from tests.e2e.conftest import E2E
from tests.e2e.test_login_scenarios import TRACEBACK, login_argv, output

pytestmark = pytest.mark.e2e

USER = "ci@example.com"
ECA_REFUSAL = "External client app is not installed in this org"


def _refused(result: Any, code: str) -> dict[str, Any]:
    assert result.returncode == 3, output(result)
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == code, doc["error"]
    assert not TRACEBACK.search(output(result)), output(result)
    return doc


def admin_org(e2e: E2E, *, dev_hub: bool = False, **switches: Any) -> Emulator:
    """An org with no app (a Dev Hub with `dev_hub`), and sf logged in as its admin under the alias
    `admin` (the run's set-up, tests/e2e/setups.py, copied for this test)."""
    emu, _ = e2e.from_setup("admin-dev-hub" if dev_hub else "admin", **switches)
    return emu


def app_made(e2e: E2E, *, dev_hub: bool = False) -> Emulator:
    """`admin_org` after `app create --alias ci --target-org admin --username ci@example.com` (the
    run's set-up; rule 1's test makes the same app itself)."""
    emu, _ = e2e.from_setup("app-dev-hub" if dev_hub else "app")
    return emu


def create(e2e: E2E, *extra: str) -> Any:
    return e2e.cli("app", "create", "--alias", "ci", "--target-org", "admin", "--username", USER, "--json", *extra)


# --------------------------------------------------------------------------- rule 1


def test_rule1_a_new_connected_app_is_refused_and_an_eca_is_made_instead(e2e: E2E) -> None:
    emu = admin_org(e2e)
    assert emu.switches.connected_app_creation_blocked  # a new org's default
    doc = _refused(create(e2e, "--kind", "connected-app", "--name", "SfjwtOrch_hub"), "CONNECTED_APP_BLOCKED")
    assert "You can't create a connected app" in doc["error"]["message"]  # the org's words
    assert "--kind eca" in doc["error"]["fix"] and "Salesforce Support" in doc["error"]["fix"]
    made = create(e2e)  # the default kind
    assert made.returncode == 0, output(made)
    assert json.loads(made.stdout)["login"]["ok"] is True


# --------------------------------------------------------------------------- rule 2


def _my_domain_org(e2e: E2E, **switches: Any) -> tuple[Emulator, str]:
    """A production org whose My Domain is http://localhost:PORT and whose rules take the generic
    audience https://login.salesforce.com, with the demo ECA; reached at http://127.0.0.1:PORT, sf's
    first attempt signs a name that is not the My Domain and its fall-backs sign the generic hosts."""
    emu = e2e.emulator(tweak=lambda c: dataclasses.replace(c, org=dataclasses.replace(c.org, my_domain="localhost")))
    if switches:
        emu.set_switches(**switches)
    return emu, emu.url.replace("127.0.0.1", "localhost")


def test_rule2_before_spring26_sf_fell_back_to_the_generic_audience(e2e: E2E) -> None:
    emu, _ = _my_domain_org(e2e, eca_generic_audience_refused=False)
    result = e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "0"))
    assert result.returncode == 0, output(result)
    ok = emu.token_requests[-1]
    assert ok.outcome == "ok" and ok.claims is not None and ok.claims["aud"] == "https://login.salesforce.com"


def test_rule2_an_eca_refuses_the_generic_audience_and_the_my_domain_logs_in(e2e: E2E) -> None:
    emu, my_domain = _my_domain_org(e2e)
    first = e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "0"))
    doc = _refused(first, "AUDIENCE_INVALID")
    generic = [r for r in emu.token_requests if r.claims and r.claims["aud"] == "https://login.salesforce.com"]
    assert generic and all(r.error_description == ECA_REFUSAL for r in generic)  # as Salesforce words it
    assert generic[0].error == "app_not_found"
    assert "External Client App refuses the generic login hosts" in doc["error"]["fix"]
    assert "https://<MyDomain>.my.salesforce.com" in doc["error"]["fix"]  # none known yet: the form
    e2e.assert_fallbacks_blocked()

    # The login that works: the My Domain as login URL is also the audience sf signs.
    before = len(emu.token_requests)
    works = e2e.cli(*login_argv(my_domain, e2e.keypair.key, "--timeout", "0"))
    assert works.returncode == 0, output(works)
    (token,) = emu.token_requests[before:]
    assert token.outcome == "ok" and token.claims is not None and token.claims["aud"] == my_domain + "/"

    # Now the alias's My Domain is known: a login through another name gets it named in the fix.
    again = _refused(e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "0")), "AUDIENCE_INVALID")
    assert f"--instance-url {my_domain} " in again["error"]["fix"]


def test_rule2_resolve_names_the_my_domain_of_a_pasted_setup_url(e2e: E2E) -> None:
    result = e2e.cli("resolve", "https://acme--uat.sandbox.my.salesforce-setup.com/lightning/setup/home", "--json")
    assert result.returncode == 0, output(result)
    doc = json.loads(result.stdout)
    assert doc["login_url"] == "https://acme--uat.sandbox.my.salesforce.com" and doc["eca_ok"] is True
    login = e2e.cli(*login_argv("https://acme.my.salesforce-setup.com", e2e.keypair.key, "--timeout", "0"))
    assert login.returncode == 2, output(login)
    error = json.loads(login.stdout)["error"]
    assert error["code"] == "LIGHTNING_URL" and error["fix"].endswith("https://acme.my.salesforce.com")


# --------------------------------------------------------------------------- rule 3


def test_rule3_an_eca_dev_hub_is_told_about_scratch_orgs(e2e: E2E) -> None:
    app_made(e2e, dev_hub=True)
    login = e2e.cli("login", "--alias", "ci", "--set-default-dev-hub", "--json")
    assert login.returncode == 0, output(login)
    assert "C-1016" in login.stderr and "SF_SCRATCH_SIGNUP_CONNECTED_APP=PlatformCLI" in login.stderr
    doctor = json.loads(e2e.cli("doctor", "--alias", "ci", "--json").stdout)
    (scratch,) = [c for c in doctor["checks"] if c["name"] == "scratch orgs"]
    assert scratch["result"] == "warn" and "SF_SCRATCH_SIGNUP_CALLBACK_URL" in scratch["fix"]


def test_rule3_a_dev_hub_whose_app_kind_is_unknown_gets_a_one_line_caution(e2e: E2E) -> None:
    emu = e2e.emulator(is_dev_hub=True)
    result = e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "0"))
    assert result.returncode == 0, output(result)
    (caution,) = [line for line in result.stderr.splitlines() if "C-1016" in line]
    assert "if this Dev Hub's app is an External Client App" in caution


# --------------------------------------------------------------------------- rule 4


def test_rule4_app_create_names_the_gates_when_it_must_read_the_key_back(e2e: E2E) -> None:
    # The org generates the key (it refuses a chosen one), and reading it back is gated.
    admin_org(e2e, consumer_key_refused=True, consumer_secret_access=False)
    doc = _refused(create(e2e), "CONSUMER_SECRETS_BLOCKED")
    assert "Allow Access to OAuth Consumer Secrets via Metadata API" in doc["error"]["message"]  # the org's answer
    fix = doc["error"]["fix"]
    assert "Allow Access to OAuth Consumer Secrets via Metadata API" in fix
    assert "View External Client Apps Consumer Secrets in Metadata" in fix and "Consumer Key" in fix


def test_rule4_rotate_names_the_permission_and_changes_nothing(e2e: E2E) -> None:
    emu = app_made(e2e)
    cert = Path(json.loads(e2e.cli("profiles", "show", "ci", "--json").stdout)["profile"]["cert_file"])
    before = certs.read_cert(cert).fingerprint_sha256
    emu.set_switches(admin_views_consumer_secrets=False)
    deploys = sum(r.params.get("operation") == "deploy" for r in emu.requests)
    doc = _refused(e2e.cli("rotate", "--alias", "ci", "--json"), "CONSUMER_SECRETS_BLOCKED")
    assert "View External Client Apps Consumer Secrets in Metadata" in doc["error"]["message"]
    assert "View External Client Apps Consumer Secrets in Metadata" in doc["error"]["fix"]
    assert certs.read_cert(cert).fingerprint_sha256 == before
    assert sum(r.params.get("operation") == "deploy" for r in emu.requests) == deploys  # nothing deployed
    assert e2e.cli("login", "--alias", "ci", "--json").returncode == 0  # the old key still logs in


# --------------------------------------------------------------------------- rule 5


def test_rule5_the_login_cap_is_rate_limited_and_never_retried(e2e: E2E) -> None:
    emu = e2e.emulator(switches={"login_rate_per_hour": 1})
    first = e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "0"))
    assert first.returncode == 0, output(first)
    before = len(emu.token_requests)
    # A login that would wait (for an approval or a new app) still stops at this refusal.
    doc = _refused(e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "60", "--new-app")), "RATE_LIMITED")
    assert "up to an hour" in doc["error"]["fix"] and "3,600" in doc["error"]["fix"]
    assert doc["attempts"] == 1  # one sf run: only sf's own fall-back pairs, no retry of ours
    refused = emu.token_requests[before:]
    assert refused and {r.outcome for r in refused} == {"login_rate_exceeded"}
    assert {(r.error, r.error_description) for r in refused} == {("invalid_grant", "login rate exceeded")}


def test_rule3_sf_create_scratch_fails_with_c1016_as_advised_and_the_advised_remedy_is_taken(e2e: E2E) -> None:
    """The product's advice for an ECA Dev Hub against what the real `sf org create scratch` does:
    it fails with C-1016 (the emulated sign-up cannot copy the ECA the request names), and the
    variables the advice names make sf name Salesforce's built-in app instead, which is accepted."""
    emu = app_made(e2e, dev_hub=True)
    login = e2e.cli("login", "--alias", "ci", "--set-default-dev-hub", "--json")
    assert login.returncode == 0, output(login)
    assert "`sf org create scratch` fails with C-1016" in login.stderr  # the advice, at login
    doctor = json.loads(e2e.cli("doctor", "--alias", "ci", "--json").stdout)
    (check,) = [c for c in doctor["checks"] if c["name"] == "scratch orgs"]
    advised = dict(re.findall(r"\b(SF_SCRATCH_SIGNUP_\w+)=(\S+)", check["fix"]))
    assert set(advised) == {"SF_SCRATCH_SIGNUP_CONNECTED_APP", "SF_SCRATCH_SIGNUP_CALLBACK_URL"}, check["fix"]

    scratch = ("org", "create", "scratch", "--edition", "developer", "--target-dev-hub", "ci")
    refused = e2e.sf_json(*scratch, "--wait", "2")
    assert refused["status"] == 1 and refused["name"] == "RemoteOrgSignupFailed", refused
    assert refused["message"].startswith("We encountered a problem while attempting to configure and approve")
    assert any("error code C-1016" in action for action in refused["actions"]), refused["actions"]
    # sf's own remedy (its action for C-1016) is the one the product gives, variable for variable.
    assert dict(re.findall(r"\b(SF_SCRATCH_SIGNUP_\w+)=(\S+)", "\n".join(refused["actions"]))) == advised
    (first,) = emu.scratch_requests
    client_id = json.loads(e2e.cli("profiles", "show", "ci", "--json").stdout)["profile"]["client_id"]
    assert first["ConnectedAppConsumerKey"] == client_id  # the Dev Hub login's ECA, as sf sends by default
    assert (first["Status"], first["ErrorCode"]) == ("Error", "C-1016")

    # With the advised variables the sign-up is accepted (--async: the emulator builds no org to wait for).
    accepted = e2e.sf_json_env(advised, *scratch, "--async")
    assert accepted["status"] == 0, accepted
    second = emu.scratch_requests[-1]
    assert second["ConnectedAppConsumerKey"] == "PlatformCLI" and second["ErrorCode"] is None
    assert second["Status"] == "New" and second["ConnectedAppCallbackUrl"] == advised["SF_SCRATCH_SIGNUP_CALLBACK_URL"]
