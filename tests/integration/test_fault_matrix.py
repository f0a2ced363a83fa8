"""The fault matrix, round two (issue 15; issue 16 item 2 and its Low items): full disks, read-only
config folders, keys from pipes and devices, broken sf state, hung sf runs, shared output folders,
what logout may shred, and the crash log. docs/hardening.md lists these cases.

Full disks and read-only mounts are real: a tmpfs of a few pages and a read-only bind mount, in a
private mount namespace (`unshare -m`) that vanishes with the command, which needs root. Elsewhere
those tests skip with the reason; in CI (CI=true), which runs as root, such a skip fails instead.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch import cli as sfjwt_cli
from sfjwt_orch import crashlog, files, keys
from sfjwt_orch.errors import Code, SfjwtError
from tests.integration.conftest import KEY_ENV_LOGIN, Cli, LoginArgs, sf_output
from tests.integration.keymaterial import KeySet

SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}
LOGGED_OUT = {"stdout": '{"status": 0, "result": ["user@example.com"]}', "rc": 0}
IN_CI = os.environ.get("CI") == "true"  # read at import: the autouse fixture clears CI for each test
GUARD = 30  # seconds: a deadline that catches a hang, not a timing assertion


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


# --- 3. keys from pipes and devices ---


def _login_with_key(key: str) -> list[str]:
    return [
        *("login", "--alias", "piped", "--client-id", "3MVG9CLIENTID1234567", "--username", "u@example.com"),
        *("--key-file", key, "--json"),
    ]


def _assert_imported(cli: Cli, result: subprocess.CompletedProcess[str], source: str) -> None:
    assert result.returncode == 0, result.stderr
    imported = Path(cli.env["SFJWT_ORCH_DATA_DIR"]) / "keys" / "piped" / "server.key"
    assert f"Imported the key read from the pipe {source}" in result.stderr and str(imported) in result.stderr
    assert stat.S_IMODE(imported.stat().st_mode) == 0o600
    argv = cli.sf_calls()[0]["argv"]
    assert argv[argv.index("--jwt-key-file") + 1] == str(imported)  # sf gets a file it can read again
    profile = (Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles" / "piped.toml").read_text()
    assert f'key_file = "{imported}"' in profile


def test_a_named_pipe_with_a_writer_is_imported_durably(cli: Cli, keyset: KeySet) -> None:
    fifo = cli.tmp / "key.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat {keyset.key} > {fifo}"])
    cli.scenario(SUCCESS)
    try:
        _assert_imported(cli, cli.run(*_login_with_key(str(fifo))), str(fifo))
    finally:
        writer.kill()
        writer.wait()


def test_process_substitution_is_imported_durably(cli: Cli, keyset: KeySet) -> None:
    cli.scenario(SUCCESS)
    args = shlex.join([sys.executable, "-m", "sfjwt_orch", *_login_with_key("KEY")])
    command = args.replace("KEY", f"<(cat {shlex.quote(str(keyset.key))})")
    command = command.replace("<(cat ", "<(/bin/cat ")  # the test PATH holds only the fakes
    result = subprocess.run(["/bin/bash", "-c", command], env=cli.env, capture_output=True, text=True, timeout=60)
    source = result.stderr.split("the pipe ", 1)[-1].split(" ", 1)[0]
    assert source.startswith("/dev/fd/"), result.stderr
    _assert_imported(cli, result, source)


@pytest.mark.parametrize("command", ["login", "bootstrap"])
def test_a_named_pipe_nobody_writes_fails_within_seconds(cli: Cli, command: str) -> None:
    fifo = cli.tmp / "nobody.fifo"
    os.mkfifo(fifo)
    args = _login_with_key(str(fifo))
    args[0] = command
    if command == "bootstrap":
        args += ["--no-input", "--instance-url", "https://acme.my.salesforce.com"]
        cli.scenario({"stdout": "@salesforce/cli/2.150.6 linux-x64 node-v24.19.0\n"})  # its Tools step
    started = time.monotonic()
    result = cli.run(*args, timeout=GUARD)
    assert time.monotonic() - started < GUARD
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "KEY_INVALID" and "nobody writing to it?" in error["message"], error
    assert "does not exist" not in result.stderr
    assert not any("login" in call["argv"] for call in cli.sf_calls())


def test_doctor_calls_a_pipe_a_pipe(cli: Cli) -> None:
    fifo = cli.tmp / "key.fifo"
    os.mkfifo(fifo)
    profiles = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles"
    profiles.mkdir()
    (profiles / "p.toml").write_text(f'client_id = "3MVG9CLIENTID1234567"\nkey_file = "{fifo}"\n')
    result = cli.run("doctor", "--alias", "p", "--json", timeout=GUARD)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["key"]["result"] == "fail" and "is a pipe" in checks["key"]["detail"], checks["key"]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: Path("/dev/zero"), "not a regular file"),
        (lambda tmp: _big_file(tmp), "too large"),
    ],
    ids=["dev-zero", "over-64KiB"],
)
def test_a_device_or_a_huge_file_is_refused_unread(cli: Cli, make: Any, words: str) -> None:
    result = cli.run(*_login_with_key(str(make(cli.tmp))), timeout=GUARD)
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "KEY_INVALID" and words in result.stdout


def test_ci_export_include_key_reads_no_device_whole(cli: Cli) -> None:
    # issue 16, Low: the key file is never read whole before its type and size are checked.
    profiles = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles"
    profiles.mkdir()
    (profiles / "z.toml").write_text(
        'client_id = "3MVG9CLIENTID1234567"\nusername = "u@example.com"\n'
        'instance_url = "https://login.salesforce.com"\nkey_file = "/dev/zero"\n'
    )
    result = cli.run("ci", "export", "z", "--include-key", "--json", timeout=GUARD)
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "KEY_INVALID" and "not a regular file" in error["message"], error


def _big_file(tmp: Path) -> Path:
    path = tmp / "huge.key"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\n" + b"A" * (files.MAX_SMALL_FILE + 10))
    path.chmod(0o600)
    return path


def test_read_pipe_reads_no_more_than_the_limit() -> None:
    read, write = os.pipe()
    fifo_path = Path(f"/proc/self/fd/{read}")
    feeder = threading.Thread(target=lambda: _feed(write, files.MAX_SMALL_FILE * 4), daemon=True)
    feeder.start()
    with pytest.raises(files.NotAFileToRead, match="more than"):
        files.read_pipe(fifo_path, "key", wait=GUARD)
    os.close(read)
    feeder.join(GUARD)


def _feed(fd: int, size: int) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, b"x" * size)
    os.close(fd)


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


# --- issue 16, item 2: keygen --out-dir in a folder others can write ---


def test_keygen_refuses_an_out_dir_others_can_write_without_the_sticky_bit(cli: Cli) -> None:
    shared = cli.tmp / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    result = cli.run("keygen", "--alias", "x", "--out-dir", str(shared), "--json")
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "FILE_ERROR" and "can be written by other users" in error["message"]
    assert "chmod go-w" in error["fix"] and list(shared.iterdir()) == []
    shared.chmod(0o1777)  # sticky, and ours: others cannot rename or replace our files
    assert cli.run("keygen", "--alias", "x", "--out-dir", str(shared)).returncode == 0


def _nobody() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def _as_root() -> None:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("the second-user tests must run in CI (as root)")
        pytest.skip("needs root to act as a second user (nobody)")


def test_keygen_refuses_an_out_dir_owned_by_another_user(cli: Cli) -> None:
    _as_root()
    theirs = cli.tmp / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, *_nobody())
    result = cli.run("keygen", "--alias", "x", "--out-dir", str(theirs), "--json")
    assert result.returncode == 2, result.stderr
    assert "belongs to another user" in json.loads(result.stdout)["error"]["message"]
    assert list(theirs.iterdir()) == []


def _second_user_swaps(name: Path, target: Path) -> None:
    """Another user (nobody, in a forked child) replaces `name` with a symlink to their `target`."""
    pid = os.fork()
    if pid == 0:  # the child: become nobody, then plant the symlink
        code = 1
        try:
            uid, gid = _nobody()
            os.setgid(gid)
            os.setuid(uid)
            target.touch()
            os.unlink(name)  # allowed: the folder is writable by all, without the sticky bit
            os.symlink(target, name)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the second user could not plant the symlink"


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder every user can write to, without the sticky bit, reachable by them (pytest's own
    temp folders are 0700)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="sfjwt-shared-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def test_a_symlink_planted_by_another_user_gets_no_key_and_nothing_is_published(shared: Path) -> None:
    _as_root()
    theirs = shared / "theirs"
    with pytest.raises(SfjwtError) as refused, files.private_temp(shared, ".key") as tmp:
        _second_user_swaps(tmp.path, theirs)  # between mkstemp and the write, as the attack did
        tmp.write(b"-----BEGIN PRIVATE KEY-----\nsecret\n", shared / "server.key")
        tmp.publish(shared / "server.key")
    assert refused.value.code is Code.FILE_ERROR and "replaced by someone else" in refused.value.message
    assert theirs.read_bytes() == b""  # the key went to our descriptor, never through their symlink
    assert not (shared / "server.key").exists()


# --- issue 16, Low: what logout and profiles remove may shred ---


def test_shred_follows_no_symlink_and_deletes_no_key_from_elsewhere(cli: Cli, keyset: KeySet) -> None:
    outside = cli.tmp / "mine" / "server.key"
    outside.parent.mkdir()
    shutil.copy(keyset.key, outside)
    outside.chmod(0o600)
    original = outside.read_bytes()
    folder = Path(cli.env["SFJWT_ORCH_DATA_DIR"]) / "keys" / "linked"
    folder.mkdir(parents=True)
    target = outside.with_name("target.key")  # another key, so that no profile shares it with byo
    shutil.copy(outside, target)
    (folder / "server.key").symlink_to(target)
    profiles = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles"
    profiles.mkdir()
    (profiles / "linked.toml").write_text(f'key_file = "{folder / "server.key"}"\n')
    (profiles / "byo.toml").write_text(f'key_file = "{outside}"\n')
    result = cli.run("profiles", "remove", "byo", "--delete-key", "--no-logout", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["deleted"] == [] and "outside sfjwt-orch's key folder" in result.stderr
    cli.scenario(LOGGED_OUT)
    result = cli.run("logout", "--alias", "linked", "--shred-key", "--json")
    assert result.returncode == 0, result.stderr
    assert "it is a symlink (its target was not touched)" in result.stderr
    assert (folder / "server.key").is_symlink()
    assert outside.read_bytes() == original and target.read_bytes() == original


def test_removable_key_rules(tmp_path: Path) -> None:
    root = tmp_path / "keys"
    (root / "a").mkdir(parents=True)
    (root / "a" / "server.key").write_text("k")
    (root / "a" / "dir.key").mkdir()
    assert keys.removable_key(root / "a" / "server.key", root) is None
    assert keys.removable_key(root / "a" / "missing.key", root) is None
    assert "not a regular file" in (keys.removable_key(root / "a" / "dir.key", root) or "")
    (tmp_path / "elsewhere.key").write_text("k")
    assert "outside" in (keys.removable_key(tmp_path / "elsewhere.key", root) or "")


# --- issue 16, Low: the crash log ---


def test_crash_log_is_0600_whatever_the_umask_and_rotated(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = crashlog.write(tmp_path / "logs", "first\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for n in range(crashlog.KEEP + 2):
        path.write_bytes(b"x" * crashlog.MAX_BYTES)  # grown to the limit: the next crash starts a new file
        crashlog.write(tmp_path / "logs", f"crash {n}\n")
        assert path.read_text() == f"crash {n}\n"
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["crash.log", *(f"crash.log.{n}" for n in range(1, crashlog.KEEP + 1))]


def test_crash_log_follows_no_planted_symlink(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("theirs\n")
    (logs / crashlog.NAME).symlink_to(victim)
    with pytest.raises(OSError) as refused:
        crashlog.write(logs, "secret traceback\n")
    assert refused.value.errno == errno.ELOOP
    assert victim.read_text() == "theirs\n"


def test_a_crash_log_that_cannot_be_written_does_not_hide_the_error(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(log_dir: Path, text: str) -> Path:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def exploding(*args: object) -> str:
        raise RuntimeError("something broke")

    monkeypatch.setattr(crashlog, "write", full)
    from sfjwt_orch import validate

    monkeypatch.setattr(validate, "authorize_url", exploding)
    rc = sfjwt_cli.main(["authorize-url", "--client-id", "3MVG9CLIENTID1234567"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "unexpected error (RuntimeError: something broke)" in err
    assert "the crash log could not be written either (No space left on device)" in err
    assert "(could not write the log)" not in err


def test_an_uncaught_full_disk_error_is_file_error_naming_the_file(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(*args: object) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/var/somewhere/file")

    from sfjwt_orch import validate

    monkeypatch.setattr(validate, "authorize_url", full)
    rc = sfjwt_cli.main(["authorize-url", "--client-id", "3MVG9CLIENTID1234567", "--json"])
    out, _ = capsys.readouterr()
    assert rc == 2
    error = json.loads(out)["error"]
    assert error["code"] == "FILE_ERROR" and "no space left on the disk holding /var/somewhere" in error["message"]


# --- issue 15, item 1: the alias lock on a disk where no lock file can be made ---


def test_the_alias_lock_holds_without_a_lock_file_when_none_can_be_made(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfjwt_orch.locks import alias_lock
    from sfjwt_orch.paths import Paths

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
