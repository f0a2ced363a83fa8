"""app create: from "an admin is logged in to the org in sf" to a working JWT login, no Setup clicks.

Key pair (the alias's, or a new one) -> is the app there already? -> one metadata-API directory
(the app with the certificate, pre-authorized through a small gate permission set) -> deploy ->
assign the permission set to the integration user -> save the profile -> log in (waiting through
the org's propagation delay) -> verify. Where the org's rules are not settled (a consumer key the
deployer chooses; the order of the permission set and the policy naming it), both paths are built
and the org's answer picks one.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from shlex import quote
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, error_json
from sfjwt_orch.flows import app_deploy, login, login_request
from sfjwt_orch.flows.app_deploy import AppCreateRequest
from sfjwt_orch.flows.login import LoginReport
from sfjwt_orch.salesforce import metadata, validate
from sfjwt_orch.store import profiles, state
from sfjwt_orch.tools.sf import SfFailed


@dataclass
class AppReport:
    alias: str
    app_name: str
    kind: str
    client_id: str = ""
    consumer_key_source: str | None = None  # "chosen" | "read back"
    created: bool = False
    login: LoginReport | None = None
    files: list[str] = field(default_factory=list)  # --dry-run: what would be deployed
    commands: list[str] = field(default_factory=list)  # --dry-run: what would run
    error: SfjwtError | None = None  # how it failed (None: the app is there and logs in)
    failed_login: LoginReport | None = None  # the login that failed, when one did (its fields join the document)

    def to_json(self) -> dict[str, Any]:
        error = self.error
        doc: dict[str, Any] = {
            "ok": error is None,
            "alias": self.alias,
            "app_name": self.app_name,
            "kind": self.kind,
            "client_id": self.client_id or None,
            "consumer_key_source": self.consumer_key_source,
            "created": self.created,
            "login": self.login.to_json() if self.login else None,
            **(self.failed_login.beside() if self.failed_login else {}),
            "error": error_json(error),
        }
        if self.files or self.commands:
            doc.update(dry_run=True, files=self.files, commands=self.commands)
        return doc


def create(req: AppCreateRequest, ctx: Context) -> AppReport:
    """The report of what was made; its `error` says where it failed."""
    report = AppReport(req.alias, req.name, req.kind)
    try:
        _create(req, ctx, report)
    except SfjwtError as exc:
        report.error = exc
    return report


def _create(req: AppCreateRequest, ctx: Context, report: AppReport) -> None:
    if req.dry_run:
        _dry_run(req, ctx, report)
        return
    org_url, key_file = provision(req, ctx, report)
    _log_in(req, report, org_url, key_file, ctx)


def provision(req: AppCreateRequest, ctx: Context, report: AppReport) -> tuple[str, Path]:
    """Everything before the login (bootstrap --target-org runs this as its app step): the app in
    the org, its permission set on the user, the profile saved. Returns (the org's URL, the key)."""
    org_url = app_deploy.admin_org_url(req.target_org, ctx, offline=False)
    key_file, cert_file = app_deploy.key_pair(req.alias, ctx)
    known = state.load(ctx.paths, req.alias)
    saved = profiles.load_or_new(ctx.paths, req.alias)
    if app_deploy.exists(req, ctx):
        if known.app_name == req.name and saved.client_id:
            ctx.console.info(f"The app {req.name} exists already (sfjwt-orch made it): checking the login only.")
            report.client_id = saved.client_id
        elif app_deploy.made_by_us(req, ctx):
            ctx.console.info(f"The app {req.name} exists already (made by sfjwt-orch elsewhere): reading its key.")
            report.client_id = app_deploy.read_back_key(_app_metadata(req, cert_file), req.target_org, ctx)
            report.consumer_key_source = "read back"
            _assign(req, ctx)
        else:
            raise app_deploy.app_exists(req)
    else:
        app = _app_metadata(req, cert_file)
        report.client_id, report.consumer_key_source = app_deploy.deploy(app, req.target_org, ctx)
        report.created = True
        ctx.console.success(f"Deployed {req.name} to {req.target_org} (consumer key {report.consumer_key_source}).")
        _assign(req, ctx)
    _remember(req, report, org_url, key_file, cert_file, ctx)
    return org_url, key_file


def _app_metadata(req: AppCreateRequest, cert_file: Path) -> metadata.AppMetadata:
    return metadata.AppMetadata(
        name=req.name,
        permission_set=req.permission_set,
        certificate_pem=cert_file.read_text(encoding="utf-8"),
        callback_url=validate.DEFAULT_CALLBACK,
        contact_email=req.username,
        consumer_key=metadata.new_consumer_key(),
        kind=req.kind,
    )


def _assign(req: AppCreateRequest, ctx: Context) -> None:
    try:
        outcome = ctx.sf().assign_permset(req.permission_set, req.username, req.target_org)
    except SfFailed as failed:
        fix = f"assign it yourself: sf org assign permset --name {quote(req.permission_set)} --on-behalf-of "
        fix += f"{quote(req.username)} --target-org {quote(req.target_org)}"
        if failed.code is Code.INTEGRATION_USER_NOT_FOUND:
            message = f"{req.username} is not a user of the org behind {req.target_org}"
            fix = "check --username: it must be an active user of that org (Setup > Users)"
        else:
            message = f"could not assign {req.permission_set} to {req.username}: {failed.message}"
        code = failed.code if failed.code is Code.INTEGRATION_USER_NOT_FOUND else Code.PERMSET_ASSIGN_FAILED
        raise failed.unless_local(SfjwtError(code, message, fix)) from None
    already = " (it had it already)" if outcome.already else ""
    ctx.console.success(f"Assigned {req.permission_set} to {req.username}{already}.")


def _remember(
    req: AppCreateRequest, report: AppReport, org_url: str, key_file: Path, cert_file: Path, ctx: Context
) -> None:
    saved = profiles.load_or_new(ctx.paths, req.alias)
    profiles.save(
        ctx.paths,
        saved.merged(
            profiles.Profile(
                req.alias,
                client_id=report.client_id,
                username=req.username,
                instance_url=org_url,
                key_file=str(key_file),
                cert_file=str(cert_file),
            )
        ),
    )
    known = state.load(ctx.paths, req.alias)
    created = datetime.now(UTC).isoformat(timespec="seconds") if report.created else known.app_created_at
    known = known.with_(app_name=req.name, app_kind=req.kind, admin_org=req.target_org, app_created_at=created)
    problem = state.save(ctx.paths, known)  # app_created_at: the login waits for a new app (flows.login)
    if problem:
        ctx.console.warn(f"could not record the app in sfjwt-orch's state file ({problem})")


def _log_in(req: AppCreateRequest, report: AppReport, org_url: str, key_file: Path, ctx: Context) -> None:
    """The integration user's login, then sf's view of it: report.login once both worked."""
    answers = profiles.Profile(req.alias, client_id=report.client_id, username=req.username, instance_url=org_url)
    profile = profiles.load_or_new(ctx.paths, req.alias).merged(answers)
    login_req = login_request.login_request(profile, key_file, req.wait)
    # Only a deploy of this run makes a new app; a rerun's app reached every server long ago.
    spread = " (a new app takes a few minutes to reach every server)" if report.created else ""
    ctx.console.info(f"Logging in as the integration user{spread}.")
    done = login.log_in(login_req, ctx)
    if done.error is not None:
        report.failed_login = done
        raise done.error
    login.remember(login_req, done, ctx)
    try:
        current = ctx.sf().display(req.alias)
        status = "" if current.connected else current.status or "not connected"
    except SfFailed as failed:
        status = failed.message  # said in our words below: sf did log in a moment ago
    if status:
        raise SfjwtError(
            Code.SF_FAILED,
            f"sf logged in, but sf org display says {status}",
            f"check the org: sf org display --target-org {req.alias}",
        )
    report.login = done


def _dry_run(req: AppCreateRequest, ctx: Context, report: AppReport) -> None:
    app_deploy.admin_org_url(req.target_org, ctx, offline=True)  # a missing admin alias is said now, not at the deploy
    _, cert_file = app_deploy.key_pair(req.alias, ctx, save=False)
    app = _app_metadata(req, cert_file)
    folder = req.output_dir or Path(tempfile.mkdtemp(prefix="sfjwt-orch-app-"))
    written = metadata.write(folder, app.files())
    report.files = [str(p) for p in written]
    report.client_id = app.consumer_key or ""
    report.consumer_key_source = "chosen"
    report.commands = app_deploy.planned_commands(req, folder)
    ctx.console.info(f"Wrote the app's metadata to {folder} ({len(written)} files); nothing was deployed.")
    for command in report.commands:
        ctx.console.info(f"  {command}")
