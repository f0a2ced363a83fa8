"""How `login --all` shows a fleet's progress (flows.fleet.View).

At a terminal: a live table (alias, state, attempt, elapsed), redrawn in place. Elsewhere (a CI
log, a pipe): one line per alias as it finishes, in the order they finish, so a log stays readable
and never fills with redraws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sfjwt_orch.flows.fleet import Row
from sfjwt_orch.ui.console import Console

if TYPE_CHECKING:
    from rich.live import Live


def for_console(console: Console) -> LiveTable | Lines:
    return LiveTable(console) if console.live else Lines(console)


def _elapsed(row: Row, now: float) -> str:
    if row.started is None:
        return "-"
    return f"{(row.ended if row.ended is not None else now) - row.started:.1f} s"


def outcome(row: Row, now: float) -> str:
    """One alias's line: what happened, how many attempts, how long."""
    head = f"{row.alias}: "
    if row.doc is not None and row.doc.get("ok"):
        line = head + f"logged in to org {row.doc.get('org_id')} ({row.attempt} attempt(s), {_elapsed(row, now)})"
        was = row.doc.get("org_changed_from")
        return line + (f"; a different org than last time ({was}): refreshed" if was else "")
    if row.error is None:
        return head + row.state
    return head + f"{row.state}: {row.error.code.value}: {row.error.message} ({_elapsed(row, now)})"


class Lines:
    """Not a terminal: one line per finished alias; a failure gets its fix on the next line."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._clock: Callable[[], float] = lambda: 0.0

    def start(self, rows: Sequence[Row], clock: Callable[[], float]) -> None:
        self._clock = clock
        self.console.info(f"Logging in {len(rows)} aliases…")

    def refresh(self) -> None:
        pass

    def finished(self, row: Row) -> None:
        line = outcome(row, self._clock())
        if row.error is None:
            self.console.success(line)
            return
        self.console.warn(line)
        if row.error.code.value != "NOT_APPROVED":  # those are listed together at the end
            for said in row.lines:  # what decided it: sf's line, and how many other attempts
                self.console.info(f"  {said}")
            self.console.info(f"  fix: {row.error.fix}")

    def stop(self) -> None:
        pass


_STYLE = {"logged in": "green", "failed": "red", "needs approval": "yellow", "interrupted": "red"}


class LiveTable:
    """A terminal: the whole fleet in one table, redrawn in place (rich.live)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._rows: Sequence[Row] = ()
        self._clock: Callable[[], float] = lambda: 0.0
        self._live: Live | None = None

    def _table(self) -> Any:
        from rich.markup import escape
        from rich.table import Table

        now = self._clock()
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("alias", "state", "attempt", "elapsed", ""):
            table.add_column(column, overflow="fold")
        for row in self._rows:
            style = _STYLE.get(row.state, "")
            state = f"[{style}]{row.state}[/]" if style else row.state
            why = f"{row.error.code.value}: {row.error.message}" if row.error else ""
            table.add_row(escape(row.alias), state, str(row.attempt or "-"), _elapsed(row, now), escape(why))
        return table

    def start(self, rows: Sequence[Row], clock: Callable[[], float]) -> None:
        from rich.live import Live

        self._rows, self._clock = rows, clock
        self.console.clear_status()
        self._live = Live(self._table(), console=self.console.err, auto_refresh=False, transient=False)
        self._live.start()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._table(), refresh=True)

    def finished(self, row: Row) -> None:
        pass  # the table shows it at the next refresh

    def stop(self) -> None:
        if self._live is None:
            return
        self._live.update(self._table(), refresh=True)
        self._live.stop()
        self._live = None
        for row in self._rows:  # the table has each failure's message; its fix goes below it
            if row.error is not None and row.error.code.value not in ("NOT_APPROVED", "INTERRUPTED"):
                self.console.error(f"{row.alias}: {row.error.message}", row.error.fix)
            was = row.doc.get("org_changed_from") if row.doc else None
            if was:
                self.console.warn(f"{row.alias}: a different org than last time ({was}): the sandbox was refreshed")
