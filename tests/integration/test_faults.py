"""Faults: sf crashing, Ctrl-C at the worst moments, two runs at once, folders that cannot be written,
a full disk. Each ends with the documented code, and leaves no half-written key or profile behind.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch import cli as sfjwt_cli
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.store.locks import alias_lock
from sfjwt_orch.store.paths import Paths
from sfjwt_orch.tools.openssl import pem_problem
from tests.integration.conftest import KEY_ENV_LOGIN, Cli, LoginArgs, sf_output
from tests.integration.keymaterial import PEM, TOKEN, KeySet, leaked
from tests.integration.procs import alive, snapshot, temp_files, wait_until
from tests.signals import as_foreground_job

NOT_APPROVED = {"stdout": sf_output("notapproved.json.stdout"), "rc": 1}
SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}


def start(cli: Cli, *args: str, **extra_env: str) -> subprocess.Popen[str]:
    """sfjwt-orch as a process we can signal, as a terminal's Ctrl-C does (SIGINT to the process)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sfjwt_orch", *args],
        env={**cli.env, **extra_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_foreground_job,
    )


def interrupt(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, dict[str, Any], str, float]:
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, json.loads(out), err, time.monotonic() - sent


def assert_interrupted(rc: int, doc: dict[str, Any], err: str, took: float) -> None:
    assert rc == 130, err
    assert doc["ok"] is False and doc["error"]["code"] == "INTERRUPTED"
    assert "error: interrupted" in err and "Traceback" not in err
    assert took < 10, f"Ctrl-C took {took:.1f} s to take effect"


# --- sf itself failing ---


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_sf_killed_by_a_signal_is_sf_failed_with_what_it_printed_redacted(
    cli: Cli, login_args: LoginArgs, sig: signal.Signals
) -> None:
    cli.scenario({"stderr": f"FATAL ERROR: heap limit, session {TOKEN}\n{PEM}aborting\n", "signal": int(sig)})
    result = cli.run(*login_args())
    assert result.returncode == 5, result.stderr
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "SF_FAILED"
    message = doc["error"]["message"]
    assert f"killed by signal {int(sig)}" in message
    assert "FATAL ERROR: heap limit" in message and "[REDACTED TOKEN]" in message and "aborting" in message
    assert leaked(result.stdout + result.stderr) == []


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (
            {
                "stdout": json.dumps(
                    {
                        "status": 10,
                        "name": "TypeError",
                        "exitCode": 10,
                        "message": "Cannot read properties of undefined (reading 'x')",
                    }
                ),
                "rc": 10,
            },
            "crashed (TypeError): Cannot read properties",
        ),
        (
            {
                "stdout": json.dumps(
                    {"status": 20, "name": "UnexpectedError", "exitCode": 20, "message": "An unexpected error occurred"}
                ),
                "rc": 20,
            },
            "hit a Salesforce internal error: An unexpected error occurred",
        ),
        ({"stdout": "Segmentation fault (core dumped)\n", "rc": 139}, "printed no JSON (exit 139)"),
        ({"stdout": "", "stderr": "", "rc": 1}, "exited 1 and printed nothing"),
        ({"stdout": "", "stderr": "", "rc": 0}, "exited 0 and printed nothing"),
        ({"stdout": json.dumps({"status": 0, "result": {"orgId": 5}}), "rc": 0}, "without an org id"),
    ],
    ids=["exit-10", "exit-20", "not-json", "nothing-exit-1", "nothing-exit-0", "success-without-org"],
)
def test_broken_sf_is_sf_failed(cli: Cli, login_args: LoginArgs, step: dict[str, Any], words: str) -> None:
    cli.scenario(step)
    result = cli.run(*login_args("--timeout", "30", "--interval", "0.5"))  # SF_FAILED is never retried
    assert result.returncode == 5, result.stderr
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "SF_FAILED" and words in doc["error"]["message"], doc
    assert len(cli.sf_calls()) == 1 and "Traceback" not in result.stderr


# --- Ctrl-C ---


# SIGTERM is how CI cancels a job (and `timeout`, `docker stop`); SIGHUP, a closed terminal.
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"])
def test_ctrl_c_while_sf_runs_stops_sf_and_its_children_and_writes_nothing(
    cli: Cli, login_args: LoginArgs, sig: int
) -> None:
    roots = (Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]), Path(cli.env["SFJWT_ORCH_DATA_DIR"]))
    cli.scenario({"hang": True, "spawn_child": True})
    before = snapshot(*roots)
    pids_file = cli.tmp / "sf.log.pids"
    proc = start(cli, *login_args())
    wait_until(pids_file.exists, what="sf to start")
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids)

    assert_interrupted(*interrupt(proc, sig))
    wait_until(lambda: not any(alive(p) for p in pids), what="sf and its child to be gone")  # a guard (15 s)
    assert snapshot(*roots) == before
    assert temp_files(*roots) == []


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def test_ctrl_c_while_waiting_for_approval_releases_the_callback_port(cli: Cli, login_args: LoginArgs) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    roots = (Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]), Path(cli.env["SFJWT_ORCH_DATA_DIR"]))
    before = snapshot(*roots)
    cli.scenario(NOT_APPROVED)
    proc = start(
        cli,
        *login_args(
            "--timeout",
            "120",
            "--interval",
            "60",
            "--no-browser",
            "--callback-url",
            f"http://127.0.0.1:{port}/OauthRedirect",
        ),
    )
    wait_until(lambda: _port_taken(port), what="the callback listener")

    rc, doc, err, took = interrupt(proc)
    assert_interrupted(rc, doc, err, took)
    # What the run learnt survives the interruption: the URL to approve at, the attempts made.
    assert doc["approval_url"].startswith("https://acme.my.salesforce.com/services/oauth2/authorize?")
    assert doc["attempts"] == 1
    with socket.socket() as s:  # no SO_REUSEADDR: the port must be truly free again
        s.bind(("127.0.0.1", port))
    assert [c["argv"][:3] for c in cli.sf_calls()] == [["org", "login", "jwt"]]
    assert snapshot(*roots) == before


FAKE_OPENSSL = """#!{python}
# openssl that hangs while "generating" the pair, so that Ctrl-C lands there.
import os, sys, time
with open(os.environ["FAKE_OPENSSL_PIDFILE"], "w") as fh:
    fh.write(str(os.getpid()))
time.sleep(300)
"""


@pytest.mark.parametrize("old_key", [True, False], ids=["replacing-a-key", "first-key"])
def test_ctrl_c_while_the_pair_is_generated_leaves_the_old_key_or_none(cli: Cli, old_key: bool) -> None:
    data, config = Path(cli.env["SFJWT_ORCH_DATA_DIR"]), Path(cli.env["SFJWT_ORCH_CONFIG_DIR"])
    if old_key:
        assert cli.run("keygen", "--alias", "hub").returncode == 0
    before = snapshot(config, data)
    fake = cli.tmp / "slow-openssl"
    fake.write_text(FAKE_OPENSSL.format(python=sys.executable))
    fake.chmod(0o755)
    pidfile = cli.tmp / "openssl.pid"
    proc = start(
        cli,
        "keygen",
        "--alias",
        "hub",
        "--force",
        "--json",
        SFJWT_ORCH_OPENSSL=str(fake),
        FAKE_OPENSSL_PIDFILE=str(pidfile),
    )
    wait_until(lambda: pidfile.exists() and pidfile.read_text() != "", what="openssl to start")
    pid = int(pidfile.read_text())
    # The command holds the alias's lock while it waits for the pair.
    lock = data / "locks" / "hub.lock"
    wait_until(lambda: lock.exists() and lock.read_text().strip() == str(proc.pid), what="keygen to take its lock")

    assert_interrupted(*interrupt(proc))
    wait_until(lambda: not alive(pid), what="openssl to be gone")  # a guard (15 s)
    after = snapshot(config, data)
    if old_key:
        assert after == before  # the old pair and the profile, byte for byte
    else:
        assert not (data / "keys" / "hub" / "server.key").exists()
        assert not (data / "keys" / "hub" / "server.crt").exists()
        assert not (config / "profiles").exists()
    assert temp_files(config, data) == []


@pytest.mark.parametrize(
    ("fault", "rc", "code"),
    [(KeyboardInterrupt, 130, "INTERRUPTED"), (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), 2, "FILE_ERROR")],
    ids=["ctrl-c", "disk-full"],
)
def test_a_fault_while_the_new_pair_is_written_keeps_the_old_one(
    cli: Cli, in_process: Any, monkeypatch: pytest.MonkeyPatch, fault: BaseException, rc: int, code: str
) -> None:
    """The worst moment: the new key is in its 0600 temp file next to server.key, the certificate not yet."""
    data, config = Path(cli.env["SFJWT_ORCH_DATA_DIR"]), Path(cli.env["SFJWT_ORCH_CONFIG_DIR"])
    assert in_process("keygen", "--alias", "hub")[0] == 0
    before = snapshot(config, data)
    seen: list[tuple[str | None, int]] = []
    fsync = os.fsync

    def failing(fd: int) -> None:
        # The temp files are written through their descriptors (issue 16): find the one being synced.
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path.suffix == ".crt":
            key_tmp = next(path.parent.glob(".tmp-*.key"))
            # What is wrong with it as an unencrypted RSA key in PEM (None: nothing), and its mode.
            seen.append((pem_problem(key_tmp.read_text()), key_tmp.stat().st_mode & 0o777))
            raise fault
        fsync(fd)

    monkeypatch.setattr(os, "fsync", failing)
    got, doc, err = in_process("keygen", "--alias", "hub", "--force")
    assert (got, doc["error"]["code"]) == (rc, code), err
    assert seen == [(None, 0o600)]
    assert snapshot(config, data) == before and temp_files(config, data) == []


@pytest.mark.parametrize(
    ("args", "begun"),
    [
        (("keygen", "--alias", ".hidden"), True),
        (("keygen", "--alias", "hub", "--out-dir", "/dev/null/x"), True),  # a folder that cannot exist
        (("keygen", "--alias", "hub", "--days", "0"), True),
        (("keygen", "--help"), False),
        (("keygen", "--alias", "hub", "--bits", "1024"), False),
    ],
    ids=["bad-alias", "bad-out-dir", "bad-days", "help", "bad-bits"],
)
def test_a_refused_keygen_leaves_no_openssl_running(cli: Cli, args: tuple[str, ...], begun: bool) -> None:
    # A keygen of the default size begins its key before the CLI is up (openssl.head_start, kept
    # because scripts/bench shows it saves over 10 % of a keygen): a run refused after that stops it.
    # --help and a --bits run begin none. (0.2 to 0.3 had no head start, and this test checked that
    # nothing started; the fake writes its pid at once, long before the CLI has loaded.)
    fake = cli.tmp / "slow-openssl"
    fake.write_text('#!/bin/sh\necho $$ > "$FAKE_OPENSSL_PIDFILE"\nexec sleep 300\n')
    fake.chmod(0o755)
    pidfile = cli.tmp / "openssl.pid"
    result = cli.run(*args, SFJWT_ORCH_OPENSSL=str(fake), FAKE_OPENSSL_PIDFILE=str(pidfile))
    assert result.returncode == (0 if "--help" in args else 2), result.stderr
    assert pidfile.exists() == begun
    if begun:
        assert not alive(int(pidfile.read_text()))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_signal_while_the_cli_loads_stops_the_key_begun_early(cli: Cli, sig: signal.Signals) -> None:
    """keygen's key is begun before the CLI (and its signal handlers) is loaded: a cancelled CI job
    or a closed terminal in that moment ends the run as Ctrl-C does, openssl included."""
    fake = cli.tmp / "slow-openssl"
    fake.write_text('#!/bin/sh\necho $$ > "$FAKE_OPENSSL_PIDFILE"\nexec sleep 300\n')
    fake.chmod(0o755)
    pidfile = cli.tmp / "openssl.pid"
    proc = start(cli, "keygen", "--alias", "hub", SFJWT_ORCH_OPENSSL=str(fake), FAKE_OPENSSL_PIDFILE=str(pidfile))
    # The fake writes its pid at once; the CLI takes ~0.1 s more to load, so a signal sent within a
    # millisecond lands then (or, on a fast machine, once the CLI is up: the outcome must be the same).
    deadline = time.monotonic() + 15
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    wait_until(lambda: not alive(int(pidfile.read_text())), what="openssl to be gone")  # a guard (15 s)


# --- two runs for one alias ---


def test_two_runs_for_one_alias_never_overlap(cli: Cli, key_file: Path) -> None:
    """The second run waits for the first's lock, then logs in itself: sf never runs twice at once,
    and the profile ends as the last run left it, whole."""
    cli.scenario({**SUCCESS, "sleep": 3}, SUCCESS)

    def login(user: str) -> subprocess.Popen[str]:
        return start(
            cli,
            "login",
            "--alias",
            "hub",
            "--client-id",
            "3MVG9CLIENTID1234567",
            "--username",
            user,
            "--instance-url",
            "https://acme.my.salesforce.com",
            "--json",
        )

    first = login("first@example.com")
    wait_until(lambda: len(cli.sf_calls()) == 1, what="the first run's sf")
    second = login("second@example.com")
    outs = [p.communicate(timeout=30) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], [err for _, err in outs]
    starts = [c["start"] for c in cli.sf_calls()]
    ends = [json.loads(line)["end"] for line in (cli.tmp / "sf.log.ends").read_text().splitlines()]
    assert len(starts) == 2 and len(ends) == 2
    assert starts[1] >= ends[0], "the second run's sf started while the first's was still running"
    profile = (Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles" / "hub.toml").read_text()
    assert 'username = "second@example.com"' in profile and profile.endswith("\n")


def test_a_held_lock_is_refused_after_the_wait_and_freed_when_its_holder_dies(isolated_env: dict[str, Path]) -> None:
    paths = Paths.from_env()
    lock = paths.lock_file("hub")
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT, 0o600)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.pwrite(fd, str(os.getpid()).encode(), 0)\nprint('held', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(SfjwtError) as err, alias_lock(paths, "hub", wait=0.5):
            pytest.fail("the lock was taken while another process held it")
        assert time.monotonic() - started >= 0.5  # it waited before refusing
        assert err.value.code is Code.LOCKED and err.value.exit_code == 2
        assert f"pid {holder.pid}" in err.value.message and "'hub'" in err.value.message
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: no stale lock. With wait=0 a held lock would be
    # LOCKED at once, so taking it proves nobody holds it (no clock needed).
    with alias_lock(paths, "hub", wait=0.0):
        assert lock.read_text() == str(os.getpid())


# --- folders that cannot be written ---


def _under_a_file(cli: Cli, name: str) -> Path:
    blocker = cli.tmp / f"{name}-is-a-file"
    blocker.write_text("a regular file where a folder should be\n")
    return blocker / name  # any path below it fails with ENOTDIR, even for root


def test_config_dir_that_cannot_exist_is_file_error_and_the_keys_are_kept(cli: Cli, keyset: KeySet) -> None:
    assert cli.run("keygen", "--alias", "hub").returncode == 0
    data = Path(cli.env["SFJWT_ORCH_DATA_DIR"])
    before = snapshot(data)
    config = _under_a_file(cli, "config")
    for args in (
        ["login", "--alias", "hub", "--client-id", "3MVG9CLIENTID1234567", "--username", "u@example.com"],
        ["keygen", "--alias", "hub", "--force"],
    ):
        result = cli.run(*args, "--json", SFJWT_ORCH_CONFIG_DIR=str(config))
        assert result.returncode == 2, result.stderr
        doc = json.loads(result.stdout)
        assert doc["error"]["code"] == "FILE_ERROR", doc
        assert str(config) in doc["error"]["message"] and "Not a directory" in doc["error"]["message"]
        assert "SFJWT_ORCH_CONFIG_DIR" in doc["error"]["fix"]
    assert snapshot(data) == before  # keygen --force did not replace the key it could not record
    assert cli.sf_calls() == []


def test_data_dir_that_cannot_exist_is_file_error_and_the_profile_is_kept(cli: Cli, keyset: KeySet) -> None:
    key = cli.tmp / "server.key"
    key.write_bytes(keyset.key.read_bytes())
    key.chmod(0o600)
    config = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"])
    profile = config / "profiles" / "hub.toml"
    profile.parent.mkdir(mode=0o700)
    profile.write_text('client_id = "3MVG9CLIENTID1234567"\nusername = "u@example.com"\n')
    before = snapshot(config)
    data = _under_a_file(cli, "data")
    for args in (["login", "--alias", "hub", "--key-file", str(key)], ["keygen", "--alias", "hub"]):
        result = cli.run(*args, "--json", SFJWT_ORCH_DATA_DIR=str(data))
        assert result.returncode == 2, result.stderr
        doc = json.loads(result.stdout)
        assert doc["error"]["code"] == "FILE_ERROR" and str(data) in doc["error"]["message"], doc
    assert snapshot(config) == before
    assert cli.sf_calls() == []


# --- a full disk, simulated in-process at the fsync of every atomic write ---


@pytest.fixture
def in_process(cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run sfjwt-orch's main() in this process, with the fake sf on PATH; returns (rc, JSON, stderr)."""
    for name in ("PATH", "FAKE_SF_SCENARIO", "FAKE_SF_LOG"):
        monkeypatch.setenv(name, cli.env[name])

    def run(*args: str) -> tuple[int, dict[str, Any], str]:
        capsys.readouterr()
        rc = sfjwt_cli.main([*args, "--json"])
        out, err = capsys.readouterr()
        return rc, json.loads(out), err

    return run


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)


def test_disk_full_while_saving_the_profile_keeps_the_old_one(
    cli: Cli, key_file: Path, in_process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.scenario(SUCCESS, SUCCESS)
    args = [
        "login",
        "--alias",
        "hub",
        "--client-id",
        "3MVG9CLIENTID1234567",
        "--instance-url",
        "https://acme.my.salesforce.com",
        "--username",
    ]
    rc, _, err = in_process(*args, "first@example.com")
    assert rc == 0, err
    profiles = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles"
    old = (profiles / "hub.toml").read_bytes()

    _disk_full(monkeypatch)
    rc, doc, err = in_process(*args, "second@example.com")
    # The login is real (sf holds it): a profile that cannot be saved is a warning (issue 15, item 2).
    assert rc == 0, err
    assert doc["ok"] is True and "Traceback" not in err
    assert "the login worked, but its answers were not saved" in err and "No space left on device" in err
    assert (profiles / "hub.toml").read_bytes() == old
    assert temp_files(profiles) == []


def test_disk_full_while_writing_a_key_from_the_environment_leaves_no_key(
    cli: Cli, keyset: KeySet, in_process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_JWT_KEY", keyset.key.read_text())
    _disk_full(monkeypatch)
    rc, doc, err = in_process(*KEY_ENV_LOGIN)
    assert rc == 2, err
    assert doc["error"]["code"] == "FILE_ERROR" and "No space left on device" in doc["error"]["message"]
    data = Path(cli.env["SFJWT_ORCH_DATA_DIR"])
    assert not (data / "keys" / "ci").exists()  # the folder it created is gone again
    assert temp_files(data) == [] and cli.sf_calls() == []


# --- our own output going nowhere ---


AUTHORIZE = ("authorize-url", "--client-id", "3MVG9CLIENTID1234567")


@pytest.mark.parametrize(
    "args",
    [("--version",), ("--help",), ("profiles", "list", "--json"), AUTHORIZE, (*AUTHORIZE, "--json")],
    ids=lambda a: " ".join(a),
)
def test_output_that_cannot_be_written_is_exit_1_without_a_traceback(cli: Cli, args: tuple[str, ...]) -> None:
    # The process skips the interpreter's tear-down (sfjwt_orch.__main__._exit), so it must notice a
    # failed write or final flush itself: stdout on a full disk, a pipe whose reader has gone (| head),
    # or no stdout at all (>&-, where Python leaves sys.stdout None).
    read, write = os.pipe()
    os.close(read)
    ours = [sys.executable, "-m", "sfjwt_orch", *args]
    closed = ["/bin/sh", "-c", 'exec "$@" >&-', "sh", *ours]
    try:
        with open("/dev/full", "w") as full:
            for argv, stdout in ((ours, full), (ours, write), (closed, None)):
                rc = subprocess.run(argv, env=cli.env, stdout=stdout, stderr=subprocess.PIPE, text=True)
                assert rc.returncode == 1 and "Traceback" not in rc.stderr, rc.stderr
                if args != ("--version",):  # the probe's fast path says nothing
                    assert rc.stderr.startswith("error: could not write the output: "), rc.stderr
                    assert len(rc.stderr.splitlines()) == 2  # the message and its fix
    finally:
        os.close(write)


def test_output_is_complete_when_it_goes_to_a_pipe(cli: Cli) -> None:
    full = subprocess.run([sys.executable, "-m", "sfjwt_orch", "login", "--help"], env=cli.env, capture_output=True)
    assert full.returncode == 0 and full.stdout.rstrip().endswith(b"Show this message and exit.")
