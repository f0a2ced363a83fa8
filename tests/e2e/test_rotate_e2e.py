"""rotate, end to end with the real sf: an app made by app create gets a new certificate through
the deploy path (old key refused, new key logs in, the profile unchanged, the previous key kept),
a rotation without an admin org waits for the upload in Setup, and --rollback goes back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import Emulator
from sfjwt_orch.keys import certs
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.e2e

USER = "ci@example.com"


def created(e2e: E2E) -> tuple[Emulator, dict[str, Any]]:
    """An org after `app create --alias ci --target-org admin --username ci@example.com`, and what
    app create answered: the run's set-up (tests/e2e/setups.py), copied for this test."""
    emu, app = e2e.from_setup("app")
    assert app is not None
    return emu, app


def profile(e2e: E2E) -> dict[str, str]:
    return json.loads(e2e.cli("profiles", "show", "ci", "--json").stdout)["profile"]  # type: ignore[no-any-return]


def jwt_login_with(e2e: E2E, key: Path, client_id: str, emu: Emulator, alias: str) -> dict[str, Any]:
    return e2e.sf_json(
        "org", "login", "jwt", "--client-id", client_id, "--jwt-key-file", str(key), "--username", USER,
        "--instance-url", emu.url, "--alias", alias,
    )  # fmt: skip


def test_rotate_with_the_admin_org_then_rollback(e2e: E2E, tmp_path: Path) -> None:
    emu, app = created(e2e)
    before = profile(e2e)
    key, cert = Path(before["key_file"]), Path(before["cert_file"])
    old_key = tmp_path / "old.key"
    old_key.write_bytes(key.read_bytes())
    old_key.chmod(0o600)
    old_fp = certs.read_cert(cert).fingerprint_sha256

    rotated = e2e.cli("rotate", "--alias", "ci", "--json")  # the admin alias app create used is remembered
    assert rotated.returncode == 0, rotated.stderr
    doc = json.loads(rotated.stdout)
    assert doc["ok"] is True and doc["app_updated"] is True and doc["old_fingerprint"] == old_fp
    assert doc["new_fingerprint"] == certs.read_cert(cert).fingerprint_sha256 != old_fp
    assert "old key no longer logs in" in rotated.stderr
    assert profile(e2e) == before  # same paths, same consumer key: CI's alias needs only the new secret
    assert (key.parent / "previous" / "server.key").read_bytes() == old_key.read_bytes()
    # The app verifies the new key only.
    assert jwt_login_with(e2e, old_key, app["client_id"], emu, "check-old")["status"] == 1
    assert e2e.cli("login", "--alias", "ci", "--json").returncode == 0

    back = e2e.cli("rotate", "--alias", "ci", "--rollback", "--json")
    assert back.returncode == 0, back.stderr
    assert key.read_bytes() == old_key.read_bytes() and not (key.parent / "previous").exists()
    assert e2e.cli("login", "--alias", "ci", "--json").returncode == 0


def test_rotate_without_an_admin_org_waits_for_the_upload_in_setup(e2e: E2E) -> None:
    emu, app = created(e2e)
    # As for an app made in Setup: no admin org is known, so the new certificate is uploaded by hand.
    state_file = Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "state" / "ci.json"
    doc = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**doc, "admin_org": ""}))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sfjwt_orch",
            "rotate",
            "--alias",
            "ci",
            "--timeout",
            "120",
            "--interval",
            "1",
            "--json",
        ],
        env=e2e.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    new_cert = Path(profile(e2e)["key_file"]).parent / "next" / "server.crt"
    deadline = time.monotonic() + 60  # a guard against a hang, not a timing assertion
    while not new_cert.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # let it try (and be refused) at least once before the "admin" uploads
    emu.set_certificate(app["app_name"], new_cert.read_text())  # the person, in Setup
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["ok"] is True and result["app_updated"] is False
    assert "Upload the new certificate" in err
    assert e2e.cli("login", "--alias", "ci", "--json").returncode == 0


def test_a_new_key_that_fails_to_log_in_puts_the_old_certificate_back_on_the_app(e2e: E2E, tmp_path: Path) -> None:
    emu, app = created(e2e)
    before = profile(e2e)
    key = Path(before["key_file"])
    old_key = tmp_path / "old.key"
    old_key.write_bytes(key.read_bytes())
    old_key.chmod(0o600)
    emu.update_user(USER, active=False)  # the proof is refused for a reason not worth waiting for
    failed = e2e.cli("rotate", "--alias", "ci", "--json")
    emu.update_user(USER, active=True)
    assert failed.returncode == 3, failed.stderr
    doc = json.loads(failed.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == "INACTIVE_USER" and doc["app_updated"] is False
    assert "putting the old certificate back" in failed.stderr
    assert key.read_bytes() == old_key.read_bytes() and profile(e2e) == before
    assert not (key.parent / "previous").exists()
    # The app verifies the old key again: the user's login works as before the attempt.
    assert jwt_login_with(e2e, old_key, app["client_id"], emu, "check-old")["status"] == 0


def test_ctrl_c_while_the_new_key_is_proven_then_a_rerun_continues_without_a_second_deploy(e2e: E2E) -> None:
    from tests.signals import as_foreground_job

    emu, _ = created(e2e)
    emu.set_switches(fail_next=("invalid_assertion",) * 50)  # the app "has not taken" the new certificate yet
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfjwt_orch", "rotate", "--alias", "ci", "--interval", "1", "--json"],
        env=e2e.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_foreground_job,
    )
    deadline = time.monotonic() + 90  # a guard against a hang, not a timing assertion
    while sum(r.outcome == "invalid_assertion" for r in emu.token_requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "again to continue" in json.loads(out)["error"]["fix"]
    deploys = sum(r.params.get("operation") == "deploy" for r in emu.requests)
    emu.set_switches(fail_next=())
    again = e2e.cli("rotate", "--alias", "ci", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["app_updated"] is True
    assert sum(r.params.get("operation") == "deploy" for r in emu.requests) == deploys, "resumed, not redeployed"
    assert e2e.cli("login", "--alias", "ci", "--json").returncode == 0
