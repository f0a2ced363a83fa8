"""Issue 15 with the real sf against the emulator: broken sf state named by login and doctor, a key
from a process substitution imported durably, and each sf run bounded by --attempt-timeout."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import E2E, login_args


def _home(e2e: E2E) -> Path:
    return Path(e2e.env["HOME"])


def test_broken_alias_json_and_lost_key_json_are_sf_state_broken_in_login_and_doctor(e2e: E2E) -> None:
    emu = e2e.emulator()
    first = e2e.cli(*login_args(emu, e2e.keypair.key, alias="hub"))
    assert first.returncode == 0, first.stderr
    sfdx = _home(e2e) / ".sfdx"

    kept = (sfdx / "key.json").read_bytes()
    (sfdx / "key.json").unlink()  # every login sf stored is now unreadable
    checks = _doctor(e2e)
    assert checks["sf's files"]["result"] == "fail" and "key.json is missing" in checks["sf's files"]["detail"]
    assert checks["sf login"]["result"] == "fail", checks["sf login"]
    assert "key.json" in checks["sf login"]["detail"] and "restore it" in checks["sf login"]["fix"]
    (sfdx / "key.json").write_bytes(kept)  # the fix it gave
    (sfdx / "key.json").chmod(0o600)
    assert _doctor(e2e)["sf login"]["result"] == "pass"

    (sfdx / "alias.json").write_text("{ this is not json")
    result = e2e.cli(*login_args(emu, e2e.keypair.key, alias="hub"))
    assert result.returncode == 5, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "SF_STATE_BROKEN" and str(sfdx / "alias.json") in error["message"], error
    assert "mv " in error["fix"] and "sf rebuilds it" in error["fix"]
    checks = _doctor(e2e)
    assert checks["sf's files"]["result"] == "fail" and "alias.json" in checks["sf's files"]["detail"]
    assert checks["sf login"]["result"] == "fail" and "alias.json" in checks["sf login"]["detail"]
    (sfdx / "alias.json").rename(sfdx / "alias.json.broken")  # the fix it gave: sf rebuilds it
    assert e2e.cli(*login_args(emu, e2e.keypair.key, alias="hub")).returncode == 0


def _doctor(e2e: E2E) -> dict[str, dict[str, str]]:
    doc = json.loads(e2e.cli("doctor", "--alias", "hub", "--json").stdout)
    return {c["name"]: c for c in doc["checks"]}


def test_a_key_from_a_process_substitution_is_imported_and_logs_in_again(e2e: E2E) -> None:
    emu = e2e.emulator()
    args = login_args(emu, Path("KEY"), alias="piped")
    command = shlex.join([sys.executable, "-m", "sfjwt_orch", *args])
    command = command.replace("KEY", f"<(cat {shlex.quote(str(e2e.keypair.key))})")
    result = subprocess.run(["bash", "-c", command], env=e2e.env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Imported the key read from the pipe /dev/fd/" in result.stderr
    imported = Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "keys" / "piped" / "server.key"
    assert imported.read_bytes() == e2e.keypair.key.read_bytes()
    again = e2e.cli("login", "--alias", "piped", "--json")  # the profile now names the durable copy
    assert again.returncode == 0, again.stderr


def test_attempt_timeout_stops_a_login_the_server_never_answers(e2e: E2E) -> None:
    emu = e2e.emulator(switches={"slow_token_seconds": 120})
    started = time.monotonic()
    result = e2e.cli(*login_args(emu, e2e.keypair.key, "slow", "dev@example.com", None, "--attempt-timeout", "8"))
    assert time.monotonic() - started < 90  # a guard against a hang, not a timing assertion
    assert result.returncode == 5, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "SF_FAILED" and "--attempt-timeout" in error["message"], error
