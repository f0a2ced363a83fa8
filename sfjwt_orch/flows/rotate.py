"""rotate: a new key and certificate for an alias, without a broken login at any point we control.

new pair beside the current one (keys/<alias>/next/) -> the app gets the new certificate (deployed
with an admin org, or uploaded by a person in Setup while we wait) -> a login with the new key
proves it -> promotion: the current pair is kept in keys/<alias>/previous/ (0600) and the new one
replaces it at the profile's paths, so the profile never changes -> sf logs in again from the
durable path -> next/ goes. --rollback runs the same road back: the app gets the old certificate
(deployed, or uploaded by a person), a login with the old key where it lies proves it, and only
then is the old pair copied onto the profile's paths and the other one removed.

The rule both directions keep: no key file the app may still hold a certificate for is deleted or
overwritten until a login has proven which pair the app accepts. Each step is recorded in the
state file (`rotation_phase`, the step to resume from) before the next begins, so a run stopped at
any point (Ctrl-C, a timeout, a power cut, SIGKILL) is continued by running the same command again.
An app holds one certificate: from the deploy until CI has the new secret, the old key no longer
works (said before deploying; `window_s` measures it here).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, error_json
from sfjwt_orch.flows import app_deploy, login, login_request
from sfjwt_orch.keys import certs, material, pair
from sfjwt_orch.salesforce import metadata
from sfjwt_orch.store import files, profiles, state
from sfjwt_orch.store.locks import alias_lock
from sfjwt_orch.store.suggest import alias_hint
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS

# The phases, each the step a rerun resumes from. Forward: made -> deployed -> promoting -> promoted
# ("" again after --finish). Back: rollback-current (the profile's own pair is the old one: the
# rotation was not promoted; the new pair is in next/) or rollback-previous (the old pair is in
# previous/) -> rollback-done (the old pair is at the profile's paths and logs in) -> "".
FORWARD = ("made", "deployed", "promoting")
ROLLBACK_CURRENT, ROLLBACK_PREVIOUS, ROLLBACK_DONE = "rollback-current", "rollback-previous", "rollback-done"
ROLLING_BACK = (ROLLBACK_CURRENT, ROLLBACK_PREVIOUS, ROLLBACK_DONE)

# A test-only fault hook, read here and nowhere else: when it names a step, the process kills itself
# with SIGKILL right after that step is recorded (tests/e2e/test_rotate_faults_e2e.py). Safe to ship:
# nothing sets it but that test, and what it does is what a power cut or the OOM killer may do at
# the same point anyway, which the recorded phases are there to survive.
FAULT_ENV = "SFJWT_ORCH_TEST_KILL_AFTER"

SETUP_UPLOAD = (
    "External Client App Manager > the app > Edit Settings > Enable JWT Bearer Flow > Upload Files, "
    "or the Connected App's 'Use digital signatures'"
)


@dataclass(frozen=True)
class RotateRequest:
    alias: str
    target_org: str | None = None
    name: str | None = None  # the app's API name when this tool did not create it
    bits: int = DEFAULT_BITS
    days: int = DEFAULT_DAYS
    keep_days: int = 7
    wait: login_request.Wait = dataclasses.field(default_factory=lambda: login_request.Wait(timeout=600.0))
    action: str = "rotate"  # or "finish", "rollback"


@dataclass
class RotateReport:
    alias: str
    old_fingerprint: str | None = None
    new_fingerprint: str | None = None
    not_after: str | None = None
    app_updated: bool = False
    previous_key_kept_until: str | None = None
    window_s: float | None = None
    error: SfjwtError | None = None  # how the step that failed ended (None: it worked)
    failed_login: login.LoginReport | None = None  # the login that failed, when one did (its fields join the document)

    def to_json(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_FIELDS}
        failed = self.failed_login.beside() if self.failed_login else {}
        return {"ok": self.error is None, **fields, **failed, "error": error_json(self.error)}


_NOT_FIELDS = ("error", "failed_login")


@dataclass(frozen=True)
class _Pair:
    key: Path
    cert: Path


def run(req: RotateRequest, ctx: Context) -> RotateReport:
    """The report of the steps done; its `error` says where the rotation stopped (rerun to resume)."""
    report = RotateReport(req.alias)
    try:
        with alias_lock(ctx.paths, req.alias, on_wait=ctx.console.info):
            {"rotate": _rotate, "finish": _finish, "rollback": _rollback}[req.action](req, ctx, report)
    except SfjwtError as exc:
        report.error = exc
    return report


def _logged_in(req: login_request.LoginRequest, ctx: Context, report: RotateReport) -> login.LoginReport:
    """A login the rotation cannot go on without: its failure is the rotation's."""
    done = login.log_in(req, ctx)
    if done.error is not None:
        report.failed_login = done
        raise done.error
    return done


def _reached(step: str, env: Mapping[str, str]) -> None:
    """The fault hook (FAULT_ENV): stop dead after `step`, as a power cut would."""
    if env.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _kind(known: state.State) -> metadata.Kind:
    """The app's kind as app create recorded it (an app made elsewhere is taken for an External Client App)."""
    return "connected-app" if known.app_kind == "connected-app" else "eca"


def _profile(req: RotateRequest, ctx: Context) -> profiles.Profile:
    profile = profiles.load(ctx.paths, req.alias)
    missing = login_request.missing_flags(profile) if profile else ["a profile"]
    if profile is None or missing or not profile.key_file:
        raise SfjwtError(
            Code.PROFILE_NOT_FOUND,
            f"no working profile for alias {req.alias!r} to rotate{alias_hint(ctx.paths, req.alias)}",
            f"set it up first: sfjwt-orch bootstrap --alias {req.alias}",
        )
    return profile


def _current(profile: profiles.Profile) -> _Pair:
    key = Path(profile.key_file).expanduser()
    return _Pair(key, profile.cert_path(key))


def _folder(ctx: Context, alias: str, which: str) -> _Pair:
    d = ctx.paths.key_dir(alias) / which
    return _Pair(d / material.KEY_NAME, d / material.CERT_NAME)


def _save(ctx: Context, alias: str, **changes: str) -> None:
    problem = state.save(ctx.paths, state.load(ctx.paths, alias).with_(**changes))
    if problem:  # the rotation's progress must be resumable: not recording it is not an option
        raise SfjwtError(Code.FILE_ERROR, f"cannot record the rotation's progress: {problem}", "free the disk, rerun")


def _step(ctx: Context, alias: str, phase: str) -> None:
    _save(ctx, alias, rotation_phase=phase)
    _reached(phase, ctx.env)


def _rollback_under_way(alias: str) -> SfjwtError:
    return SfjwtError(
        Code.USAGE,
        f"a rollback of {alias!r} is under way",
        f"finish it first: sfjwt-orch rotate --alias {alias} --rollback",
    )


def _rotate(req: RotateRequest, ctx: Context, report: RotateReport) -> None:
    profile = _profile(req, ctx)
    current, nxt = _current(profile), _folder(ctx, req.alias, "next")
    known = state.load(ctx.paths, req.alias)
    if known.rotation_phase in ROLLING_BACK:
        raise _rollback_under_way(req.alias)
    if known.rotation_phase == "promoted":
        raise SfjwtError(
            Code.USAGE,
            f"a rotation of {req.alias!r} is done and its previous key is still kept",
            f"end it with sfjwt-orch rotate --alias {req.alias} --finish (or --rollback), then rotate again",
        )
    if known.rotation_phase == "promoting" and not nxt.key.exists():
        # Stopped after the new pair was copied into place, proven and next/ removed: only the record is left.
        _finalize(req, profile, current, ctx, report)
        return
    if known.rotation_phase not in FORWARD or not nxt.key.exists():
        # Safe to overwrite: a next/ pair without a record was never sent to the app.
        request = pair.KeygenRequest(nxt.key.parent, req.bits, req.days, f"/CN={req.alias}", force=True)
        pair.keygen(request, ctx.openssl())
        _save(ctx, req.alias, rotation_deployed_at="")
        _step(ctx, req.alias, "made")
        known = state.load(ctx.paths, req.alias)
    new_info = certs.read_cert(nxt.cert)
    report.old_fingerprint = certs.read_cert(current.cert).fingerprint_sha256 if current.cert.exists() else None
    report.new_fingerprint, report.not_after = new_info.fingerprint_sha256, new_info.not_after.isoformat()
    admin = req.target_org or known.admin_org or None
    name = req.name or known.app_name
    started = time.monotonic()
    if admin:
        report.app_updated = _deploy_new(req, ctx, admin, name, known, nxt)
    else:
        _ask_upload("the new certificate", nxt.cert, new_info.fingerprint_sha256, ctx)
    try:
        _prove(req, profile, nxt.key, ctx, report)
    except SfjwtError as exc:
        _after_failed_proof(exc, req, ctx, report, admin, name, known, current)
        raise
    _reached("proven", ctx.env)
    _promote(req, current, nxt, ctx)
    _finalize(req, profile, current, ctx, report)
    report.window_s = round(time.monotonic() - started, 1)


def _after_failed_proof(
    exc: SfjwtError,
    req: RotateRequest,
    ctx: Context,
    report: RotateReport,
    admin: str | None,
    name: str,
    known: state.State,
    current: _Pair,
) -> None:
    """The new key did not log in: both pairs and the record stay, so a rerun continues."""
    again = f"sfjwt-orch rotate --alias {req.alias}"
    if exc.code is Code.INTERRUPTED:  # leave it resumable: a rerun proves again, --rollback undoes it
        exc.fix = f"run {again} again to continue, or add --rollback to undo it"
        return
    if report.app_updated and admin:
        ctx.console.warn("The new key did not log in: putting the old certificate back on the app.")
        _step(ctx, req.alias, "made")  # first: a run stopped during the deploy below deploys the new one again
        app_deploy.replace_certificate(name, _kind(known), current.cert.read_text(), admin, ctx)
        report.app_updated = False
        exc.fix = f"{exc.fix}; the new pair is kept: {again} tries it again".lstrip("; ")
        return
    exc.fix = (
        f"{exc.fix}; both pairs are kept: once the app holds the new certificate, {again} continues "
        f"(or add --rollback to go back)"
    ).lstrip("; ")


def _ask_upload(what: str, cert: Path, fingerprint: str, ctx: Context) -> None:
    ctx.console.url(f"Upload {what} to the app in Setup ({SETUP_UPLOAD}):", str(cert))
    ctx.console.info(f"Its SHA-256 fingerprint: {fingerprint}. Waiting for the app to take it…")


def _deploy_new(req: RotateRequest, ctx: Context, admin: str, name: str, known: state.State, nxt: _Pair) -> bool:
    if not name:
        raise SfjwtError(
            Code.USAGE,
            f"which app holds {req.alias!r}'s certificate? sfjwt-orch did not create it",
            "pass --name (the app's API name, as in Setup), or rotate without --target-org and upload it in Setup",
        )
    if known.rotation_phase in ("deployed", "promoting"):
        return True
    ctx.console.warn(
        f"Deploying the new certificate to {name}: from now until your pipeline has the new key, the old key no "
        "longer logs in (an app holds one certificate)."
    )
    app_deploy.replace_certificate(name, _kind(known), nxt.cert.read_text(), admin, ctx)
    _save(ctx, req.alias, rotation_deployed_at=datetime.now(UTC).isoformat())
    _step(ctx, req.alias, "deployed")
    return True


def _prove(req: RotateRequest, profile: profiles.Profile, key: Path, ctx: Context, report: RotateReport) -> None:
    """A login with `key` where it lies, waiting while the app has not taken its certificate yet."""
    proof = dataclasses.replace(
        login_request.login_request(profile, key, req.wait),
        also_wait_for=frozenset({Code.INVALID_ASSERTION}),
    )
    _logged_in(proof, ctx, report)


def _promote(req: RotateRequest, current: _Pair, nxt: _Pair, ctx: Context) -> None:
    """The current pair to previous/ (kept for --rollback), the new one onto the profile's paths."""
    previous = _folder(ctx, req.alias, "previous")
    if state.load(ctx.paths, req.alias).rotation_phase != "promoting":
        # Once: a run stopped mid-promotion must not copy the half-replaced pair over the kept one.
        files.ensure_private_dir(previous.key.parent)
        for source, target in ((current.key, previous.key), (current.cert, previous.cert)):
            if source.exists():
                _copy(source, target)
        _step(ctx, req.alias, "promoting")
    for source, target in ((nxt.key, current.key), (nxt.cert, current.cert)):
        _copy(source, target)
    _reached("copied", ctx.env)


def _finalize(
    req: RotateRequest, profile: profiles.Profile, current: _Pair, ctx: Context, report: RotateReport
) -> None:
    """sf keeps the key's path: log in again from the durable one (the proof used next/), and only
    then drop next/ and record the promotion."""
    final = login_request.login_request(profile, current.key, login_request.Wait())
    login.remember(final, _logged_in(final, ctx, report), ctx)
    _reached("logged-in", ctx.env)
    _remove_pair(_folder(ctx, req.alias, "next"))
    until = (datetime.now(UTC) + timedelta(days=req.keep_days)).isoformat(timespec="seconds")
    _save(ctx, req.alias, previous_kept_until=until)
    _step(ctx, req.alias, "promoted")
    report.previous_key_kept_until = until
    report.new_fingerprint = report.new_fingerprint or certs.read_cert(current.cert).fingerprint_sha256
    ctx.console.success(f"The new key is in place: {current.key} (the previous one is kept until {until[:10]})")
    ctx.console.info(
        f"Update your pipeline's secret with the new key: sfjwt-orch ci export {req.alias} --format env --include-key"
    )


def _copy(source: Path, target: Path) -> None:
    """Copy through a 0600 temp file beside the target and rename it into place (no half files)."""
    mode = 0o644 if target.suffix == ".crt" else 0o600
    files.atomic_write(target, source.read_bytes(), mode=mode)


def _remove_pair(pair: _Pair) -> None:
    material.shred(pair.key)
    pair.cert.unlink(missing_ok=True)
    shutil.rmtree(pair.key.parent, ignore_errors=True)


def _finish(req: RotateRequest, ctx: Context, report: RotateReport) -> None:
    """End a promoted rotation: the previous key goes. Nothing else is touched: before promotion the
    new pair may be on the app, and during a rollback the previous one may be."""
    phase = state.load(ctx.paths, req.alias).rotation_phase
    if phase in ROLLING_BACK:
        raise _rollback_under_way(req.alias)
    if phase in FORWARD:
        raise SfjwtError(
            Code.USAGE,
            f"the rotation of {req.alias!r} has not proven its new key yet (nothing to finish)",
            f"continue it with sfjwt-orch rotate --alias {req.alias}, or undo it with --rollback",
        )
    previous = _folder(ctx, req.alias, "previous")
    if phase != "promoted" and not previous.key.parent.exists():
        ctx.console.info(f"No rotation of {req.alias} to finish: nothing kept, nothing removed.")
        return
    _remove_pair(previous)
    _save(ctx, req.alias, rotation_phase="", rotation_deployed_at="", previous_kept_until="")
    ctx.console.success(f"Rotation of {req.alias} finished: removed the previous key {previous.key}.")


def _rollback_target(alias: str, phase: str, previous: _Pair) -> str:
    if phase in ROLLING_BACK:
        return phase
    if phase in ("made", "deployed"):
        return ROLLBACK_CURRENT
    if phase in ("promoting", "promoted") and previous.key.exists():
        return ROLLBACK_PREVIOUS
    raise SfjwtError(Code.USAGE, f"no rotation of {alias!r} to roll back", "nothing to do")


def _rollback(req: RotateRequest, ctx: Context, report: RotateReport) -> None:
    """Undo a rotation. The old pair is the profile's own before promotion, previous/'s after it.
    The app gets the old certificate back (deployed, or uploaded by a person while we wait), a login
    with the old key where it lies proves it, and only then does anything on disk change."""
    profile = _profile(req, ctx)
    current, previous, nxt = _current(profile), _folder(ctx, req.alias, "previous"), _folder(ctx, req.alias, "next")
    known = state.load(ctx.paths, req.alias)
    phase = _rollback_target(req.alias, known.rotation_phase, previous)
    _step(ctx, req.alias, phase)
    old = previous if phase == ROLLBACK_PREVIOUS else current
    if phase != ROLLBACK_DONE:
        report.old_fingerprint = _fingerprint(nxt.cert if phase == ROLLBACK_CURRENT else current.cert)
        report.new_fingerprint = _fingerprint(old.cert)
        _restore_on_app(req, ctx, report, known, old)
        try:
            _prove(req, profile, old.key, ctx, report)
        except SfjwtError as exc:
            again = f"sfjwt-orch rotate --alias {req.alias} --rollback"
            exc.fix = f"both pairs are kept: {again} continues the rollback"
            raise
        _reached("rollback-proven", ctx.env)
        if phase == ROLLBACK_PREVIOUS:
            for source, target in ((previous.key, current.key), (previous.cert, current.cert)):
                _copy(source, target)
        _step(ctx, req.alias, ROLLBACK_DONE)
    report.new_fingerprint = report.new_fingerprint or _fingerprint(current.cert)
    back = login_request.login_request(profile, current.key, login_request.Wait())
    login.remember(back, _logged_in(back, ctx, report), ctx)
    _reached("rollback-logged-in", ctx.env)
    # The app holds the old pair now (the login above proved it): the other one can go.
    _remove_pair(nxt)
    _remove_pair(previous)
    _save(ctx, req.alias, rotation_phase="", rotation_deployed_at="", previous_kept_until="")
    ctx.console.success(f"Rolled back: {req.alias} logs in with the key it had before the rotation ({current.key}).")


def _restore_on_app(req: RotateRequest, ctx: Context, report: RotateReport, known: state.State, old: _Pair) -> None:
    admin = req.target_org or known.admin_org or None
    name = req.name or known.app_name
    if admin and name:
        # Always (an app that already holds it takes it again): a stopped run cannot know what was deployed.
        app_deploy.replace_certificate(name, _kind(known), old.cert.read_text(), admin, ctx)
        report.app_updated = True
        _reached("rollback-deployed", ctx.env)
        return
    ctx.console.info("If the app holds the new certificate, the one before it goes back on the app in Setup.")
    _ask_upload("the previous certificate", old.cert, _fingerprint(old.cert) or "?", ctx)


def _fingerprint(cert: Path) -> str | None:
    return certs.read_cert(cert).fingerprint_sha256 if cert.exists() else None


def expire_previous(alias: str, ctx: Context) -> None:
    """The end of --keep-days: remove a previous key whose time is up (after any successful login)."""
    known = state.load(ctx.paths, alias)
    if known.rotation_phase != "promoted" or not known.previous_kept_until:
        return
    try:
        until = datetime.fromisoformat(known.previous_kept_until)
    except ValueError:
        return
    if datetime.now(UTC) >= until:
        _finish(RotateRequest(alias, action="finish"), ctx, RotateReport(alias))
