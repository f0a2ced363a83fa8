"""The only module that starts processes.

argv is always a list (never a shell), stdout and stderr are kept apart, every run has a hard
timeout, and on timeout or Ctrl-C the child's whole process group is killed: `sf` is a Node
program that may leave helpers behind, and a half-finished login must not outlive us.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sfjwt_orch.ui.redact import redact


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int  # negative: killed by that signal (subprocess convention)
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False


class ProgramNotFound(Exception):
    """The program could not be started: missing, or not executable."""

    def __init__(self, program: str, reason: str) -> None:
        super().__init__(f"{program}: {reason}")
        self.program = program
        self.reason = reason


def find_program(name: str, override_var: str, env: Mapping[str, str]) -> str:
    """Resolve `name` on PATH, or from the path in `override_var` when that is set."""
    override = env.get(override_var)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ProgramNotFound(name, f"{override_var}={override} does not exist or is not a file")
        if not os.access(path, os.X_OK):
            raise ProgramNotFound(name, f"{override_var}={override} is not executable")
        return str(path)

    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise ProgramNotFound(name, "not found on PATH")
    return found


def _kill_group(proc: subprocess.Popen[str]) -> None:
    # The child leads its own session (start_new_session), so its pgid is its pid.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=2)
            # The leader is gone; helpers it started may not be. SIGKILL them all.
            if sig is signal.SIGTERM:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue


class Running(Protocol):
    """A program that has been started: `finish` waits for it, `cancel` stops it, `kill` kills it
    from another thread (a fleet's Ctrl-C) while `finish` waits."""

    def finish(self, timeout: float) -> CommandResult: ...
    def cancel(self) -> None: ...
    def kill(self) -> None: ...


class Runner(Protocol):
    """What flows and adapters need to run programs (ProcessRunner; tests pass a strict fake)."""

    def run(
        self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> CommandResult: ...
    def start(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> Running: ...
    def adopt(self, running: Running) -> None: ...
    def converse(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Conversation: ...
    def open_url(self, url: str, env: Mapping[str, str], *, wait: float = 3.0) -> bool: ...
    def launch(self, argv: Sequence[str], env: Mapping[str, str], *, wait: float) -> bool: ...


class Process:
    """A program started by ProcessRunner: `finish` waits for it, `cancel` stops it.

    Either way the process is reaped, and on a timeout or Ctrl-C while waiting its whole process
    group is killed first.
    """

    def __init__(
        self, proc: subprocess.Popen[str], argv: Sequence[str], trace: Callable[[str], None] | None = None
    ) -> None:
        self._trace = trace
        self._proc = proc
        self._argv = tuple(argv)
        self._started = time.monotonic()
        self._result: CommandResult | None = None
        self._reaped = False

    def finish(self, timeout: float) -> CommandResult:
        if self._result is not None:
            return self._result
        proc, timed_out = self._proc, False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            timed_out = True
        except BaseException:  # Ctrl-C or anything else: never leave the child running
            self.cancel()
            raise
        self._reaped = True
        self._result = CommandResult(self._argv, proc.returncode, out, err, time.monotonic() - self._started, timed_out)
        if self._trace is not None:
            why = " (timed out)" if timed_out else ""
            self._trace(f"exit {proc.returncode}{why} after {self._result.duration:.2f} s: {_shown(self._argv)}")
        return self._result

    def trace_with(self, trace: Callable[[str], None]) -> None:
        """Report this run from now on (Runner.adopt), starting with the line its start missed."""
        if self._trace is None:
            self._trace = trace
            trace(f"run: {_shown(self._argv)}")

    def kill(self) -> None:
        """From another thread (a fleet's Ctrl-C): kill the whole process group now; the thread
        waiting in `finish` then reaps it. Nothing to do once it has been reaped."""
        if not self._reaped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    def cancel(self) -> None:
        """Stop it if it is still running, and reap it; a no-op once it has been."""
        if self._reaped:
            return
        if self._proc.poll() is None:
            _kill_group(self._proc)
        self._proc.communicate()  # drains and closes the pipes; what it read is dropped
        self._reaped = True


class Conversation:
    """A program spoken to in lines while it runs: requests on its stdin, answers read from its
    stdout line by line (the fleet's Node helper). Its stderr is drained as it comes (a full pipe
    would stall it); the last lines are kept for an error message. Started in its own process
    group like every run, so `kill` (Ctrl-C) takes its children too."""

    def __init__(self, proc: subprocess.Popen[str], argv: Sequence[str], trace: Callable[[str], None] | None) -> None:
        self._proc, self._argv, self._trace = proc, tuple(argv), trace
        self._started = time.monotonic()
        self._send_lock = threading.Lock()
        self.killed = False
        self._tail: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._drain, name="sfjwt-stderr", daemon=True).start()

    def _drain(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._tail.append(line.rstrip("\n"))

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._tail)

    def send(self, line: str) -> bool:
        """Write one line (threads may share it); False when the program's stdin is gone."""
        assert self._proc.stdin is not None
        with self._send_lock:
            try:
                self._proc.stdin.write(line + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return False
        return True

    def lines(self) -> Iterator[str]:
        """Its stdout, line by line, until it closes (one reader only)."""
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            yield line.rstrip("\n")

    def close(self, timeout: float) -> int:
        """Close its stdin (the sign to end) and wait for it; its group is killed after `timeout`."""
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(self._proc)
            code = self._proc.wait()
        except BaseException:
            self.kill()
            raise
        if self._trace is not None:
            self._trace(f"exit {code} after {time.monotonic() - self._started:.2f} s: {_shown(self._argv)}")
        return code

    def kill(self) -> None:
        """From any thread: SIGKILL its whole group now; the reader then sees its stdout end."""
        self.killed = True
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)


class ProcessRunner:
    """Runs programs (the Runner flows receive).

    With `trace` (--verbose, SFJWT_ORCH_DEBUG=1) each run is reported: its argv with secrets
    redacted, its exit code and how long it took.
    """

    def __init__(self, trace: Callable[[str], None] | None = None) -> None:
        self._trace = trace

    def _trace_start(self, argv: Sequence[str]) -> None:
        if self._trace is not None:
            self._trace(f"run: {_shown(argv)}")

    def adopt(self, running: Running) -> None:
        """Trace a program started before this runner existed (keygen's early key) like its own;
        only a Process (started by a ProcessRunner) has a trace to join."""
        if self._trace is not None and isinstance(running, Process):
            running.trace_with(self._trace)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> CommandResult:
        return self.start(argv, env=env, cwd=cwd).finish(timeout)

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None) -> Process:
        """Start `argv` without waiting for it (stdin closed, stdout and stderr piped)."""
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,  # nothing we start may ever prompt
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise ProgramNotFound(argv[0], "not found") from exc
        except PermissionError as exc:
            raise ProgramNotFound(argv[0], "not executable") from exc
        except OSError as exc:  # e.g. ENOEXEC: a file that is not a program
            raise ProgramNotFound(argv[0], exc.strerror or str(exc)) from exc
        self._trace_start(argv)
        return Process(proc, argv, self._trace)

    def converse(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Conversation:
        """Start `argv` to be spoken to in lines (Conversation): stdin and stdout piped, text."""
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise ProgramNotFound(argv[0], "not found") from exc
        except PermissionError as exc:
            raise ProgramNotFound(argv[0], "not executable") from exc
        except OSError as exc:
            raise ProgramNotFound(argv[0], exc.strerror or str(exc)) from exc
        self._trace_start(argv)
        return Conversation(proc, argv, self._trace)

    def open_url(self, url: str, env: Mapping[str, str], *, wait: float = 3.0) -> bool:
        """Open `url` in a browser (tools/browser.py decides how); True when a launch worked."""
        from sfjwt_orch.tools.browser import open_url  # here, not at the top: tools.browser imports this module

        return open_url(url, env, self, wait=wait)

    def launch(self, argv: Sequence[str], env: Mapping[str, str], *, wait: float) -> bool:
        """Start a program that outlives us (a browser), detached from our terminal and never
        killed with us; True when it is still running after `wait` seconds or exited 0 by then."""
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(env),
                start_new_session=True,  # Ctrl-C in our terminal must not kill the user's browser
            )
        except OSError:
            return False
        self._trace_start(argv)
        try:
            return proc.wait(timeout=wait) == 0
        except subprocess.TimeoutExpired:
            return True


def _shown(argv: Sequence[str]) -> str:
    return redact(shlex.join(argv))
