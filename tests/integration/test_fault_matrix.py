"""The fault matrix, round two (issue 15): full disks, read-only config folders, the alias lock
where no lock file can be made, broken sf state, hand-edited profiles, hung sf runs and sf's success
without a result. docs/hardening.md lists these cases; the key-file cases (pipes, devices, shared
folders, shredding, the crash log) are in test_fault_matrix_keys.py.

Full disks and read-only mounts are real: a tmpfs of a few pages and a read-only bind mount, in a
private mount namespace (`unshare -m`) that vanishes with the command, which needs root. Elsewhere
those tests skip with the reason; in CI (CI=true), which runs as root, such a skip fails instead.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.errors import Code, SfjwtError
from tests.integration.conftest import KEY_ENV_LOGIN, Cli, LoginArgs, sf_output
from tests.integration.keymaterial import KeySet
from tests.integration.procs import GUARD, IN_CI

SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}
LOGGED_OUT = {"stdout": '{"status": 0, "result": ["user@example.com"]}', "rc": 0}


def _namespaces_work() -> str | None:
    """None when `unshare -m` can mount here, else why not."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs or a read-only bind mount in a private namespace"
    if shutil.which("unshare") is None:
        return "needs unshare (util-linux)"
    probe = subprocess.run(["unshare", "-m", "mount", "-t", "tmpfs", "tmpfs", "/mnt"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"unshare -m cannot mount here: {probe.stderr.strip()}"


@pytest.fixture
def mounts() -> None:
    why = _namespaces_work()
    if why is not None:
        if IN_CI:
            pytest.fail(f"the fault matrix must run in CI (as root): {why}")
        pytest.skip(why)


def in_namespace(cli: Cli, setup: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `setup` (sh, as root, in a private mount namespace), then sfjwt-orch `args` there.
    Returns rc, stdout, stderr and `after`: what the setup's $REPORT command printed afterwards."""
    out = cli.tmp / "ns-out"
    out.mkdir(exist_ok=True)
    script = (
        # The fake sf (first on PATH) stays first; mount, cp and dd come from the system.
        'PATH="$PATH:/usr/sbin:/usr/bin:/sbin:/bin"\n'
        f"set -e\n{setup}\nset +e\n"
        f'"$@" > {out}/stdout 2> {out}/stderr; echo $? > {out}/rc\n'
        f'eval "${{REPORT:-true}}" > {out}/after 2>&1\n'
    )
    argv = [
        shutil.which("unshare") or "unshare",
        "-m",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        script,
        "sh",
        sys.executable,
        "-m",
        "sfjwt_orch",
    ]
    subprocess.run([*argv, *args], env={**cli.env, **(env or {})}, timeout=120, check=True)
    return {
        "rc": int((out / "rc").read_text()),
        "stdout": (out / "stdout").read_text(),
        "stderr": (out / "stderr").read_text(),
        "after": (out / "after").read_text(),
    }


def _doc(result: dict[str, Any]) -> dict[str, Any]:
    return json.loads(result["stdout"])  # type: ignore[no-any-return]


def _full_copy_of(folder: Path) -> str:
    """Setup: a tmpfs over `folder` holding a copy of what was there, then filled to the last byte."""
    keep = folder.parent / f"{folder.name}.keep"
    shutil.copytree(folder, keep, symlinks=True)
    q, k = shlex.quote(str(folder)), shlex.quote(str(keep))
    return (
        f"mount -t tmpfs -o size=256k tmpfs {q}\ncp -a {k}/. {q}/\n"
        f"dd if=/dev/zero of={q}/.fill bs=4k 2>/dev/null || true\n"
    )


def _read_only(folder: Path) -> str:
    q = shlex.quote(str(folder))
    return f"mount --bind {q} {q}\nmount -o remount,bind,ro {q}\n"


def _digest_keys(folder: Path) -> str:
    return f"cd {shlex.quote(str(folder))} && find keys -type f | sort | xargs -r sha256sum"


def _digests(folder: Path) -> str:
    return subprocess.run(["sh", "-c", _digest_keys(folder)], capture_output=True, text=True, check=True).stdout


# --- 1. full disk ---


def test_full_disk_keygen_is_file_error_naming_the_folder_and_the_pair_is_kept(cli: Cli, mounts: None) -> None:
    assert cli.run("keygen", "--alias", "hub").returncode == 0
    data = Path(cli.env["SFJWT_ORCH_DATA_DIR"])
    before = _digests(data)
    got = in_namespace(
        cli, _full_copy_of(data), "keygen", "--alias", "hub", "--force", "--json", env={"REPORT": _digest_keys(data)}
    )
    assert got["rc"] == 2, got["stderr"]
    error = _doc(got)["error"]
    assert error["code"] == "FILE_ERROR"
    assert "No space left on device" in error["message"]
    assert f"no space left on the disk holding {data / 'keys' / 'hub'}" in error["message"]
    assert "df -h" in error["fix"] and "Traceback" not in got["stderr"]
    assert got["after"] == before  # the existing pair, byte for byte


def test_full_disk_login_writes_nothing_it_needs_and_succeeds_with_a_warning(
    cli: Cli, login_args: LoginArgs, mounts: None
) -> None:
    data = Path(cli.env["SFJWT_ORCH_DATA_DIR"])
    cli.scenario(SUCCESS)
    got = in_namespace(cli, _full_copy_of(data), *login_args())
    assert got["rc"] == 0, got["stderr"]  # the lock's pid note and the state file are not needed
    assert _doc(got)["ok"] is True
    assert "could not record the login" in got["stderr"] and "No space left" in got["stderr"]


def test_full_disk_login_with_a_key_to_write_is_file_error_and_leaves_nothing(
    cli: Cli, keyset: KeySet, mounts: None
) -> None:
    data = Path(cli.env["SFJWT_ORCH_DATA_DIR"])
    got = in_namespace(
        cli, _full_copy_of(data), *KEY_ENV_LOGIN, "--json", env={"SF_JWT_KEY": keyset.key.read_text(),
                                                                  "REPORT": f"ls -A {data}/keys 2>&1"},
    )  # fmt: skip
    assert got["rc"] == 2, got["stderr"]
    assert _doc(got)["error"]["code"] == "FILE_ERROR" and "no space left" in _doc(got)["error"]["message"]
    assert "ci" not in got["after"].split() and cli.sf_calls() == []


# --- 2. read-only config folder ---


def _login_once(cli: Cli, login_args: LoginArgs) -> Path:
    cli.scenario(SUCCESS)
    assert cli.run(*login_args()).returncode == 0
    return Path(cli.env["SFJWT_ORCH_CONFIG_DIR"])


def test_read_only_config_an_unchanged_profile_is_not_rewritten(cli: Cli, login_args: LoginArgs, mounts: None) -> None:
    config = _login_once(cli, login_args)
    cli.scenario(SUCCESS)
    got = in_namespace(cli, _read_only(config), *login_args())
    assert got["rc"] == 0, got["stderr"]
    assert "not saved" not in got["stderr"] and "warning" not in got["stderr"].lower()


def test_read_only_config_a_changed_profile_is_a_warning_on_a_real_login(
    cli: Cli, login_args: LoginArgs, mounts: None
) -> None:
    config = _login_once(cli, login_args)
    before = (config / "profiles" / "hub.toml").read_text()
    cli.scenario(SUCCESS)
    got = in_namespace(cli, _read_only(config), *login_args("--callback-url", "http://localhost:1718/OauthRedirect"))
    assert got["rc"] == 0, got["stderr"]
    assert _doc(got)["ok"] is True
    assert "the login worked, but its answers were not saved" in got["stderr"]
    assert "Read-only file system" in got["stderr"]
    assert (config / "profiles" / "hub.toml").read_text() == before


def test_read_only_config_is_an_error_for_a_command_whose_job_is_to_save(cli: Cli, mounts: None) -> None:
    config = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"])
    got = in_namespace(cli, _read_only(config), "keygen", "--alias", "fresh", "--json")
    assert got["rc"] == 2, got["stderr"]
    error = _doc(got)["error"]
    assert error["code"] == "FILE_ERROR" and "read-only mount" in error["message"], error


# --- issue 15, item 1: the alias lock on a disk where no lock file can be made ---


def test_the_alias_lock_holds_without_a_lock_file_when_none_can_be_made(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfjwt_orch.store.locks import alias_lock
    from sfjwt_orch.store.paths import Paths

    paths = Paths.from_env()
    real_open = os.open

    def full(path: Any, flags: int, *args: Any) -> int:
        if flags & os.O_CREAT and str(path).endswith(".lock"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", full)
    with alias_lock(paths, "hub"):  # the lock folder itself is locked instead
        assert not paths.lock_file("hub").exists()
        with pytest.raises(SfjwtError) as held, alias_lock(paths, "hub", wait=0.3):
            pass
    assert held.value.code is Code.LOCKED and "another process" in held.value.message


# --- 4. broken sf state (the fake sf replays the real sf's captured output) ---


def _broken(home: Path, case: str) -> Path:
    sfdx = home / ".sfdx"
    if case == "sfdx_file":
        sfdx.write_text("not a folder\n")
        return sfdx
    sfdx.mkdir()
    (sfdx / "key.json").write_text('{"key": "x"}')
    (sfdx / "key.json").chmod(0o600)
    if case == "alias_garbage":
        (sfdx / "alias.json").write_text("{ this is not json")
        return sfdx / "alias.json"
    (sfdx / "u@example.com.json").write_text("{}")
    (sfdx / "key.json").write_text("garbage")
    return sfdx / "key.json"


@pytest.mark.parametrize(
    ("case", "fix"),
    [("alias_garbage", "sf rebuilds it"), ("sfdx_file", "creates its folder again"), ("key_garbage", "restore it")],
)
def test_broken_sf_state_is_sf_state_broken_naming_the_file_in_login_and_doctor(
    cli: Cli, login_args: LoginArgs, case: str, fix: str
) -> None:
    home = Path(cli.env["HOME"])
    path = _broken(home, case)
    cli.scenario({"stdout": sf_output(f"state_{case}.login.json.stdout"), "rc": 1})
    result = cli.run(*login_args())
    assert result.returncode == 5, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "SF_STATE_BROKEN" and str(path) in error["message"] and fix in error["fix"], error
    assert "Login History" not in result.stdout
    cli.scenario({"stdout": "@salesforce/cli/2.150.6 linux-x64 node-v24.19.0\n", "rc": 0},
                 {"stdout": sf_output(f"state_{case}.display.json.stdout"), "rc": 2})  # fmt: skip
    checks = {c["name"]: c for c in json.loads(cli.run("doctor", "--alias", "hub", "--json").stdout)["checks"]}
    assert checks["sf's files"]["result"] == "fail" and str(path) in checks["sf's files"]["detail"]
    assert checks["sf login"]["result"] == "fail" and "log in again: sfjwt-orch login" not in checks["sf login"]["fix"]


# --- 7. hand edits and ~ in a profile ---


def test_a_login_that_changes_a_value_keeps_comments_unknown_keys_and_tilde(cli: Cli, keyset: KeySet) -> None:
    home = Path(cli.env["HOME"])
    (home / "keys").mkdir()
    shutil.copy(keyset.key, home / "keys" / "server.key")
    (home / "keys" / "server.key").chmod(0o600)
    profile = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles" / "hub.toml"
    profile.parent.mkdir()
    profile.write_text(
        "# my notes: the hub of team A\nschema = 1\n"
        'client_id = "3MVG9CLIENTID1234567"  # from the app page\n'
        'username = "old@example.com"\nkey_file = "~/keys/server.key"\nteam = "A"\n'
    )
    cli.scenario(SUCCESS)
    result = cli.run("login", "--alias", "hub", "--username", "new@example.com", "--json")
    assert result.returncode == 0, result.stderr
    argv = cli.sf_calls()[0]["argv"]
    assert argv[argv.index("--jwt-key-file") + 1] == str(home / "keys" / "server.key")
    text = profile.read_text()
    assert "# my notes: the hub of team A" in text and "# from the app page" in text and 'team = "A"' in text
    assert 'username = "new@example.com"' in text and 'key_file = "~/keys/server.key"' in text


# --- 8. each sf run bounded by --attempt-timeout ---


def test_attempt_timeout_bounds_a_hung_sf_and_says_which_limit_ended_it(cli: Cli, login_args: LoginArgs) -> None:
    cli.scenario({"hang": True})
    started = time.monotonic()
    result = cli.run(*login_args("--attempt-timeout", "2", "--timeout", "0"), timeout=GUARD)
    assert time.monotonic() - started < GUARD
    assert result.returncode == 5, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "SF_FAILED" and "--attempt-timeout" in error["message"], error
    assert cli.sf_calls()[0]["env"]["HTTP_TIMEOUT"] == "2000"  # sf's own HTTP timeout follows it


def test_attempt_timeout_out_of_range_is_usage(cli: Cli, login_args: LoginArgs) -> None:
    result = cli.run(*login_args("--attempt-timeout", "0"))
    assert result.returncode == 2 and json.loads(result.stdout)["error"]["code"] == "USAGE"
    assert cli.sf_calls() == []


# --- 9. sf's success without a result ---


def test_sf_status_0_without_a_result_is_sf_failed(cli: Cli, login_args: LoginArgs) -> None:
    cli.scenario({"stdout": '{"status": 0}', "rc": 0})
    result = cli.run(*login_args())
    assert result.returncode == 5, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "SF_FAILED"
