"""Every command, in-process through cli.main with a strict fake runner: a success and a documented
failure each, asserting the exit code and the JSON document."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sfjwt_orch.store import profiles, state
from tests.cli.conftest import World, sf_output

CID = "3MVG9CLIENTID1234567"
USER = "user@example.com"
SUCCESS = sf_output("success.login.stdout")
NOT_APPROVED = sf_output("notapproved.json.stdout")
DISPLAY = json.dumps(
    {
        "status": 0,
        "result": {
            "id": "00D000000000001AAA",
            "connectedStatus": "Connected",
            "instanceUrl": "http://127.0.0.1:8555",
            "username": USER,
        },
    }
)
VERSION = "@salesforce/cli/2.150.6 linux-x64 node-v24.19.0\n"
LOGIN_KEYS = {
    "ok",
    "alias",
    "username",
    "org_id",
    "instance_url",
    "login_url",
    "is_dev_hub",
    "attempts",
    "approval_url",
    "error",
}
# login's own document also says when the org behind the alias changed (a refreshed sandbox), and
# which saved answers the login replaced (issue 24 item 5).
LOGIN_DOC_KEYS = {*LOGIN_KEYS, "org_changed_from", "changed"}


def login_args(world: World, *extra: str) -> tuple[str, ...]:
    return ("login", "--alias", "hub", "--client-id", CID, "--username", USER, "--key-file", str(world.keypair.key),
            "--instance-url", "https://acme.my.salesforce.com", *extra)  # fmt: skip


# --- login ---


def test_login_succeeds_saves_the_answers_and_the_org(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke(*login_args(world), "--json")
    assert result.code == 0, result.stderr
    assert (
        set(result.doc) == LOGIN_DOC_KEYS and result.doc["ok"] is True and result.doc["org_id"] == "00D000000000001AAA"
    )
    world.done()
    saved = profiles.load(world.paths, "hub")
    assert saved is not None and (saved.client_id, saved.username) == (CID, USER)
    assert state.load(world.paths, "hub").org_id == "00D000000000001AAA"


def test_login_not_approved_without_waiting_is_exit_4_with_the_url(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=NOT_APPROVED, rc=1)
    result = world.invoke(*login_args(world), "--timeout", "0", "--json")
    assert result.code == 4
    doc = result.doc
    assert set(doc) == {*LOGIN_DOC_KEYS, "sf_lines"} and doc["ok"] is False and doc["error"]["code"] == "NOT_APPROVED"
    assert doc["approval_url"].startswith("https://acme.my.salesforce.com/services/oauth2/authorize?")
    world.done()
    assert profiles.load(world.paths, "hub") is None, "nothing is saved until a login works"


def test_login_bad_alias_keeps_the_login_document_shape(world: World) -> None:
    result = world.invoke("login", "--alias", "../x", "--json")
    assert result.code == 2
    assert set(result.doc) == LOGIN_DOC_KEYS and result.doc["error"]["code"] == "USAGE"
    world.done()


def test_a_second_login_with_the_same_key_needs_no_deep_key_check(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke(*login_args(world)).code == 0
    assert state.known_key_bits(world.paths, world.keypair.key) == 2048
    assert world.invoke("login", "--alias", "hub").code == 0
    world.done()


# --- bootstrap ---


def test_bootstrap_with_every_value_given_logs_in_and_verifies(world: World) -> None:
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=DISPLAY)
    args = login_args(world)[1:]
    result = world.invoke("bootstrap", *args, "--cert-file", str(world.keypair.cert), "--no-input", "--json")
    assert result.code == 0, result.stderr
    doc = result.doc
    assert set(doc) == {*LOGIN_DOC_KEYS, "steps"} and doc["ok"] is True
    assert [s["name"] for s in doc["steps"]] == [
        "Tools", "Key and certificate", "The app in Salesforce", "Login", "Verify", "Save",
    ]  # fmt: skip
    assert doc["steps"][-1]["status"] == "done"
    world.done()
    # A rerun with the same answers changes nothing: Save says so instead of a ✓ (issue 24 item 3).
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "display", stdout=DISPLAY)  # sf holds the login already: not redone, verified once
    again = world.invoke("bootstrap", *args, "--cert-file", str(world.keypair.cert), "--no-input", "--json")
    assert again.code == 0, again.stderr
    assert again.doc["steps"][-1] == {
        "name": "Save",
        "status": "skipped",
        "detail": f"profile {world.paths.profile_file('hub')} unchanged",
    }
    assert "✓ Save" not in again.stderr
    world.done()


def test_bootstrap_early_failure_keeps_the_bootstrap_document_shape(world: World) -> None:
    result = world.invoke("bootstrap", "--alias", "hub", "--sandbox", "--instance-url", "https://x.my.salesforce.com",
                          "--json")  # fmt: skip
    assert result.code == 2
    assert set(result.doc) == {*LOGIN_DOC_KEYS, "steps"} and result.doc["error"]["code"] == "USAGE"
    world.done()


def test_bootstrap_missing_values_without_a_person_is_exit_2_naming_the_flags(world: World) -> None:
    world.expect_sf("--version", stdout=VERSION)
    result = world.invoke("bootstrap", "--alias", "hub", "--key-file", str(world.keypair.key), "--no-input", "--json")
    assert result.code == 2
    assert "--client-id and --username" in result.doc["error"]["message"]
    world.done()


# --- keygen ---


def test_keygen_writes_a_pair_and_records_it(world: World) -> None:
    result = world.invoke("keygen", "--alias", "hub", "--json")
    assert result.code == 0, result.stderr
    doc = result.doc
    assert doc["ok"] is True and doc["fingerprint_sha256"].count(":") == 31
    saved = profiles.load(world.paths, "hub")
    assert saved is not None and saved.key_file == doc["key_file"]
    world.done()


def test_keygen_refuses_to_overwrite(world: World) -> None:
    assert world.invoke("keygen", "--alias", "hub").code == 0
    result = world.invoke("keygen", "--alias", "hub", "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "KEY_EXISTS"


# --- logout ---


def test_logout_runs_sf_logout(world: World) -> None:
    world.expect_sf("org", "logout", "--target-org", "hub", stdout='{"status": 0, "result": {}}')
    result = world.invoke("logout", "--alias", "hub", "--json")
    assert result.code == 0 and result.doc == {
        "ok": True,
        "alias": "hub",
        "logged_out": True,
        "shredded_key": None,
        "did_you_mean": None,
        "error": None,
    }
    assert "Logged hub out of sf" in result.stderr
    world.done()


NO_AUTH = '{"status": 1, "name": "NoAuthFoundForTargetOrgError", "message": "No authorization found"}'


def test_logout_of_a_login_already_gone_says_so_and_shreds_nothing(world: World) -> None:
    """Issue 24 item 2: a mistyped alias with no sf login and no key reported nothing it did not do,
    and a CI cleanup step that runs it again still exits 0."""
    assert world.invoke("keygen", "--alias", "hub").code == 0
    profiles.save(world.paths, profiles.load_or_new(world.paths, "hub").merged(profiles.Profile("hub", client_id=CID)))
    world.expect_sf("org", "logout", "--target-org", "hbu", stdout=NO_AUTH, rc=1)
    result = world.invoke("logout", "--alias", "hbu", "--shred-key", "--json")
    assert result.code == 0, result.stderr
    assert result.doc["logged_out"] is False and result.doc["shredded_key"] is None
    assert result.doc["did_you_mean"] == "hub"
    assert "sf holds no login for hbu (did you mean 'hub'?)" in result.stderr
    missing = world.paths.key_dir("hbu") / "server.key"
    assert f"No key at {missing}" in result.stderr
    assert "Logged" not in result.stderr and "Shredded" not in result.stderr
    assert (world.paths.key_dir("hub") / "server.key").exists()
    world.done()


def test_logout_shred_key_names_the_key_it_shredded(world: World) -> None:
    assert world.invoke("keygen", "--alias", "hub").code == 0
    key = world.paths.key_dir("hub") / "server.key"
    world.expect_sf("org", "logout", "--target-org", "hub", stdout='{"status": 0, "result": {}}')
    result = world.invoke("logout", "--alias", "hub", "--shred-key", "--json")
    assert result.code == 0 and result.doc["shredded_key"] == str(key) and not key.exists()
    assert f"Shredded {key}" in result.stderr
    world.done()


def test_logout_failure_is_sf_failed(world: World) -> None:
    world.expect_sf("org", "logout", stdout='{"status": 1, "name": "SfError", "message": "boom"}', rc=1)
    result = world.invoke("logout", "--alias", "hub", "--json")
    assert result.code == 5 and result.doc["error"]["code"] == "SF_FAILED"
    world.done()


# --- doctor ---


def test_doctor_healthy_alias(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke(*login_args(world), "--key-file", str(world.keypair.key)).code == 0
    profiles.save(
        world.paths, dataclasses.replace(profiles.load_or_new(world.paths, "hub"), cert_file=str(world.keypair.cert))
    )
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "display", "--target-org", "hub", stdout=DISPLAY)
    result = world.invoke("doctor", "--alias", "hub", "--json")
    assert result.code == 0, result.stderr
    assert result.doc["ok"] is True and result.doc["error"] is None
    assert {c["name"]: c["result"] for c in result.doc["checks"]}["sf login"] == "pass"
    world.done()
    # For people: one check per line; a fingerprint or a path is never cut in two (issue 14: the
    # table folded them mid-word to fit a column).
    detail = {c["name"]: c["detail"] for c in result.doc["checks"]}["key matches certificate"]
    fingerprint = detail.split()[-1]
    assert len(fingerprint) == 95 and fingerprint in result.stderr
    assert any(line.startswith("pass  sf login ") for line in result.stderr.splitlines())


def test_doctor_warns_of_an_eca_behind_the_generic_login_host_and_of_an_eca_dev_hub(world: World) -> None:
    # Spring '26 (docs/platform-2026.md): an ECA refuses the generic audience; an ECA Dev Hub meets C-1016.
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke(*login_args(world), "--key-file", str(world.keypair.key)).code == 0
    saved = profiles.load_or_new(world.paths, "hub")
    profiles.save(
        world.paths,
        saved.merged(
            profiles.Profile(saved.alias, cert_file=str(world.keypair.cert), instance_url="https://test.salesforce.com")
        ),
    )
    state.save(world.paths, state.load(world.paths, "hub").with_(app_kind="eca"))
    sfdx = Path(world.ctx.env["HOME"]) / ".sfdx"  # sf's auth file says Dev Hub
    sfdx.mkdir()
    (sfdx / "alias.json").write_text(json.dumps({"orgs": {"hub": USER}}))
    (sfdx / "key.json").write_text(json.dumps({"service": "sfdx", "account": "local", "key": "0" * 64}))
    (sfdx / "key.json").chmod(0o600)
    (sfdx / f"{USER}.json").write_text(json.dumps({"instanceUrl": "https://acme.my.salesforce.com", "isDevHub": True}))
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "display", "--target-org", "hub", stdout=DISPLAY)
    result = world.invoke("doctor", "--alias", "hub", "--json")
    assert result.code == 0, result.stderr
    checks = {c["name"]: c for c in result.doc["checks"]}
    assert checks["audience"]["result"] == "warn"
    # The My Domain sf reported at the last login is named (the state keeps it).
    known = state.load(world.paths, "hub").instance_url
    assert known and f"--instance-url {known}" in checks["audience"]["fix"]
    assert checks["scratch orgs"]["result"] == "warn" and "PlatformCLI" in checks["scratch orgs"]["fix"]
    world.done()


def test_doctor_failed_check_is_exit_6_with_an_error_object(world: World) -> None:
    # Issue 21 item 7: exit 1 means a bug; a check that fails is CHECK_FAILED, exit 6 (it was 1).
    world.expect_sf("--version", stdout=VERSION)
    result = world.invoke("doctor", "--alias", "nobody", "--json")
    assert result.code == 6
    error = result.doc["error"]
    assert result.doc["ok"] is False and error["code"] == "CHECK_FAILED"
    assert error["message"].endswith(": no profile for nobody")
    failed = [c for c in result.doc["checks"] if c["result"] == "fail"]
    assert failed and failed[0]["detail"] == "no profile for nobody"
    world.done()


# --- authorize-url ---


def test_authorize_url_from_flags(world: World) -> None:
    result = world.invoke("authorize-url", "--client-id", CID, "--sandbox", "--json")
    assert result.code == 0
    assert result.doc["url"].startswith("https://test.salesforce.com/services/oauth2/authorize?response_type=code")


def test_authorize_url_without_a_client_id_is_usage(world: World) -> None:
    result = world.invoke("authorize-url", "--json")
    assert result.code == 2 and result.doc["error"]["message"] == "no client id"


def test_resolve_runs_nothing_and_names_the_my_domain(world: World) -> None:
    result = world.invoke("resolve", "https://acme.my.salesforce-setup.com/lightning/setup/home")
    assert result.code == 0 and "login URL: https://acme.my.salesforce.com\n" in result.stdout
    assert "an External Client App takes it" in result.stdout
    doc = world.invoke("resolve", "test", "--json").doc
    assert doc == {**doc, "ok": True, "login_url": "https://test.salesforce.com", "eca_ok": False}


def test_resolve_of_a_host_not_salesforces_is_refused(world: World) -> None:
    result = world.invoke("resolve", "https://evil.example", "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "URL_REFUSED"
    assert result.doc["login_url"] is None and result.doc["given"] == "https://evil.example"


# --- profiles and ci export ---


def _saved(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke(*login_args(world)).code == 0


def test_profiles_list_show_remove(world: World) -> None:
    _saved(world)
    listed = world.invoke("profiles", "list", "--json")
    assert listed.code == 0 and [p["alias"] for p in listed.doc["profiles"]] == ["hub"]
    assert listed.doc["profiles"][0]["org_id"] == "00D000000000001AAA"
    shown = world.invoke("profiles", "show", "hub", "--json")
    assert shown.code == 0 and shown.doc["profile"]["client_id"] == CID
    removed = world.invoke("profiles", "remove", "hub", "--no-logout", "--json")
    assert removed.code == 0 and removed.doc == {
        "ok": True,
        "alias": "hub",
        "logged_out": False,
        "deleted": [],
        "error": None,
    }
    assert profiles.load(world.paths, "hub") is None
    assert not world.paths.state_file("hub").exists()
    world.done()


def test_profiles_remove_delete_key_names_each_file_and_leaves_no_empty_folder(world: World) -> None:
    """Issue 24 item 3: the key and certificate were deleted without being named, and the emptied
    key folder and the state file stayed behind."""
    assert world.invoke("keygen", "--alias", "hub").code == 0
    folder = world.paths.key_dir("hub")
    state.save(world.paths, state.load(world.paths, "hub").with_(org_id="00D000000000001AAA"))
    removed = world.invoke("profiles", "remove", "hub", "--no-logout", "--delete-key", "--json")
    assert removed.code == 0, removed.stderr
    gone = [str(folder / "server.key"), str(folder / "server.crt"), str(folder)]
    assert removed.doc["deleted"] == gone
    for path in gone:
        assert f"Deleted {path}" in removed.stderr
    assert not folder.exists() and not world.paths.state_file("hub").exists()


def test_profiles_show_unknown_alias_is_profile_not_found(world: World) -> None:
    result = world.invoke("profiles", "show", "nobody", "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "PROFILE_NOT_FOUND"


def test_ci_export_gives_the_variables_without_the_key(world: World) -> None:
    _saved(world)
    result = world.invoke("ci", "export", "hub", "--pip-spec", "sfjwt-orch==0.1.0", "--json")
    assert result.code == 0
    assert result.doc["variables"] == {
        "SF_CLIENT_ID": CID,
        "SF_USERNAME": USER,
        "SF_INSTANCE_URL": "https://acme.my.salesforce.com",
    }
    assert "--key-env SF_JWT_KEY" in result.doc["snippet"]
    world.done()


def test_ci_export_unknown_format_is_usage(world: World) -> None:
    result = world.invoke("ci", "export", "hub", "--format", "jenkins", "--json")
    # An Enum since issue 21 item 6: Typer's own words for a value outside the choices.
    assert result.code == 2 and "'--format': 'jenkins' is not one of" in result.doc["error"]["message"]


# --- emulator serve (its success, serving until Ctrl-C, is in tests/integration/test_emulator_cli.py) ---


def test_emulator_serve_bad_policy_is_usage(world: World) -> None:
    # --policy is an Enum choice (issue 21 item 6), so Typer refuses it, naming the choices, before
    # the flow runs (the flow's own check, with its own wording, went with the free-text option).
    result = world.invoke("emulator", "serve", "--policy", "open")
    assert result.code == 2 and "'open' is not one of 'admin-approved', 'self-authorize'" in result.stderr


# --- status ---


def test_status_lists_every_profile_and_is_exit_1_when_one_needs_attention(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke(*login_args(world)).code == 0
    profiles.save(
        world.paths, dataclasses.replace(profiles.load_or_new(world.paths, "hub"), cert_file=str(world.keypair.cert))
    )
    profiles.save(world.paths, profiles.Profile(alias="half", username=USER))
    world.runner.ordered = False  # status asks sf about every alias at once
    world.expect_sf("org", "display", "--target-org", "hub", stdout=DISPLAY)
    world.expect_sf("org", "display", "--target-org", "half", stdout='{"status": 1, "name": "NoAuthInfoFound"}', rc=1)
    result = world.invoke("status", "--json")
    assert result.code == 6, result.stderr  # CHECK_FAILED (issue 21 item 7: exit 1 is a bug only)
    assert result.doc["error"]["code"] == "CHECK_FAILED"
    rows = {r["alias"]: r for r in result.doc["profiles"]}
    assert set(rows) == {"hub", "half"} and result.doc["ok"] is False
    assert rows["hub"]["sf_login"] is True and rows["hub"]["org_id"] == "00D000000000001AAA"
    # The test key pair's certificate is made for 30 days: within the warning window, and said so.
    days = rows["hub"]["certificate_days_left"]
    assert days in (29, 30) and rows["hub"]["healthy"] is False
    assert rows["hub"]["problems"] == [f"certificate expires in {days} days (sfjwt-orch rotate --alias hub)"]
    assert rows["half"]["sf_login"] is False
    assert any("profile incomplete" in p for p in rows["half"]["problems"])
    world.done()


def _eca_refused_at_test_salesforce() -> str:
    """sf's JSON for `--instance-url https://test.salesforce.com` against an ECA (Spring '26): test signs
    itself and the ECA refuses it; login.salesforce.com is another org. Built from a captured reply
    (err_client_id.json.stdout) with the attempts' lines replaced."""
    doc = json.loads(sf_output("err_client_id.json.stdout"))
    lines = "External client app is not installed in this org\nclient identifier invalid"
    head = doc["message"].split("Errors encountered:\n")[0]
    doc["message"] = f"{head}Errors encountered:\n{lines}"
    doc["stack"] = doc["cause"] = doc["message"]
    return json.dumps(doc)


def test_login_sandbox_refused_by_an_eca_gets_a_fix_naming_the_my_domain(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=_eca_refused_at_test_salesforce(), rc=1)
    args = [a for a in login_args(world) if a not in ("--instance-url", "https://acme.my.salesforce.com")]
    result = world.invoke(*args, "--sandbox", "--timeout", "0", "--json")
    assert result.code == 3, result.stderr
    error = result.doc["error"]
    assert error["code"] == "APP_NOT_INSTALLED" and "refused a generic audience" in error["message"]
    assert "--instance-url https://<MyDomain>--<sandbox>.sandbox.my.salesforce.com" in error["fix"]
    world.done()


def test_a_mistyped_alias_gets_did_you_mean_wherever_a_profile_is_looked_up(world: World) -> None:
    """Issue 24 item 6: login, rotate, ci export and sandbox add name the saved alias meant."""
    _saved(world)
    for args in (
        ("login", "--alias", "hbu"),
        ("rotate", "--alias", "hbu"),
        ("ci", "export", "hbu", "--format", "env"),
        ("sandbox", "add", "--from", "hbu", "--name", "uat"),
    ):
        result = world.invoke(*args, "--json")
        assert result.code == 2, (args, result.stderr)
        assert "did you mean 'hub'?" in result.doc["error"]["message"], args
    world.done()


def test_status_and_doctor_print_their_results_on_stdout_one_line_per_row_in_a_pipe(world: World) -> None:
    """Issue 24 item 8: the tables went to stderr, and outside a terminal rich folded long cells
    into broken lines."""
    _saved(world)
    profiles.save(
        world.paths,
        profiles.load_or_new(world.paths, "hub").merged(profiles.Profile("hub", cert_file=str(world.keypair.cert))),
    )
    world.expect_sf("org", "display", stdout='{"status": 1, "name": "NoAuthFoundForTargetOrgError", "message": "x"}',
                    rc=1)  # fmt: skip
    shown = world.invoke("status")
    assert shown.code == 6  # CHECK_FAILED: an alias needs attention (issue 21 item 7)
    rows = shown.stdout.splitlines()
    assert len(rows) == 1 and rows[0].split("\t")[0] == "hub" and len(rows[0].split("\t")) == 8
    assert rows[0].split("\t")[-1].endswith("sf holds no working login (sfjwt-orch login --alias hub)")
    assert "sfjwt-orch rotate)" not in rows[0]  # every fix names the alias
    assert "hub" not in shown.stderr
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "display", "--target-org", "hub", stdout=DISPLAY)
    checked = world.invoke("doctor", "--alias", "hub")
    assert checked.code == 0, checked.stderr
    assert any(line.startswith("pass  sf login ") for line in checked.stdout.splitlines())
    assert "passed" in checked.stderr and "sf login" not in checked.stderr
    world.done()


def test_doctor_and_profiles_show_suggest_the_alias_meant(world: World) -> None:
    _saved(world)
    world.expect_sf("--version", stdout=VERSION)
    checked = world.invoke("doctor", "--alias", "hbu", "--json")
    assert checked.doc["error"]["message"].endswith(": no profile for hbu (did you mean 'hub'?)")
    shown = world.invoke("profiles", "show", "hbu", "--json")
    assert "did you mean 'hub'?" in shown.doc["error"]["message"]
    world.done()
