"""`sfjwt-orch login` scenarios end to end: the real sf against the emulator on loopback.

Each test runs the installed CLI as a process (or in a pseudo-terminal, as a person would) and
checks both what sfjwt-orch reported and what the emulator saw on the wire.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pexpect
import pytest

from sfjwt_orch.emulator import (
    AUTHORIZE_PATH,
    DECISION_PATH,
    DEMO_CONSUMER_KEY,
    DEMO_ORG_ID,
    DEMO_USERNAME,
    Approval,
    Emulator,
    EmulatorConfig,
    RecordedRequest,
)
from sfjwt_orch.salesforce.validate import authorize_url
from tests.e2e.conftest import E2E, VISITOR, free_port
from tests.signals import as_foreground_job

pytestmark = pytest.mark.e2e

ALIAS = "e2e"
# A Python traceback, or a Node stack frame ("    at AuthInfo.authJwt (/…/authInfo.js:1133:19)").
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+at \S.*:\d+:\d+\)?$", re.MULTILINE)


def login_argv(
    emu_url: str,
    key: Path,
    *extra: str,
    client_id: str = DEMO_CONSUMER_KEY,
    username: str = DEMO_USERNAME,
    alias: str = ALIAS,
    json_out: bool = True,
) -> list[str]:
    argv = [
        "login",
        "--alias",
        alias,
        "--client-id",
        client_id,
        "--username",
        username,
        "--key-file",
        str(key),
        "--instance-url",
        emu_url,
        *extra,
    ]
    return [*argv, "--json"] if json_out else argv


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def assert_good_jwt(
    request: RecordedRequest, emu: Emulator, username: str = DEMO_USERNAME, *, any_accepted_audience: bool = False
) -> None:
    """The assertion sf signed is what Salesforce expects for this app, user and login URL.
    `any_accepted_audience`: any audience the org accepts (its URL, or the generic login host) will do."""
    assert request.jwt_header is not None and request.jwt_header["alg"] == "RS256"
    claims = request.claims
    assert claims is not None
    assert claims["iss"] == DEMO_CONSUMER_KEY and claims["sub"] == username
    if any_accepted_audience:
        assert claims["aud"] in (emu.url + "/", *emu.config.audiences()), claims["aud"]
    else:
        assert claims["aud"] == emu.url + "/"
    assert isinstance(claims["exp"], (int, float)) and claims["exp"] > time.time()
    assert request.params["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert request.params["assertion"].startswith("<JWT, ")  # the live assertion is never kept


def assert_connected(e2e: E2E, alias: str = ALIAS) -> dict[str, Any]:
    display = e2e.sf_json("org", "display", "--target-org", alias)
    assert display["status"] == 0, display
    assert display["result"]["connectedStatus"] == "Connected"
    assert display["result"]["id"] == DEMO_ORG_ID
    return display


# --------------------------------------------------------------------------- approval in a browser


def _browser_login(e2e: E2E, *visitor_flags: str) -> tuple[Emulator, subprocess.CompletedProcess[str], Path, str]:
    callback = f"http://localhost:{free_port()}/OauthRedirect"
    emu = e2e.emulator(policy="self-authorize", callback_urls=(callback,))
    visits = e2e.tmp / "visits.log"
    result = e2e.cli(
        *login_argv(
            emu.url, e2e.keypair.key, "--callback-url", callback, "--browser", "--timeout", "900", "--interval", "600"
        ),
        # Polling would retry only after the 600 s interval (or end after 900 s): a run that ends within
        # this guard was woken by the callback listener. No timed assertion needed.
        timeout=170,
        BROWSER=" ".join([VISITOR, *visitor_flags, "--log", str(visits)]),
    )
    return emu, result, visits, callback


def test_self_authorize_allow_in_browser_is_noticed_by_the_listener(e2e: E2E) -> None:
    emu, result, visits, callback = _browser_login(e2e)
    assert result.returncode == 0, output(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["attempts"] == 2 and doc["error"] is None
    query = parse_qs(urlsplit(doc["approval_url"]).query)
    state = query["state"][0]  # what the listener checks
    assert len(state) >= 16
    challenge = query["code_challenge"][0]  # PKCE (issue 16): checked only by a code exchange, never made
    assert doc["approval_url"] == authorize_url(emu.url, DEMO_CONSUMER_KEY, callback, state, challenge)
    assert visits.read_text().splitlines() == [doc["approval_url"]]  # opened exactly once
    assert emu.approvals == (Approval(DEMO_CONSUMER_KEY, DEMO_USERNAME, refresh_token=True),)
    assert "Approval received in the browser" in result.stderr

    # The browser exchange, as the emulator saw it: consent page for our callback, then Allow.
    page = next(r for r in emu.requests if r.path == AUTHORIZE_PATH)
    assert page.outcome == "consent_page" and page.query["redirect_uri"] == callback
    decision = next(r for r in emu.requests if r.path == DECISION_PATH)
    assert decision.outcome == "approved" and decision.params["decision"] == "allow"
    before = [r for r in emu.token_requests if r.seq < decision.seq]
    after = [r for r in emu.token_requests if r.seq > decision.seq]
    assert before and all(r.outcome in ("not_approved", GENERIC) for r in before)
    assert before[0].outcome == "not_approved"
    assert [r.outcome for r in after] == ["ok"]
    assert_good_jwt(after[0], emu)
    # Retried at once: without the listener the retry would have waited the 600 s interval, past the
    # run's guard (_browser_login); the second attempt came after the Allow, before any poll was due.
    assert after[0].at - decision.at < 600
    e2e.assert_fallbacks_blocked()
    assert_connected(e2e)


def test_deny_in_browser_ends_the_wait_promptly(e2e: E2E) -> None:
    emu, result, visits, _ = _browser_login(e2e, "--deny")
    assert result.returncode == 4, output(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["attempts"] == 1
    assert doc["error"]["code"] == "NOT_APPROVED"
    assert "denied" in doc["error"]["message"] and doc["error"]["fix"]
    assert visits.read_text().splitlines() == [doc["approval_url"]]
    # Ended within _browser_login's guard although --timeout is 900 s: the Deny ended the wait.
    decision = next(r for r in emu.requests if r.path == DECISION_PATH)
    assert decision.outcome == "access_denied" and decision.params["decision"] == "deny"
    assert emu.approvals == ()
    assert all(r.outcome != "ok" for r in emu.token_requests) and emu.issued_tokens == ()
    assert not TRACEBACK.search(output(result))
    e2e.assert_fallbacks_blocked()


# --------------------------------------------------------------------------- the error taxonomy


def _inactive_user(config: EmulatorConfig) -> EmulatorConfig:
    return dataclasses.replace(config, users=tuple(dataclasses.replace(u, active=False) for u in config.users))


def _inactive_org(config: EmulatorConfig) -> EmulatorConfig:
    return dataclasses.replace(config, org=dataclasses.replace(config.org, active=False))


def _my_domain_only(config: EmulatorConfig) -> EmulatorConfig:
    # Like a My Domain that rejects the generic login hosts as audience.
    return dataclasses.replace(config, accepted_audiences=())


# Every failing login reaches the emulator 3 times (its URL as aud, then login. and test.salesforce.com
# as aud); the 2 attempts at the real hosts are stopped by the guard.
EMU_ATTEMPTS = 3
# sf's fall-back pairs that reach the emulator sign the generic hosts as aud (login URL, login) and
# (login URL, test): the demo app is an External Client App, which refuses both since Spring '26
# (Switches.eca_generic_audience_refused, on as in a new org; docs/platform-2026.md).
GENERIC = "app_not_installed"


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    exit: int
    seen: frozenset[str]  # the outcomes the emulator answered (empty: nothing reached it)
    emulator: dict[str, Any] = field(default_factory=dict)
    switches: dict[str, Any] = field(default_factory=dict)
    tweak: Callable[[EmulatorConfig], EmulatorConfig] | None = None
    client_id: str = DEMO_CONSUMER_KEY
    other_key: bool = False
    dead_port: bool = False


def _forced(key: str, code: str, *, also: tuple[str, ...] = ()) -> Case:
    return Case(key, code, 3, frozenset({key, *also}), switches={"fail_next": [key] * EMU_ATTEMPTS})


CASES = [
    Case(
        "unknown-consumer-key",
        "CLIENT_ID_INVALID",
        3,
        frozenset({"client_id_invalid"}),
        client_id="3MVG9NoSuchAppInThisOrg000000000000000000",
    ),
    Case(
        "key-not-matching-certificate",
        "INVALID_ASSERTION",
        3,
        frozenset({"invalid_assertion", GENERIC}),
        other_key=True,
    ),
    Case(
        "admin-approved-user-not-preauthorized",
        "NOT_ADMIN_APPROVED",
        3,
        frozenset({"not_admin_approved", GENERIC}),
        emulator={"preauthorized": False},
    ),
    Case(
        "self-authorize-no-wait",
        "NOT_APPROVED",
        4,
        frozenset({"not_approved", GENERIC}),
        emulator={"policy": "self-authorize"},
    ),
    Case("inactive-user", "INACTIVE_USER", 3, frozenset({"inactive_user", GENERIC}), tweak=_inactive_user),
    Case("inactive-org", "INACTIVE_ORG", 3, frozenset({"inactive_org", GENERIC}), tweak=_inactive_org),
    Case("rate-limited", "RATE_LIMITED", 3, frozenset({"rate_limited"}), switches={"rate_limit_after": 0}),
    Case("maintenance-html-503", "SERVER_ERROR", 3, frozenset({"maintenance"}), switches={"maintenance": True}),
    # The first attempt's aud is the emulator's own URL, which it always accepts: that one is forced.
    Case(
        "audience",
        "AUDIENCE_INVALID",
        3,
        frozenset({"audience_invalid", GENERIC}),
        tweak=_my_domain_only,
        switches={"fail_next": ["audience_invalid"]},
    ),
    _forced("expired", "EXPIRED_ASSERTION"),
    _forced("authentication_failure", "AUTH_FAILURE"),
    _forced("ip_restricted", "IP_RESTRICTED"),
    _forced("app_not_installed_connected", "APP_NOT_INSTALLED"),
    # An External Client App that has not propagated yet answers app_not_found by itself.
    Case(
        "eca-not-installed",
        "APP_NOT_INSTALLED",
        3,
        frozenset({"app_not_installed"}),
        emulator={"propagation_seconds": 3600},
    ),
    Case("dead-port", "NETWORK", 3, frozenset(), dead_port=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_refusal_is_classified(e2e: E2E, case: Case, other_keypair: Any) -> None:
    emu = e2e.emulator(**case.emulator, switches=case.switches, tweak=case.tweak or (lambda c: c))
    url = f"http://127.0.0.1:{free_port()}" if case.dead_port else emu.url
    key = e2e.keypair.key
    if case.other_key:
        key = e2e.tmp / "other" / "server.key"
        key.parent.mkdir()
        key.write_bytes(other_keypair.key.read_bytes())
        key.chmod(0o600)
    result = e2e.cli(*login_argv(url, key, "--timeout", "0", client_id=case.client_id))
    assert result.returncode == case.exit, output(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["attempts"] == 1
    assert doc["error"]["code"] == case.code, doc["error"]
    assert doc["error"]["message"].strip() and doc["error"]["fix"].strip()
    assert "fix:" in result.stderr
    assert not TRACEBACK.search(output(result)), output(result)
    if case.code == "NOT_APPROVED":
        assert doc["approval_url"] == authorize_url(emu.url, DEMO_CONSUMER_KEY, "http://localhost:1717/OauthRedirect")
        assert doc["approval_url"] in result.stderr  # printed for the person, too
    else:
        assert doc["approval_url"] is None
    # What reached the emulator: nothing for the dead port, else every attempt refused as intended.
    seen = emu.token_requests
    assert {r.outcome for r in seen} == case.seen
    assert len(seen) == (0 if case.dead_port else EMU_ATTEMPTS)
    assert emu.issued_tokens == () and not emu.switches.fail_next
    e2e.assert_fallbacks_blocked()


# --------------------------------------------------------------------------- waiting it out


def test_propagating_app_starts_working_within_the_wait(e2e: E2E) -> None:
    emu = e2e.emulator(propagation_seconds=8, eca=True)  # more than a CLI start and a first sf run on a busy machine
    # --new-app: an unknown app is waited for only when it is known to be new (issue 14, item 1).
    result = e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "60", "--interval", "1", "--new-app"))
    assert result.returncode == 0, output(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["attempts"] >= 2 and doc["approval_url"] is None
    assert "not installed yet" in result.stderr and "probably mistyped" in result.stderr
    outcomes = [r.outcome for r in emu.token_requests]
    assert outcomes[0] == "app_not_installed" and outcomes[-1] == "ok"
    assert outcomes.count("ok") == 1 and set(outcomes) <= {"app_not_installed", "ok"}
    # sf tries several (host, audience) pairs per run: when the app finishes propagating between two
    # of them, the pair that succeeds may carry the generic login host, which the org accepts too.
    assert_good_jwt(emu.token_requests[-1], emu, any_accepted_audience=True)
    e2e.assert_fallbacks_blocked()  # the failed first attempts fell back, and were stopped
    assert_connected(e2e)


def test_set_default_dev_hub_on_a_dev_hub_org(e2e: E2E) -> None:
    emu = e2e.emulator(is_dev_hub=True)
    result = e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--set-default-dev-hub"))
    assert result.returncode == 0, output(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["is_dev_hub"] is True and doc["attempts"] == 1
    assert "[Dev Hub]" in result.stderr
    (token,) = emu.token_requests
    assert token.outcome == "ok"
    assert_good_jwt(token, emu)
    # sf asked the org whether it is a Dev Hub (a ScratchOrgInfo query) with the session it got.
    queries = [r for r in emu.requests if r.path.endswith("/query") and "ScratchOrgInfo" in r.query.get("q", "")]
    assert queries and all(r.status == 200 and r.headers.get("authorization", "").endswith("<valid>") for r in queries)
    hub = e2e.sf_json("config", "get", "target-dev-hub")
    assert [(e["name"], e["value"]) for e in hub["result"]] == [("target-dev-hub", ALIAS)]


# --------------------------------------------------------------------------- a person at a terminal


def _spawn(e2e: E2E, argv: list[str]) -> pexpect.spawn:
    env = {**e2e.env, "TERM": "xterm-256color"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "sfjwt_orch", *argv],
        env=env,
        cwd=str(e2e.tmp),
        dimensions=(40, 200),
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
        preexec_fn=as_foreground_job,
    )


def test_person_at_terminal_approves_while_it_waits(e2e: E2E) -> None:
    callback = f"http://localhost:{free_port()}/OauthRedirect"
    emu = e2e.emulator(policy="self-authorize", callback_urls=(callback,))
    argv = login_argv(
        emu.url,
        e2e.keypair.key,
        "--callback-url",
        callback,
        "--no-browser",
        "--timeout",
        "60",
        "--interval",
        "5",
        json_out=False,
    )
    child = _spawn(e2e, argv)
    try:
        child.expect_exact(authorize_url(emu.url, DEMO_CONSUMER_KEY, callback))
        child.expect(["Waiting for the approval", "next try in"])
        assert emu.approvals == () and not child.terminated
        emu.approve(DEMO_CONSUMER_KEY, DEMO_USERNAME)
        child.expect("Logged in as")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    outcomes = [r.outcome for r in emu.token_requests]
    assert outcomes[0] == "not_approved" and outcomes[-1] == "ok" and outcomes.count("ok") == 1
    assert not any(r.path == AUTHORIZE_PATH for r in emu.requests)  # no browser was opened
    assert_good_jwt(emu.token_requests[-1], emu)
    assert_connected(e2e)


def test_a_mistyped_consumer_key_at_a_terminal_fails_at_once_naming_the_key_masked(e2e: E2E) -> None:
    # Issue 14, item 1: at a terminal (--timeout 600 by default) a typo used to wait ten minutes.
    emu = e2e.emulator()
    typo = DEMO_CONSUMER_KEY[:-1] + ("X" if DEMO_CONSUMER_KEY[-1] != "X" else "Y")
    child = _spawn(e2e, login_argv(emu.url, e2e.keypair.key, "--no-browser", client_id=typo, json_out=False))
    try:
        child.expect(pexpect.EOF, timeout=60)  # a guard against a wait, not a timing assertion
    finally:
        child.close(force=True)
    shown = child.before
    assert child.exitstatus == 3, shown
    assert f"{typo[:6]}…{typo[-4:]} ({len(typo)} characters)" in shown
    assert typo not in shown  # human output masks the key
    assert "probably mistyped" in shown and "--new-app" in shown
    assert "run the same command again with --client-id <consumer key>" in shown
    assert len(emu.token_requests) == EMU_ATTEMPTS  # one sf run: no waiting


def test_ctrl_c_while_waiting_exits_130_and_frees_the_callback_port(e2e: E2E) -> None:
    port = free_port()
    callback = f"http://localhost:{port}/OauthRedirect"
    emu = e2e.emulator(policy="self-authorize", callback_urls=(callback,))
    argv = login_argv(
        emu.url,
        e2e.keypair.key,
        "--callback-url",
        callback,
        "--no-browser",
        "--timeout",
        "120",
        "--interval",
        "30",
        json_out=False,
    )
    child = _spawn(e2e, argv)
    child.logfile_read = transcript = io.StringIO()
    try:
        child.expect("next try in")
        # The listener holds the callback port while it waits.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        child.sendintr()
        child.expect(pexpect.EOF, timeout=20)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, (child.exitstatus, child.signalstatus)
    # The last outcome and its fix, on a line of its own (not glued to the spinner's line).
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", transcript.getvalue()).replace("\r", "\n")
    assert re.search(r"(?m)^error: interrupted; the last attempt \(1\) said NOT_APPROVED", shown), shown
    assert re.search(r"(?m)^ *fix: open the URL above", shown), shown
    assert emu.token_requests and all(r.outcome != "ok" for r in emu.token_requests)
    # Released: binding it again works (as the listener of a next run binds it).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


# --------------------------------------------------------------------------- secrets


def test_no_token_or_key_material_in_anything_printed(e2e: E2E) -> None:
    emu = e2e.emulator()
    key = e2e.keypair.key
    # A user's shell may ask sf to show secrets; sfjwt-orch must keep them out of its output anyway.
    show = {"SF_TEMP_SHOW_SECRETS": "true"}
    printed: list[str] = []
    for argv in (
        login_argv(emu.url, key),
        login_argv(emu.url, key, json_out=False),
        ["doctor", "--alias", ALIAS],
        ["doctor", "--alias", ALIAS, "--json"],
        ["ci", "export", ALIAS],
    ):
        result = e2e.cli(*argv, SF_TEMP_SHOW_SECRETS="true")
        printed.append(output(result))
        if argv[0] == "login":
            assert result.returncode == 0, output(result)
    assert "Connected" in printed[2] and "Connected" in printed[3]  # doctor ran sf org display
    tokens = emu.issued_tokens
    assert len(tokens) == 2  # one per login
    assert [r.outcome for r in emu.token_requests] == ["ok", "ok"]
    for request in emu.token_requests:
        assert_good_jwt(request, emu)
    # The needle is real: sf itself, asked directly with secrets shown, prints the stored token.
    raw = subprocess.run(
        [e2e.sf, "org", "display", "--target-org", ALIAS, "--json"],
        env={**e2e.env, **show},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(raw.stdout)["result"]["connectedStatus"] == "Connected"
    assert any(token in raw.stdout for token in tokens), "sf did not show the token: the scan proves nothing"
    body = [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]
    assert len(body) > 20
    text = "\n".join(printed)
    for token in tokens:
        assert token not in text
        assert token.split("!", 1)[1] not in text  # nor its secret part alone
    for line in body:
        assert line not in text, "a line of the private key was printed"
