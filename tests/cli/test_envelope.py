"""Every command's --json, on success and on failure, is one envelope (issue 21 item 2):
{"ok": ..., <the command's fields>, "error": null | {code, message, fix}}, `ok` first and `error`
last, and a failure's exit code is the documented exit of the code it reports (item 7)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.errors import EXIT_OF, Code
from sfjwt_orch.store import profiles
from tests.cli.conftest import World, sf_output

CID = "3MVG9CLIENTID1234567"
USER = "user@example.com"
SUCCESS = sf_output("success.login.stdout")
VERSION = "@salesforce/cli/2.150.6 linux-x64 node-v24.19.0\n"
DISPLAY = json.dumps(
    {"status": 0, "result": {"id": "00D000000000001AAA", "connectedStatus": "Connected", "username": USER}}
)
NO_LOGIN = json.dumps({"status": 1, "name": "NoAuthInfoFound", "message": "No authorization information"})


def _login(world: World) -> tuple[str, ...]:
    return ("--alias", "hub", "--client-id", CID, "--username", USER, "--key-file", str(world.keypair.key),
            "--instance-url", "https://acme.my.salesforce.com")  # fmt: skip


def _saved(world: World) -> None:
    """A complete profile for `hub`, with its certificate, as a login leaves it."""
    profile = profiles.Profile("hub", CID, USER, "https://acme.my.salesforce.com", str(world.keypair.key))
    profiles.save(world.paths, dataclasses.replace(profile, cert_file=str(world.keypair.cert)))


def _admin_files(world: World) -> None:
    """What sf keeps for an admin login (read by app create --dry-run, which contacts no org)."""
    sfdx = Path(world.ctx.env["HOME"]) / ".sfdx"
    sfdx.mkdir()
    (sfdx / "alias.json").write_text(json.dumps({"orgs": {"admin": "admin@acme.com"}}))
    (sfdx / "admin@acme.com.json").write_text(json.dumps({"instanceUrl": "https://acme.my.salesforce.com/"}))


Setup = Callable[[World], tuple[str, ...]]

CASES: dict[str, Setup] = {
    # success
    "keygen": lambda w: ("keygen", "--alias", "k"),
    "login": lambda w: (w.expect_sf("org", "login", "jwt", stdout=SUCCESS), ("login", *_login(w)))[1],
    "login --all": lambda w: (_saved(w), w.expect_sf("org", "login", "jwt", stdout=SUCCESS), ("login", "--all"))[2],
    "bootstrap": lambda w: (
        w.expect_sf("--version", stdout=VERSION),
        w.expect_sf("org", "login", "jwt", stdout=SUCCESS),
        w.expect_sf("org", "display", stdout=DISPLAY),
        ("bootstrap", *_login(w), "--cert-file", str(w.keypair.cert), "--no-input"),
    )[3],
    "app create --dry-run": lambda w: (
        _admin_files(w),
        ("app", "create", "--alias", "ci", "--target-org", "admin", "--username", USER, "--dry-run"),
    )[1],
    "sandbox add": lambda w: (
        _saved(w),
        w.expect_sf("org", "login", "jwt", stdout=SUCCESS),
        ("sandbox", "add", "--from", "hub", "--name", "uat"),
    )[2],
    "authorize-url": lambda w: ("authorize-url", "--client-id", CID),
    "doctor": lambda w: (
        _saved(w),
        w.expect_sf("--version", stdout=VERSION),
        w.expect_sf("org", "display", "--target-org", "hub", stdout=DISPLAY),
        ("doctor", "--alias", "hub"),
    )[3],
    "status": lambda w: ("status",),
    "logout": lambda w: (w.expect_sf("org", "logout", stdout='{"status": 0, "result": {}}'), ("logout", "-a", "x"))[1],
    "profiles list": lambda w: ("profiles", "list"),
    "profiles show": lambda w: (_saved(w), ("profiles", "show", "hub"))[1],
    "profiles remove": lambda w: (_saved(w), ("profiles", "remove", "hub", "--no-logout"))[1],
    "ci export": lambda w: (_saved(w), ("ci", "export", "hub", "--pip-spec", "sfjwt-orch==0.1.0"))[1],
    # failure
    "keygen (bad bits)": lambda w: ("keygen", "--alias", "k", "--bits", "1"),
    "login (bad alias)": lambda w: ("login", "--alias", "../x", "--client-id", CID),
    "login --all (a single-alias flag)": lambda w: ("login", "--all", "--client-id", CID),
    "bootstrap (exclusive flags)": lambda w: ("bootstrap", "--alias", "hub", "--sandbox", "--instance-url", "x"),
    "app create (no admin login)": lambda w: (
        "app",
        "create",
        "--alias",
        "ci",
        "--target-org",
        "admin",
        "--username",
        USER,
        "--dry-run",
    ),
    "sandbox add (no production)": lambda w: ("sandbox", "add", "--from", "nobody", "--name", "uat"),
    "authorize-url (no client id)": lambda w: ("authorize-url",),
    "doctor (a check fails)": lambda w: (w.expect_sf("--version", stdout=VERSION), ("doctor", "--alias", "nobody"))[1],
    "status (an alias needs attention)": lambda w: (
        _saved(w),
        w.expect_sf("org", "display", "--target-org", "hub", stdout=NO_LOGIN, rc=1),
        ("status",),
    )[2],
    "logout (sf fails)": lambda w: (
        w.expect_sf("org", "logout", stdout='{"status": 1, "name": "SfError", "message": "boom"}', rc=1),
        ("logout", "--alias", "hub"),
    )[1],
    "profiles show (unknown)": lambda w: ("profiles", "show", "nobody"),
    "profiles remove (unknown)": lambda w: ("profiles", "remove", "nobody", "--no-logout"),
    "ci export (unknown)": lambda w: ("ci", "export", "nobody"),
    "rotate (unknown)": lambda w: ("rotate", "--alias", "nobody"),
    "emulator upload-cert (nothing listening)": lambda w: (
        "emulator",
        "upload-cert",
        "--port",
        "1",
        "--cert",
        str(w.keypair.cert),
    ),
    "emulator serve (bad policy)": lambda w: ("emulator", "serve", "--port", "0", "--policy", "nope"),
    "emulator approve (not the emulator's URL)": lambda w: ("emulator", "approve", "https://example.com/x"),
    "resolve": lambda w: ("resolve", "https://acme.lightning.force.com/lightning/page/home"),
    "resolve (not a URL)": lambda w: ("resolve", "http://"),
    "sf install (not a version)": lambda w: ("sf", "install", "--version", "latest"),
    "sf uninstall": lambda w: ("sf", "uninstall"),
    "trust github (not OWNER/NAME)": lambda w: (
        "trust",
        "github",
        "--alias",
        "ci",
        "--target-org",
        "admin",
        "--username",
        USER,
        "--repo",
        "no slash",
    ),
    "trust gitlab (not GROUP/NAME)": lambda w: (
        "trust",
        "gitlab",
        "--alias",
        "ci",
        "--target-org",
        "admin",
        "--username",
        USER,
        "--project",
        "no slash",
    ),
    "login --oidc (an unknown provider)": lambda w: ("login", "--alias", "ci", "--oidc", "jenkins"),
    "sf status": lambda w: (w.expect_sf("--version", stdout=VERSION), ("sf", "status"))[1],
}

# Commands whose --json is not a document of theirs: completion prints a shell script, `emulator run`
# becomes the program it runs.
NO_DOCUMENT = {"completion", "emulator run"}


def _leaf_commands() -> list[str]:
    import typer.main

    from sfjwt_orch.cli import build_app

    def walk(command: Any, prefix: str) -> list[str]:
        if hasattr(command, "commands"):  # a group (Typer brings its own Click: no isinstance here)
            return [n for name, sub in command.commands.items() for n in walk(sub, f"{prefix} {name}".strip())]
        return [prefix]

    return walk(typer.main.get_command(build_app([], every_command=True)), "")


def test_every_command_has_a_case() -> None:
    """The table above is the proof for every command: a new command without a case fails here."""
    covered = {name for name in _leaf_commands() if any(c == name or c.startswith(f"{name} ") for c in CASES)}
    assert sorted(set(_leaf_commands()) - covered - NO_DOCUMENT) == []


@pytest.mark.parametrize("case", list(CASES))
def test_every_json_document_is_one_envelope(world: World, case: str) -> None:
    result = world.invoke(*CASES[case](world), "--json")
    doc = result.doc
    keys = list(doc)
    assert (keys[0], keys[-1]) == ("ok", "error"), keys
    error = doc["error"]
    assert doc["ok"] is (error is None)
    if error is None:
        assert result.code == 0, result.stderr
    else:
        assert set(error) == {"code", "message", "fix"} and error["message"] and error["fix"], error
        assert result.code == EXIT_OF[Code(error["code"])], (result.code, error)
    assert ("(" not in case) is (error is None), f"{case}: {error}"  # the failures are the cases with a (why)
    world.done()


NOT_APPROVED = sf_output("notapproved.json.stdout")
LOGIN_FIELDS = ["username", "org_id", "instance_url", "login_url", "is_dev_hub", "attempts", "approval_url",
                "org_changed_from", "changed"]  # fmt: skip


def _created_app(world: World) -> None:
    from tests.cli.test_app_create import ADMIN_DISPLAY, ASSIGNED, DEPLOYED, OK_LIST

    world.expect_sf("org", "display", "--target-org", "admin", stdout=ADMIN_DISPLAY)
    world.expect_sf("org", "list", "metadata", stdout=OK_LIST)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)
    world.expect_sf("org", "assign", "permset", stdout=ASSIGNED)


# A login refused by sf, run by each command that runs one: the flow returns the login's report (its
# fields, sf's lines, its error) and the command's document lays it out as it always has, key by key.
REFUSED_LOGINS: dict[str, tuple[Setup, list[str]]] = {
    "login": (
        lambda w: ("login", *_login(w), "--timeout", "0"),
        ["ok", "alias", *LOGIN_FIELDS, "sf_lines", "error"],
    ),
    "bootstrap": (
        lambda w: (
            w.expect_sf("--version", stdout=VERSION),
            ("bootstrap", *_login(w), "--cert-file", str(w.keypair.cert), "--no-input", "--timeout", "0"),
        )[1],
        ["ok", "alias", *LOGIN_FIELDS, "steps", "sf_lines", "error"],
    ),
    "sandbox add": (
        lambda w: (_saved(w), ("sandbox", "add", "--from", "hub", "--name", "uat", "--timeout", "0"))[1],
        ["ok", "alias", *LOGIN_FIELDS, "from_alias", "sandbox_name", "sf_lines", "error"],
    ),
    "app create": (
        lambda w: (
            _created_app(w),
            ("app", "create", "--alias", "ci", "--target-org", "admin", "--username", USER, "--timeout", "0"),
        )[1],
        [
            "ok",
            "alias",
            "app_name",
            "kind",
            "client_id",
            "consumer_key_source",
            "created",
            "login",
            *LOGIN_FIELDS,
            "sf_lines",
            "error",
        ],
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_LOGINS))
def test_a_refused_login_inside_a_command_keeps_its_fields_in_the_document(world: World, case: str) -> None:
    setup, keys = REFUSED_LOGINS[case]
    args = setup(world)
    world.expect_sf("org", "login", "jwt", stdout=NOT_APPROVED, rc=1)
    result = world.invoke(*args, "--json")
    code = result.doc["error"]["code"]  # an app sfjwt-orch made pre-authorizes: the username is suspect
    assert code in ("NOT_APPROVED", "USERNAME_SUSPECT") and result.code == EXIT_OF[Code(code)], result.stderr
    assert list(result.doc) == keys
    assert result.doc["attempts"] == 1 and "hasn't approved" in result.doc["sf_lines"][0]
    assert "error: " in result.stderr and "fix: " in result.stderr  # the boundary said it, once
    assert result.stderr.count("error: ") == 1
    world.done()


# The failures a command tells its own way (doctor's checks, status's table): the boundary then prints
# only the document and the exit code.
TOLD_BY_THE_COMMAND = {"doctor (a check fails)", "status (an alias needs attention)"}


@pytest.mark.parametrize("case", [c for c in CASES if "(" in c])
def test_a_failure_is_told_once(world: World, case: str) -> None:
    result = world.invoke(*CASES[case](world), "--json")
    told = result.stderr.count(f"error: {result.doc['error']['message']}")
    assert told == (case not in TOLD_BY_THE_COMMAND), result.stderr
