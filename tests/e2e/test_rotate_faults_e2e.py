"""rotate and --rollback killed (SIGKILL) after each recorded step, then run again: each rerun
continues from the record, the last ends logged in with the pair the app holds, and at no point is
the key of the app's certificate missing from disk. With the real sf against the emulator, with an admin org (the certificate deployed) and
without one (a "person" uploads the certificate the tool prints, as in Setup).

The kill is the fault hook flows/rotate.py reads from SFJWT_ORCH_TEST_KILL_AFTER (one place): the
process kills itself right after the named step is recorded, which is deterministic where a timed
kill from outside is not.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfjwt_orch.emulator import Emulator
from sfjwt_orch.flows.rotate import FAULT_ENV
from tests.e2e.conftest import E2E
from tests.e2e.test_rotate_e2e import created, profile

pytestmark = pytest.mark.e2e

FORWARD = {
    "admin": ("made", "deployed", "proven", "promoting", "copied", "logged-in"),
    "by-hand": ("made", "proven", "promoting", "copied", "logged-in"),
}
BACK = {
    "admin": ("rollback-previous", "rollback-deployed", "rollback-proven", "rollback-done", "rollback-logged-in"),
    "by-hand": ("rollback-previous", "rollback-proven", "rollback-done", "rollback-logged-in"),
}
UPLOAD = re.compile(r"^\s+(/\S+\.crt)\s*$")


def _setup(e2e: E2E, mode: str) -> tuple[Emulator, dict[str, Any]]:
    emu, app = created(e2e)
    if mode == "by-hand":  # as for an app made in Setup: no admin org, the person uploads certificates
        state_file = Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "state" / "ci.json"
        state_file.write_text(json.dumps({**json.loads(state_file.read_text()), "admin_org": ""}))
    return emu, app


def _run(e2e: E2E, emu: Emulator, app: dict[str, Any], *args: str, kill_after: str = "") -> tuple[int, str]:
    """sfjwt-orch rotate ARGS, with a person who uploads each certificate it asks for in Setup."""
    env = {**e2e.env, FAULT_ENV: kill_after} if kill_after else e2e.env
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfjwt_orch", "rotate", "--alias", "ci", "--interval", "1", "--timeout", "120", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def person() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if m := UPLOAD.match(line):
                emu.set_certificate(app["app_name"], Path(m.group(1)).read_text())

    reader = threading.Thread(target=person, daemon=True)
    reader.start()
    rc = proc.wait(timeout=240)  # a guard against a hang, not a timing assertion
    reader.join(timeout=30)
    return rc, "".join(lines)


def _modulus_of_key(path: Path) -> int:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key().public_numbers().n


def _app_modulus(emu: Emulator, app: dict[str, Any]) -> int:
    found = emu.find_app(app["app_name"])
    assert found is not None and found.certificate_pem
    public = x509.load_pem_x509_certificate(found.certificate_pem.encode()).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return public.public_numbers().n


def _assert_app_key_on_disk(e2e: E2E, emu: Emulator, app: dict[str, Any], where: str) -> None:
    key_dir = Path(profile(e2e)["key_file"]).parent
    on_disk = {_modulus_of_key(p) for p in key_dir.rglob("*.key")}
    assert _app_modulus(emu, app) in on_disk, f"killed after {where}: the key of the app's certificate is gone"


def _assert_logged_in_with_the_apps_pair(e2e: E2E, emu: Emulator, app: dict[str, Any], where: str) -> None:
    kept = profile(e2e)
    assert _modulus_of_key(Path(kept["key_file"])) == _app_modulus(emu, app), where
    cert = x509.load_pem_x509_certificate(Path(kept["cert_file"]).read_bytes())
    assert (
        cert.public_key().public_numbers()
        == x509.load_pem_x509_certificate(  # type: ignore[union-attr]
            emu.find_app(app["app_name"]).certificate_pem.encode()  # type: ignore[union-attr]
        )
        .public_key()
        .public_numbers()
    ), where
    login = e2e.cli("login", "--alias", "ci", "--json")  # sf signs with the profile's key: the app must take it
    assert login.returncode == 0, f"{where}: {login.stderr}"


def _modulus_in(folder: Path) -> int | None:
    key = folder / "server.key"
    return _modulus_of_key(key) if key.exists() else None


def _deploys(emu: Emulator) -> int:
    return sum(r.params.get("operation") == "deploy" for r in emu.requests)


# One rotation, then its rollback, is killed after each of its steps in turn, and each rerun is the
# next one killed: every kill is followed by a rerun that must continue from the record (the hook
# of the next step only fires past the step killed), never start over (one new key, one deploy),
# and the last rerun ends logged in with the pair the app holds. A kill per step with a whole
# rotation after each cost eleven rotations per mode, ~4 of the suite's 12 minutes of CPU (issue 21
# item 10); the chain proves each kill-and-rerun with one rotation and one rollback.


@pytest.mark.parametrize("mode", ["admin", "by-hand"])
def test_a_rotation_then_its_rollback_killed_after_each_step_in_turn_are_continued_by_each_rerun(
    e2e: E2E, mode: str
) -> None:
    emu, app = _setup(e2e, mode)
    key_dir = Path(profile(e2e)["key_file"]).parent
    before = _modulus_of_key(Path(profile(e2e)["key_file"]))
    deploys, made = _deploys(emu), None
    for step in FORWARD[mode]:
        rc, err = _run(e2e, emu, app, kill_after=step)
        assert rc == -signal.SIGKILL, f"the run did not go on to {step!r}: rc={rc}\n{err}"
        _assert_app_key_on_disk(e2e, emu, app, step)
        made = made or _modulus_in(key_dir / "next")
        assert made is not None and _modulus_in(key_dir / "next") in (made, None), f"a second new key at {step!r}"
    rc, err = _run(e2e, emu, app)
    assert rc == 0, f"the rotation's last rerun: {err}"
    _assert_logged_in_with_the_apps_pair(e2e, emu, app, "the rotation's last rerun")
    assert _modulus_of_key(Path(profile(e2e)["key_file"])) == made, "the key made at the first step is in place"
    assert _deploys(emu) - deploys == (1 if mode == "admin" else 0), "resumed, never redeployed"

    # The rotation just finished is rolled back, killed after each of the rollback's steps in turn.
    for step in BACK[mode]:
        rc, err = _run(e2e, emu, app, "--rollback", kill_after=step)
        assert rc == -signal.SIGKILL, f"the run did not go on to {step!r}: rc={rc}\n{err}"
        _assert_app_key_on_disk(e2e, emu, app, step)
    rc, err = _run(e2e, emu, app, "--rollback")
    assert rc == 0, f"the rollback's last rerun: {err}"
    assert "Rolled back" in err and "finished" not in err
    _assert_logged_in_with_the_apps_pair(e2e, emu, app, "the rollback's last rerun")
    assert _modulus_of_key(Path(profile(e2e)["key_file"])) == before, "the key from before the rotation is back"
    assert not (key_dir / "previous").exists() and not (key_dir / "next").exists()


@pytest.mark.parametrize("mode", ["admin", "by-hand"])
def test_a_rollback_before_promotion_killed_then_rerun_keeps_the_pair_the_app_holds(e2e: E2E, mode: str) -> None:
    emu, app = _setup(e2e, mode)
    # A rotation stopped once the new certificate is on the app (deployed, or uploaded by the person).
    rc, _ = _run(e2e, emu, app, kill_after="proven")
    assert rc == -signal.SIGKILL
    rc, err = _run(e2e, emu, app, "--rollback", kill_after="rollback-current")
    assert rc == -signal.SIGKILL, err
    _assert_app_key_on_disk(e2e, emu, app, "rollback-current")
    rc, err = _run(e2e, emu, app, "--rollback")
    assert rc == 0, err
    _assert_logged_in_with_the_apps_pair(e2e, emu, app, "rollback-current")
