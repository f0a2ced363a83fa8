"""Logging a fleet of aliases in at once: `login --all` / `--aliases a,b,c` / `--parallel N`.

Each alias runs the single-alias login (flows.login.run) in its own thread, with its own Context:
its own console (a row of the table), its own sf process, its own lock and files, so one alias's
failure never stops or corrupts another's. The parallel pass never waits: an approval that needs a
person would hold a worker (and the one callback port) for minutes, so those are listed together
at the end and, for a person at a terminal with --timeout > 0, then opened and waited for one at a
time. Ctrl-C kills every running sf (their process groups) and reports which aliases were done.

The sf logins themselves go to one Node process running sf's own @salesforce/core
(tools/sf/fleet_node.py: a fleet pays one Node start, not one per alias); where it cannot be
used, each login runs `sf org login jwt`. The seam is each worker's sf adapter (`_one`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sfjwt_orch import crashlog
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, Exit, SfjwtError, exit_code_for, interrupted, usage
from sfjwt_orch.flows import login, login_request
from sfjwt_orch.flows.parallel import default_limit
from sfjwt_orch.store import profiles
from sfjwt_orch.store.paths import check_alias
from sfjwt_orch.store.profiles import Profile
from sfjwt_orch.tools.runner import CommandResult, Conversation, Runner, Running
from sfjwt_orch.tools.sf import Diagnosis, Sf
from sfjwt_orch.tools.sf.fleet_node import NodeLogins, NodeSf
from sfjwt_orch.ui.console import Console

if TYPE_CHECKING:
    from sfjwt_orch.tools.sf.discover import Found

if TYPE_CHECKING:
    from rich.console import Console as RichConsole

# The exit code of a fleet with failures: the most severe among them. An interruption first, then a
# bug, a broken tool (every other alias would hit it too), bad input, a refusal, a missing approval.
SEVERITY: tuple[int, ...] = (130, 1, 5, 2, 3, 4)
MAX_PARALLEL = 64


def most_severe(exit_codes: Iterable[int]) -> int:
    """0 when every exit code is 0, else the most severe of the others (SEVERITY's order)."""
    failed = [c for c in exit_codes if c != 0]
    if not failed:
        return 0
    return min(failed, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))


def summary(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """{succeeded, failed, by_code} of the login documents."""
    codes = Counter(str(d["error"]["code"]) for d in docs if not d.get("ok") and d.get("error"))
    succeeded = sum(1 for d in docs if d.get("ok"))
    return {"succeeded": succeeded, "failed": len(docs) - succeeded, "by_code": dict(sorted(codes.items()))}


def document(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The fleet's --json document (the error boundary adds the fleet's `error`)."""
    return {"ok": bool(docs) and all(d.get("ok") for d in docs), "results": list(docs), "summary": summary(docs)}


@dataclass(frozen=True)
class FleetReport:
    """The fleet's outcome: each alias's login document, and the fleet's error (the most severe
    failure's code, so its exit code; None: every alias logged in)."""

    docs: tuple[dict[str, Any], ...] = ()
    error: SfjwtError | None = None

    def to_json(self) -> dict[str, Any]:
        return document(self.docs)


def select(ctx: Context, every: bool, names: str | None) -> list[profiles.Profile]:
    """The profiles to log in: every complete saved one, or those named (each must exist)."""
    if every:
        saved, problems = profiles.load_all(ctx.paths)
        for problem in problems:
            ctx.console.warn(f"skipped: {problem.message}")
        complete = []
        for p in saved:
            missing = login_request.missing_flags(p)
            if missing:
                ctx.console.warn(f"skipped {p.alias!r}: its profile has no {' or '.join(missing)}")
            else:
                complete.append(p)
        if not complete:
            raise usage("no complete saved profile to log in", "set one up first: sfjwt-orch bootstrap --alias NAME")
        return complete

    wanted = list(dict.fromkeys(a.strip() for a in (names or "").split(",") if a.strip()))
    if not wanted:
        raise usage("--aliases names no alias", "pass a comma-separated list, e.g. --aliases prod,uat")
    for alias in wanted:
        check_alias(alias)
    found = {a: profiles.load(ctx.paths, a) for a in wanted}
    unknown = [a for a, p in found.items() if p is None]
    if unknown:
        raise usage(
            f"no saved profile for {', '.join(map(repr, unknown))}",
            "check the names with: sfjwt-orch profiles list (or set it up: sfjwt-orch bootstrap --alias NAME)",
        )
    return [p for p in found.values() if p is not None]


def check_parallel(parallel: int | None) -> int:
    if parallel is None:
        return default_limit()
    if not 1 <= parallel <= MAX_PARALLEL:
        raise usage(f"--parallel {parallel} is out of range", f"use 1 to {MAX_PARALLEL} (each runs one sf, ~180 MB)")
    return parallel


@dataclass
class Row:
    """One alias's progress and outcome, written by its worker, read by the view."""

    alias: str
    username: str
    state: str = "queued"  # queued, logging in, logged in, failed, needs approval, interrupted
    attempt: int = 0
    started: float | None = None
    ended: float | None = None
    doc: dict[str, Any] | None = None  # the login document, once it ended
    error: SfjwtError | None = None
    lines: list[str] = field(default_factory=list)  # what the login said (sf's deciding line...)
    sf_lines: tuple[str, ...] = ()  # sf's answers to the attempts, when sf's refusal ended the login

    @property
    def approval_url(self) -> str | None:
        return None if self.doc is None else self.doc.get("approval_url")

    @property
    def needs_approval(self) -> bool:
        return self.error is not None and self.error.code is Code.NOT_APPROVED and bool(self.approval_url)


@dataclass(frozen=True)
class FleetCommand:
    profiles: tuple[Profile, ...]
    parallel: int
    wait: login_request.Wait  # for the approvals waited for at the end, one at a time
    wait_for_approvals: bool  # a person at a terminal and --timeout > 0


class View(Protocol):
    """How the fleet shows progress: a live table at a terminal, one line per alias elsewhere."""

    def start(self, rows: Sequence[Row], clock: Callable[[], float]) -> None: ...
    def refresh(self) -> None: ...
    def finished(self, row: Row) -> None: ...
    def stop(self) -> None: ...


class _RowConsole:
    """The console of one alias's login: it feeds the alias's row instead of the terminal, so
    parallel logins never print over each other; --verbose traces go on, prefixed."""

    def __init__(self, row: Row, parent: Console, verbose: bool) -> None:
        self._row, self._parent, self._verbose = row, parent, verbose

    @property
    def err(self) -> RichConsole:
        return self._parent.err

    @property
    def live(self) -> bool:
        return False  # the fleet's view draws the rows; a row never animates on its own

    def _line(self, text: str) -> None:
        self._row.lines.append(text)

    info = step = success = warn = _line

    def error(self, message: str, fix: str) -> None:
        self._row.lines.append(message)
        if fix:
            self._row.lines.append(fix)

    def emit_json(self, doc: dict[str, Any], *, one_line: bool = False, keep_tokens: bool = False) -> None:
        self._parent.emit_json(doc, one_line=one_line, keep_tokens=keep_tokens)

    def out(self, text: str) -> None:
        self._parent.out(text)

    def url(self, label: str, url: str) -> None:
        pass  # the approval URL is in the row's document, listed with the others at the end

    def status(self, text: str, *, persistent: bool = False) -> None:
        pass

    def clear_status(self) -> None:
        pass

    def trace(self, text: str) -> None:
        if self._verbose:
            self._parent.trace(f"{self._row.alias}: {text}")


class _Stopped:
    """A run that stops the fleet's worker once it ends after Ctrl-C (its sf was killed)."""

    def __init__(self, running: Running, runner: FleetRunner) -> None:  # wraps a started run
        self._running, self._runner = running, runner

    def finish(self, timeout: float) -> CommandResult:
        try:
            result = self._running.finish(timeout)
        finally:
            self._runner.forget(self)
        if self._runner.cancelled:
            raise KeyboardInterrupt  # the login flow turns it into INTERRUPTED with what it learnt
        return result

    def cancel(self) -> None:
        self._running.cancel()

    def kill(self) -> None:
        self._running.kill()


class FleetRunner:
    """The fleet's runner: every program the workers start is tracked, so Ctrl-C (which only the
    main thread receives) can kill them all at once and refuse new ones."""

    def __init__(self, inner: Runner) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._running: set[_Stopped] = set()
        self._talks: list[Conversation] = []
        self.cancelled = False

    def run(
        self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> CommandResult:
        return self.start(argv, env=env, cwd=cwd).finish(timeout)

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None) -> Running:
        with self._lock:  # no program may start between the cancel and the kill
            if self.cancelled:
                raise KeyboardInterrupt
            tracked = _Stopped(self._inner.start(argv, env=env, cwd=cwd), self)
            self._running.add(tracked)
        return tracked

    def converse(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Conversation:
        with self._lock:
            if self.cancelled:
                raise KeyboardInterrupt
            talk = self._inner.converse(argv, env=env)
            self._talks.append(talk)
        return talk

    def forget(self, tracked: _Stopped) -> None:
        with self._lock:
            self._running.discard(tracked)

    def cancel_all(self) -> None:
        with self._lock:
            self.cancelled = True
            running = list(self._running)
            talks = list(self._talks)
        for tracked in running:
            tracked.kill()
        for talk in talks:  # the fleet's Node helper, with every login it was running
            talk.kill()

    def adopt(self, running: Running) -> None:
        self._inner.adopt(running)

    def open_url(self, url: str, env: Mapping[str, str], *, wait: float = 3.0) -> bool:
        return self._inner.open_url(url, env, wait=wait)

    def launch(self, argv: Sequence[str], env: Mapping[str, str], *, wait: float) -> bool:
        return self._inner.launch(argv, env, wait=wait)


def run(cmd: FleetCommand, ctx: Context, view: View) -> FleetReport:
    """Log every alias in; the report's error is the most severe failure's, or Ctrl-C's."""
    rows = [Row(p.alias, p.username) for p in cmd.profiles]
    runner = FleetRunner(ctx.runner)
    view.start(rows, ctx.clock)
    logins = None
    try:
        logins = _helper(ctx, runner, cmd.parallel)
        _parallel(rows, cmd, ctx, runner, view, logins)
    except KeyboardInterrupt:
        return _interrupted(rows)
    finally:
        view.stop()
        if logins is not None:
            logins.close()
    pending = [r for r in rows if r.needs_approval]
    if pending and not _approvals(pending, cmd, ctx):
        return _interrupted(rows)
    return _outcome(rows, ctx)


def _helper(ctx: Context, runner: FleetRunner, parallel: int) -> NodeLogins | None:
    """The Node helper that logs the fleet in from one process (tools/sf/fleet_node.py), or None
    (one sf per alias); --verbose says which and why."""

    def say(text: str) -> None:
        if ctx.verbose:
            ctx.console.trace(text)

    try:
        sf_exe = ctx.sf().find()
    except SfjwtError as exc:
        say(f"fleet: one `sf org login jwt` per alias: {exc.message}")
        return None
    started = NodeLogins.start(runner, ctx.env, sf_exe, parallel, say)
    if isinstance(started, str):
        say(f"fleet: one `sf org login jwt` per alias: {started}")
        return None
    return started


def _parallel(
    rows: list[Row], cmd: FleetCommand, ctx: Context, runner: FleetRunner, view: View, logins: NodeLogins | None
) -> None:
    pool = ThreadPoolExecutor(max_workers=max(1, min(cmd.parallel, len(rows))), thread_name_prefix="sfjwt-fleet")
    # sf's first run in a HOME creates its keychain and config files; several first runs at once
    # can read one another's half-written file ("Unexpected end of JSON input", seen here on a
    # fresh HOME under load). So in a HOME sf has never run in, one alias goes first, alone.
    first = 1 if len(rows) > 1 and _fresh_sf_home(ctx) else 0
    try:
        for batch in (rows[:first], rows[first:]):
            _drain({pool.submit(_one, row, ctx, runner, logins): row for row in batch}, view)
        # sf 2.150 rewrites ~/.sfdx/alias.json in place, so another sf of the fleet reading it at that
        # moment sees half a file ("Unterminated string in JSON", seen in a six-alias run here). Such a
        # failure is tried once more, alone, after the others: a file broken for real fails again.
        for row in [r for r in rows if r.error is not None and r.error.code is Code.SF_STATE_BROKEN]:
            _again(row)
            _drain({pool.submit(_one, row, ctx, runner, logins): row}, view)
    except KeyboardInterrupt:
        runner.cancel_all()  # kills every running sf; queued aliases never start
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _drain(futures: dict[Future[None], Row], view: View) -> None:
    waiting = set(futures)
    while waiting:
        # A short wait, not a blocking one: Ctrl-C lands here, and the elapsed column moves.
        done, waiting = wait(waiting, timeout=0.25, return_when=FIRST_COMPLETED)
        for future in done:
            future.result()  # _one catches everything; a failure here is a bug worth seeing
            view.finished(futures[future])
        view.refresh()


def _fresh_sf_home(ctx: Context) -> bool:
    home = ctx.env.get("HOME")
    return bool(home) and not (Path(str(home)) / ".sfdx").exists()


def _found(ctx: Context) -> Found | None:
    """The sf the fleet found once (_helper looked first), for every alias's adapter: looking again
    per alias ran a `node --version` each (a PATH sf's Node is checked), at sf's side; None when
    none was found (each alias then looks, and fails, on its own)."""
    try:
        return ctx.sf().found()
    except SfjwtError:
        return None


def _one(row: Row, ctx: Context, runner: FleetRunner, logins: NodeLogins | None) -> None:
    if runner.cancelled:
        return
    row.state, row.attempt, row.started = "logging in", 1, ctx.clock()
    actx = dataclasses.replace(ctx, console=_RowConsole(row, ctx.console, ctx.verbose), runner=runner, _sf=None)
    found = _found(ctx)
    if logins is not None:  # its logins go to the fleet's Node helper; anything else runs sf
        actx._sf = NodeSf(logins, runner, actx.env, ctx.paths.node_compile_cache(), found)
    elif found is not None:
        cache, managed = ctx.paths.node_compile_cache(), ctx.paths.managed_sf()
        actx._sf = Sf(runner, actx.env, cache, managed, actx.console.warn, found=found)
    # Never waits here: an approval is listed at the end; the browser is never opened from a worker.
    command = login_request.LoginRequest(profiles.Profile(row.alias), login_request.Wait(False, 0.0, 5.0))
    try:
        report = login.run(command, actx)  # Ctrl-C included: the fleet stopped it (INTERRUPTED)
    except Exception as exc:  # a bug in one alias's login must not take the others down
        _failed(row, _report(row, crashlog.unexpected(exc, ctx.paths.log_dir)), None)
        return
    if report.error is not None:
        _failed(row, report, ctx.clock())
        return
    row.doc = report.to_json()
    row.state, row.attempt, row.ended = "logged in", report.attempts, ctx.clock()


def _again(row: Row) -> None:
    row.state, row.error, row.doc, row.ended, row.sf_lines = "queued", None, None, None, ()
    row.lines.clear()


def _report(row: Row, error: SfjwtError) -> login.LoginReport:
    """The row's login report for a failure that happened outside its login (Ctrl-C, a bug)."""
    return login.LoginReport(alias=row.alias, username=row.username, error=error)


def _failed(row: Row, report: login.LoginReport, now: float | None) -> None:
    exc = report.error
    assert exc is not None
    # A login that failed before it read the profile knows no username yet: the row's is the profile's.
    report = dataclasses.replace(report, username=report.username or row.username)
    row.doc, row.error, row.ended = report.to_json(), exc, now
    row.sf_lines = tuple(report.sf_lines or ())
    row.attempt = report.attempts or row.attempt
    row.state = {Code.INTERRUPTED: "interrupted", Code.NOT_APPROVED: "needs approval"}.get(exc.code, "failed")


def _approvals(pending: list[Row], cmd: FleetCommand, ctx: Context) -> bool:
    """The approvals a person gives, one at a time; False when Ctrl-C stopped the fleet."""
    ui = ctx.console
    if cmd.wait_for_approvals:
        # One URL per approval (issue 24 item 11): each wait below prints its own, carrying the state its
        # listener checks; the parallel pass's URL (no state) would be a second one for the same approval.
        ui.warn(f"{len(pending)} login(s) need a person's approval; each URL is shown when its turn comes:")
        for row in pending:
            ui.info(f"  {row.alias} ({row.username})")
    else:
        ask = "open each URL, log in as that user and click Allow"
        ui.warn(f"{len(pending)} login(s) need a person's approval: {ask}.")
        for row in pending:
            ui.url(f"{row.alias} ({row.username}):", row.approval_url or "")
    if not cmd.wait_for_approvals:
        names = ",".join(r.alias for r in pending)
        ui.info(f"Not waited for (no terminal, or --timeout 0); after approving: sfjwt-orch login --aliases {names}")
        return True
    for number, row in enumerate(pending, 1):
        ui.step(f"{row.alias}: waiting for the approval ({number} of {len(pending)}; Ctrl-C stops)")
        command = login_request.LoginRequest(profiles.Profile(row.alias), cmd.wait)
        # The parallel pass was this login's first attempt: the wait goes on from its answer, as a
        # single login's does, so an approval costs no extra sf run (issue 22, rule 5).
        report = login.run(command, ctx, answered=_answer(row))
        exc = report.error
        if exc is not None:
            _failed(row, report, ctx.clock())
            if exc.code is Code.INTERRUPTED:
                return False
            ui.error(f"{row.alias}: {exc.message}", exc.fix)
            continue
        row.doc, row.error, row.sf_lines = report.to_json(), None, ()
        row.state, row.attempt = "logged in", report.attempts
        ui.success(f"{row.alias}: logged in to org {report.org_id}")
    return True


def _answer(row: Row) -> Diagnosis | None:
    """What the parallel pass's attempt said, as the login loop's first answer (None: nothing to go on)."""
    if row.error is None or row.error.code is not Code.NOT_APPROVED:
        return None
    return Diagnosis(row.error.code, row.error.message, row.error.fix, row.sf_lines)


def _docs(rows: list[Row]) -> tuple[dict[str, Any], ...]:
    return tuple(r.doc for r in rows if r.doc is not None)


def _interrupted(rows: list[Row]) -> FleetReport:
    for row in rows:
        if row.doc is None:
            _failed(row, _report(row, interrupted()), None)
    done = [r.alias for r in rows if r.doc and r.doc.get("ok")]
    rest = [r.alias for r in rows if not (r.doc and r.doc.get("ok"))]
    exc = SfjwtError(
        Code.INTERRUPTED,
        f"interrupted; logged in: {', '.join(done) or 'none'}; not done: {', '.join(rest)}",
        f"nothing was left half-written; run the rest: sfjwt-orch login --aliases {','.join(rest)}",
    )
    return FleetReport(_docs(rows), exc)


def _outcome(rows: list[Row], ctx: Context) -> FleetReport:
    docs = _docs(rows)
    doc = document(docs)
    counts = doc["summary"]
    ctx.console.info(
        f"Fleet: {counts['succeeded']} logged in, {counts['failed']} failed"
        + (f" ({', '.join(f'{c} {n}' for c, n in counts['by_code'].items())})" if counts["failed"] else "")
    )
    failures = [r for r in rows if r.error is not None]
    if not failures:
        return FleetReport(docs)
    worst_exit = most_severe(_exit(r) for r in failures)
    worst = next(r for r in failures if _exit(r) == worst_exit)
    assert worst.error is not None
    names = ",".join(r.alias for r in failures)
    exc = SfjwtError(
        worst.error.code,
        f"{len(failures)} of {len(rows)} logins failed; the most severe: {worst.alias}: {worst.error.message}",
        f"each alias's result gives its own fix; then run them again: sfjwt-orch login --aliases {names}",
    )
    return FleetReport(docs, exc)


def _exit(row: Row) -> int:
    return int(exit_code_for(row.error.code)) if row.error is not None else int(Exit.OK)
