"""Many orgs with the real sf, one emulated org per alias (each on its own loopback port):
sandboxes derived from a production profile, a fleet logged in at once, Ctrl-C in a fleet."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME, Emulator
from sfjwt_orch.emulator.model import Org
from sfjwt_orch.store import profiles
from sfjwt_orch.store.paths import Paths
from tests.e2e.conftest import E2E, demo_login
from tests.integration.procs import alive, wait_until
from tests.keypairs import KeyPair
from tests.signals import as_foreground_job

PROD_ORG, UAT_ORG, UAT_REFRESHED = "00D000000000PRODAA", "00D000000000UAT1AA", "00D000000000UAT2AA"


def _org(org_id: str) -> object:
    return lambda c: dataclasses.replace(c, org=Org(org_id=org_id, is_sandbox=org_id != PROD_ORG))


def test_sandboxes_derived_from_production_and_one_without_the_app(e2e: E2E) -> None:
    prod = e2e.emulator(tweak=_org(PROD_ORG))
    result = e2e.cli(*demo_login(prod, "prod"), "--key-file", str(e2e.keypair.key), "--json")
    assert result.returncode == 0, result.stderr
    # uat: the app was copied with the org; its user got the sandbox suffix.
    uat = e2e.emulator(username=f"{DEMO_USERNAME}.uat", tweak=_org(UAT_ORG))
    result = e2e.cli("sandbox", "add", "--from", "prod", "--name", "uat", "--instance-url", uat.url, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["alias"] == "prod-uat" and doc["org_id"] == UAT_ORG
    assert doc["username"] == f"{DEMO_USERNAME}.uat" and doc["org_changed_from"] is None
    assert uat.token_requests[-1].claims["iss"] == DEMO_CONSUMER_KEY
    # qa: a local External Client App is not copied into a sandbox.
    qa = e2e.emulator(username=f"{DEMO_USERNAME}.qa", propagation_seconds=86400.0)
    result = e2e.cli("sandbox", "add", "--from", "prod", "--name", "qa", "--instance-url", qa.url, "--json")
    assert result.returncode == 3, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "APP_NOT_INSTALLED" and "not installed in this org" in error["message"]
    assert "sfjwt-orch app create --alias prod-qa --target-org" in error["fix"]
    # uat refreshed: a new org behind the same alias; the login works and says so.
    refreshed = e2e.emulator(username=f"{DEMO_USERNAME}.uat", tweak=_org(UAT_REFRESHED))
    result = e2e.cli("login", "--alias", "prod-uat", "--instance-url", refreshed.url, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["org_id"] == UAT_REFRESHED and doc["org_changed_from"] == UAT_ORG
    assert "refreshed" in result.stderr
    # status says so too, as a fact and not a problem (sf's login for the alias reaches the new org).
    status = {p["alias"]: p for p in json.loads(e2e.cli("status", "--json").stdout)["profiles"]}
    assert set(status) == {"prod", "prod-uat"} and status["prod"]["org_changed_from"] is None
    uat_row = status["prod-uat"]
    assert uat_row["org_id"] == UAT_REFRESHED and uat_row["org_changed_from"] == UAT_ORG and uat_row["sf_login"]


def _fleet(e2e: E2E, count: int, **emulator: object) -> list[Emulator]:
    """`count` aliases fleet-0.. saved as profiles, each with its own emulated org and user."""
    emulators = []
    for n in range(count):
        emu = e2e.emulator(username=f"bot{n}@example.com", **emulator)
        profile = profiles.Profile(f"fleet-{n}", DEMO_CONSUMER_KEY, f"bot{n}@example.com", emu.url)
        profiles.save(Paths.from_env(e2e.env), dataclasses.replace(profile, key_file=str(e2e.keypair.key)))
        emulators.append(emu)
    return emulators


# The two ways a fleet logs in (tools/sf/fleet_node.py): sf's @salesforce/core in one Node process,
# or, when that cannot be used (here: turned off), one `sf org login jwt` per alias.
PATHS = {"helper": {}, "sf per alias": {"SFJWT_ORCH_FLEET_HELPER": "off"}}
SAID = {"helper": "logging in from one Node process with sf ", "sf per alias": "one `sf org login jwt` per alias"}


def _needs_helper(e2e: E2E) -> None:
    """Skip a helper-path test on an sf this path does not run with (e.g. `scripts/test --sf VERSION`)."""
    from sfjwt_orch.tools.sf.fleet_node import Place, locate

    found = locate(e2e.sf, e2e.env)
    if not isinstance(found, Place):
        pytest.skip(f"the fleet's Node helper does not run with this sf: {found}")


@pytest.mark.parametrize("path", PATHS)
def test_a_fleet_of_six_with_a_wrong_key_and_a_missing_approval(e2e: E2E, other_keypair: KeyPair, path: str) -> None:
    if path == "helper":
        _needs_helper(e2e)
    _fleet(e2e, 4)
    wrong = e2e.tmp / "wrong.key"
    shutil.copy(other_keypair.key, wrong)
    wrong.chmod(0o600)
    paths = Paths.from_env(e2e.env)
    bad = e2e.emulator(username="bad@example.com")
    profiles.save(paths, profiles.Profile("fleet-badkey", DEMO_CONSUMER_KEY, "bad@example.com", bad.url, str(wrong)))
    ask = e2e.emulator(username="ask@example.com", policy="self-authorize", preauthorized=False)
    profiles.save(
        paths, profiles.Profile("fleet-ask", DEMO_CONSUMER_KEY, "ask@example.com", ask.url, str(e2e.keypair.key))
    )

    result = e2e.cli("login", "--all", "--parallel", "3", "--json", "--verbose", timeout=300, **PATHS[path])
    assert SAID[path] in result.stderr  # --verbose says which path ran
    assert result.returncode == 3, result.stderr  # a refusal (3) outranks a missing approval (4)
    doc = json.loads(result.stdout)
    assert doc["summary"] == {"succeeded": 4, "failed": 2, "by_code": {"INVALID_ASSERTION": 1, "NOT_APPROVED": 1}}
    assert doc["error"]["code"] == "INVALID_ASSERTION"
    by_alias = {r["alias"]: r for r in doc["results"]}
    assert all(by_alias[f"fleet-{n}"]["ok"] for n in range(4))
    assert by_alias["fleet-badkey"]["error"]["code"] == "INVALID_ASSERTION"
    assert by_alias["fleet-ask"]["error"]["code"] == "NOT_APPROVED"
    url = by_alias["fleet-ask"]["approval_url"]
    assert url.startswith(ask.url + "/services/oauth2/authorize?")
    # One line per alias as it finished (no terminal), then the approvals together at the end.
    tail = result.stderr[result.stderr.index("need a person's approval") :]
    assert url in tail and "fleet-ask (ask@example.com):" in tail
    assert result.stderr.count("logged in to org") == 4
    for n in range(4):
        shown = e2e.sf_json("org", "display", "--target-org", f"fleet-{n}")["result"]
        assert shown["connectedStatus"] == "Connected" and shown["username"] == f"bot{n}@example.com"
    # The failures' sf words and fixes are those of a single login, whichever path ran.
    single = e2e.cli("login", "--alias", "fleet-badkey", "--json")
    assert single.returncode == 3 and json.loads(single.stdout)["error"] == by_alias["fleet-badkey"]["error"]
    e2e.assert_fallbacks_blocked()  # sf's (and the helper's) tries at the real hosts never left


# What a login stores that differs from one login to the next, whatever wrote it.
_VOLATILE = {"accessToken", "refreshToken", "instanceApiVersionLastRetrieved", "timestamp", "expirationDate"}


def _stored(e2e: E2E, username: str) -> dict[str, object]:
    auth = json.loads((Path(e2e.env["HOME"]) / ".sfdx" / f"{username}.json").read_text())
    return {k: v for k, v in auth.items() if k not in _VOLATILE}


def test_the_helper_stores_what_sf_org_login_jwt_stores(e2e: E2E) -> None:
    _needs_helper(e2e)
    emu, other = _fleet(e2e, 2)
    user = "bot0@example.com"
    sf_login = [e2e.sf, "org", "login", "jwt", "--client-id", DEMO_CONSUMER_KEY, "--username", user]
    sf_login += ["--jwt-key-file", str(e2e.keypair.key), "--instance-url", emu.url, "--alias", "fleet-0", "--json"]
    done = subprocess.run(sf_login, env=e2e.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    by_sf = _stored(e2e, user)
    by_sf_display = e2e.sf_json("org", "display", "--target-org", "fleet-0")["result"]
    (Path(e2e.env["HOME"]) / ".sfdx" / f"{user}.json").unlink()  # so the helper writes it anew

    result = e2e.cli("login", "--aliases", "fleet-0,fleet-1", "--json", "--verbose")
    assert result.returncode == 0, result.stderr
    assert SAID["helper"] in result.stderr
    assert other.token_requests and emu.token_requests[-1].outcome == "ok"
    assert _stored(e2e, user) == by_sf
    assert set(by_sf) >= {"orgId", "username", "instanceUrl", "loginUrl", "clientId", "privateKey", "isDevHub"}
    shown = e2e.sf_json("org", "display", "--target-org", "fleet-0")["result"]
    assert {k: v for k, v in shown.items() if k != "accessToken"} == {
        k: v for k, v in by_sf_display.items() if k != "accessToken"
    }
    aliases = json.loads((Path(e2e.env["HOME"]) / ".sfdx" / "alias.json").read_text())["orgs"]
    assert aliases["fleet-0"] == user and aliases["fleet-1"] == "bot1@example.com"


def test_the_helpers_logins_in_flight_do_not_empty_one_anothers_answer(e2e: E2E) -> None:
    """Core caches every auth file once per process, and a login's last step (the scratch-org check)
    reads them all anew, over the entries of the logins still writing theirs: once, under load, a
    login's answer came back empty (a success without an org id, exit 5). With sf's auth files read
    and written slowly (a preload), that showed in most runs of this fleet; the helper now keeps
    those steps apart, and vouches for every answer itself (no alias goes to sf instead)."""
    _needs_helper(e2e)
    _fleet(e2e, 8)
    slow = Path(__file__).with_name("slow_auth_files.cjs")
    node_options = f"{e2e.env['NODE_OPTIONS']} --require {slow}"
    result = e2e.cli("login", "--all", "--parallel", "4", "--json", "--verbose", NODE_OPTIONS=node_options)
    assert SAID["helper"] in result.stderr
    assert result.returncode == 0, result.stderr
    assert "logging in with sf instead" not in result.stderr, result.stderr
    doc = json.loads(result.stdout)
    assert doc["summary"]["succeeded"] == 8
    for row in doc["results"]:
        n = row["alias"].removeprefix("fleet-")
        assert row["ok"] and row["username"] == f"bot{n}@example.com" and row["org_id"].startswith("00D")
        stored = _stored(e2e, f"bot{n}@example.com")
        assert stored["orgId"] == row["org_id"] and stored["username"] == row["username"]
    aliases = json.loads((Path(e2e.env["HOME"]) / ".sfdx" / "alias.json").read_text())["orgs"]
    assert aliases == {f"fleet-{n}": f"bot{n}@example.com" for n in range(8)}


def _sf_pids(marker: str, home: str) -> list[int]:
    """This test's processes (their HOME is its own) whose command line carries `marker` (the
    fleet's sf runs name their key file). HOME keeps out another worker's fleet test running at the
    same time: every helper's command line names fleet_login.cjs."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                environ = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in cmdline and b"login" in cmdline and f"HOME={home}".encode() in environ:
                pids.append(int(proc.name))
    return [p for p in pids if alive(p)]


def _connected(ports: set[int]) -> int:
    """How many of `ports` (emulated orgs on loopback) have a client connected now (/proc/net/tcp)."""
    seen = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port, state = int(fields[2].split(":")[1], 16), fields[3]
        if state == "01" and remote_port in ports:  # ESTABLISHED, from a client to that org
            seen.add(remote_port)
    return len(seen)


@pytest.mark.parametrize("path", PATHS)
def test_ctrl_c_stops_the_whole_fleet_and_leaves_no_sf(e2e: E2E, path: str) -> None:
    if path == "helper":
        _needs_helper(e2e)
    emulators = _fleet(e2e, 4)
    for emu in emulators:
        emu.set_switches(slow_token_seconds=60.0)  # every login hangs at the token request
    # A HOME sf has run in before: in a fresh one the fleet starts one alias alone (flows.fleet).
    (Path(e2e.env["HOME"]) / ".sfdx").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfjwt_orch", "login", "--all", "--parallel", "2", "--json"],
        env={**e2e.env, **PATHS[path]},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=as_foreground_job,
    )
    # sf per alias names the key file on its command line; the helper logs in from one process.
    marker = str(e2e.keypair.key) if path == "sf per alias" else "fleet_login.cjs"
    ports = {int(emu.url.rsplit(":", 1)[1]) for emu in emulators}
    wait_until(lambda: _connected(ports) >= 2, timeout=60, what="two logins to be waiting for their token")
    assert _sf_pids(marker, e2e.env["HOME"]), "the logins ran in neither sf nor the helper"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["error"]["code"] == "INTERRUPTED" and doc["summary"]["failed"] == 4
    assert [r["alias"] for r in doc["results"]] == [f"fleet-{n}" for n in range(4)]
    assert "not done: fleet-0, fleet-1, fleet-2, fleet-3" in err
    assert _sf_pids(marker, e2e.env["HOME"]) == [], "an sf login (or the helper) outlived the fleet"


def test_a_package_the_helper_cannot_load_from_logs_in_with_sf_per_alias(e2e: E2E) -> None:
    """sf's package looks right (name, a tested version) but lacks what the helper loads: the Node
    helper says so at once and every alias logs in with sf itself."""
    from sfjwt_orch.tools.sf.fleet_node import Place, locate

    _needs_helper(e2e)
    real = locate(e2e.sf, e2e.env)
    assert isinstance(real, Place)
    fake_cli = e2e.tmp / "pkg" / "node_modules" / "@salesforce" / "cli"
    (fake_cli / "bin").mkdir(parents=True)
    shutil.copy(real.cli_dir / "package.json", fake_cli / "package.json")
    # sf itself still runs (the wrapper's exec), but the helper is pointed at the hollow package:
    # the first run.js the wrapper names is the one the helper reads.
    wrapper = e2e.tmp / "sf"
    wrapper.write_text(
        f'#!/bin/sh\n# "{fake_cli / "bin" / "run.js"}"\nexec "{real.node}" "{real.cli_dir / "bin" / "run.js"}" "$@"\n'
    )
    wrapper.chmod(0o755)
    _fleet(e2e, 2)
    result = e2e.cli("login", "--all", "--json", "--verbose", SFJWT_ORCH_SF=str(wrapper))
    assert result.returncode == 0, result.stderr
    assert "could not load sf's @salesforce/core: @salesforce/plugin-auth is not installed beside" in result.stderr, (
        result.stderr
    )
    assert json.loads(result.stdout)["summary"]["succeeded"] == 2
