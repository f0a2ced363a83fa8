"""Onboarding in one command: tools -> key and certificate -> the app -> login -> verify -> save.

Each step says when it starts and how it ended; a step already satisfied is skipped, so a second
run on a working profile only re-verifies, and a run interrupted anywhere continues where it
stopped (the profile is saved after every step that learns something).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from sfjwt_orch import approval, config, flows, keys, sf
from sfjwt_orch.deps import Deps, find_sf, openssl_for
from sfjwt_orch.errors import Code, SfjwtError

Status = Literal["done", "skipped", "failed"]


class Asker(Protocol):
    def ask(self, question: str, check: Callable[[str], str], default: str = "") -> str: ...


@dataclass(frozen=True)
class BootstrapRequest:
    alias: str
    client_id: str | None = None
    username: str | None = None
    instance_url: str | None = None
    callback_url: str | None = None
    key_file: Path | None = None
    cert_file: Path | None = None
    key_env: str | None = None  # the variable's name, for messages
    key_text: str | None = None  # its value, taken out of the environment before any step runs
    bits: int = 2048
    days: int = 365
    subject: str | None = None
    open_browser: bool = False
    timeout: float = 0.0
    interval: float = 5.0
    set_default: bool = False
    set_default_dev_hub: bool = False
    can_prompt: bool = False


@dataclass(frozen=True)
class Step:
    name: str
    status: Status
    detail: str


@dataclass
class BootstrapReport:
    alias: str
    steps: list[Step] = field(default_factory=list)
    login: flows.LoginReport | None = None

    def to_json(self, error: SfjwtError | None = None) -> dict[str, Any]:
        login = (
            self.login.to_json(error)
            if self.login
            else {"ok": error is None, "alias": self.alias, "error": error.to_json() if error else None}
        )
        return {**login, "steps": [s.__dict__ for s in self.steps]}


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
    choices = {"1": approval.PRODUCTION, "2": approval.SANDBOX}
    return approval.check_instance_url(choices.get(answer, answer))


def bootstrap(req: BootstrapRequest, deps: Deps, asker: Asker) -> BootstrapReport:
    report = BootstrapReport(alias=req.alias)
    runner = _Steps(report, deps)
    try:
        sf_exe, openssl = runner.step("Tools", lambda: _tools(deps))
        key_file = runner.step("Key and certificate", lambda: _key(req, deps, openssl))
        login_req = runner.step("The app in Salesforce", lambda: _app(req, deps, asker, key_file))
        logged_in = runner.step("Login", lambda: _login(login_req, deps, sf_exe, report))
        runner.step("Verify", lambda: _verify(login_req, deps, sf_exe, report, logged_in))
        runner.step("Save", lambda: _save(req.alias, deps))
    except SfjwtError as exc:
        exc.details = {**report.to_json(exc), **exc.details}
        raise
    return report


class _Steps:
    def __init__(self, report: BootstrapReport, deps: Deps) -> None:
        self.report = report
        self.deps = deps

    def step(self, name: str, fn: Callable[[], tuple[Any, Status, str]]) -> Any:
        ui = self.deps.console
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


def _tools(deps: Deps) -> tuple[tuple[str, Any], Status, str]:
    sf_exe = find_sf(deps.env)
    openssl = openssl_for(deps)
    result = deps.runner.run(sf.version_argv(sf_exe), timeout=60, env=sf.sf_env(deps.env, ""))
    version = sf.parse_version(result.stdout) if result.returncode == 0 else None
    if version is None:
        raise SfjwtError(
            Code.SF_FAILED,
            f"{sf_exe} --version did not work (exit {result.returncode})",
            "reinstall sf: npm install -g @salesforce/cli (needs Node 22+)",
        )
    return (sf_exe, openssl), "done", f"sf {version}; {' '.join(openssl.version().split()[:2])}"


def _key(req: BootstrapRequest, deps: Deps, openssl: Any) -> tuple[Path, Status, str]:
    saved = config.load(deps.paths, req.alias) or config.Profile(alias=req.alias)
    default_dir = deps.paths.key_dir(req.alias)
    if req.key_env and req.key_text is not None:
        key = keys.check_key_file(flows.key_from_text(req.key_text, req.key_env, req.alias, deps))
        cert_file = req.cert_file or (Path(saved.cert_file) if saved.cert_file else None)
        detail = f"key from ${req.key_env} written to {key.path}"
        status: Status = "done"
    else:
        key_file = req.key_file or (Path(saved.key_file) if saved.key_file else default_dir / keys.KEY_NAME)
        cert_file = req.cert_file or (Path(saved.cert_file) if saved.cert_file else key_file.parent / keys.CERT_NAME)
        if req.key_file is None and not key_file.exists():
            result = keys.keygen(
                keys.KeygenRequest(key_file.parent, req.bits, req.days, req.subject or f"/CN={req.alias}"), openssl
            )
            _remember(deps, req.alias, key_file=str(result.key_file), cert_file=str(result.cert_file))
            return result.key_file, "done", f"new key {result.key_file}, certificate {result.cert_file}"
        key = keys.check_key_file(key_file, openssl)
        if req.key_file is None and not cert_file.exists():
            keys.cert_for_key(key.path, cert_file, req.days, req.subject or f"/CN={req.alias}", openssl)
            detail, status = f"reusing {key.path}; new certificate {cert_file}", "done"
        else:
            detail, status = f"reusing {key.path}", "skipped"
    if cert_file is not None and cert_file.exists():
        info = keys.read_cert(cert_file)
        keys.check_pair(key, info, cert_file)
        detail += f" (certificate {cert_file} matches, fingerprint {info.fingerprint_sha256[:23]}…)"
        if info.not_after <= datetime.now(UTC):
            # A warning, not a failure: Salesforce keeps verifying JWTs with an app certificate past its
            # expiry, so the login works; doctor reports it, and it is worth renewing before a policy does.
            deps.console.warn(
                f"certificate {cert_file} expired on {info.not_after:%Y-%m-%d}; Salesforce still accepts it, but "
                f"renew it: sfjwt-orch keygen --alias {req.alias} --force, then upload the new server.crt"
            )
            detail += f"; expired on {info.not_after:%Y-%m-%d}"
    known_cert = str(cert_file) if cert_file is not None and cert_file.exists() else None
    _remember(deps, req.alias, key_file=str(key.path), cert_file=known_cert)
    return key.path, status, detail


def _remember(deps: Deps, alias: str, **values: str | None) -> None:
    saved = config.load(deps.paths, alias) or config.Profile(alias=alias)
    config.save(deps.paths, saved.merged(**values))


def _app(req: BootstrapRequest, deps: Deps, asker: Asker, key_file: Path) -> tuple[flows.LoginRequest, Status, str]:
    saved = config.load(deps.paths, req.alias) or config.Profile(alias=req.alias)
    profile = saved.merged(
        client_id=req.client_id, username=req.username, instance_url=req.instance_url, callback_url=req.callback_url
    )
    callback = approval.check_callback_url(profile.callback_url or approval.DEFAULT_CALLBACK)
    needed = [(flag, value) for flag, value in (("--client-id", profile.client_id), ("--username", profile.username))]
    missing = [flag for flag, value in needed if not value]
    asked = False
    if missing:
        if not req.can_prompt:
            raise SfjwtError(
                Code.USAGE,
                f"{' and '.join(missing)} needed, and there is no one to ask",
                f"pass {' and '.join(missing)} (and --instance-url), or run at a terminal without --no-input",
            )
        if not profile.client_id:
            cert = Path(profile.cert_file) if profile.cert_file else key_file.parent / keys.CERT_NAME
            fingerprint = keys.read_cert(cert).fingerprint_sha256 if cert.exists() else "n/a"
            deps.console.info(checklist(callback, cert, fingerprint))
            client_id = asker.ask("Consumer key", approval.check_client_id)
            _remember(deps, req.alias, client_id=client_id)
            profile = profile.merged(client_id=client_id)
        if not profile.username:
            username = asker.ask("Username to log in as (e.g. ci-bot@acme.com)", approval.check_username)
            _remember(deps, req.alias, username=username)
            profile = profile.merged(username=username)
        if not profile.instance_url:
            url = asker.ask(
                f"Login URL: 1) {approval.PRODUCTION}  2) {approval.SANDBOX}  or your My Domain URL",
                check_login_url,
                default="1",
            )
            _remember(deps, req.alias, instance_url=url)
            profile = profile.merged(instance_url=url)
        asked = True
    login_req = flows.LoginRequest(
        alias=req.alias,
        client_id=approval.check_client_id(profile.client_id),
        username=approval.check_username(profile.username),
        key_file=key_file,
        instance_url=approval.check_instance_url(profile.instance_url or approval.PRODUCTION),
        callback_url=callback,
        open_browser=req.open_browser,
        timeout=req.timeout,
        interval=req.interval,
        set_default=req.set_default,
        set_default_dev_hub=req.set_default_dev_hub,
    )
    _remember(
        deps,
        req.alias,
        client_id=login_req.client_id,
        username=login_req.username,
        instance_url=login_req.instance_url,
        callback_url=callback,
    )
    detail = f"client id {login_req.client_id[:8]}…, {login_req.username} at {login_req.instance_url}"
    return login_req, "done" if asked else "skipped", detail


def _display(deps: Deps, sf_exe: str, login_req: flows.LoginRequest) -> sf.OrgDisplay | sf.Diagnosis:
    env = sf.sf_env(deps.env, login_req.instance_url)
    return sf.parse_display(
        deps.runner.run(sf.display_argv(sf_exe, login_req.alias), timeout=sf.run_timeout(deps.env), env=env)
    )


def _login(login_req: flows.LoginRequest, deps: Deps, sf_exe: str, report: BootstrapReport) -> tuple[bool, Status, str]:
    saved = config.load(deps.paths, login_req.alias)
    if saved and saved.org_id:
        # Idempotent rerun: an alias sf still holds, for this user, needs no new login.
        current = _display(deps, sf_exe, login_req)
        if isinstance(current, sf.OrgDisplay) and current.connected and current.username == login_req.username:
            report.login = flows.LoginReport(
                alias=login_req.alias,
                username=current.username,
                org_id=current.org_id,
                instance_url=current.instance_url,
            )
            _apply_defaults(login_req, deps, sf_exe)
            return True, "skipped", f"sf already holds a working login for {login_req.alias}"
    report.login = flows.LoginReport(alias=login_req.alias, username=login_req.username)
    try:
        done = flows.login(login_req, deps)
    except SfjwtError as exc:
        report.login.attempts = int(exc.details.get("attempts") or 0)
        report.login.approval_url = exc.details.get("approval_url")
        raise
    report.login = done
    via = done.login_url or login_req.instance_url
    detail = f"{done.username} -> org {done.org_id} after {done.attempts} attempt(s) via {via}"
    return False, "done", detail


def _apply_defaults(login_req: flows.LoginRequest, deps: Deps, sf_exe: str) -> None:
    env = sf.sf_env(deps.env, login_req.instance_url)
    for wanted, key in ((login_req.set_default, "target-org"), (login_req.set_default_dev_hub, "target-dev-hub")):
        if wanted:
            result = deps.runner.run(
                sf.config_set_argv(sf_exe, key, login_req.alias), timeout=sf.run_timeout(deps.env), env=env
            )
            if result.returncode != 0:
                raise SfjwtError(
                    Code.SF_FAILED,
                    f"sf config set {key}={login_req.alias} failed",
                    f"run it yourself: sf config set {key}={login_req.alias} --global",
                )


def _verify(
    login_req: flows.LoginRequest, deps: Deps, sf_exe: str, report: BootstrapReport, already_verified: bool
) -> tuple[None, Status, str]:
    current = _display(deps, sf_exe, login_req) if not already_verified else None
    if isinstance(current, sf.Diagnosis):
        raise SfjwtError(current.code, current.message, current.fix)
    if current is not None and not current.connected:
        raise SfjwtError(
            Code.SF_FAILED,
            f"sf logged in, but sf org display says {current.status or 'not connected'}",
            f"check the org: sf org display --target-org {login_req.alias}",
        )
    login = report.login
    assert login is not None
    where = login.instance_url or login_req.instance_url
    extras = [
        label
        for flag, label in ((login_req.set_default, "default org"), (login_req.set_default_dev_hub, "default Dev Hub"))
        if flag
    ]
    return (
        None,
        "done",
        f"Connected: org {login.org_id} at {where}" + (f"; set as {', '.join(extras)}" if extras else ""),
    )


def _save(alias: str, deps: Deps) -> tuple[None, Status, str]:
    # The profile was saved as each step learnt something; this step names it and what comes next.
    return None, "done", f"profile {deps.paths.profile_file(alias)}"


def next_steps(alias: str) -> str:
    return (
        f"Next:\n  sfjwt-orch login --alias {alias}      # log in again, from the saved profile\n"
        f"  sfjwt-orch ci export {alias}        # the secrets and a workflow step for CI\n"
        f"  sf org display --target-org {alias}"
    )
