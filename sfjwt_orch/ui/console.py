"""Output: people read stderr, programs read stdout (one JSON document with --json).

`Console` is the seam flows and commands write to; `StreamConsole` is given its two streams
(Context.from_environ hands it the process's, tests their own), and nothing here reads sys.stdout
or sys.stderr behind its back. rich is imported on first use, not at import time, so `--help` and
`--version` stay fast.
rich honours NO_COLOR and drops colour and animation when stderr is not a terminal.

Every line shown on stderr passes `_shown` here, the one place: secrets redacted, control characters
stripped (a hostile server's error_description must not drive the terminal) and, on a terminal,
rich markup escaped (a username `x[/]@acme.com` must not break the status line, `[link=…]` must not
plant a hyperlink). Only our own templates carry markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.ui.redact import clean, redact

if TYPE_CHECKING:
    from rich.console import Console as RichConsole
    from rich.status import Status


class OutputError(Exception):
    """stdout cannot be written (a full disk, a reader that has gone): the result is lost, and the
    error boundary says so on stderr instead of trying stdout again."""


_live: set[StreamConsole] = set()  # the consoles showing a status line now (stop_live)


def stop_live() -> None:
    """Stop every live status line, wherever Ctrl-C arrived, so the message that follows starts
    on a line of its own (issue 14: it was glued to the spinner's line)."""
    for console in list(_live):
        console.clear_status()


class Console(Protocol):
    """What people read (stderr: messages, a status line, tables through `err`) and what programs
    read (stdout: `out`, `emit_json`)."""

    @property
    def err(self) -> RichConsole: ...
    @property
    def live(self) -> bool: ...
    def info(self, text: str) -> None: ...
    def step(self, text: str) -> None: ...
    def success(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def error(self, message: str, fix: str) -> None: ...
    def trace(self, text: str) -> None: ...
    def url(self, label: str, url: str) -> None: ...
    def status(self, text: str, *, persistent: bool = False) -> None: ...
    def clear_status(self) -> None: ...
    def emit_json(self, doc: dict[str, Any], *, one_line: bool = False, keep_tokens: bool = False) -> None: ...
    def out(self, text: str) -> None: ...


class StreamConsole:
    """The Console on two streams: `stdout` for results, `stderr` for people."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self._stdout, self._stderr = stdout, stderr
        self._err: RichConsole | None = None
        self._status: Status | None = None
        self._plain: bool | None = None

    @property
    def err(self) -> RichConsole:
        if self._err is None:
            from rich.console import Console as RichConsole

            self._err = RichConsole(file=self._stderr, highlight=False, soft_wrap=True, emoji=False)
        return self._err

    @property
    def live(self) -> bool:
        return not self.plain and self.err.is_terminal and not self.err.is_dumb_terminal

    @property
    def plain(self) -> bool:
        """No terminal on stderr (a pipe, a CI log): plain lines, and rich is never imported."""
        if self._plain is None:
            try:
                self._plain = not self._stderr.isatty()
            except (AttributeError, ValueError):
                self._plain = True
        return self._plain

    def _print(self, markup: str, text: str) -> None:
        self.clear_status()
        if self.plain:
            self._stderr.write(_strip_markup(markup).format(_shown(text)) + "\n")
            self._stderr.flush()
            return
        self.err.print(markup.format(_escaped(_shown(text))))

    def info(self, text: str) -> None:
        self._print("{}", text)

    def step(self, text: str) -> None:
        self._print("[bold]→[/] {}", text)

    def success(self, text: str) -> None:
        self._print("[green]✓[/] {}", text)

    def warn(self, text: str) -> None:
        self._print("[yellow]![/] {}", text)

    def error(self, message: str, fix: str) -> None:
        self._print("[red]error:[/] {}", message)
        if fix:
            self._print("[cyan]  fix:[/] {}", fix)

    def trace(self, text: str) -> None:
        """--verbose: what ran, how it ended (secrets redacted by the caller and again here)."""
        self.clear_status()
        self._stderr.write(f"[debug] {_shown(text)}\n")
        self._stderr.flush()

    def url(self, label: str, url: str) -> None:
        # Printed whole and alone on its line so terminals make it clickable and people can copy it.
        self.clear_status()
        label, url = _shown(label), _shown(url)
        if self.plain:
            self._stderr.write(f"{label}\n\n    {url}\n\n")
            self._stderr.flush()
            return
        self.err.print(f"{label}\n", highlight=False, markup=False)
        self.err.print(f"    {url}\n", highlight=False, markup=False, overflow="ignore", crop=False)

    def status(self, text: str, *, persistent: bool = False) -> None:
        """A live status line on a terminal; elsewhere only `persistent` updates are printed."""
        if not self.live:
            if persistent:
                self._stderr.write(_shown(text) + "\n")
                self._stderr.flush()
            return
        text = _escaped(_shown(text))
        if self._status is None:
            self._status = self.err.status(text, spinner="dots")
            self._status.start()
            _live.add(self)
        else:
            self._status.update(text)

    def clear_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        _live.discard(self)

    def emit_json(self, doc: dict[str, Any], *, one_line: bool = False, keep_tokens: bool = False) -> None:
        """The result document; redacted, except the emulator's own start-up line (`keep_tokens`),
        whose admin token is a rehearsal credential a script needs to read."""
        text = json.dumps(doc, indent=None if one_line else 2, default=str)
        self.out((text if keep_tokens else redact(text)) + "\n")

    def out(self, text: str) -> None:
        """The result, on stdout, as given (the caller has chosen what may appear in it)."""
        self.clear_status()
        self._stdout.write(text)
        self._stdout.flush()


class GuardedStdout:
    """sys.stdout while a command runs (cli.main): a write or flush that fails raises OutputError,
    whoever writes (us, or click printing help), so the error boundary can tell a lost result from
    an unexpected error."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise OutputError(exc.strerror or str(exc)) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputError(exc.strerror or str(exc)) from None

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno, buffer...
        return getattr(self._stream, name)


def cell(text: str) -> str:
    """A value for a rich table cell (doctor, status): shown as `_print` shows text, markup escaped."""
    return _escaped(_shown(text))


def _shown(text: str) -> str:
    """What may reach a person's terminal of a text we did not all write."""
    return clean(redact(text))


def _escaped(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def masked_key(key: str) -> str:
    """A consumer key as people see it: enough to recognise it, or a typo in it, and its length
    (issue 14: a mistyped key is told apart from a new app's propagation by looking at it).
    Human output shows consumer keys only through this; --json and the profile keep them whole."""
    shown = f"{key[:6]}…{key[-4:]}" if len(key) >= 16 else f"{key[:2]}…"
    return f"{shown} ({len(key)} characters)"


def _strip_markup(markup: str) -> str:
    """'[red]error:[/] {}' -> 'error: {}' (our own templates only: no user text reaches here)."""
    return re.sub(r"\[/?[a-z ]*\]", "", markup)


class Prompter:
    """Asks a person, on the streams it is given (a terminal's stdin and stderr), re-asking with
    the reason until an answer passes its check."""

    def __init__(self, console: Console, stdin: TextIO, stderr: TextIO) -> None:
        self.console, self._stdin, self._stderr = console, stdin, stderr

    def ask(self, question: str, check: Callable[[str], str], default: str = "", shown: str = "") -> str:
        """`shown`: how the default is written (a consumer key is masked); the default itself otherwise."""
        suffix = f" [{shown or default}]" if default else ""
        while True:
            self.console.clear_status()
            self._stderr.write(f"? {_shown(question)}{_shown(suffix)}: ")
            self._stderr.flush()
            try:
                line = self._stdin.readline()
            except KeyboardInterrupt:
                self._stderr.write("\n")  # the message that follows gets a line of its own, not the prompt's
                raise
            if not line:  # end of input: the terminal was closed
                self._stderr.write("\n")
                raise SfjwtError(
                    Code.INTERRUPTED,
                    "input ended before an answer was given",
                    "run the command again; it continues where it stopped",
                )
            answer = line.strip() or default
            try:
                return check(answer)
            except SfjwtError as exc:
                self.console.warn(f"{exc.message}: {exc.fix}")
