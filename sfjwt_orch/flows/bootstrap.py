"""Onboarding in one command: tools -> key and certificate -> the app -> login -> verify -> save.

Each step says when it starts and how it ended; a step already satisfied is skipped, so a second
run on a working profile only re-verifies, and a run interrupted anywhere continues where it
stopped (the profile is saved after every step that learns something).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from sfjwt_orch import certs, config, keypair, keys, state, validate
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.flows import key_env, login, probes, resolve
from sfjwt_orch.flows.resolve import LoginRequest
from sfjwt_orch.tools.openssl import Openssl
from sfjwt_orch.tools.sf import Diagnosis

Status = Literal["done", "skipped", "failed"]


class Asker(Protocol):
    def ask(self, question: str, check: Callable[[str], str], default: str = "") -> str: ...


@dataclass(frozen=True)
class NewKey:
    """How to make a key and certificate when the alias has none."""

    bits: int = keys.DEFAULT_BITS
    days: int = keys.DEFAULT_DAYS
    subject: str | None = None


@dataclass(frozen=True)
class BootstrapRequest:
    alias: str
    flags: resolve.LoginFlags = field(default_factory=resolve.LoginFlags)
    wait: resolve.Wait = field(default_factory=resolve.Wait)
    defaults: resolve.SfDefaults = field(default_factory=resolve.SfDefaults)
    new_key: NewKey = field(default_factory=NewKey)
    key_env: str | None = None  # the variable's name, for messages
    key_text: str | None = None  # its value, taken out of the environment before any step runs
    can_prompt: bool = False
    target_org: str | None = None  # an admin alias: create the app (app create) instead of the checklist


@dataclass(frozen=True)
class Step:
    name: str
    status: Status
    detail: str


@dataclass
class BootstrapReport:
    alias: str
    steps: list[Step] = field(default_factory=list)
    login: login.LoginReport | None = None

    def to_json(self, error: SfjwtError | None = None) -> dict[str, Any]:
        done = self.login or login.LoginReport(alias=self.alias, username="")
        return {**done.to_json(error), "steps": [s.__dict__ for s in self.steps]}


def bootstrap(req: BootstrapRequest, ctx: Context, asker: Asker) -> BootstrapReport:
    report = BootstrapReport(alias=req.alias)
    steps = _Steps(report, ctx)
    try:
        openssl = steps.run("Tools", lambda: _tools(ctx))
        key_file, bits = steps.run("Key and certificate", lambda: _key(req, ctx, openssl))
        login_req = steps.run("The app in Salesforce", lambda: _app(req, ctx, asker, key_file))
        logged_in = steps.run("Login", lambda: _login(login_req, ctx, report, bits))
        steps.run("Verify", lambda: _verify(login_req, ctx, report, logged_in))
        steps.run("Save", lambda: (None, "done", f"profile {ctx.paths.profile_file(req.alias)}"))
    except SfjwtError as exc:
        exc.details = {**report.to_json(exc), **exc.details}
        raise
    return report


class _Steps:
    def __init__(self, report: BootstrapReport, ctx: Context) -> None:
        self.report = report
        self.ctx = ctx

    def run(self, name: str, fn: Callable[[], tuple[Any, Status, str]]) -> Any:
        ui = self.ctx.console
        ui.step(f"{name}…")
        try:
            value, status, detail = fn()
        except SfjwtError as exc:
            self.report.steps.append(Step(name, "failed", exc.message))
            raise
        self.report.steps.append(Step(name, status, detail))
        (ui.success if status == "done" else ui.info)(
            f"{name}: {detail}" + (" (skipped)" if status == "skipped" else "")
        )
        return value


def _tools(ctx: Context) -> tuple[Openssl, Status, str]:
    sf, version = probes.sf_tool(ctx)
    if sf.result == "fail":
        raise sf.error()
    found, openssl = probes.openssl_tool(ctx)
    if openssl is None or found.result == "fail":
        raise found.error()
    return openssl, "done", f"sf {version}; {' '.join(found.detail.split()[:2])}"


def _remember(ctx: Context, alias: str, **values: str | None) -> None:
    config.save(ctx.paths, config.load_or_new(ctx.paths, alias).merged(**values))


def _key(req: BootstrapRequest, ctx: Context, openssl: Openssl) -> tuple[tuple[Path, int], Status, str]:
    """The key's path and size, checked fully (the login step then does not read it again)."""
    saved = config.load_or_new(ctx.paths, req.alias)
    flags = req.flags
    subject = req.new_key.subject or f"/CN={req.alias}"
    imported, source = None, ""
    if req.key_env and req.key_text is not None:
        imported, source = key_env.write(req.key_text, req.key_env, req.alias, ctx), f"${req.key_env}"
    elif flags.key_file is not None:  # a pipe (<(vault read …)) is imported as --key-env is
        imported, source = key_env.from_pipe(flags.key_file, req.alias, ctx), str(flags.key_file)
    if imported is not None:  # checked as it was written
        key = imported
        cert_file = flags.cert_file or (Path(saved.cert_file).expanduser() if saved.cert_file else None)
        detail = f"key from {source} written to {key.path}"
        status: Status = "done"
    else:
        key_file = flags.key_file or resolve.default_key_file(saved, ctx.paths)
        cert_file = flags.cert_file or (
            Path(saved.cert_file).expanduser() if saved.cert_file else key_file.parent / keys.CERT_NAME
        )
        if flags.key_file is None and not key_file.exists():
            new = keypair.KeygenRequest(key_file.parent, req.new_key.bits, req.new_key.days, subject)
            made = keypair.keygen(new, openssl)
            _remember(ctx, req.alias, key_file=str(made.key_file), cert_file=str(made.cert_file))
            return (made.key_file, new.bits), "done", f"new key {made.key_file}, certificate {made.cert_file}"
        key = keys.check_key_file(key_file, openssl)
        if flags.key_file is None and not cert_file.exists():
            keypair.cert_for_key(key.path, cert_file, req.new_key.days, subject, openssl)
            detail, status = f"reusing {key.path}; new certificate {cert_file}", "done"
        else:
            detail, status = f"reusing {key.path}", "skipped"
    if cert_file is not None and cert_file.exists():
        detail += _certificate_note(key, cert_file, req.alias, ctx)
    known_cert = str(cert_file) if cert_file is not None and cert_file.exists() else None
    _remember(ctx, req.alias, key_file=str(key.path), cert_file=known_cert)
    return (key.path, key.bits), status, detail


def _certificate_note(key: keys.KeyInfo, cert_file: Path, alias: str, ctx: Context) -> str:
    findings, info = probes.certificate(key, cert_file, alias, datetime.now(UTC))
    if info is None:
        raise findings[0].error()
    note = f" (certificate {cert_file} matches, fingerprint {info.fingerprint_sha256[:23]}…)"
    expiry = findings[-1]
    if expiry.result == "warn":
        ctx.console.warn(f"certificate {cert_file} {expiry.detail}; {expiry.fix}")
        note += f"; {expiry.detail}"
    return note


def checklist(callback_url: str, cert_file: Path, fingerprint: str) -> str:
    """The Setup steps for a JWT app (SFDX guide: sfdx_dev_auth_eca, sfdx_dev_auth_connected_app)."""
    return f"""\
Create the app in Salesforce (once per org) — an External Client App:
  1. Setup > App Manager > New External Client App; name it, e.g. "sfjwt-orch CI".
  2. API (Enable OAuth Settings) > Enable OAuth. Callback URL: {callback_url}
  3. OAuth scopes: "Manage user data via APIs (api)", "Manage user data via Web browsers (web)",
     "Perform requests at any time (refresh_token, offline_access)".
  4. Flow Enablement > Enable JWT Bearer Flow > Upload Files: {cert_file}
     (SHA-256 fingerprint {fingerprint})
  5. Create. Then Policies > OAuth Policies > Permitted Users: "Admin approved users are
     pre-authorized", and under App Policies add the profile or permission set of the user who
     logs in. This avoids the one-time browser approval altogether.
  6. Settings > OAuth Settings > Consumer Key and Secret: copy the Consumer Key.
A Dev Hub that will create scratch orgs or sandboxes needs a Connected App instead (scratch org
creation from an External-Client-App-authorised Dev Hub fails with C-1016): Setup > App Manager >
New Connected App, Enable OAuth Settings, the same callback and scopes, "Use digital signatures" with
the same certificate, then Manage > Edit Policies > Permitted Users "Admin approved users are
pre-authorized" and Manage Profiles / Permission Sets. New apps take 2-10 minutes to reach every
Salesforce server; sfjwt-orch waits for that."""


def check_login_url(answer: str) -> str:
    choices = {"1": validate.PRODUCTION, "2": validate.SANDBOX}
    return validate.check_instance_url(choices.get(answer, answer))


def _ask_missing(profile: config.Profile, ctx: Context, asker: Asker, key_file: Path, callback: str) -> config.Profile:
    if not profile.client_id:
        cert = Path(profile.cert_file).expanduser() if profile.cert_file else key_file.parent / keys.CERT_NAME
        fingerprint = certs.read_cert(cert).fingerprint_sha256 if cert.exists() else "n/a"
        ctx.console.info(checklist(callback, cert, fingerprint))
        client_id = asker.ask("Consumer key", validate.check_client_id)
        _remember(ctx, profile.alias, client_id=client_id)
        profile = profile.merged(client_id=client_id)
    if not profile.username:
        username = asker.ask("Username to log in as (e.g. ci-bot@acme.com)", validate.check_username)
        _remember(ctx, profile.alias, username=username)
        profile = profile.merged(username=username)
    if not profile.instance_url:
        url = asker.ask(
            f"Login URL: 1) {validate.PRODUCTION}  2) {validate.SANDBOX}  or your My Domain URL",
            check_login_url,
            default="1",
        )
        _remember(ctx, profile.alias, instance_url=url)
        profile = profile.merged(instance_url=url)
    return profile


def _app(req: BootstrapRequest, ctx: Context, asker: Asker, key_file: Path) -> tuple[LoginRequest, Status, str]:
    flags = dataclasses.replace(req.flags, key_file=None, cert_file=None)  # the Key step has dealt with those
    profile = resolve.merged(config.load_or_new(ctx.paths, req.alias), flags)
    callback = resolve.callback_url(profile)
    missing = resolve.missing_flags(profile)
    wait = req.wait
    admin = req.target_org
    if not profile.client_id and admin is None and req.can_prompt:
        asked = asker.ask(
            "Admin alias in sf to create the app with (Enter: create it yourself in Setup)", _alias_or_none
        )
        admin = asked or None
    if not profile.client_id and admin:
        profile = _create_app(req, admin, profile, ctx, asker)
        # A new app takes minutes to reach every server: wait for it, whatever --timeout said for approvals.
        wait = dataclasses.replace(wait, timeout=max(wait.timeout, NEW_APP_WAIT))
    elif missing:
        if not req.can_prompt:
            raise SfjwtError(
                Code.USAGE,
                f"{' and '.join(missing)} needed, and there is no one to ask",
                f"pass {' and '.join(missing)} (and --instance-url), or --target-org ADMIN to create the app, "
                "or run at a terminal without --no-input",
            )
        profile = _ask_missing(profile, ctx, asker, key_file, callback)
    login_req = resolve.login_request(profile, key_file, wait, req.defaults)
    _remember(
        ctx,
        req.alias,
        client_id=login_req.client_id,
        username=login_req.username,
        instance_url=login_req.instance_url,
        callback_url=callback,
    )
    detail = f"client id {login_req.client_id[:8]}…, {login_req.username} at {login_req.instance_url}"
    return login_req, "done" if missing else "skipped", detail


NEW_APP_WAIT = 600.0


def _alias_or_none(answer: str) -> str:
    from sfjwt_orch.paths import check_alias

    return check_alias(answer) if answer else ""


def _create_app(
    req: BootstrapRequest, admin: str, profile: config.Profile, ctx: Context, asker: Asker
) -> config.Profile:
    from sfjwt_orch import metadata
    from sfjwt_orch.flows import app_create

    username = profile.username
    if not username:
        if not req.can_prompt:
            raise SfjwtError(
                Code.USAGE, "--username needed to create the app", "pass --username (the integration user)"
            )
        username = asker.ask("Integration username to log in as (e.g. ci-bot@acme.com)", validate.check_username)
    name = metadata.default_app_name(req.alias)
    create = app_create.AppCreateRequest(
        req.alias, admin, validate.check_username(username), name, f"{name}_Jwt"[:80], wait=req.wait
    )
    report = app_create.AppReport(req.alias, name, create.kind)
    org_url, _ = app_create.provision(create, ctx, report)
    return profile.merged(client_id=report.client_id, username=username, instance_url=org_url)


def _login(login_req: LoginRequest, ctx: Context, report: BootstrapReport, bits: int) -> tuple[bool, Status, str]:
    if state.load(ctx.paths, login_req.alias).org_id:
        # Idempotent rerun: an alias sf still holds, for this user, needs no new login.
        _, current = probes.sf_login(login_req.alias, ctx)
        if current is not None and current.connected and current.username == login_req.username:
            report.login = login.LoginReport(
                alias=login_req.alias,
                username=current.username,
                org_id=current.org_id,
                instance_url=current.instance_url,
            )
            _apply_defaults(login_req, ctx)
            return True, "skipped", f"sf already holds a working login for {login_req.alias}"
    report.login = login.LoginReport(alias=login_req.alias, username=login_req.username)
    try:
        done = login.log_in(login_req, ctx, checked_bits=bits)
    except SfjwtError as exc:
        report.login.attempts = int(exc.details.get("attempts") or 0)
        report.login.approval_url = exc.details.get("approval_url")
        raise
    login.remember(login_req, done, ctx)
    report.login = done
    via = done.login_url or login_req.instance_url
    return False, "done", f"{done.username} -> org {done.org_id} after {done.attempts} attempt(s) via {via}"


def _apply_defaults(login_req: LoginRequest, ctx: Context) -> None:
    for wanted, key in ((login_req.set_default, "target-org"), (login_req.set_default_dev_hub, "target-dev-hub")):
        if wanted and ctx.sf().config_set(key, login_req.alias) is not None:
            raise SfjwtError(
                Code.SF_FAILED,
                f"sf config set {key}={login_req.alias} failed",
                f"run it yourself: sf config set {key}={login_req.alias} --global",
            )


def _verify(
    login_req: LoginRequest, ctx: Context, report: BootstrapReport, already_verified: bool
) -> tuple[None, Status, str]:
    if not already_verified:
        current = ctx.sf().display(login_req.alias)
        if isinstance(current, Diagnosis):
            raise SfjwtError(current.code, current.message, current.fix)
        if not current.connected:
            raise SfjwtError(
                Code.SF_FAILED,
                f"sf logged in, but sf org display says {current.status or 'not connected'}",
                f"check the org: sf org display --target-org {login_req.alias}",
            )
    done = report.login
    assert done is not None
    where = done.instance_url or login_req.instance_url
    extras = [
        label
        for flag, label in ((login_req.set_default, "default org"), (login_req.set_default_dev_hub, "default Dev Hub"))
        if flag
    ]
    return (
        None,
        "done",
        f"Connected: org {done.org_id} at {where}" + (f"; set as {', '.join(extras)}" if extras else ""),
    )


def next_steps(alias: str) -> str:
    return (
        f"Next:\n  sfjwt-orch login --alias {alias}      # log in again, from the saved profile\n"
        f"  sfjwt-orch ci export {alias}        # the secrets and a workflow step for CI\n"
        f"  sf org display --target-org {alias}"
    )
