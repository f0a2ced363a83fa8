"""The CliRunner tier: each command run in-process through the real error boundary (cli.main),
with a Context whose runner is a strict fake: an unexpected argv fails, an unused stub fails.

Flows are driven the same way without the CLI (`flow`): a strict fake runner, a fake clock, a
console that keeps what a person would have read, and no callback listener unless a test adds one.
No process starts here but openssl (passed through for real keys)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sfjwt_orch import errors
from sfjwt_orch.cli import main
from sfjwt_orch.context import Context
from sfjwt_orch.store.paths import Paths
from sfjwt_orch.ui.console import StreamConsole
from tests.fakes import FakeClock, FakeRunner, RecordingConsole
from tests.keypairs import KeyPair, make_keypair

DATA = Path(__file__).parents[1] / "data" / "sf-outputs"


def sf_output(name: str) -> str:
    return (DATA / name).read_text()


def failed(result: errors.Result) -> errors.SfjwtError:
    """The error a flow's result ended with (flows return their failures, errors.Result)."""
    assert result.error is not None, "it worked"
    return result.error


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        parsed = json.loads(self.stdout)
        assert isinstance(parsed, dict)
        return parsed


@dataclass
class World:
    runner: FakeRunner
    ctx: Context
    paths: Paths
    keypair: KeyPair
    sf: str
    stderr: io.StringIO  # what a flow called directly (not through invoke) told people

    def expect_sf(
        self, *args: str, stdout: str = "", rc: int = 0, effect: Callable[[Sequence[str]], None] | None = None
    ) -> None:
        """The next sf run must start with `args` (after the sf executable)."""
        self.runner.expect(lambda argv: list(argv[1 : 1 + len(args)]) == list(args), stdout, rc, effect=effect)

    def invoke(self, *args: str) -> Result:
        console = self.ctx.console
        with CliRunner().isolation() as (out, err, _):
            self.ctx.console = StreamConsole(sys.stdout, sys.stderr)  # the streams CliRunner reads back
            try:
                code = main(list(args), context=self.ctx)
            finally:
                self.ctx.console = console
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        assert "Traceback" not in stderr, stderr
        assert not self.runner.errors, self.runner.errors  # a strict runner's complaint, not a crash
        return Result(code, stdout, stderr)

    def done(self) -> None:
        self.runner.assert_done()


@pytest.fixture(scope="session")
def session_keypair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def world(tmp_path: Path, session_keypair: KeyPair) -> Iterator[World]:
    sf = tmp_path / "bin" / "sf"
    sf.parent.mkdir()
    sf.write_text("#!/bin/sh\nexit 99\n")  # found on PATH, never run: the fake runner answers
    sf.chmod(0o755)
    openssl = subprocess.run(["sh", "-c", "command -v openssl"], capture_output=True, text=True).stdout.strip()
    runner = FakeRunner(passthrough=lambda argv: Path(argv[0]).name == "openssl")
    clock = FakeClock()
    stderr = io.StringIO()
    paths = Paths(tmp_path / "config", tmp_path / "data", tmp_path / "logs")
    env = {"PATH": f"{sf.parent}:{Path(openssl).parent}", "SFJWT_ORCH_SF": str(sf), "HOME": str(tmp_path)}
    ctx = Context(
        runner,
        env,
        StreamConsole(io.StringIO(), stderr),  # invoke gives it CliRunner's streams for a command
        paths,
        clock=clock,
        sleep=clock.sleep,
        listen=lambda url, state, about=None: None,
        new_state=lambda: "S1",
    )
    # Each test gets its own copy of the session's pair: a flow that rewrites its key files (rotate
    # promotes a new pair onto the profile's paths) must not change the pair the next test is given.
    own = tmp_path / "given-keys"
    own.mkdir(mode=0o700)
    keypair = KeyPair(own / session_keypair.key.name, own / session_keypair.cert.name)
    shutil.copy2(session_keypair.key, keypair.key)
    shutil.copy2(session_keypair.cert, keypair.cert)
    yield World(runner, ctx, paths, keypair, str(sf), stderr)


@dataclass
class Flow:
    runner: FakeRunner
    clock: FakeClock
    console: RecordingConsole
    ctx: Context
    paths: Paths
    sf: str


@pytest.fixture
def flow(tmp_path: Path) -> Flow:
    sf = tmp_path / "sf"
    sf.write_text("#!/bin/sh\nexit 99\n")  # never run: the fake runner answers instead
    sf.chmod(0o755)
    runner = FakeRunner(passthrough=lambda argv: Path(argv[0]).name == "openssl")
    clock = FakeClock()
    console = RecordingConsole()
    paths = Paths(tmp_path / "cfg", tmp_path / "data", tmp_path / "logs")
    env = {"PATH": "/usr/bin:/bin", "SFJWT_ORCH_SF": str(sf)}
    ctx = Context(
        runner,
        env,
        console,
        paths,
        clock=clock,
        sleep=clock.sleep,
        listen=lambda url, state, about=None: None,  # polling unless a test installs a listener
        new_state=lambda: "S1",
    )
    return Flow(runner, clock, console, ctx, paths, str(sf))
