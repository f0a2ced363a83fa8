"""Onboarding in one command: tools -> key and certificate -> the app -> login -> verify -> save.

Each step says how it ended; a step already satisfied is skipped, so a second run on a working
profile only re-verifies, and a run interrupted anywhere continues where it stopped: the key files
are recorded as soon as they exist, the answers wait in the state file until a login confirms them
(flows.answers) and are offered again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, error_json
from sfjwt_orch.flows import answers, app_create, app_deploy, key_env, login, login_request, probes, refusal
from sfjwt_orch.flows.answers import Asker
from sfjwt_orch.flows.login_request import LoginRequest
from sfjwt_orch.keys import material, pair
from sfjwt_orch.salesforce import metadata, spring26, validate
from sfjwt_orch.store import profiles, state
from sfjwt_orch.store.paths import check_alias
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS, Openssl
from sfjwt_orch.tools.sf import SfFailed
from sfjwt_orch.ui.console import masked_key

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class NewKey:
    """How to make a key and certificate when the alias has none."""

    bits: int = DEFAULT_BITS
    days: int = DEFAULT_DAYS
    subject: str | None = None


@dataclass(frozen=True)
class BootstrapRequest:
    login: LoginRequest  # the login flags (the answers given, how to wait, --key-env, --new-app...)
    new_key: NewKey = field(default_factory=NewKey)
    key_text: str | None = None  # --key-env's value, taken out of the environment before any step runs
    can_prompt: bool = False
    target_org: str | None = None  # an admin alias: create the app (app create) instead of the checklist
    ask_all: bool = False  # --ask: every question again, the saved and unconfirmed answers as defaults

    @property
    def alias(self) -> str:
        return self.login.alias


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
    error: SfjwtError | None = None  # how the step that failed ended (None: every step worked)

    def to_json(self) -> dict[str, Any]:
        """The login document with the steps; `ok` and `error` are the bootstrap's."""
        done = self.login or login.LoginReport(alias=self.alias, username="")
        doc = done.to_json({"steps": [s.__dict__ for s in self.steps]})
        return {**doc, "ok": self.error is None, "error": error_json(self.error)}


def bootstrap(req: BootstrapRequest, ctx: Context, asker: Asker) -> BootstrapReport:
    """Every step in turn; the report says how each ended, and its `error` is the failed step's."""
    report = BootstrapReport(alias=req.alias)
    steps = _Steps(report, ctx)
    before = _read(ctx.paths.profile_file(req.alias))
    try:
        as_found = profiles.load(ctx.paths, req.alias)  # what a rerun's answers replace is said (login.remember)
        openssl = steps.run("Tools", lambda: _tools(ctx))
        key_file, bits = steps.run("Key and certificate", lambda: _key(req, ctx, openssl))
        login_req = steps.run("The app in Salesforce", lambda: _app(req, ctx, asker, key_file))
        reask = asker if req.can_prompt and not login_req.new_app else None
        login_req = _waiting_for_upload(req, login_req, key_file, ctx)
        logged_in = steps.run("Login", lambda: _login(login_req, ctx, report, bits, reask, as_found))
        steps.run("Verify", lambda: _verify(login_req, ctx, report, logged_in))
        steps.run("Save", lambda: _saved(ctx.paths.profile_file(req.alias), before))
    except SfjwtError as exc:
        refusal.name_alias(exc, req.alias)
        report.error = exc
    return report


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _saved(path: Path, before: bytes | None) -> tuple[None, Status, str]:
    """The login saved the profile when an answer changed (login.remember): say which it was."""
    if _read(path) == before:
        return None, "skipped", f"profile {path} unchanged"
    return None, "done", f"profile {path}"


class _Steps:
    def __init__(self, report: BootstrapReport, ctx: Context) -> None:
        self.report = report
        self.ctx = ctx

    def run(self, name: str, fn: Callable[[], tuple[Any, Status, str]]) -> Any:
        ui = self.ctx.console
        ui.status(f"{name}…")  # one line per step: this one is replaced by how it ended
        try:
            value, status, detail = fn()
        except SfjwtError as exc:
            self.report.steps.append(Step(name, "failed", exc.message))
            raise
        self.report.steps.append(Step(name, status, detail))
        if status == "done":
            ui.success(f"{name}: {detail}")
        else:
            ui.info(f"– {name}: {detail} (nothing to do)")
        return value


def _tools(ctx: Context) -> tuple[Openssl, Status, str]:
    sf, version = probes.sf_tool(ctx)
    if sf.result == "fail":
        raise sf.error()
    found, openssl = probes.openssl_tool(ctx)
    if openssl is None or found.result == "fail":
        raise found.error()
    return openssl, "done", f"sf {version}; {' '.join(found.detail.split()[:2])}"


def _remember(ctx: Context, found: profiles.Profile) -> None:
    profiles.save(ctx.paths, profiles.load_or_new(ctx.paths, found.alias).merged(found))


def _key(req: BootstrapRequest, ctx: Context, openssl: Openssl) -> tuple[tuple[Path, int], Status, str]:
    """The key's path and size, checked fully (the login step then does not read it again)."""
    saved = profiles.load_or_new(ctx.paths, req.alias)
    answers = saved.merged(req.login.profile)
    given_key = Path(req.login.profile.key_file) if req.login.profile.key_file else None
    if given_key and not req.login.profile.cert_file and given_key != login_request.default_key_file(saved, ctx.paths):
        # Another key than the saved one: the saved certificate is the old key's (issue 24 item 5), so
        # the certificate is the one beside the new key, as keygen writes it, or none.
        answers = dataclasses.replace(answers, cert_file="")
    subject = req.new_key.subject or f"/CN={req.alias}"
    # --key-env, or a pipe (<(vault read …)) as --key-file: imported, checked as it is written
    imported = key_env.key_of(req.login.key_env, req.key_text, given_key, req.alias, ctx)
    if imported is not None:
        key = imported.key
        cert_file = Path(answers.cert_file).expanduser() if answers.cert_file else None
        detail = f"key from {imported.source} written to {key.path}"
        status: Status = "done"
    else:
        key_file = given_key or login_request.default_key_file(saved, ctx.paths)
        cert_file = answers.cert_path(key_file)
        if given_key is None and not key_file.exists():
            new = pair.KeygenRequest(key_file.parent, req.new_key.bits, req.new_key.days, subject)
            made = pair.keygen(new, openssl)
            _remember(ctx, made.as_profile(req.alias))
            return (made.key_file, new.bits), "done", f"new key {made.key_file}, certificate {made.cert_file}"
        key = material.check_key_file(key_file, openssl)
        if given_key is None and not cert_file.exists():
            pair.cert_for_key(key.path, cert_file, req.new_key.days, subject, openssl)
            detail, status = f"reusing {key.path}; new certificate {cert_file}", "done"
        else:
            detail, status = f"reusing {key.path}", "skipped"
    if cert_file is not None and cert_file.exists():
        detail += _certificate_note(key, cert_file, req.alias, ctx)
    known_cert = str(cert_file) if cert_file is not None and cert_file.exists() else ""
    _remember(ctx, profiles.Profile(req.alias, key_file=str(key.path), cert_file=known_cert))
    if not known_cert and saved.cert_file and not answers.cert_file:  # the old key's certificate: dropped
        profiles.save(ctx.paths, dataclasses.replace(profiles.load_or_new(ctx.paths, req.alias), cert_file=""))
    return (key.path, key.bits), status, detail


def _certificate_note(key: material.KeyInfo, cert_file: Path, alias: str, ctx: Context) -> str:
    findings, info = probes.certificate(key, cert_file, alias, datetime.now(UTC))
    if info is None:
        raise findings[0].error()
    note = f" (certificate {cert_file} matches, fingerprint {info.fingerprint_sha256[:23]}…)"
    expiry = findings[-1]
    if expiry.result == "warn":
        ctx.console.warn(f"certificate {cert_file} {expiry.detail}; {expiry.fix}")
        note += f"; {expiry.detail}"
    return note


def _app(req: BootstrapRequest, ctx: Context, asker: Asker, key_file: Path) -> tuple[LoginRequest, Status, str]:
    """The login request (`new_app` when the app is new). Answers are not saved here: the login
    step saves them to the profile once a login with them works."""
    given = dataclasses.replace(req.login.profile, key_file="", cert_file="")  # the Key step dealt with those
    profile = profiles.load_or_new(ctx.paths, req.alias).merged(given)
    pending = state.unconfirmed(state.load(ctx.paths, req.alias))
    missing = login_request.missing_flags(profile)
    new_app, asked = req.login.new_app, False
    admin = req.target_org
    if not profile.client_id and not pending.get("client_id") and admin is None and req.can_prompt:
        asked_admin = asker.ask(
            "Admin alias in sf to create the app with (Enter: create it yourself in Setup)", _alias_or_none
        )
        admin = asked_admin or None
    if not profile.client_id and admin:
        profile = _create_app(req, admin, profile, ctx, asker)
        new_app, asked = True, True
    elif req.can_prompt:
        profile, asked = answers.ask(req.alias, req.login.profile, req.ask_all, profile, ctx, asker, key_file)
    elif missing:
        if not profile.client_id and not pending.get("client_id"):
            # What to do in Setup comes before "no one to ask" (issue 24 item 7): a CI log shows it.
            answers.show_checklist(profile, key_file, ctx)
        raise SfjwtError(
            Code.USAGE,
            f"{' and '.join(missing)} needed, and there is no one to ask",
            f"pass {' and '.join(missing)} (and --instance-url), or --target-org ADMIN to create the app, "
            "or run at a terminal without --no-input",
        )
    login_req = login_request.checked(dataclasses.replace(req.login, profile=profile), key_file)
    if new_app:
        login_req = login_req.for_new_app()
    answers.keep_unconfirmed(ctx, req.alias, {n: getattr(login_req, n) for n in answers.ANSWERS})
    detail = f"consumer key {masked_key(login_req.client_id)}, {login_req.username} at {login_req.instance_url}"
    return login_req, "done" if asked else "skipped", detail


def _waiting_for_upload(req: BootstrapRequest, login_req: LoginRequest, key_file: Path, ctx: Context) -> LoginRequest:
    """At a terminal, an app the person sets up in Setup (no login has worked with its consumer key
    yet, and sfjwt-orch did not deploy it) may not hold the certificate yet: the login waits for the
    upload and its propagation (INVALID_ASSERTION until then), as rotate without an admin org does,
    instead of failing at once (issue 24 item 7). Not waited for: no person, --timeout 0, an app
    sfjwt-orch made (it deployed the certificate itself), a consumer key a login has confirmed."""
    if not req.can_prompt or login_req.timeout <= 0 or state.load(ctx.paths, req.alias).app_name:
        return login_req
    if profiles.load_or_new(ctx.paths, req.alias).client_id == login_req.client_id:
        return login_req
    cert = profiles.load_or_new(ctx.paths, req.alias).cert_path(key_file)
    upload = "upload it in Setup if it does not yet (Enable JWT Bearer Flow > Upload Files)"
    ctx.console.url(
        f"The login waits (up to {login_req.timeout:.0f} s) for the app to hold this certificate; {upload}:", str(cert)
    )
    ctx.console.info(f"Its SHA-256 fingerprint: {answers.fingerprint_of(cert)}. Ctrl-C stops waiting.")
    return dataclasses.replace(login_req, also_wait_for=login_req.also_wait_for | {Code.INVALID_ASSERTION})


def _alias_or_none(answer: str) -> str:
    return check_alias(answer) if answer else ""


def _create_app(
    req: BootstrapRequest, admin: str, profile: profiles.Profile, ctx: Context, asker: Asker
) -> profiles.Profile:
    username = profile.username
    if not username:
        if not req.can_prompt:
            raise SfjwtError(
                Code.USAGE, "--username needed to create the app", "pass --username (the integration user)"
            )
        username = asker.ask("Integration username to log in as (e.g. ci-bot@acme.com)", validate.check_username)
    name = metadata.default_app_name(req.alias)
    create = app_deploy.AppCreateRequest(
        req.alias,
        admin,
        validate.check_username(username),
        name,
        metadata.default_permission_set(name),
        wait=req.login.wait,
    )
    report = app_create.AppReport(req.alias, name, create.kind)
    org_url, _ = app_create.provision(create, ctx, report)
    return dataclasses.replace(profile, client_id=report.client_id, username=username, instance_url=org_url)


def _login(
    login_req: LoginRequest,
    ctx: Context,
    report: BootstrapReport,
    bits: int,
    reask: Asker | None,
    as_found: profiles.Profile | None,
) -> tuple[bool, Status, str]:
    same_key = as_found is not None and login_request.default_key_file(as_found, ctx.paths) == login_req.key_file
    if state.load(ctx.paths, login_req.alias).org_id and same_key:
        # Idempotent rerun: an alias sf still holds, for this user, needs no new login (another key
        # does: only a login proves that the app takes it).
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
    attempts = 0
    while True:
        done = login.log_in(login_req, ctx, checked_bits=bits)
        attempts += done.attempts
        done.attempts = attempts  # every consumer key's attempts, the ones re-entered included
        report.login = done
        if done.error is None:
            break
        if reask is None or login_req.new_app or done.error.code not in refusal.PROPAGATING:
            raise done.error
        login_req = answers.reenter_key(login_req, done.error, ctx, reask)
    login.remember(login_req, done, ctx, as_found=as_found)
    report.login = done
    via = done.login_url or login_req.instance_url
    return False, "done", f"{done.username} -> org {done.org_id} after {done.attempts} attempt(s) via {via}"


def _apply_defaults(login_req: LoginRequest, ctx: Context) -> None:
    for wanted, key in ((login_req.set_default, "target-org"), (login_req.set_default_dev_hub, "target-dev-hub")):
        try:
            if wanted:
                ctx.sf().config_set(key, login_req.alias)
        except SfFailed as failed:
            mine = SfjwtError(
                Code.SF_FAILED,
                f"sf config set {key}={login_req.alias} failed",
                f"run it yourself: sf config set {key}={login_req.alias} --global",
            )
            raise failed.unless_local(mine) from None


def _verify(
    login_req: LoginRequest, ctx: Context, report: BootstrapReport, already_verified: bool
) -> tuple[None, Status, str]:
    if not already_verified:
        current = ctx.sf().display(login_req.alias)
        if not current.connected:
            raise SfjwtError(
                Code.SF_FAILED,
                f"sf logged in, but sf org display says {current.status or 'not connected'}",
                f"check the org: sf org display --target-org {login_req.alias}",
            )
    done = report.login
    assert done is not None
    dev_hub = done.is_dev_hub or login_req.set_default_dev_hub  # Spring '26: an ECA Dev Hub and scratch orgs
    if dev_hub and (note := spring26.dev_hub_note(state.load(ctx.paths, login_req.alias).app_kind)):
        ctx.console.warn(note)
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
    rows = [
        (f"sfjwt-orch login --alias {alias}", "log in again, from the saved profile"),
        (f"sfjwt-orch ci export {alias} --format env", "the values CI needs (add --include-key for the key)"),
        (f"sf org display --target-org {alias}", "the org, as sf sees it"),
    ]
    width = max(len(command) for command, _ in rows)
    # Every line runs as printed (issue 24 item 9); a CI job file needs a --pip-spec only the user can
    # choose (the sfjwt-orch release they pin), so it is said in words, not printed as a failing command.
    job = "For a CI job file, add --format github|gitlab and --pip-spec with the sfjwt-orch release you pin."
    return "Next:\n" + "\n".join(f"  {command:<{width}}  # {why}" for command, why in rows) + f"\n{job}"
