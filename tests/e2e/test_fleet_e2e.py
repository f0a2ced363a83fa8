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

from sfjwt_orch import config
from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME, Emulator
from sfjwt_orch.emulator.model import Org
from sfjwt_orch.paths import Paths
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
        profile = config.Profile(f"fleet-{n}", DEMO_CONSUMER_KEY, f"bot{n}@example.com", emu.url)
        config.save(Paths.from_env(e2e.env), dataclasses.replace(profile, key_file=str(e2e.keypair.key)))
        emulators.append(emu)
    return emulators


def test_a_fleet_of_six_with_a_wrong_key_and_a_missing_approval(e2e: E2E, other_keypair: KeyPair) -> None:
    _fleet(e2e, 4)
    wrong = e2e.tmp / "wrong.key"
    shutil.copy(other_keypair.key, wrong)
    wrong.chmod(0o600)
    paths = Paths.from_env(e2e.env)
    bad = e2e.emulator(username="bad@example.com")
    config.save(paths, config.Profile("fleet-badkey", DEMO_CONSUMER_KEY, "bad@example.com", bad.url, str(wrong)))
    ask = e2e.emulator(username="ask@example.com", policy="self-authorize", preauthorized=False)
    config.save(paths, config.Profile("fleet-ask", DEMO_CONSUMER_KEY, "ask@example.com", ask.url, str(e2e.keypair.key)))

    result = e2e.cli("login", "--all", "--parallel", "3", "--json", timeout=300)
    assert result.returncode == 3, result.stderr  # a refusal (3) outranks a missing approval (4)
    doc = json.loads(result.stdout)
    assert doc["summary"] == {"succeeded": 4, "failed": 2, "by_code": {"INVALID_ASSERTION": 1, "NOT_APPROVED": 1}}
    by_alias = {r["alias"]: r for r in doc["results"]}
    assert all(by_alias[f"fleet-{n}"]["ok"] for n in range(4))
    url = by_alias["fleet-ask"]["approval_url"]
    assert url.startswith(ask.url + "/services/oauth2/authorize?")
    # One line per alias as it finished (no terminal), then the approvals together at the end.
    tail = result.stderr[result.stderr.index("need a person's approval") :]
    assert url in tail and "fleet-ask (ask@example.com):" in tail
    assert result.stderr.count("logged in to org") == 4
    assert e2e.sf_json("org", "display", "--target-org", "fleet-2")["result"]["connectedStatus"] == "Connected"


def _sf_pids(marker: str) -> list[int]:
    """Processes whose command line carries `marker` (the fleet's sf runs name their key file)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline and b"login" in cmdline:
                pids.append(int(proc.name))
    return [p for p in pids if alive(p)]


def test_ctrl_c_stops_the_whole_fleet_and_leaves_no_sf(e2e: E2E) -> None:
    emulators = _fleet(e2e, 4)
    for emu in emulators:
        emu.set_switches(slow_token_seconds=60.0)  # every login hangs at the token request
    # A HOME sf has run in before: in a fresh one the fleet starts one alias alone (flows.fleet).
    (Path(e2e.env["HOME"]) / ".sfdx").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfjwt_orch", "login", "--all", "--parallel", "2", "--json"],
        env=e2e.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=as_foreground_job,
    )
    marker = str(e2e.keypair.key)
    wait_until(lambda: len(_sf_pids(marker)) >= 2, timeout=60, what="two sf logins to be running")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["error"]["code"] == "INTERRUPTED" and doc["summary"]["failed"] == 4
    assert [r["alias"] for r in doc["results"]] == [f"fleet-{n}" for n in range(4)]
    assert "not done: fleet-0, fleet-1, fleet-2, fleet-3" in err
    assert _sf_pids(marker) == [], "an sf login outlived the fleet"
