"""rotate: a new key and certificate for an alias, without a broken login at any point we control.

new pair beside the current one (keys/<alias>/next/) -> the app gets the new certificate (deployed
with an admin org, or uploaded by a person in Setup while we wait) -> a login with the new key
proves it -> promotion: the current pair is kept in keys/<alias>/previous/ (0600) and the new one
replaces it at the profile's paths, so the profile never changes -> sf logs in again from the
durable path. Each step is recorded in the state file, so a rerun continues where a run stopped;
a failure before promotion puts the old certificate back on the app and leaves the user's key,
profile and sf login as they were. An app holds one certificate: from the deploy until CI has the
new secret, the old key no longer works (said before deploying; `window_s` measures it here).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sfjwt_orch import certs, config, files, keypair, keys, metadata, state
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.flows import app_deploy, login, resolve
from sfjwt_orch.locks import alias_lock
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS


@dataclass(frozen=True)
class RotateRequest:
    alias: str
    target_org: str | None = None
    name: str | None = None  # the app's API name when this tool did not create it
    bits: int = DEFAULT_BITS
    days: int = DEFAULT_DAYS
    keep_days: int = 7
    wait: resolve.Wait = dataclasses.field(default_factory=lambda: resolve.Wait(timeout=600.0))
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

    def to_json(self, error: SfjwtError | None = None) -> dict[str, Any]:
        return {"ok": error is None, **dataclasses.asdict(self), "error": error.to_json() if error else None}


@dataclass(frozen=True)
class _Pair:
    key: Path
    cert: Path


def run(req: RotateRequest, ctx: Context) -> RotateReport:
    report = RotateReport(req.alias)
    try:
        with alias_lock(ctx.paths, req.alias, on_wait=ctx.console.info):
            {"rotate": _rotate, "finish": _finish, "rollback": _rollback}[req.action](req, ctx, report)
    except SfjwtError as exc:
        exc.details = {**report.to_json(exc), **exc.details}
        raise
    return report


def _kind(known: state.State) -> metadata.Kind:
    """The app's kind as app create recorded it (an app made elsewhere is taken for an External Client App)."""
    return "connected-app" if known.app_kind == "connected-app" else "eca"


def _profile(req: RotateRequest, ctx: Context) -> config.Profile:
    profile = config.load(ctx.paths, req.alias)
    missing = resolve.missing_flags(profile) if profile else ["a profile"]
    if profile is None or missing or not profile.key_file:
        raise SfjwtError(
            Code.PROFILE_NOT_FOUND,
            f"no working profile for alias {req.alias!r} to rotate",
            f"set it up first: sfjwt-orch bootstrap --alias {req.alias}",
        )
    return profile


def _current(profile: config.Profile) -> _Pair:
    key = Path(profile.key_file).expanduser()
    return _Pair(key, profile.cert_path(key))


def _folder(ctx: Context, alias: str, which: str) -> _Pair:
    d = ctx.paths.key_dir(alias) / which
    return _Pair(d / keys.KEY_NAME, d / keys.CERT_NAME)


def _save(ctx: Context, alias: str, **changes: str) -> None:
    problem = state.save(ctx.paths, state.load(ctx.paths, alias).with_(**changes))
    if problem:  # the rotation's progress must be resumable: not recording it is not an option
        raise SfjwtError(Code.FILE_ERROR, f"cannot record the rotation's progress: {problem}", "free the disk, rerun")


def _rotate(req: RotateRequest, ctx: Context, report: RotateReport) -> None:
    profile = _profile(req, ctx)
    current, nxt = _current(profile), _folder(ctx, req.alias, "next")
    known = state.load(ctx.paths, req.alias)
    if known.rotation_phase == "promoted":
        raise SfjwtError(
            Code.USAGE,
            f"a rotation of {req.alias!r} is done and its previous key is still kept",
            f"end it with sfjwt-orch rotate --alias {req.alias} --finish (or --rollback), then rotate again",
        )
    if known.rotation_phase not in ("made", "deployed", "promoting") or not nxt.key.exists():
        request = keypair.KeygenRequest(nxt.key.parent, req.bits, req.days, f"/CN={req.alias}", force=True)
        keypair.keygen(request, ctx.openssl())
        _save(ctx, req.alias, rotation_phase="made", rotation_deployed_at="")
    new_info = certs.read_cert(nxt.cert)
    report.old_fingerprint = certs.read_cert(current.cert).fingerprint_sha256 if current.cert.exists() else None
    report.new_fingerprint, report.not_after = new_info.fingerprint_sha256, new_info.not_after.isoformat()
    admin = req.target_org or known.admin_org or None
    name = req.name or known.app_name
    started = time.monotonic()
    if admin:
        report.app_updated = _deploy_new(req, ctx, admin, name, known, nxt)
    else:
        ctx.console.url(
            "Upload the new certificate to the app in Setup (External Client App Manager > the app > Edit "
            "Settings > Enable JWT Bearer Flow > Upload Files, or the Connected App's 'Use digital signatures'):",
            str(nxt.cert),
        )
    try:
        _prove(req, profile, nxt, ctx)
    except SfjwtError as exc:
        if exc.code is Code.INTERRUPTED:  # leave it resumable: a rerun proves again, --rollback undoes it
            exc.fix = f"run sfjwt-orch rotate --alias {req.alias} again to continue, or add --rollback to undo it"
            raise
        if report.app_updated and admin:
            ctx.console.warn("The new key did not log in: putting the old certificate back on the app.")
            app_deploy.replace_certificate(name, _kind(known), current.cert.read_text(), admin, ctx)
            _save(ctx, req.alias, rotation_phase="made")
            report.app_updated = False
        raise
    _promote(req, current, nxt, ctx, report)
    report.window_s = round(time.monotonic() - started, 1)
    # sf keeps the key's path: log in again from the durable one (the proof used next/).
    final = resolve.login_request(profile, current.key, resolve.Wait())
    login.remember(final, login.log_in(final, ctx), ctx)


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
    _save(ctx, req.alias, rotation_phase="deployed", rotation_deployed_at=datetime.now(UTC).isoformat())
    return True


def _prove(req: RotateRequest, profile: config.Profile, nxt: _Pair, ctx: Context) -> None:
    proof = dataclasses.replace(
        resolve.login_request(profile, nxt.key, req.wait),
        also_wait_for=frozenset({Code.INVALID_ASSERTION}),
    )
    login.log_in(proof, ctx)


def _promote(req: RotateRequest, current: _Pair, nxt: _Pair, ctx: Context, report: RotateReport) -> None:
    """The current pair to previous/ (kept for --rollback), the new one onto the profile's paths."""
    previous = _folder(ctx, req.alias, "previous")
    if state.load(ctx.paths, req.alias).rotation_phase != "promoting":
        # Once: a run stopped mid-promotion must not copy the half-replaced pair over the kept one.
        files.ensure_private_dir(previous.key.parent)
        for source, target in ((current.key, previous.key), (current.cert, previous.cert)):
            if source.exists():
                _copy(source, target)
        _save(ctx, req.alias, rotation_phase="promoting")
    for source, target in ((nxt.key, current.key), (nxt.cert, current.cert)):
        _copy(source, target)
    shutil.rmtree(nxt.key.parent, ignore_errors=True)
    until = (datetime.now(UTC) + timedelta(days=req.keep_days)).isoformat(timespec="seconds")
    _save(ctx, req.alias, rotation_phase="promoted", previous_kept_until=until)
    report.previous_key_kept_until = until
    ctx.console.success(f"The new key is in place: {current.key} (the previous one is kept until {until[:10]})")
    ctx.console.info(f"Update your pipeline's secret: sfjwt-orch ci export {req.alias} --include-key")


def _copy(source: Path, target: Path) -> None:
    """Copy through a 0600 temp file beside the target and rename it into place (no half files)."""
    mode = 0o644 if target.suffix == ".crt" else 0o600
    files.atomic_write(target, source.read_bytes(), mode=mode)


def _finish(req: RotateRequest, ctx: Context, report: RotateReport) -> None:
    previous = _folder(ctx, req.alias, "previous")
    keys.shred(previous.key)
    previous.cert.unlink(missing_ok=True)
    if previous.key.parent.exists():
        shutil.rmtree(previous.key.parent, ignore_errors=True)
    _save(ctx, req.alias, rotation_phase="", rotation_deployed_at="", previous_kept_until="")
    ctx.console.success(f"Rotation of {req.alias} finished: the previous key is gone.")


def _rollback(req: RotateRequest, ctx: Context, report: RotateReport) -> None:
    """Undo a rotation: before promotion, the app gets its current certificate back and the new
    pair goes; after it, the previous pair comes back onto the profile's paths (and onto the app)."""
    profile = _profile(req, ctx)
    current, previous, nxt = _current(profile), _folder(ctx, req.alias, "previous"), _folder(ctx, req.alias, "next")
    known = state.load(ctx.paths, req.alias)
    admin = req.target_org or known.admin_org or None
    promoted = known.rotation_phase in ("promoting", "promoted") and previous.key.exists()
    if not promoted and known.rotation_phase not in ("made", "deployed"):
        raise SfjwtError(Code.USAGE, f"no rotation of {req.alias!r} to roll back", "nothing to do")
    restored = previous if promoted else current
    if admin and known.app_name and (promoted or known.rotation_phase == "deployed"):
        app_deploy.replace_certificate(known.app_name, _kind(known), restored.cert.read_text(), admin, ctx)
        report.app_updated = True
    if promoted:
        for source, target in ((previous.key, current.key), (previous.cert, current.cert)):
            _copy(source, target)
    shutil.rmtree(nxt.key.parent, ignore_errors=True)
    _finish(req, ctx, report)
    report.new_fingerprint = certs.read_cert(current.cert).fingerprint_sha256
    back = dataclasses.replace(
        resolve.login_request(profile, current.key, req.wait), also_wait_for=frozenset({Code.INVALID_ASSERTION})
    )
    login.remember(back, login.log_in(back, ctx), ctx)
    ctx.console.success(f"Rolled back: {req.alias} logs in with its previous key again.")


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
