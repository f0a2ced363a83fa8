"""Logging in: check the key -> sf org login jwt -> classify -> approve -> retry -> remember.

`log_in` is the approve-and-retry loop shared by login and bootstrap; `run` is the login
command's whole job (the profile merged with the flags, --key-env, the alias lock, what is saved).
"""

from __future__ import annotations

import dataclasses
import errno
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfjwt_orch.context import Context, Waiter
from sfjwt_orch.errors import Code, SfjwtError, error_json, interrupted
from sfjwt_orch.flows import key_env, login_request, org_change, refusal
from sfjwt_orch.flows.login_request import LoginRequest
from sfjwt_orch.keys import certs, material
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import profiles, state
from sfjwt_orch.store.locks import alias_lock
from sfjwt_orch.store.suggest import alias_hint
from sfjwt_orch.tools.sf import CATALOG_BY_CODE, Diagnosis, SfFailed
from sfjwt_orch.ui.console import masked_key

if TYPE_CHECKING:
    from sfjwt_orch.approval.listener import Callback

MAX_INTERVAL = 30.0
BACKOFF = 1.5


@dataclass
class LoginReport:
    alias: str
    username: str
    org_id: str = ""
    instance_url: str = ""
    login_url: str = ""
    is_dev_hub: bool = False
    attempts: int = 0
    approval_url: str | None = None
    org_changed_from: str | None = None  # the org the alias reached before, when this login reached another
    # The saved answers this login replaced or dropped, {field: {old, new}} (issue 24 item 5).
    changed: dict[str, dict[str, str | None]] = dataclasses.field(default_factory=dict)
    key_bits: int = 0  # found by the key check; for the state file, not the JSON document
    last: Diagnosis | None = None  # the last refusal, for what Ctrl-C reports; not in the JSON document
    error: SfjwtError | None = None  # how the login failed (None: it worked)
    sf_lines: list[str] | None = None  # sf's answers to the attempts, when sf's refusal ended the login

    def to_json(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The login document; `extra`: a command's own fields (sandbox add's, bootstrap's steps),
        after `error` and before `sf_lines`, in the order the documents have always had."""
        error = self.error
        return {
            "ok": error is None,
            "alias": self.alias,
            "username": self.username,
            "org_id": self.org_id or None,
            "instance_url": self.instance_url or None,
            "login_url": self.login_url or None,
            "is_dev_hub": self.is_dev_hub,
            "attempts": self.attempts,
            "approval_url": self.approval_url,
            "org_changed_from": self.org_changed_from,
            "changed": self.changed,
            "error": error_json(error),
            **(extra or {}),
            **({} if self.sf_lines is None else {"sf_lines": self.sf_lines}),
        }

    def beside(self) -> dict[str, Any]:
        """A failed login's fields as they stand beside the fields of a command that ran it (app
        create, rotate) in that command's failure document, whose `ok`, `alias` and `error` they are."""
        return {key: value for key, value in self.to_json().items() if key not in ("ok", "alias", "error")}


def run(
    given: LoginRequest, ctx: Context, key_text: str | None = None, *, answered: Diagnosis | None = None
) -> LoginReport:
    """The login command: `given` (the command line's answers) laid over the saved profile, then
    logged in and remembered. Returns the report, whose `error` says how it failed, at any stage
    (before the login loop, the report has only the alias and the username given). `key_text` is
    --key-env's value, taken out of the environment by the caller before anything ran. `answered`:
    see log_in."""
    alias = given.alias
    report = LoginReport(alias=alias, username=given.username)
    try:
        req = resolved(given, ctx)
        with alias_lock(ctx.paths, alias, on_wait=ctx.console.info):
            imported = key_env.key_of(req.key_env, key_text, req.key_file, alias, ctx)
            if imported is not None:
                req = req.with_key(imported.key.path)
            report = log_in(req, ctx, checked_bits=imported.key.bits if imported else None, answered=answered)
            if report.error is None and remember(req, report, ctx).rotation_phase == "promoted":
                # here, not at the top: rotate imports this module (the kept key, once --keep-days is over)
                from sfjwt_orch.flows.rotate import expire_previous

                expire_previous(alias, ctx)
    except SfjwtError as exc:
        report.error = exc
    except KeyboardInterrupt:  # outside the login loop (which says what its last attempt said)
        report.error = interrupted()
    if report.error is not None:
        refusal.name_alias(report.error, alias)
    return report


def resolved(given: LoginRequest, ctx: Context) -> LoginRequest:
    """The request with the saved profile under the answers given, complete and checked."""
    profile = profiles.load_or_new(ctx.paths, given.alias).merged(given.profile)
    missing = login_request.missing_flags(profile)
    if missing:
        saved = profiles.load(ctx.paths, given.alias) is not None
        raise _incomplete(given.alias, missing, saved=saved, hint=alias_hint(ctx.paths, given.alias))
    complete = dataclasses.replace(given, profile=profile)
    return login_request.checked(complete, login_request.default_key_file(profile, ctx.paths))


def _incomplete(alias: str, missing: list[str], *, saved: bool, hint: str = "") -> SfjwtError:
    flags = " and ".join(missing)
    if not saved:
        return SfjwtError(
            Code.PROFILE_NOT_FOUND,
            f"no saved profile for alias {alias!r}{hint}, and {flags} not given",
            f"set it up with: sfjwt-orch bootstrap --alias {alias} (it asks for what is missing), or pass {flags}",
        )
    return SfjwtError(
        Code.USAGE,
        f"the profile for {alias!r} has no {' or '.join(missing)}",
        f"pass {flags}, or let bootstrap ask for it: sfjwt-orch bootstrap --alias {alias}",
    )


def remember(
    req: LoginRequest, report: LoginReport, ctx: Context, *, as_found: profiles.Profile | None = None
) -> state.State:
    """After a login that worked: the answers that worked go to the profile (written only when one
    changed), the facts to the state file (a warning, never a failure, when it cannot be written),
    and a different org than last time behind the alias is said and recorded (org_change,
    `report.org_changed_from`). A saved answer replaced is said, old → new (`report.changed`;
    `as_found`: the profile as the command found it, when the command saved parts of it already, as
    bootstrap's key step does). Returns the alias's state as it now is."""
    found = profiles.load(ctx.paths, req.alias)
    saved = found or profiles.Profile(req.alias)
    # A hand-written "~/keys/server.key" that names this very key stays as the user wrote it.
    same_key = bool(saved.key_file) and Path(saved.key_file).expanduser() == req.key_file
    answers = saved.merged(dataclasses.replace(req.profile, key_file=saved.key_file if same_key else str(req.key_file)))
    answers = paired(saved, answers, req.key_file, ctx)
    report.changed = profiles.changes(as_found or found, answers)
    if report.changed:
        ctx.console.warn(f"The profile of {req.alias} changed: {profiles.describe(report.changed)}")
    try:
        profiles.save(ctx.paths, answers)
    except SfjwtError as exc:
        if exc.code is not Code.FILE_ERROR:
            raise
        # The login is real (sf holds it); a read-only config folder (a CI mount) must not fail it.
        ctx.console.warn(f"the login worked, but its answers were not saved: {exc.message}")
    before = state.load(ctx.paths, req.alias)
    report.org_changed_from = org_change.note(ctx, req.alias, before.org_id, report.org_id)
    before = state.load(ctx.paths, req.alias)  # with the org change, when there was one
    after = before.with_(
        org_id=report.org_id,
        instance_url=report.instance_url,
        last_login=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    after = state.with_unconfirmed(after, {})  # confirmed now: they are in the profile
    problem = state.save(ctx.paths, after) or state.remember_key(ctx.paths, req.key_file, report.key_bits)
    if problem:
        ctx.console.warn(f"could not record the login in sfjwt-orch's state file ({problem}); the login itself worked")
    return after


def paired(saved: profiles.Profile, answers: profiles.Profile, key_file: Path, ctx: Context) -> profiles.Profile:
    """Never a profile whose key and certificate are not a pair (issue 24 item 5). When a login with
    another key has just worked, the app holds that key's certificate, so a certificate the profile
    names for the old key is provably not the app's: it is replaced by the one beside the new key
    when that one pairs with it, else dropped from the profile (the file stays on disk). Keeping it
    made doctor report a mismatch whose fix, keygen --force, would replace the working pair."""
    old_key = login_request.default_key_file(saved, ctx.paths)
    if not saved.cert_file or old_key == key_file:
        return answers
    named = Path(saved.cert_file).expanduser()
    if _pairs(key_file, named):
        return answers
    beside = key_file.parent / material.CERT_NAME
    return dataclasses.replace(answers, cert_file=str(beside) if _pairs(key_file, beside) else "")


def _pairs(key_file: Path, cert_file: Path) -> bool:
    try:
        key = material.check_key_file(key_file, check_mode=False)
        certs.check_pair(key, certs.read_cert(cert_file), cert_file)
    except SfjwtError:
        return False
    return True


def log_in(
    req: LoginRequest, ctx: Context, *, checked_bits: int | None = None, answered: Diagnosis | None = None
) -> LoginReport:
    """Log in with sf, getting the approval and waiting out propagation until the deadline.
    `checked_bits`: the caller has just checked the key fully (its size), so it is not read again.
    `answered`: what a first attempt made just before said (login --all's parallel pass): the loop
    goes on from it as from its own first attempt, so it makes no more sf runs than a single login.
    When the app is new (`req.new_app`) an unknown consumer key is waited for; an app this tool
    created minutes ago (the state file says so) counts as new too.

    Returns the report: what the attempts learnt (the approval URL, their number), and `error`
    when the login failed (a refusal, the deadline, Ctrl-C).
    """
    report = LoginReport(alias=req.alias, username=req.username, key_bits=checked_bits or 0)
    if not req.new_app and state.app_is_new(state.load(ctx.paths, req.alias), datetime.now(UTC)):
        req = dataclasses.replace(req, new_app=True)
    try:
        _loop(req, ctx, report, answered)
    except KeyboardInterrupt:
        # sf and the listener are gone by now (runner, finally); keep what was learnt, e.g. the URL.
        ctx.console.clear_status()
        report.error = refusal.interrupted(req, report, ctx)
    except SfjwtError as exc:
        report.error = exc
    if report.error is not None:
        refusal.name_alias(report.error, req.alias)
    return report


def check_key(path: Path, ctx: Context) -> int:
    """Local problems first: they are certain, and cheaper than a 2-second sf start. A key file
    that logged in before, unchanged since, gets the quick check (no cryptography import).
    Returns the key's size in bits."""
    bits = state.known_key_bits(ctx.paths, path)
    if bits is not None:
        material.quick_check_key_file(path)
        return bits
    return material.check_key_file(path).bits


def _loop(req: LoginRequest, ctx: Context, report: LoginReport, answered: Diagnosis | None = None) -> None:
    ui = ctx.console
    report.key_bits = report.key_bits or check_key(req.key_file, ctx)
    sf = ctx.sf()
    sf.find()  # a missing sf is SF_NOT_FOUND before the first status line
    deadline = ctx.clock() + req.timeout
    interval = req.interval
    listener: Waiter | None = None
    approved_in_browser = False
    try:
        while True:
            report.attempts += 1
            if answered is not None:  # the first attempt was made already: its answer, not another sf run
                outcome, answered = answered, None
            else:
                ui.status(
                    f"Logging in to {req.instance_url} as {req.username} with consumer key "
                    f"{masked_key(req.client_id)} (attempt {report.attempts})…"
                )
                try:
                    done = sf.login_jwt(req)
                except SfFailed as refused:
                    outcome = refused.diagnosis
                else:
                    ui.clear_status()
                    report.org_id, report.instance_url = done.org_id, done.instance_url
                    report.login_url, report.is_dev_hub = done.login_url, done.is_dev_hub
                    report.username = done.username
                    return
            unknown_app = outcome.code in refusal.PROPAGATING
            first = report.last is None or report.last.code not in refusal.PROPAGATING
            if unknown_app and req.new_app and req.timeout > 0 and first:
                ui.warn(refusal.maybe_mistyped(req))  # once, after the first such answer
            report.last = outcome
            if outcome.code is Code.NOT_APPROVED:
                # An app that pre-authorizes, or an approval that has just arrived: waiting for one
                # cannot help, and the username is the likelier fault (issue 24 item 4).
                why = refusal.approval_not_missing(req, ctx, approved_in_browser=approved_in_browser)
                if why[0]:
                    report.sf_lines = list(outcome.lines)
                    raise _suspect(outcome, req, why, ctx)
            if outcome.code is Code.NOT_APPROVED and report.approval_url is None:
                listener = _ask_for_approval(req, ctx, report)
            remaining = deadline - ctx.clock()
            waits = (outcome.code in refusal.PROPAGATING and req.new_app) or outcome.code in req.also_wait_for
            retry = outcome.code is Code.NOT_APPROVED or (waits and req.timeout > 0)
            if not retry or remaining <= 0:
                report.sf_lines = list(outcome.lines)
                raise _final(outcome, req, report, ctx)
            hit = _wait(min(interval, remaining), deadline, outcome.code, report.attempts, ctx, listener)
            if hit is not None and not hit.approved:
                raise _denied(hit, req)
            if hit is not None:
                approved_in_browser = True
                ui.success("Approval received in the browser; logging in now.")
            else:
                interval = min(interval * BACKOFF, MAX_INTERVAL)
    finally:
        if listener is not None:
            listener.stop()


def _ask_for_approval(req: LoginRequest, ctx: Context, report: LoginReport) -> Waiter | None:
    # A state only when we will wait for the browser: it is what our listener checks.
    state_ = ctx.new_state() if req.timeout > 0 else None
    # PKCE with a verifier nobody keeps: Salesforce refuses (invalid_grant) a code whose token request
    # lacks the verifier, so a program that took the callback's port first gets a useless code.
    challenge = validate.pkce_challenge(validate.pkce_verifier()) if state_ else None
    url = validate.authorize_url(req.instance_url, req.client_id, req.callback_url, state_, challenge)
    report.approval_url = url
    # Always print before trying to open: the browser may be on another machine, or fail silently.
    ctx.console.url(
        f"{req.username} has not approved this app yet. Open this URL, log in as that user and click Allow:", url
    )
    listener = _start_listener(req, ctx, state_) if req.timeout > 0 else None
    # Only now, with the listener up: a browser that is already logged in redirects to the
    # callback within a second, and a redirect to a closed port would go unnoticed.
    if req.open_browser:
        if ctx.runner.open_url(url, ctx.env):
            ctx.console.info("Opened it in your browser.")
        else:
            ctx.console.warn("Could not open a browser: open the URL above yourself.")
    return listener


def _summarise(lines: tuple[str, ...]) -> str:
    counts = Counter(line or "(empty reply)" for line in lines)
    return "; ".join(f"{line} (x{n})" if n > 1 else line for line, n in counts.items())


def _final(outcome: Diagnosis, req: LoginRequest, report: LoginReport, ctx: Context) -> SfjwtError:
    ui = ctx.console
    ui.clear_status()
    # The line that decided the outcome; sf's other attempts (its fall-back hosts: "fetch failed",
    # a wrong audience) read like a network fault and are shown only when asked for.
    if outcome.decided or outcome.lines:
        ui.info(f"sf said: {outcome.decided or _summarise(outcome.lines)}")
    others = len(outcome.lines) - 1
    if others > 0 and ctx.verbose:
        ui.info(f"all of sf's attempts: {_summarise(outcome.lines)}")
    elif others > 0:
        # sf's messages do not name the host each attempt went to: promise what --verbose prints.
        ui.info(f"(and {others} other attempt(s) at sf's fall-back hosts: --verbose shows what each answered)")
    message, fix = refusal.explained(outcome, req, report, ctx)
    if outcome.code is Code.NOT_APPROVED and req.timeout > 0:
        message = f"still not approved after {req.timeout:.0f} s: {message}"
    return SfjwtError(outcome.code, message, fix)


def _suspect(outcome: Diagnosis, req: LoginRequest, why: tuple[str, str], ctx: Context) -> SfjwtError:
    ctx.console.clear_status()
    if outcome.decided:
        ctx.console.info(f"sf said: {outcome.decided}")
    return refusal.username_suspect(req, why, ctx)


def _denied(hit: Callback, req: LoginRequest) -> SfjwtError:
    if hit.error.upper() == "OAUTH_APP_ACCESS_DENIED":
        entry = CATALOG_BY_CODE[Code.NOT_ADMIN_APPROVED]
        return SfjwtError(Code.NOT_ADMIN_APPROVED, f"Salesforce refused the approval: {entry.message}", entry.fix)
    detail = f" ({hit.description})" if hit.description else ""
    return SfjwtError(
        Code.NOT_APPROVED,
        f"you denied access in the browser: {hit.error}{detail}",
        f"run it again and click Allow as {req.username}, or pre-authorize the user in the app's policies",
    )


def _start_listener(req: LoginRequest, ctx: Context, state_: str | None) -> Waiter | None:
    try:
        from sfjwt_orch.approval.pages import Approving

        listener = ctx.listen(req.callback_url, state_, Approving(req.alias, req.username))
    except OSError as exc:
        from sfjwt_orch.approval.listener import held_by_another_user

        if exc.errno == errno.EADDRINUSE and (whose := held_by_another_user(req.callback_url)):
            ctx.console.warn(whose)  # before the browser opens: its return goes to that program
        ctx.console.warn(
            f"Cannot listen on {req.callback_url} ({exc.strerror or exc}; is `sf org login web` running?): "
            f"checking every {req.interval:g} s instead."
        )
        return None
    if listener is not None:
        ctx.console.info(f"Listening on {req.callback_url} to notice your approval at once.")
    return listener


_WHY = {
    Code.NOT_APPROVED: "Waiting for the approval",
    Code.CLIENT_ID_INVALID: "The org does not know this app yet (new apps take 2-10 minutes to propagate)",
    Code.APP_NOT_INSTALLED: "The app is not installed yet (new apps take 2-10 minutes to propagate)",
    Code.INVALID_ASSERTION: "The app does not verify this key yet (its certificate is uploaded or propagating)",
}


def _wait(
    seconds: float, deadline: float, code: Code, attempts: int, ctx: Context, listener: Waiter | None
) -> Callback | None:
    """Wait for the next try; return early with the browser's callback when it arrives."""
    why = _WHY[code]
    wake = ctx.clock() + seconds
    ctx.console.status(
        f"{why}: attempt {attempts} said {code.value}; next try in {seconds:.0f} s, "
        f"{max(0.0, deadline - ctx.clock()):.0f} s left",
        persistent=True,
    )
    while (left := wake - ctx.clock()) > 0:
        ctx.console.status(
            f"{why} — next try in {left:.0f} s, {max(0.0, deadline - ctx.clock()):.0f} s left (Ctrl-C to stop)"
        )
        if listener is None:
            ctx.sleep(min(1.0, left))
        elif listener.wait(min(1.0, left)):
            return listener.consume()
    return None
