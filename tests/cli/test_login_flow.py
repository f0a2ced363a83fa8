"""The approve-and-retry loop, driven with a strict fake runner and a fake clock (no sleeping)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.approval.listener import Callback
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code
from sfjwt_orch.flows import key_env, login, refusal
from sfjwt_orch.flows.login import LoginReport
from sfjwt_orch.flows.login_request import LoginRequest, Wait, login_request
from sfjwt_orch.store import profiles, state
from sfjwt_orch.store.paths import Paths
from tests.cli.conftest import Flow, failed
from tests.fakes import FakeClock, FakeListener, FakeRunner

DATA = Path(__file__).parents[1] / "data" / "sf-outputs"
NOT_APPROVED = (DATA / "notapproved.json.stdout").read_text()
CLIENT_ID = (DATA / "err_client_id.json.stdout").read_text()
ASSERTION = (DATA / "err_invalid_assertion.json.stdout").read_text()
SUCCESS = (DATA / "success.login.stdout").read_text()


def is_login(argv: Any) -> bool:
    return list(argv[1:4]) == ["org", "login", "jwt"]


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "server.key"
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
    path.chmod(0o600)
    return path


def log_in(req: LoginRequest, ctx: Context) -> LoginReport:
    """What login and bootstrap do: the approve-and-retry loop, then remember what worked."""
    report = login.log_in(req, ctx)
    if report.error is None:
        login.remember(req, report, ctx)
    return report


def request(
    key_file: Path,
    *,
    client_id: str = "3MVG9CLIENTID1234567",
    callback_url: str = "http://localhost:1717/OauthRedirect",
    open_browser: bool = True,
    timeout: float = 600.0,
    new_app: bool = False,
) -> LoginRequest:
    profile = profiles.Profile(
        "hub", client_id, "user@example.com", "https://acme.my.salesforce.com", callback_url=callback_url
    )
    return dataclasses.replace(login_request(profile, key_file, Wait(open_browser, timeout, 5.0)), new_app=new_app)


def test_not_approved_twice_then_success(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    for stdout, rc in ((NOT_APPROVED, 1), (NOT_APPROVED, 1), (SUCCESS, 0)):
        runner.expect(is_login, stdout, rc)
    report = log_in(request(key_file), flow.ctx)
    runner.assert_done()
    assert report.attempts == 3
    assert report.org_id == "00D000000000001AAA"
    # PKCE (issue 16): a fresh S256 challenge whose verifier nobody keeps, after the state.
    assert report.approval_url is not None
    url, _, challenge = report.approval_url.partition("&code_challenge=")
    assert url == (
        "https://acme.my.salesforce.com/services/oauth2/authorize?response_type=code&client_id=3MVG9CLIENTID1234567"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A1717%2FOauthRedirect&state=S1"
    )
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}&code_challenge_method=S256", challenge), challenge
    assert runner.opened == [report.approval_url]  # opened once, not at every retry
    assert any(report.approval_url in line for line in flow.console.lines)
    assert sum(flow.clock.sleeps) == pytest.approx(5.0 + 7.5)  # interval, then backed off
    argv = runner.calls[0]
    assert argv[0] == flow.sf
    assert argv[argv.index("--jwt-key-file") + 1] == str(key_file)
    saved = profiles.load(flow.paths, "hub")
    assert saved is not None
    assert (saved.client_id, saved.username, state.load(flow.paths, "hub").org_id) == (
        "3MVG9CLIENTID1234567",
        "user@example.com",
        "00D000000000001AAA",
    )


def test_url_printed_before_browser_and_failure_to_open_is_survived(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    runner.open_ok = False
    runner.expect(is_login, NOT_APPROVED, 1)
    runner.expect(is_login, SUCCESS, 0)
    log_in(request(key_file), flow.ctx)
    lines = flow.console.lines
    url_at = next(i for i, line in enumerate(lines) if "/services/oauth2/authorize?" in line)
    warn_at = next(i for i, line in enumerate(lines) if "Could not open a browser" in line)
    assert url_at < warn_at


def test_no_browser_means_print_only(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    runner.expect(is_login, NOT_APPROVED, 1)
    report = log_in(request(key_file, open_browser=False, timeout=0), flow.ctx)
    err = failed(report)
    assert err.code is Code.NOT_APPROVED and err.exit_code == 4
    assert runner.opened == []
    assert (report.approval_url or "").startswith("https://acme.my.salesforce.com/services/oauth2/authorize?")
    assert report.attempts == 1 and report.to_json()["ok"] is False


def test_deadline_ends_the_wait_with_exit_4(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    clock: FakeClock = flow.clock
    for _ in range(5):
        runner.expect(is_login, NOT_APPROVED, 1)
    report = log_in(request(key_file, timeout=40.0), flow.ctx)
    err = failed(report)
    runner.assert_done()
    assert err.code is Code.NOT_APPROVED
    assert "40 s" in err.message
    assert sum(clock.sleeps) == pytest.approx(40.0)  # 5 + 7.5 + 11.25 + 16.25 (cut at the deadline)
    assert all(s <= 1.0 for s in clock.sleeps)  # the status line is refreshed every second


def test_backoff_caps_at_30_seconds(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    for _ in range(8):
        runner.expect(is_login, NOT_APPROVED, 1)
    runner.expect(is_login, SUCCESS, 0)
    log_in(request(key_file, timeout=3600.0), flow.ctx)
    waits = [line for line in flow.console.lines if "next try in" in line]
    assert [w.split("next try in ")[1].split(" s")[0] for w in waits] == ["5", "8", "11", "17", "25", "30", "30", "30"]


def test_an_unknown_consumer_key_fails_at_once_showing_the_key_masked(flow: Flow, key_file: Path) -> None:
    # Issue 14, item 1: "client identifier invalid" is what a mistyped key gets too, so an app not
    # known to be new is not waited for (until 0.2 a typo waited ten minutes at a terminal).
    runner: FakeRunner = flow.runner
    runner.expect(is_login, CLIENT_ID, 1)
    report = log_in(request(key_file, client_id="3MVG9ABCDEFGHIJKLMNOPQRSTUVWXYZ"), flow.ctx)
    err = failed(report)
    runner.assert_done()
    assert err.code is Code.CLIENT_ID_INVALID and err.exit_code == 3
    assert flow.clock.sleeps == []
    assert "consumer key used: 3MVG9A…WXYZ (31 characters)" in err.message
    fix = err.fix
    assert "probably mistyped" in fix and "--new-app" in fix
    # The rerun names the alias and asks for the key; it never repeats the key itself.
    assert "then run the same command again with --client-id <consumer key>" in fix  # nothing saved yet
    profiles.save(flow.paths, dataclasses.replace(profiles.Profile(alias="hub"), client_id="3MVG9CLIENTID1234567",
                username="user@example.com", instance_url="https://acme.my.salesforce.com", key_file=str(key_file)))  # fmt: skip
    rerun = refusal.rerun(request(key_file), flow.ctx, "--new-app", client_id=True)
    assert rerun == "sfjwt-orch login --alias hub --client-id <consumer key> --new-app"
    shown = " ".join(flow.console.lines + flow.console.statuses) + err.message + fix
    assert "3MVG9ABCDEFGHIJKLMNOPQRSTUVWXYZ" not in shown


def test_a_new_app_is_waited_for_and_a_typo_is_mentioned_once(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    for _ in range(2):
        runner.expect(is_login, CLIENT_ID, 1)
    runner.expect(is_login, SUCCESS, 0)
    report = login.log_in(request(key_file, new_app=True), flow.ctx)
    assert report.attempts == 3
    lines = flow.console.lines
    assert any("2-10 minutes" in line for line in lines)
    assert [line for line in lines if "probably mistyped" in line] == [refusal.maybe_mistyped(request(key_file))]
    assert "3MVG9C…4567 (20 characters)" in lines[0]

    runner.expect(is_login, CLIENT_ID, 1)
    report = login.log_in(request(key_file, timeout=0, new_app=True), flow.ctx)  # new, but nobody asked to wait
    err = failed(report)
    assert err.code is Code.CLIENT_ID_INVALID and err.exit_code == 3
    # Not waited for, so no "sfjwt-orch waits" line; the fix says how to wait.
    assert [line for line in flow.console.lines if "probably mistyped" in line] == [
        refusal.maybe_mistyped(request(key_file))
    ]
    assert "--new-app --timeout 600" in err.fix


def test_an_app_this_tool_created_minutes_ago_counts_as_new(flow: Flow, key_file: Path) -> None:
    paths: Paths = flow.paths
    minutes_ago = (datetime.now(UTC) - timedelta(minutes=3)).isoformat(timespec="seconds")
    assert state.save(paths, state.State(alias="hub", app_created_at=minutes_ago)) is None
    runner: FakeRunner = flow.runner
    runner.expect(is_login, CLIENT_ID, 1)
    runner.expect(is_login, SUCCESS, 0)
    assert login.log_in(request(key_file), flow.ctx).attempts == 2

    long_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    assert state.save(paths, state.State(alias="hub", app_created_at=long_ago)) is None
    runner.expect(is_login, CLIENT_ID, 1)
    report = login.log_in(request(key_file), flow.ctx)
    err = failed(report)
    assert err.code is Code.CLIENT_ID_INVALID and "probably mistyped" in err.fix


def test_ctrl_c_reports_the_last_outcome_and_its_fix(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    runner.expect(is_login, CLIENT_ID, 1)
    clock: FakeClock = flow.clock

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    flow.ctx.sleep = interrupt
    report = login.log_in(request(key_file, new_app=True), flow.ctx)
    err = failed(report)
    assert clock.sleeps == []
    assert err.code is Code.INTERRUPTED and err.exit_code == 130
    assert "the last attempt (1) said CLIENT_ID_INVALID" in err.message
    assert "3MVG9C…4567" in err.message and "--new-app" in err.fix
    assert report.attempts == 1 and report.to_json()["ok"] is False  # the login document


def test_final_errors_are_not_retried(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    runner.expect(is_login, ASSERTION, 1)
    report = log_in(request(key_file), flow.ctx)
    err = failed(report)
    runner.assert_done()
    assert err.code is Code.INVALID_ASSERTION
    assert flow.clock.sleeps == []
    # Only the line that decided is shown (issue 14: the fall-back hosts' "fetch failed" read like a
    # network fault); until 0.2 every attempt was summarised here. --verbose shows them all.
    lines = flow.console.lines
    assert any(line == "sf said: invalid assertion" for line in lines)
    assert not any("fetch failed" in line for line in lines)
    assert any("4 other attempt(s)" in line and "--verbose shows what each answered" in line for line in lines)


def test_verbose_shows_every_attempt(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    runner.expect(is_login, ASSERTION, 1)
    flow.ctx.verbose = True
    failed(log_in(request(key_file), flow.ctx))
    assert any("all of sf's attempts: invalid assertion (x3); fetch failed (x2)" in line for line in flow.console.lines)


def test_local_problems_stop_before_sf(flow: Flow, tmp_path: Path) -> None:
    report = log_in(request(tmp_path / "missing.key"), flow.ctx)
    err = failed(report)
    assert err.code is Code.KEY_NOT_FOUND
    assert "sfjwt-orch keygen --alias hub" in err.fix and "NAME" not in err.fix  # the alias is known
    assert flow.runner.calls == []  # sf never started


def test_sf_runs_in_the_quiet_environment(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    flow.ctx.env["HTTPS_PROXY"] = "http://corp:3128"
    runner.expect(is_login, SUCCESS, 0)
    log_in(request(key_file), flow.ctx)
    env = runner.envs[0]
    assert env["SF_DISABLE_TELEMETRY"] == "true" and "HTTPS_PROXY" not in env


def test_json_shape_on_success(flow: Flow, key_file: Path) -> None:
    flow.runner.expect(is_login, SUCCESS, 0)
    doc = log_in(request(key_file), flow.ctx).to_json()
    assert json.loads(json.dumps(doc)) == {
        "ok": True,
        "alias": "hub",
        "username": "user@example.com",
        "org_id": "00D000000000001AAA",
        "instance_url": "http://127.0.0.1:8555",
        "login_url": "http://127.0.0.1:8555/",
        "is_dev_hub": False,
        "attempts": 1,
        "approval_url": None,
        "org_changed_from": None,  # the login's document carries it now (flows.login.remember)
        "changed": {},  # no saved answer replaced (issue 24 item 5)
        "error": None,
    }


def _with_listener(flow: Flow, hits: dict[int, Callback]) -> FakeListener:
    listener = FakeListener(flow.clock, hits)
    flow.ctx.listen = lambda url, state, about=None: listener
    return listener


def test_approval_callback_retries_at_once(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    runner.expect(is_login, NOT_APPROVED, 1)
    runner.expect(is_login, SUCCESS, 0)
    listener = _with_listener(flow, {3: Callback(approved=True)})
    report = log_in(request(key_file), flow.ctx)
    assert report.attempts == 2
    assert sum(flow.clock.sleeps) == pytest.approx(2.0)  # two quiet seconds, then the callback: no full interval
    assert listener.stopped
    assert any("Approval received" in line for line in flow.console.lines)


@pytest.mark.parametrize(
    ("error", "code", "exit_code"),
    [("access_denied", Code.NOT_APPROVED, 4), ("OAUTH_APP_ACCESS_DENIED", Code.NOT_ADMIN_APPROVED, 3)],
)
def test_deny_in_the_browser_ends_the_wait(flow: Flow, key_file: Path, error: str, code: Code, exit_code: int) -> None:
    runner: FakeRunner = flow.runner
    runner.expect(is_login, NOT_APPROVED, 1)
    listener = _with_listener(flow, {1: Callback(approved=False, error=error)})
    report = log_in(request(key_file), flow.ctx)
    err = failed(report)
    runner.assert_done()
    assert err.code is code and err.exit_code == exit_code
    assert flow.clock.sleeps == []  # promptly: no waiting for the deadline
    assert listener.stopped


def test_still_not_approved_after_the_callback_stops_naming_the_username(flow: Flow, key_file: Path) -> None:
    # Issue 24 item 4: the person clicked Allow, yet sf still says not approved: another approval
    # cannot help (an unknown username reads exactly so), so the loop stops at once and says that
    # the username may be wrong, instead of retrying until the deadline (it did until 0.x).
    runner: FakeRunner = flow.runner
    for stdout, rc in ((NOT_APPROVED, 1), (NOT_APPROVED, 1)):
        runner.expect(is_login, stdout, rc)
    listener = _with_listener(flow, {1: Callback(approved=True)})
    report = log_in(request(key_file), flow.ctx)
    err = failed(report)
    runner.assert_done()
    assert err.code is Code.USERNAME_SUSPECT and err.exit_code == 3
    assert "the username may be wrong" in err.message and "user@example.com.dev" in err.message
    assert "approval arrived" in err.message and "refresh_token" in err.fix
    assert flow.clock.sleeps == []  # the callback came at once; nothing was waited for after it
    assert listener.stopped
    assert report.attempts == 2 and report.approval_url


def test_an_app_sfjwt_orch_made_is_not_waited_for_when_sf_says_not_approved(flow: Flow, key_file: Path) -> None:
    # Issue 24 item 4: app create's apps pre-authorize through a permission set; "not approved" from one
    # is a wrong username (or a user without the permission set): no approval page, no wait.
    state.save(flow.ctx.paths, state.State("hub", app_name="sfjwt_hub"))
    profiles.save(flow.ctx.paths, request(key_file).profile)  # the app's consumer key, as app create saves it
    runner: FakeRunner = flow.runner
    runner.expect(is_login, NOT_APPROVED, 1)
    flow.ctx.listen = lambda url, state, about=None: pytest.fail("no approval is waited for")  # type: ignore[assignment]
    report = log_in(request(key_file), flow.ctx)
    err = failed(report)
    runner.assert_done()
    assert err.code is Code.USERNAME_SUSPECT
    assert "sfjwt_hub" in err.message and "permission set" in err.fix
    assert flow.clock.sleeps == [] and not flow.runner.opened
    assert report.approval_url is None
    assert not any("authorize?" in line for line in flow.console.lines)


def test_another_app_given_for_an_alias_sfjwt_orch_made_an_app_for_still_asks_for_the_approval(
    flow: Flow, key_file: Path
) -> None:
    # The pre-authorization is the app create made: another --client-id is an app of unknown policy.
    state.save(flow.ctx.paths, state.State("hub", app_name="sfjwt_hub"))
    profiles.save(flow.ctx.paths, request(key_file, client_id="3MVG9OTHERCLIENT7654321").profile)
    flow.runner.expect(is_login, NOT_APPROVED, 1)
    report = log_in(request(key_file, timeout=0.0), flow.ctx)
    err = failed(report)
    flow.runner.assert_done()
    assert err.code is Code.NOT_APPROVED and report.approval_url


def test_busy_port_falls_back_to_polling(flow: Flow, key_file: Path) -> None:
    runner: FakeRunner = flow.runner
    runner.expect(is_login, NOT_APPROVED, 1)
    runner.expect(is_login, SUCCESS, 0)

    def busy(url: str, state: str | None, about: object = None) -> None:
        raise OSError(98, "Address already in use")

    flow.ctx.listen = busy
    report = log_in(request(key_file), flow.ctx)
    assert report.attempts == 2
    assert any("Cannot listen on http://localhost:1717/OauthRedirect" in line for line in flow.console.lines)
    assert sum(flow.clock.sleeps) == pytest.approx(5.0)


def test_key_env_variable_does_not_reach_sf(flow: Flow, key_file: Path) -> None:
    deps = flow.ctx
    deps.env = {**deps.env, "CI_JWT_KEY": key_file.read_text()}
    path = key_env.write(key_env.take("CI_JWT_KEY", deps), "CI_JWT_KEY", "hub", deps).path
    assert path.read_text() == key_file.read_text() and path.stat().st_mode & 0o777 == 0o600
    flow.runner.expect(is_login, SUCCESS, 0)
    log_in(request(path), deps)
    assert "CI_JWT_KEY" not in flow.runner.envs[-1]
    assert not any("PRIVATE KEY" in value for value in flow.runner.envs[-1].values())


@pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/proc/net/tcp").exists(),
    reason="a port held by another user needs root to start a program as nobody, and Linux's /proc/net/tcp",
)
def test_a_port_held_by_another_user_is_named_before_the_browser_opens(flow: Flow, key_file: Path) -> None:
    """Issue 16 (low): the browser's return would reach that user's program; say so first."""
    from sfjwt_orch.context import listen

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the other user: binds the callback's port as nobody, until told to stop
        try:
            os.setuid(65534)
            held = socket.socket()
            held.bind(("127.0.0.1", port))
            held.listen()
            os.write(ready_w, b"r")
            os.read(stop_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)  # the child's ends: a child that failed is an end of file here, not a hang
    os.close(stop_r)
    try:
        assert os.read(ready_r, 1) == b"r"
        runner: FakeRunner = flow.runner
        runner.expect(is_login, NOT_APPROVED, 1)
        runner.expect(is_login, SUCCESS, 0)
        flow.ctx.listen = listen
        log_in(request(key_file, callback_url=f"http://127.0.0.1:{port}/OauthRedirect"), flow.ctx)
    finally:
        os.write(stop_w, b"x")
        os.waitpid(pid, 0)
        os.close(ready_r)
        os.close(stop_w)
    lines: list[str] = flow.console.lines
    warning = next(i for i, line in enumerate(lines) if "held by another user's program (uid 65534)" in line)
    assert warning < lines.index("Opened it in your browser.")
