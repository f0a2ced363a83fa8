"""app create through cli.main with a strict fake runner: every sf command it runs, in order, for
the paths the org's answers choose (the same paths run against the emulator with the real sf in
tests/e2e)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

from sfjwt_orch.store import profiles, state
from tests.cli.conftest import World, sf_output

ADMIN_DISPLAY = json.dumps(
    {
        "status": 0,
        "result": {
            "id": "00D000000000001AAA",
            "connectedStatus": "Connected",
            "instanceUrl": "https://acme.my.salesforce.com",
            "username": "admin@acme.com",
        },
    }
)
USER = "ci-bot@acme.com"
APP = "SfjwtOrch_ci"
OK_LIST = json.dumps({"status": 0, "result": []})
DEPLOYED = json.dumps({"status": 0, "result": {"status": "Succeeded", "success": True, "files": []}})
ASSIGNED = json.dumps({"status": 0, "result": {"successes": [{"name": USER, "value": f"{APP}_Jwt"}], "failures": []}})
SUCCESS = sf_output("success.login.stdout")
CONNECTED = json.dumps(
    {"status": 0, "result": {"id": "00D000000000001AAA", "connectedStatus": "Connected", "username": USER}}
)
RETRIEVED_OK = json.dumps({"status": 0, "result": {"files": []}})
CREATE = ("app", "create", "--alias", "ci", "--target-org", "admin", "--username", USER)


def failed_deploy(kind: str, name: str, problem: str) -> str:
    files = [{"type": kind, "fullName": name, "state": "Failed", "problemType": "Error", "error": problem}]
    return json.dumps(
        {"status": 1, "name": "FailedDeployError", "message": "Deploy failed.", "result": {"files": files}}
    )


def deploy_dir(argv: Sequence[str]) -> Path:
    return Path(argv[list(argv).index("--metadata-dir") + 1])


def test_app_create_deploys_assigns_saves_and_logs_in_without_an_approval(world: World) -> None:
    deployed: dict[str, str] = {}

    def keep(argv: Sequence[str]) -> None:  # the folder is gone once the deploy returns: read it now
        folder = deploy_dir(argv)
        deployed.update({str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()})

    world.expect_sf("org", "display", "--target-org", "admin", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", "--metadata-type", "ExternalClientApplication", stdout=OK_LIST)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED, effect=keep)
    world.expect_sf("org", "assign", "permset", "--name", f"{APP}_Jwt", "--on-behalf-of", USER, stdout=ASSIGNED)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", "--target-org", "ci", stdout=CONNECTED)
    result = world.invoke(*CREATE, "--json")
    assert result.code == 0, result.stderr
    doc = result.doc
    assert (doc["ok"], doc["app_name"], doc["kind"], doc["created"]) == (True, APP, "eca", True)
    assert doc["consumer_key_source"] == "chosen" and 64 <= len(doc["client_id"]) <= 85
    assert doc["login"]["ok"] is True and doc["login"]["approval_url"] is None and doc["login"]["attempts"] == 1
    assert "a new app takes a few minutes" in result.stderr  # deployed by this run: it is new
    world.done()
    # What was deployed: the five app components, the gate permission set, the certificate, the key.
    assert set(deployed) == {
        f"extlClntAppGlobalOauthSets/{APP}_glbloauth.ecaGlblOauth",
        f"extlClntAppOauthPolicies/{APP}_oauth_defaultPolicy.ecaOauthPlcy",
        f"extlClntAppOauthSettings/{APP}_oauth.ecaOauth",
        f"extlClntAppPolicies/{APP}_defaultPolicy.ecaPlcy",
        f"externalClientApps/{APP}.eca",
        "package.xml",
        f"permissionsets/{APP}_Jwt.permissionset",
    }
    settings = deployed[f"extlClntAppGlobalOauthSets/{APP}_glbloauth.ecaGlblOauth"]
    assert f"<consumerKey>{doc['client_id']}</consumerKey>" in settings
    assert "-----BEGIN CERTIFICATE-----" in settings and "PRIVATE KEY" not in "".join(deployed.values())
    policy = deployed[f"extlClntAppOauthPolicies/{APP}_oauth_defaultPolicy.ecaOauthPlcy"]
    assert "<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>" in policy
    saved = profiles.load(world.paths, "ci")
    assert saved is not None and (saved.client_id, saved.username) == (doc["client_id"], USER)
    assert saved.instance_url == "https://acme.my.salesforce.com"
    assert state.load(world.paths, "ci").app_name == APP


def test_a_refused_chosen_key_is_deployed_without_it_and_read_back(world: World) -> None:
    generated = "3MVG9GeneratedByTheOrg" + "x" * 50

    def retrieved(argv: Sequence[str]) -> None:
        folder = Path(argv[list(argv).index("--target-metadata-dir") + 1])
        path = folder / "unpackaged" / "extlClntAppGlobalOauthSets" / f"{APP}_glbloauth.ecaGlblOauth"
        path.parent.mkdir(parents=True)
        path.write_text(
            '<?xml version="1.0"?><ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<consumerKey>{generated}</consumerKey></ExtlClntAppGlobalOauthSettings>"
        )

    without_key: list[bool] = []

    def check_no_key(argv: Sequence[str]) -> None:
        settings = deploy_dir(argv) / "extlClntAppGlobalOauthSets" / f"{APP}_glbloauth.ecaGlblOauth"
        without_key.append("<consumerKey>" not in settings.read_text())

    world.expect_sf("org", "display", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=OK_LIST)
    problem = "You cannot provide a Consumer Key for this External Client App"
    world.expect_sf("project", "deploy", "start", rc=1,
                    stdout=failed_deploy("ExtlClntAppGlobalOauthSettings", f"{APP}_glbloauth", problem))  # fmt: skip
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED, effect=check_no_key)
    world.expect_sf("project", "retrieve", "start", "--metadata", f"ExtlClntAppGlobalOauthSettings:{APP}_glbloauth",
                    stdout=json.dumps({"status": 0, "result": {"files": []}}), effect=retrieved)  # fmt: skip
    world.expect_sf("org", "assign", "permset", stdout=ASSIGNED)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=CONNECTED)
    result = world.invoke(*CREATE, "--json")
    assert result.code == 0, result.stderr
    assert result.doc["client_id"] == generated and result.doc["consumer_key_source"] == "read back"
    assert without_key == [True]
    world.done()


def _retrieved_app(description: str) -> object:
    def write(argv: Sequence[str]) -> None:
        folder = Path(argv[list(argv).index("--target-metadata-dir") + 1]) / "unpackaged" / "externalClientApps"
        folder.mkdir(parents=True)
        (folder / f"{APP}.eca").write_text(
            '<ExternalClientApplication xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<description>{description}</description></ExternalClientApplication>"
        )

    return write


def test_an_app_of_that_name_it_did_not_create_is_app_exists(world: World) -> None:
    world.expect_sf("org", "display", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=json.dumps({"status": 0, "result": [{"fullName": APP}]}))
    world.expect_sf("project", "retrieve", "start", "--metadata", f"ExternalClientApplication:{APP}",
                    stdout=RETRIEVED_OK, effect=_retrieved_app("the payroll team's integration"))  # fmt: skip
    result = world.invoke(*CREATE, "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "APP_EXISTS"
    assert "--name" in result.doc["error"]["fix"] and result.doc["created"] is False
    world.done()


def test_a_missing_admin_alias_names_the_login_to_run(world: World) -> None:
    no_org = json.dumps(
        {"status": 1, "name": "NoAuthInfoFound", "message": "No authorization information found for admin."}
    )
    world.expect_sf("org", "display", "--target-org", "admin", stdout=no_org, rc=1)
    result = world.invoke(*CREATE, "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "ADMIN_ORG_NOT_FOUND"
    assert "sf org login web --alias admin" in result.doc["error"]["fix"]
    world.done()


@pytest.mark.parametrize(
    ("problem", "code", "exit_code"),
    [
        ("You can't create a connected app. To enable connected app creation, contact Salesforce Customer Support.",
         "CONNECTED_APP_BLOCKED", 3),
        ("External Client Apps are not enabled in this org.", "ECA_DISABLED", 3),
        ("'AdminApproved' is not a valid value for the enum 'PermittedUsersPolicyType'", "DEPLOY_FAILED", 3),
    ],
)  # fmt: skip
def test_each_deploy_refusal_has_its_code(world: World, problem: str, code: str, exit_code: int) -> None:
    world.expect_sf("org", "display", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=OK_LIST)
    world.expect_sf("project", "deploy", "start", rc=1, stdout=failed_deploy("ExternalClientApplication", APP, problem))
    result = world.invoke(*CREATE, "--json")
    assert result.code == exit_code and result.doc["error"]["code"] == code
    assert problem in result.doc["error"]["message"]
    assert profiles.load(world.paths, "ci") is None or not profiles.load(world.paths, "ci").client_id  # type: ignore[union-attr]
    world.done()


def test_an_unknown_integration_user_is_its_own_code(world: World) -> None:
    world.expect_sf("org", "display", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=OK_LIST)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)
    no_user = {"status": 1, "name": "SingleRecordQuery_NoRecords",
               "message": f"No record found for SELECT Id FROM User WHERE Username='{USER}'"}  # fmt: skip
    world.expect_sf("org", "assign", "permset", stdout=json.dumps(no_user), rc=1)
    result = world.invoke(*CREATE, "--json")
    assert result.code == 3 and result.doc["error"]["code"] == "INTEGRATION_USER_NOT_FOUND"
    world.done()


def test_dry_run_writes_the_metadata_and_contacts_no_org(world: World, tmp_path: Path) -> None:
    sfdx = Path(world.ctx.env["HOME"]) / ".sfdx"
    sfdx.mkdir()
    (sfdx / "alias.json").write_text(json.dumps({"orgs": {"admin": "admin@acme.com"}}))
    (sfdx / "admin@acme.com.json").write_text(json.dumps({"instanceUrl": "https://acme.my.salesforce.com/"}))
    out = tmp_path / "md"
    result = world.invoke(*CREATE, "--dry-run", "--output-dir", str(out), "--json")
    assert result.code == 0, result.stderr
    doc = result.doc
    assert doc["dry_run"] is True and doc["created"] is False and doc["login"] is None
    assert (out / "package.xml").is_file() and (out / "externalClientApps" / f"{APP}.eca").is_file()
    assert any(c.startswith("sf project deploy start --metadata-dir") for c in doc["commands"])
    assert (world.paths.key_dir("ci") / "server.crt").is_file()  # the key pair, made for the metadata
    assert profiles.load(world.paths, "ci") is None  # and no profile saved
    world.done()  # no sf run at all


def test_dry_run_lists_the_commands_a_real_run_starts(world: World, tmp_path: Path) -> None:
    # Issue 21 item 3: the list is built from the adapter's own argv (a hand-written one had lost the
    # first sf org display and the deploy's --wait); what only the run learns is a <placeholder>.
    sfdx = Path(world.ctx.env["HOME"]) / ".sfdx"
    sfdx.mkdir()
    (sfdx / "alias.json").write_text(json.dumps({"orgs": {"admin": "admin@acme.com"}}))
    (sfdx / "admin@acme.com.json").write_text(json.dumps({"instanceUrl": "https://acme.my.salesforce.com/"}))
    planned = world.invoke(*CREATE, "--dry-run", "--output-dir", str(tmp_path / "md"), "--json").doc["commands"]
    for step in (ADMIN_DISPLAY, OK_LIST, DEPLOYED, ASSIGNED, SUCCESS, CONNECTED):
        world.expect_sf(stdout=step)
    assert world.invoke(*CREATE, "--json").code == 0
    ran = [shlex.join(["sf", *argv[1:]]) for argv in world.runner.calls if Path(argv[0]).name == "sf"]
    assert len(planned) == len(ran) == 6
    for plan, run in zip(planned, ran, strict=True):
        plan_words, run_words = shlex.split(plan), shlex.split(run)
        assert len(plan_words) == len(run_words), (plan, run)
        for said, done in zip(plan_words, run_words, strict=True):
            learnt = said.startswith("<") or said == str(tmp_path / "md")  # the key, URL, folder
            assert said == done or learnt, (plan, run)
    world.done()


def test_bootstrap_with_an_admin_alias_creates_the_app_instead_of_the_checklist(world: World) -> None:
    world.expect_sf("--version", stdout="@salesforce/cli/2.150.6 linux-x64 node-v24.19.0\n")
    world.expect_sf("org", "display", "--target-org", "admin", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=OK_LIST)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)
    world.expect_sf("org", "assign", "permset", stdout=ASSIGNED)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", "--target-org", "ci", stdout=CONNECTED)
    result = world.invoke(
        "bootstrap", "--alias", "ci", "--target-org", "admin", "--username", USER, "--no-input", "--json"
    )
    assert result.code == 0, result.stderr
    assert "Create the app in Salesforce" not in result.stderr  # no manual checklist
    assert result.doc["ok"] is True and result.doc["approval_url"] is None
    saved = profiles.load(world.paths, "ci")
    assert saved is not None and len(saved.client_id) == 72 and saved.instance_url == "https://acme.my.salesforce.com"
    world.done()


def test_an_app_sfjwt_orch_made_on_another_machine_is_reused_with_its_key_read_back(world: World) -> None:
    from sfjwt_orch.salesforce import metadata

    generated = "K" * 72

    def settings(argv: Sequence[str]) -> None:
        folder = Path(argv[list(argv).index("--target-metadata-dir") + 1]) / "unpackaged" / "extlClntAppGlobalOauthSets"
        folder.mkdir(parents=True)
        (folder / f"{APP}_glbloauth.ecaGlblOauth").write_text(
            '<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<consumerKey>{generated}</consumerKey></ExtlClntAppGlobalOauthSettings>"
        )

    world.expect_sf("org", "display", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=json.dumps({"status": 0, "result": [{"fullName": APP}]}))
    world.expect_sf("project", "retrieve", "start", "--metadata", f"ExternalClientApplication:{APP}",
                    stdout=RETRIEVED_OK, effect=_retrieved_app(f"{metadata.MARKER}: JWT bearer login"))  # fmt: skip
    world.expect_sf("project", "retrieve", "start", "--metadata", f"ExtlClntAppGlobalOauthSettings:{APP}_glbloauth",
                    stdout=RETRIEVED_OK, effect=settings)  # fmt: skip
    already = {"status": 1, "result": {"successes": [], "failures": [
        {"name": USER, "message": "Duplicate PermissionSetAssignment. Assignee: 005; Permission Set: 0PS"}]}}  # fmt: skip
    world.expect_sf("org", "assign", "permset", stdout=json.dumps(already), rc=1)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=CONNECTED)
    result = world.invoke(*CREATE, "--json")
    assert result.code == 0, result.stderr
    assert (result.doc["created"], result.doc["client_id"], result.doc["consumer_key_source"]) == (
        False,
        generated,
        "read back",
    )
    assert "had it already" in result.stderr
    # Nothing new was deployed: no claim that a new app is spreading (issue 24 item 3).
    assert "a new app takes" not in result.stderr
    world.done()


def test_ctrl_c_during_the_deploy_keeps_the_document_shape_and_saves_nothing(world: World) -> None:
    def interrupted(argv: Sequence[str]) -> None:
        raise KeyboardInterrupt

    world.expect_sf("org", "display", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=OK_LIST)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED, effect=interrupted)
    result = world.invoke(*CREATE, "--json")
    assert result.code == 130 and result.doc["error"]["code"] == "INTERRUPTED"
    assert result.doc["app_name"] == APP and result.doc["created"] is False  # app create's document, not {ok, error}
    saved = profiles.load(world.paths, "ci")
    assert saved is None or not saved.client_id
    world.done()
