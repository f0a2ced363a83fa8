"""app create, end to end: an org with no app, an admin logged in to the real sf by access token,
then sfjwt-orch deploys the app, assigns its permission set and logs the integration user in with
no approval URL; plus the rerun, --dry-run, a name clash, a missing admin alias, an unknown user,
the blocked Connected App and a refused consumer key (which is read back)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import Emulator
from sfjwt_orch.salesforce import metadata
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.e2e

USER = "ci@example.com"


def org(e2e: E2E, **switches: Any) -> Emulator:
    """An org with no app, and sf logged in as its admin under the alias `admin` (the run's set-up,
    tests/e2e/setups.py, copied for this test)."""
    emu, _ = e2e.from_setup("admin", **switches)
    return emu


def made(e2e: E2E) -> tuple[Emulator, dict[str, Any]]:
    """`org` after `app create --alias ci --target-org admin --username ci@example.com` (the run's
    set-up; the first test here makes the same app itself), and what app create answered."""
    emu, app = e2e.from_setup("app")
    assert app is not None
    return emu, app


def create(e2e: E2E, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = e2e.cli("app", "create", "--alias", "ci", "--target-org", "admin", "--username", USER, "--json", *extra)
    return result.returncode, json.loads(result.stdout), result.stderr


def test_app_create_then_login_needs_no_approval_and_a_rerun_creates_nothing(e2e: E2E) -> None:
    emu = org(e2e)
    rc, doc, stderr = create(e2e)
    assert rc == 0, stderr
    assert doc["ok"] is True and doc["created"] is True and doc["consumer_key_source"] == "chosen"
    assert doc["login"]["ok"] is True and doc["login"]["approval_url"] is None
    assert doc["login"]["org_id"] == emu.config.org.org_id
    outcomes = [r.outcome for r in emu.token_requests]
    assert outcomes[-1] == "ok" and "not_approved" not in outcomes  # never a NOT_APPROVED attempt
    app = emu.find_app(doc["client_id"])
    assert app is not None
    shown = e2e.sf_json("org", "display", "--target-org", "ci")
    assert shown["result"]["connectedStatus"] == "Connected" and shown["result"]["username"] == USER
    # Later logins need only the alias.
    again = e2e.cli("login", "--alias", "ci", "--json")
    assert again.returncode == 0, again.stderr

    # A rerun finds the app it made (asked of the org) and only checks the login.
    def deploys() -> int:
        return sum(r.params.get("operation") == "deploy" for r in emu.requests)

    before = deploys()
    assert before == 1
    rc, doc2, stderr = create(e2e)
    assert rc == 0, stderr
    assert doc2["created"] is False and doc2["client_id"] == doc["client_id"]
    assert deploys() == before, "a rerun must not deploy a second app"


def test_a_wrong_username_for_an_app_it_made_fails_fast_instead_of_waiting_for_an_approval(e2e: E2E) -> None:
    # Issue 24 item 4: the org answers an unknown user "user hasn't approved this consumer"; the app
    # create made pre-authorizes, so no approval can help: the login stops at once naming the
    # username, never printing an approval URL or waiting out --timeout 600.
    emu, _ = made(e2e)
    wrong = f"{USER}.dev"  # the production username with a sandbox's suffix: a user this org lacks
    before = len(emu.token_requests)
    # 120 s: a guard against a hang (the 600 s wait this replaces), not a timing assertion.
    result = e2e.cli("login", "--alias", "ci", "--username", wrong, "--timeout", "600", "--no-browser", "--json",
                     timeout=120)  # fmt: skip
    assert result.returncode == 3, result.stderr
    failed = json.loads(result.stdout)
    assert failed["error"]["code"] == "USERNAME_SUSPECT" and failed["approval_url"] is None
    assert wrong in failed["error"]["message"] and "username may be wrong" in failed["error"]["message"]
    assert "authorize?" not in result.stderr and "--username" in failed["error"]["fix"]
    assert failed["attempts"] == 1  # one sf run, no retry
    # The org's answer first (then sf's fall-back hosts'):
    assert next(r.outcome for r in emu.token_requests[before:]) == "not_approved"
    again = e2e.cli("login", "--alias", "ci", "--json")  # the saved username still logs in
    assert again.returncode == 0, again.stderr


def test_dry_run_writes_the_metadata_and_contacts_no_org(e2e: E2E, tmp_path: Path) -> None:
    emu = org(e2e)
    before = len(emu.requests)
    rc, doc, stderr = create(e2e, "--dry-run", "--output-dir", str(tmp_path / "md"))
    assert rc == 0, stderr
    assert doc["dry_run"] is True and doc["login"] is None and len(emu.requests) == before
    assert (tmp_path / "md" / "package.xml").is_file()
    # What it wrote is what a real deploy takes: the emulator's checks pass on it as they stand.
    outcome = emu.deploy(tmp_path / "md", check_only=True)
    assert outcome.success, outcome


def test_an_app_of_that_name_it_did_not_create_is_never_overwritten(e2e: E2E, tmp_path: Path) -> None:
    emu = org(e2e)
    folder = tmp_path / "theirs"
    assert create(e2e, "--dry-run", "--output-dir", str(folder))[0] == 0
    eca = folder / "externalClientApps" / "SfjwtOrch_ci.eca"
    eca.write_text(eca.read_text().replace(metadata.MARKER, "The payroll team's integration"))
    assert emu.deploy(folder).success  # someone else's app of the same name (no sfjwt-orch marker)
    rc, doc, _ = create(e2e)
    assert rc == 2 and doc["error"]["code"] == "APP_EXISTS" and "--name" in doc["error"]["fix"]
    rc, doc, stderr = create(e2e, "--name", "SfjwtOrch_ci_two")
    assert rc == 0, stderr


def test_missing_admin_alias_and_unknown_user_and_blocked_connected_app(e2e: E2E) -> None:
    rc, doc, _ = create(e2e)  # no sf login for "admin" at all
    assert rc == 2 and doc["error"]["code"] == "ADMIN_ORG_NOT_FOUND"
    assert "sf org login web --alias admin" in doc["error"]["fix"]
    org(e2e)
    result = e2e.cli(
        "app", "create", "--alias", "x", "--target-org", "admin", "--username", "nobody@example.com", "--json"
    )
    assert result.returncode == 3 and json.loads(result.stdout)["error"]["code"] == "INTEGRATION_USER_NOT_FOUND"
    rc, doc, _ = create(e2e, "--kind", "connected-app", "--name", "SfjwtOrch_hub")
    assert rc == 3 and doc["error"]["code"] == "CONNECTED_APP_BLOCKED"
    assert "Salesforce Support" in doc["error"]["fix"]


def test_an_org_that_refuses_a_chosen_consumer_key_gets_a_generated_one_read_back(e2e: E2E) -> None:
    emu = org(e2e, consumer_key_refused=True)
    rc, doc, stderr = create(e2e)
    assert rc == 0, stderr
    assert doc["consumer_key_source"] == "read back" and doc["login"]["ok"] is True
    assert emu.find_app(doc["client_id"]) is not None


def test_a_deploy_failure_carries_the_components_problem(e2e: E2E) -> None:
    org(e2e, external_client_apps_disabled=True)
    rc, doc, _ = create(e2e)
    assert rc == 3 and doc["error"]["code"] == "ECA_DISABLED"


def test_a_rerun_on_another_machine_finds_the_app_by_its_marker_and_reads_its_key(e2e: E2E, tmp_path: Path) -> None:
    emu, first = made(e2e)
    # Another machine: the same key (a CI secret), no local profile or state.
    for folder in ("config", "data"):
        for path in sorted(
            Path(e2e.env[f"SFJWT_ORCH_{folder.upper()}_DIR"]).rglob("*.json" if folder == "data" else "*.toml")
        ):
            if "keys" not in path.parts:
                path.unlink()
    deploys = sum(r.params.get("operation") == "deploy" for r in emu.requests)
    rc, again, stderr = create(e2e)
    assert rc == 0, stderr
    assert again["created"] is False and again["client_id"] == first["client_id"]
    assert again["consumer_key_source"] == "read back"
    assert sum(r.params.get("operation") == "deploy" for r in emu.requests) == deploys


def test_an_org_that_wants_the_permission_set_first_gets_two_deploys(e2e: E2E) -> None:
    emu = org(e2e, permission_set_deploy_first=True)
    rc, doc, stderr = create(e2e)
    assert rc == 0, stderr
    assert "deploying it first" in stderr and doc["login"]["ok"] is True
    assert sum(r.params.get("operation") == "deploy" for r in emu.requests) == 3  # refused, the set, the app
