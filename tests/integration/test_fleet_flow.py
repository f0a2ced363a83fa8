"""The fleet flow (flows.fleet.run) with a strict fake runner and a fake clock: what happens to
approvals after the parallel pass, with and without a person to give them."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pytest

from sfjwt_orch import config
from sfjwt_orch.console import Console
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.flows import fleet, resolve
from sfjwt_orch.paths import Paths
from tests.fakes import FakeClock, FakeRunner, RecordingConsole

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


Setup = tuple[Context, FakeRunner, FakeClock, RecordingConsole, list[config.Profile]]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    key = tmp_path / "server.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    key.chmod(0o600)
    sf = tmp_path / "sf"
    sf.write_text("#!/bin/sh\nexit 99\n")  # never run: the fake runner answers
    sf.chmod(0o755)
    runner = FakeRunner(passthrough=lambda argv: Path(argv[0]).name == "openssl", ordered=False)
    clock, console = FakeClock(), RecordingConsole()
    paths = Paths(tmp_path / "cfg", tmp_path / "data", tmp_path / "logs")
    ctx = Context(runner, {"PATH": "/usr/bin:/bin", "SFJWT_ORCH_SF": str(sf)}, cast(Console, console), paths,
                  clock=clock, sleep=clock.sleep, listen=lambda url, state, about=None: None, new_state=lambda: "S1")  # fmt: skip
    profiles = []
    for alias in ("a", "b", "c"):
        profile = config.Profile(
            alias, "3MVG9CLIENTID1234567", f"{alias}@example.com", "https://acme.my.salesforce.com"
        )
        config.save(paths, dataclasses.replace(profile, key_file=str(key)))
        profiles.append(dataclasses.replace(profile, key_file=str(key)))
    return ctx, runner, clock, console, profiles


def _answers(runner: FakeRunner, alias: str, *stdouts: str) -> None:
    for stdout in stdouts:
        rc = 0 if stdout is SUCCESS else 1
        runner.expect(lambda argv, a=alias: argv[list(argv).index("--alias") + 1] == a, stdout, rc)


def test_with_a_person_the_approvals_are_opened_and_waited_for_one_at_a_time(setup: Setup) -> None:
    ctx, runner, clock, console, profiles = setup
    _answers(runner, "a", NOT_APPROVED, NOT_APPROVED, SUCCESS)  # the parallel pass, then the wait
    _answers(runner, "b", SUCCESS)
    _answers(runner, "c", NOT_APPROVED, NOT_APPROVED, SUCCESS)
    command = fleet.FleetCommand(tuple(profiles), 2, resolve.Wait(True, 60.0, 5.0), wait_for_approvals=True)
    view = RecordingView()
    doc = fleet.run(command, ctx, view)
    runner.assert_done()
    assert doc["ok"] is True and doc["summary"] == {"succeeded": 3, "failed": 0, "by_code": {}}
    assert sorted(view.done) == ["a", "b", "c"] and view.stopped
    assert len(runner.opened) == 2, "each approval URL opened once, when its turn came"
    assert clock.sleeps, "each approval was waited for"
    listed = next(i for i, line in enumerate(console.lines) if "need a person's approval" in line)
    waits = [i for i, line in enumerate(console.lines) if "waiting for the approval" in line]
    assert len(waits) == 2 and all(i > listed for i in waits), "listed together first, then one at a time"
    assert "a: waiting for the approval (1 of 2" in console.lines[waits[0]]
    assert "c: waiting for the approval (2 of 2" in console.lines[waits[1]]


def test_without_a_person_the_approvals_are_reported_not_waited_for(setup: Setup) -> None:
    ctx, runner, clock, console, profiles = setup
    _answers(runner, "a", NOT_APPROVED)
    _answers(runner, "b", SUCCESS)
    _answers(runner, "c", SUCCESS)
    command = fleet.FleetCommand(tuple(profiles), 3, resolve.Wait(False, 0.0, 5.0), wait_for_approvals=False)
    with pytest.raises(SfjwtError) as caught:
        fleet.run(command, ctx, RecordingView())
    runner.assert_done()
    assert caught.value.code is Code.NOT_APPROVED and caught.value.exit_code == 4
    assert caught.value.details["summary"] == {"succeeded": 2, "failed": 1, "by_code": {"NOT_APPROVED": 1}}
    assert runner.opened == [] and clock.sleeps == []
    assert any("after approving: sfjwt-orch login --aliases a" in line for line in console.lines)
