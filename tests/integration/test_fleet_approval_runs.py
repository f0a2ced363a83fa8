"""`login --all` waiting for an approval makes no more sf runs than a single login does (issue 22,
rule 5: no loop of ours makes more token requests per user in one run than a single login's
retries). Real runner, fake sf on PATH counting its runs and answering as an org would (not
approved until the person approves), a person at a terminal (a pty) who approves in the browser:
the test answers the callback listener as Salesforce's redirect would."""

from __future__ import annotations

import socket
import sys
import urllib.request

import pexpect

from tests.integration.conftest import Cli, LoginArgs, sf_output
from tests.signals import as_foreground_job

NOT_APPROVED = {"stdout": sf_output("notapproved.json.stdout"), "rc": 1}
SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}
# A long interval: no timed retry happens before the approval arrives, so the count is exact.
WAIT = ("--timeout", "600", "--interval", "300", "--no-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _approve_at_terminal(cli: Cli, callback: str, *argv: str) -> int:
    """Runs sfjwt-orch in a pseudo-terminal (the fleet waits for approvals only with a person
    there), approves when the approval URL is shown; its exit status. sf says not approved until
    then, and logs in after."""
    cli.scenario(*[NOT_APPROVED] * 5)
    env = {k: v for k, v in cli.env.items() if k not in ("CI", "DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sfjwt_orch", *argv],
        env={**env, "TERM": "dumb"},
        cwd=str(cli.tmp),
        dimensions=(40, 1000),
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
        preexec_fn=as_foreground_job,
    )
    child.expect(r"[?&]state=([A-Za-z0-9_-]+)")
    state = child.match.group(1)
    child.expect("Listening on")  # the listener is up once it says so; no sf runs meanwhile
    cli.scenario(SUCCESS)
    with urllib.request.urlopen(f"{callback}?code=approved&state={state}", timeout=30) as page:
        assert page.status == 200
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, child.before
    return child.exitstatus


def test_the_fleets_approval_wait_makes_no_more_sf_runs_than_a_single_login(cli: Cli, login_args: LoginArgs) -> None:
    callback = f"http://localhost:{_free_port()}/OauthRedirect"
    assert _approve_at_terminal(cli, callback, *login_args(*WAIT, "--callback-url", callback)) == 0
    single = len(cli.sf_calls())
    assert single == 2  # refused, then approved in the browser: logged in

    assert _approve_at_terminal(cli, callback, "login", "--all", *WAIT) == 0
    fleet = cli.sf_calls()[single:]
    assert len(fleet) == single, "the parallel pass's attempt is the wait's first one, not an extra sf run"
    assert all(call["argv"][:3] == ["org", "login", "jwt"] for call in fleet)
