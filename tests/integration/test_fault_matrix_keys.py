"""The fault matrix, round two, for key files (issue 15, item 3; issue 16, item 2 and its Low
items): keys from pipes and devices, output folders other users can write, what logout may shred,
and the crash log. docs/hardening.md lists these cases; the full disks and read-only folders are in
test_fault_matrix.py.

The second-user cases need root (a forked child becomes `nobody`); elsewhere they skip and say why,
and in CI (CI=true, which runs as root) such a skip fails.
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
from sfjwt_orch import crashlog
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import material
from sfjwt_orch.store import files
from tests.fakesecrets import pem_block, random_body
from tests.integration.conftest import Cli, sf_output
from tests.integration.keymaterial import KeySet
from tests.integration.procs import GUARD, IN_CI

SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}
LOGGED_OUT = {"stdout": '{"status": 0, "result": ["user@example.com"]}', "rc": 0}

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
    result = cli.run("ci", "export", "z", "--format", "env", "--include-key", "--json", timeout=GUARD)
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "KEY_INVALID" and "not a regular file" in error["message"], error


def _big_file(tmp: Path) -> Path:
    path = tmp / "huge.key"
    path.write_text(pem_block("PRIVATE KEY", ["A" * (files.MAX_SMALL_FILE + 10)]))  # PEM-shaped, too big
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
        tmp.write(pem_block("PRIVATE KEY", random_body()).encode(), shared / "server.key")
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
    assert material.removable_key(root / "a" / "server.key", root) is None
    assert material.removable_key(root / "a" / "missing.key", root) is None
    assert "not a regular file" in (material.removable_key(root / "a" / "dir.key", root) or "")
    (tmp_path / "elsewhere.key").write_text("k")
    assert "outside" in (material.removable_key(tmp_path / "elsewhere.key", root) or "")


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
    from sfjwt_orch.salesforce import validate

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

    from sfjwt_orch.salesforce import validate

    monkeypatch.setattr(validate, "authorize_url", full)
    rc = sfjwt_cli.main(["authorize-url", "--client-id", "3MVG9CLIENTID1234567", "--json"])
    out, _ = capsys.readouterr()
    assert rc == 2
    error = json.loads(out)["error"]
    assert error["code"] == "FILE_ERROR" and "no space left on the disk holding /var/somewhere" in error["message"]
