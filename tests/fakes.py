"""Strict in-process fakes for flows: an unexpected call fails, an unused stub fails.

Each implements its seam's Protocol (tools.runner.Runner and Running, console.Console, the
callback listener's Waiter) without subclassing the real class; mypy checks that they fit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sfjwt_orch.tools.runner import CommandResult, Conversation, ProcessRunner, Running

if TYPE_CHECKING:
    from rich.console import Console as RichConsole

    from sfjwt_orch.approval.listener import Callback


@dataclass
class Stub:
    match: Callable[[Sequence[str]], bool]
    result: CommandResult
    effect: Callable[[Sequence[str]], None] | None = None  # what the program leaves behind (files it writes)


@dataclass
class _Answered:
    """What FakeRunner.start gives for a stubbed program: already finished with the stub's result."""

    result: CommandResult

    def finish(self, timeout: float) -> CommandResult:
        return self.result

    def cancel(self) -> None:
        pass

    def kill(self) -> None:
        pass


@dataclass
class FakeRunner:
    """Answers runs from a queue of stubs, in order; records every call."""

    stubs: list[Stub] = field(default_factory=list)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    adopted: list[Running] = field(default_factory=list)  # runs begun before the flow (keygen's early key)
    open_ok: bool = True
    passthrough: Callable[[Sequence[str]], bool] = lambda argv: False
    # What went wrong, kept apart from the AssertionError: inside the CLI the error boundary turns
    # that into "unexpected error", so the CliRunner tier checks this list as well.
    errors: list[str] = field(default_factory=list)
    # Runs from parallel jobs arrive in any order: then each takes the first stub that matches it.
    ordered: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # parallel jobs pick stubs

    def expect(
        self,
        match: Callable[[Sequence[str]], bool],
        stdout: str = "",
        rc: int = 0,
        stderr: str = "",
        effect: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.stubs.append(Stub(match, CommandResult(("stub",), rc, stdout, stderr, 0.01), effect))

    def run(
        self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> CommandResult:
        if self.passthrough(argv):
            return ProcessRunner().run(argv, timeout=timeout, env=env, cwd=cwd)
        with self._lock:
            return self._answer(argv, env)

    def _answer(self, argv: Sequence[str], env: Mapping[str, str] | None) -> CommandResult:
        self.calls.append(tuple(argv))
        self.envs.append(dict(env or {}))
        if not self.stubs:
            self.errors.append(f"unexpected run: {list(argv)}")
            raise AssertionError(self.errors[-1])
        index = 0 if self.ordered else next((i for i, st in enumerate(self.stubs) if st.match(argv)), 0)
        stub = self.stubs.pop(index)
        if not stub.match(argv):
            self.errors.append(f"run {list(argv)} does not match the next stub")
            raise AssertionError(self.errors[-1])
        if stub.effect is not None:
            stub.effect(argv)
        return stub.result

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None) -> Running:
        if self.passthrough(argv):
            return ProcessRunner().start(argv, env=env, cwd=cwd)
        return _Answered(self.run(argv, timeout=0, env=env, cwd=cwd))

    def adopt(self, running: Running) -> None:
        self.adopted.append(running)

    def converse(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Conversation:
        # Strict, as for runs: a test that means a conversation (the fleet's Node helper) fakes it itself.
        raise AssertionError(f"unexpected conversation with {list(argv)}")

    def open_url(self, url: str, env: Mapping[str, str], *, wait: float = 3.0) -> bool:
        self.opened.append(url)
        return self.open_ok

    def launch(self, argv: Sequence[str], env: Mapping[str, str], *, wait: float) -> bool:
        self.errors.append(f"unexpected launch: {list(argv)}")  # flows open URLs through open_url
        raise AssertionError(self.errors[-1])

    def assert_done(self) -> None:
        assert not self.errors, self.errors
        assert not self.stubs, f"{len(self.stubs)} stub(s) never used"


class FakeClock:
    """Monotonic time that only moves when the flow sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingConsole:
    """A Console that keeps what people would have read."""

    live = False

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.statuses: list[str] = []
        self.traces: list[str] = []

    @property
    def err(self) -> RichConsole:
        raise AssertionError("flows never draw tables (commands do, on the real console)")

    def _add(self, text: str) -> None:
        self.lines.append(text)

    info = step = success = warn = _add

    def error(self, message: str, fix: str) -> None:
        self.lines.append(f"error: {message} fix: {fix}")

    def url(self, label: str, url: str) -> None:
        self.lines.append(f"{label} {url}")

    def status(self, text: str, *, persistent: bool = False) -> None:
        self.statuses.append(text)
        if persistent:
            self.lines.append(text)

    def trace(self, text: str) -> None:
        self.traces.append(text)

    def clear_status(self) -> None:
        pass

    def emit_json(self, doc: dict[str, Any], *, one_line: bool = False, keep_tokens: bool = False) -> None:
        raise AssertionError("flows never print JSON")

    def out(self, text: str) -> None:
        raise AssertionError("flows never print results")


class FakeListener:
    """A callback listener on the fake clock: `hits` maps a wait number to the callback it receives."""

    def __init__(self, clock: FakeClock, hits: dict[int, Callback] | None = None) -> None:
        self.clock = clock
        self.hits = dict(hits or {})
        self.waits = 0
        self.stopped = False
        self.port = 1717
        self._pending: Callback | None = None

    def wait(self, seconds: float) -> bool:
        self.waits += 1
        if self.waits in self.hits:
            self._pending = self.hits.pop(self.waits)
            return True
        self.clock.sleep(seconds)
        return False

    def consume(self) -> Callback | None:
        hit, self._pending = self._pending, None
        return hit

    def stop(self) -> None:
        self.stopped = True


if TYPE_CHECKING:  # mypy checks that each fake fits its seam (pyproject: mypy's files)
    from sfjwt_orch.context import Waiter
    from sfjwt_orch.tools.runner import Runner
    from sfjwt_orch.ui.console import Console

    def _fits(runner: FakeRunner, answered: _Answered, console: RecordingConsole, listener: FakeListener) -> None:
        _runner: Runner = runner
        _running: Running = answered
        _console: Console = console
        _waiter: Waiter = listener
