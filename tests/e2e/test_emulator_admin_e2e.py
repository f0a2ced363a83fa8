"""The admin side of the emulator with the real sf (pinned 2.150.x) on loopback: an org with no app,
where an admin logs in with an access token, deploys an External Client App and its gate permission
set, assigns the set, and the integration user then logs in by JWT with no approval step.

Each sf command is the one the reference names (eca-create.md §B-§D); the assertions look at what sf
printed (its --json) and at what the emulator saw on the wire.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import DEMO_ADMIN_USERNAME, Emulator, empty_org_config
from tests.e2e.conftest import E2E
from tests.integration.emulator.emulator_testkit import post_json
from tests.integration.emulator.metadata_kit import NAME, PERMSET, connected_app_files, eca_files, write_dir

pytestmark = pytest.mark.e2e

CI_USER = "ci@example.com"
ADMIN = "admin"


def _org(e2e: E2E) -> Emulator:
    emu = Emulator(empty_org_config((CI_USER,))).start()
    e2e.emulators.append(emu)
    return emu


def _sf(e2e: E2E, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [e2e.sf, *args, "--json"],
        env={**e2e.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        cwd=e2e.tmp,
        stdin=subprocess.DEVNULL,
    )
    try:
        return result.returncode, json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"sf printed no JSON (rc {result.returncode}): {result.stdout}\n{result.stderr}") from None


def _admin_login(e2e: E2E, emu: Emulator) -> None:
    rc, doc = _sf(
        e2e,
        "org", "login", "access-token", "--instance-url", emu.url, "--alias", ADMIN, "--no-prompt",
        env={"SF_ACCESS_TOKEN": emu.admin_token},
    )  # fmt: skip
    assert rc == 0, doc
    assert doc["result"]["username"] == DEMO_ADMIN_USERNAME and doc["result"]["orgId"] == emu.config.org.org_id
    # Reference §D: userinfo, then the User record at v51.0 (the username sf saves).
    paths = [r.path for r in emu.requests]
    assert paths[:2] == ["/services/oauth2/userinfo", "/services/data/v51.0/sobjects/User/005000000000000AAA"]


def _deploy(e2e: E2E, directory: Path) -> tuple[int, dict[str, Any]]:
    return _sf(e2e, "project", "deploy", "start", "--metadata-dir", str(directory), "--target-org", ADMIN)


def _failed_files(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["type"], f["error"]) for f in doc["result"]["files"] if f.get("state") == "Failed"]


def test_empty_org_to_jwt_login_with_the_admin_side(e2e: E2E) -> None:
    emu = _org(e2e)
    emu.set_switches(deploy_pending_polls=1)  # one "InProgress" answer, as a real org gives
    _admin_login(e2e, emu)

    # Deploy the recommended directory (reference §A1): five ECA files and the gate permission set.
    directory = write_dir(e2e.tmp / "eca", eca_files(e2e.keypair.cert_pem, description="made by sfjwt-orch"))
    rc, doc = _deploy(e2e, directory)
    assert rc == 0 and doc["result"]["status"] == "Succeeded", doc
    created = {(f["type"], f["fullName"]) for f in doc["result"]["files"] if f["state"] == "Created"}
    assert (
        ("ExternalClientApplication", NAME) in created and ("PermissionSet", PERMSET) in created and len(created) == 6
    )
    operations = [r.params.get("operation") for r in emu.requests if r.path == "/services/Soap/m/62.0"]
    assert operations == ["deploy", "checkDeployStatus", "checkDeployStatus"]
    app = emu.find_app(NAME)
    assert app is not None and app.description == "made by sfjwt-orch"

    # Assign the gate; a second assignment is sf's duplicate failure (reference §C).
    assign = ("org", "assign", "permset", "--name", PERMSET, "--on-behalf-of", CI_USER, "--target-org", ADMIN)
    rc, doc = _sf(e2e, *assign)
    assert rc == 0 and doc["result"]["successes"] == [{"name": CI_USER, "value": PERMSET}], doc
    rc, doc = _sf(e2e, *assign)
    assert rc == 1 and doc["result"]["failures"][0]["message"].startswith(
        "Duplicate PermissionSetAssignment. Assignee: "
    )

    # The integration user logs in by JWT with the generated consumer key: pre-authorized, no approval.
    rc, doc = _sf(
        e2e,
        "org", "login", "jwt", "--client-id", app.consumer_key, "--jwt-key-file", str(e2e.keypair.key),
        "--username", CI_USER, "--instance-url", emu.url, "--alias", "ci",
    )  # fmt: skip
    assert rc == 0 and doc["result"]["username"] == CI_USER, doc
    assert emu.token_requests[-1].outcome == "ok" and emu.approvals == ()

    # The app is listed, and a retrieve gives back the consumer key the org generated.
    rc, doc = _sf(e2e, "org", "list", "metadata", "-m", "ExternalClientApplication", "--target-org", ADMIN)
    assert rc == 0 and [m["fullName"] for m in doc["result"]] == [NAME], doc
    assert emu.requests[-1].params == {"operation": "listMetadata", "types": "ExternalClientApplication", "count": "1"}
    rc, doc = _sf(
        e2e,
        "project", "retrieve", "start", "-m", f"ExtlClntAppGlobalOauthSettings:{NAME}_glbloauth",
        "--target-metadata-dir", str(e2e.tmp / "retrieved"), "--target-org", ADMIN,
    )  # fmt: skip
    assert rc == 0 and doc["result"]["status"] == "Succeeded", doc
    with zipfile.ZipFile(doc["result"]["zipFilePath"]) as archive:
        settings = archive.read(f"unpackaged/extlClntAppGlobalOauthSets/{NAME}_glbloauth.ecaGlblOauth").decode()
    assert f"<consumerKey>{app.consumer_key}</consumerKey>" in settings
    assert e2e.blocked_hosts() == set()  # nothing tried to leave loopback


def test_a_deploy_failure_is_in_sfs_json_and_writes_nothing(e2e: E2E) -> None:
    emu = _org(e2e)
    _admin_login(e2e, emu)
    files = eca_files(e2e.keypair.cert_pem, policy={"permittedUsersPolicyType": "AdminApproved"})
    rc, doc = _deploy(e2e, write_dir(e2e.tmp / "bad", files))
    assert rc == 1 and doc["result"]["status"] == "Failed", doc
    assert _failed_files(doc) == [
        (
            "ExtlClntAppOauthConfigurablePolicies",
            "'AdminApproved' is not a valid value for the enum 'PermittedUsersPolicyType'",
        )
    ]
    assert emu.apps() == () and emu.state()["permission_sets"] == []


def test_connected_app_creation_is_blocked_until_support_enables_it(e2e: E2E) -> None:
    emu = _org(e2e)
    _admin_login(e2e, emu)
    directory = write_dir(e2e.tmp / "ca", connected_app_files(e2e.keypair.cert_pem))
    rc, doc = _deploy(e2e, directory)
    assert rc == 1 and _failed_files(doc) == [
        (
            "ConnectedApp",
            "You can't create a connected app. To enable connected app creation, contact Salesforce Customer Support.",
        )
    ]
    # The org where Support re-enabled creation (the switch set as a script would, over the control API).
    assert post_json(f"{emu.url}/__emulator/config", {"connected_app_creation_blocked": False}).status == 200
    rc, doc = _deploy(e2e, directory)
    assert rc == 0, doc
    app = emu.find_app("LegacyApp")
    assert app is not None and not app.eca
    # profileName System Administrator pre-authorizes the admin for JWT.
    rc, doc = _sf(
        e2e,
        "org", "login", "jwt", "--client-id", app.consumer_key, "--jwt-key-file", str(e2e.keypair.key),
        "--username", DEMO_ADMIN_USERNAME, "--instance-url", emu.url,
    )  # fmt: skip
    assert rc == 0, doc
