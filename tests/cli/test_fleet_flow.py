"""The fleet flow (flows.fleet.run) with a strict fake runner and a fake clock: what happens to
approvals after the parallel pass, with and without a person to give them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code
from sfjwt_orch.flows import fleet, login_request
from sfjwt_orch.store import profiles
from tests.cli.conftest import Flow, failed
from tests.fakes import FakeClock, FakeRunner, RecordingConsole
from tests.keypairs import KeyPair

DATA = Path(__file__).parents[1] / "data" / "sf-outputs"
NOT_APPROVED = (DATA / "notapproved.json.stdout").read_text()
SUCCESS = (DATA / "success.login.stdout").read_text()


class RecordingView:
    def __init__(self) -> None:
        self.done: list[str] = []
        self.stopped = False

    def start(self, rows: Sequence[fleet.Row], clock: Callable[[], float]) -> None:
        pass

    def refresh(self) -> None:
        pass

    def finished(self, row: fleet.Row) -> None:
        self.done.append(row.alias)

    def stop(self) -> None:
        self.stopped = True


Setup = tuple[Context, FakeRunner, FakeClock, RecordingConsole, list[profiles.Profile]]


@pytest.fixture
def setup(flow: Flow, session_keypair: KeyPair) -> Setup:
    key = session_keypair.key
    ctx, runner, clock, console, paths = flow.ctx, flow.runner, flow.clock, flow.console, flow.paths
    runner.ordered = False  # the aliases' logins run in parallel, in any order
    saved = []
    for alias in ("a", "b", "c"):
        profile = profiles.Profile(
            alias, "3MVG9CLIENTID1234567", f"{alias}@example.com", "https://acme.my.salesforce.com"
        )
        profiles.save(paths, dataclasses.replace(profile, key_file=str(key)))
        saved.append(dataclasses.replace(profile, key_file=str(key)))
    return ctx, runner, clock, console, saved


def _answers(runner: FakeRunner, alias: str, *stdouts: str) -> None:
    for stdout in stdouts:
        rc = 0 if stdout is SUCCESS else 1
        runner.expect(lambda argv, a=alias: argv[list(argv).index("--alias") + 1] == a, stdout, rc)


def test_with_a_person_the_approvals_are_opened_and_waited_for_one_at_a_time(setup: Setup) -> None:
    ctx, runner, clock, console, saved = setup
    _answers(runner, "a", NOT_APPROVED, NOT_APPROVED, SUCCESS)  # the parallel pass, then the wait
    _answers(runner, "b", SUCCESS)
    _answers(runner, "c", NOT_APPROVED, NOT_APPROVED, SUCCESS)
    command = fleet.FleetCommand(tuple(saved), 2, login_request.Wait(True, 60.0, 5.0), wait_for_approvals=True)
    view = RecordingView()
    report = fleet.run(command, ctx, view)
    doc = report.to_json()
    runner.assert_done()
    assert report.error is None and doc["ok"] is True and doc["summary"] == {"succeeded": 3, "failed": 0, "by_code": {}}
    assert sorted(view.done) == ["a", "b", "c"] and view.stopped
    assert len(runner.opened) == 2, "each approval URL opened once, when its turn came"
    assert clock.sleeps, "each approval was waited for"
    listed = next(i for i, line in enumerate(console.lines) if "need a person's approval" in line)
    waits = [i for i, line in enumerate(console.lines) if "waiting for the approval" in line]
    assert len(waits) == 2 and all(i > listed for i in waits), "listed together first, then one at a time"
    assert "a: waiting for the approval (1 of 2" in console.lines[waits[0]]
    assert "c: waiting for the approval (2 of 2" in console.lines[waits[1]]


def test_each_approval_is_shown_with_one_url(setup: Setup) -> None:
    # Issue 24 item 11: the parallel pass's URL (no state, no PKCE) was listed, then the wait printed
    # another one (with them) for the same approval. Now each approval is shown once, by its wait.
    ctx, runner, _, console, saved = setup
    _answers(runner, "a", NOT_APPROVED, NOT_APPROVED, SUCCESS)
    _answers(runner, "b", SUCCESS)
    _answers(runner, "c", NOT_APPROVED, NOT_APPROVED, SUCCESS)
    command = fleet.FleetCommand(tuple(saved), 2, login_request.Wait(True, 60.0, 5.0), wait_for_approvals=True)
    fleet.run(command, ctx, RecordingView())
    runner.assert_done()
    urls = [re.search(r"\S*/services/oauth2/authorize\?\S*", line) for line in console.lines]
    shown = [m.group(0) for m in urls if m]
    assert len(shown) == 2 and len(set(shown)) == 2, shown  # one for a, one for c
    assert all("state=" in url and "code_challenge=" in url for url in shown), shown
    assert sorted(runner.opened) == sorted(shown), "the URL opened is the one shown"


def test_without_a_person_the_approvals_are_reported_not_waited_for(setup: Setup) -> None:
    ctx, runner, clock, console, saved = setup
    _answers(runner, "a", NOT_APPROVED)
    _answers(runner, "b", SUCCESS)
    _answers(runner, "c", SUCCESS)
    command = fleet.FleetCommand(tuple(saved), 3, login_request.Wait(False, 0.0, 5.0), wait_for_approvals=False)
    report = fleet.run(command, ctx, RecordingView())
    runner.assert_done()
    assert failed(report).code is Code.NOT_APPROVED and failed(report).exit_code == 4
    assert report.to_json()["summary"] == {"succeeded": 2, "failed": 1, "by_code": {"NOT_APPROVED": 1}}
    assert runner.opened == [] and clock.sleeps == []
    assert any("after approving: sfjwt-orch login --aliases a" in line for line in console.lines)
