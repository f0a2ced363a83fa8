"""The only module that starts processes.

Its imports are kept to what starting one needs: keygen starts openssl before the CLI is
imported (sfjwt_orch.headstart), and everything imported here delays that start (dataclasses
alone, with the inspect module it loads, costs ~7 ms).

argv is always a list (never a shell), stdout and stderr are kept apart, every run has a hard
timeout, and on timeout or Ctrl-C the child's whole process group is killed: `sf` is a Node
program that may leave helpers behind, and a half-finished login must not outlive us.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple


class CommandResult(NamedTuple):  # a NamedTuple, not a dataclass: see the module docstring
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
        from pathlib import Path

        path = Path(override).expanduser()
        if not path.is_file():
            raise ProgramNotFound(name, f"{override_var}={override} does not exist or is not a file")
        if not os.access(path, os.X_OK):
            raise ProgramNotFound(name, f"{override_var}={override} is not executable")
        return str(path)
    import shutil

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


class Running:
    """A program that has been started: `finish` waits for it, `cancel` stops it.

    Either way the process is reaped, and on a timeout or Ctrl-C while waiting its whole process
    group is killed first.
    """

    def __init__(self, proc: subprocess.Popen[str], argv: Sequence[str]) -> None:
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
        return self._result

    def cancel(self) -> None:
        """Stop it if it is still running, and reap it; a no-op once it has been."""
        if self._reaped:
            return
        if self._proc.poll() is None:
            _kill_group(self._proc)
        self._proc.communicate()  # drains and closes the pipes; what it read is dropped
        self._reaped = True


class Runner:
    """Runs programs. Flows receive one of these; tests pass a fake with the same methods."""

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> CommandResult:
        return self.start(argv, env=env, cwd=cwd).finish(timeout)

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None) -> Running:
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
        return Running(proc, argv)

    def open_url(self, url: str, env: Mapping[str, str], *, wait: float = 3.0) -> bool:
        """Open `url` in a browser without ever blocking the caller for long.

        `BROWSER` (a os.pathsep-separated list of commands, `%s` for the URL, as Python's
        webbrowser reads it) is run directly so that a command that hangs or fails is noticed;
        otherwise the standard library picks the platform's opener. Returns whether a launch
        was reported to have worked; the caller has printed the URL already either way.
        """
        browser = env.get("BROWSER", "")
        if browser:
            for command in browser.split(os.pathsep):
                if command.strip() and self._launch(command, url, env, wait):
                    return True
            return False
        return _stdlib_open(url, wait)

    def _launch(self, command: str, url: str, env: Mapping[str, str], wait: float) -> bool:
        try:
            import shlex

            parts = shlex.split(command)
        except ValueError:
            return False
        if not parts:
            return False
        argv = [p.replace("%s", url) for p in parts] if "%s" in command else [*parts, url]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(env),
                start_new_session=True,  # Ctrl-C in our terminal must not kill the user's browser
            )
        except OSError:
            return False
        try:
            # A browser that is still running after `wait` seconds has taken the URL; one that
            # exited non-zero by then has not.
            return proc.wait(timeout=wait) == 0
        except subprocess.TimeoutExpired:
            return True


def _stdlib_open(url: str, wait: float) -> bool:
    import webbrowser  # only here: it probes the platform's browsers at import

    result: list[bool] = []

    def target() -> None:
        try:
            result.append(webbrowser.open(url, new=2))
        except Exception:  # a broken browser registration must not break the login
            result.append(False)

    import threading

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(wait)
    return bool(result and result[0])
