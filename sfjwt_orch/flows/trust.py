"""trust github|gitlab: the org accepts a CI job's identity token for one user, with no key anywhere.

The alias's trust spec (keyless/spec.py, kept in the data dir beside the state) gains or loses one
binding; one deploy through app create's deploy path (flows/app_deploy.py) makes or updates the
External Client App (token exchange on, no secret), the handler generated from the spec and its
test class (RunSpecifiedTests), the OauthTokenExchangeHandler enabling it for the app, the
issuer's Remote Site Setting and the gate permission set; the permission set is assigned to the CI
user (pre-authorization); the profile is saved. No key pair is made.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, error_json, usage
from sfjwt_orch.flows import app_create, app_deploy
from sfjwt_orch.keyless.package import TrustPackage
from sfjwt_orch.keyless.spec import Binding, Provider, TrustSpec, from_json
from sfjwt_orch.salesforce import metadata
from sfjwt_orch.store import files, profiles, state


@dataclass(frozen=True)
class TrustRequest:
    alias: str
    target_org: str
    username: str
    provider: Provider
    binding: Binding
    issuer: str
    app_name: str
    permission_set: str
    remove: bool = False
    dry_run: bool = False
    output_dir: Path | None = None


@dataclass
class TrustReport:
    alias: str
    app_name: str
    client_id: str = ""
    login_url: str = ""
    issuer: str = ""
    bound_claims: list[dict[str, str]] = field(default_factory=list)
    created: bool = False
    files: list[str] = field(default_factory=list)
    error: SfjwtError | None = None  # how it failed (None: the org trusts the CI jobs named)

    def to_json(self) -> dict[str, Any]:
        error = self.error
        doc: dict[str, Any] = {
            "ok": error is None,
            "alias": self.alias,
            "app_name": self.app_name,
            "client_id": self.client_id or None,
            "login_url": self.login_url or None,
            "issuer": self.issuer or None,
            "bound_claims": self.bound_claims,
            "created": self.created,
            "error": error_json(error),
        }
        if self.files:
            doc.update(dry_run=True, files=self.files)
        return doc


def spec_file(ctx: Context, alias: str) -> Path:
    return ctx.paths.data_dir / "trust" / f"{alias}.json"


def _saved_spec(ctx: Context, alias: str) -> TrustSpec | None:
    path = spec_file(ctx, alias)
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SfjwtError(
            Code.PROFILE_INVALID,
            f"the trust record {path} cannot be read ({exc})",
            f"move it aside and rerun sfjwt-orch trust for each repository the alias {alias} trusts",
        ) from None


def _spec(req: TrustRequest, ctx: Context, audience: str) -> tuple[TrustSpec, bool]:
    saved = _saved_spec(ctx, req.alias)
    if saved is not None and saved.provider is not req.provider:
        raise usage(
            f"the alias {req.alias} trusts {saved.provider.value} already, not {req.provider.value}",
            "use another --alias for the other CI provider",
        )
    base = TrustSpec(req.provider, req.issuer, audience, req.username, saved.bindings if saved else ())
    if req.remove:
        spec, changed = base.without(req.binding.subject)
        if not changed:
            raise usage(
                f"the alias {req.alias} does not trust {req.binding.subject}",
                f"see what it trusts: sfjwt-orch trust {req.provider.value} --alias {req.alias} ... --dry-run",
            )
        return spec, True
    spec, changed = base.with_binding(req.binding)
    return spec, changed or saved != spec


def trust(req: TrustRequest, ctx: Context) -> TrustReport:
    """The report of what was deployed; its `error` says where it failed."""
    report = TrustReport(req.alias, req.app_name, issuer=req.issuer)
    try:
        _trust(req, ctx, report)
    except SfjwtError as exc:
        report.error = exc
    return report


def _trust(req: TrustRequest, ctx: Context, report: TrustReport) -> None:
    admin = app_deploy.admin_org(req.target_org, ctx, offline=req.dry_run)  # one sf org display for both
    org_url = admin.url
    report.login_url = org_url
    spec, _ = _spec(req, ctx, org_url)
    report.bound_claims = [b.to_json() for b in spec.bindings]
    saved = profiles.load_or_new(ctx.paths, req.alias)
    as_app = app_deploy.AppCreateRequest(req.alias, req.target_org, req.username, req.app_name, req.permission_set)
    if req.dry_run:
        package = _package(req, spec, saved, executor=admin.username, key=None)
        folder = req.output_dir or Path(tempfile.mkdtemp(prefix="sfjwt-orch-trust-"))
        report.files = [str(p) for p in metadata.write(folder, package.files())]
        ctx.console.info(f"Wrote the trust package to {folder} ({len(report.files)} files); nothing was deployed.")
        return
    key = _existing_key(req, as_app, saved, ctx)
    report.created = key is None
    package = _package(req, spec, saved, executor=_execution_user(req, admin), key=key)
    outcome = app_deploy.deploy_files(package.files(), req.target_org, ctx, (package.test_class,))
    if not outcome.ok:
        problems = "; ".join(str(p) for p in outcome.problems)
        raise SfjwtError(
            Code.DEPLOY_FAILED,
            f"the org refused the trust package: {problems}",
            "fix what the message names (see the package with --dry-run --output-dir DIR), then rerun",
        )
    report.client_id = package.consumer_key or app_deploy.read_back_key(_app_view(req), req.target_org, ctx)
    ctx.console.success(f"Deployed {req.app_name} with the handler {package.handler} to {req.target_org}.")
    app_create._assign(as_app, ctx)
    _remember(req, spec, report, ctx)


def _existing_key(
    req: TrustRequest, as_app: app_deploy.AppCreateRequest, saved: profiles.Profile, ctx: Context
) -> str | None:
    """The app's consumer key when the org has the app already (ours), None when it has none."""
    if not app_deploy.exists(as_app, ctx):
        return None
    known = state.load(ctx.paths, req.alias)
    if known.app_name == req.app_name and saved.client_id:
        return saved.client_id
    if app_deploy.made_by_us(as_app, ctx):
        return app_deploy.read_back_key(_app_view(req), req.target_org, ctx)
    raise app_deploy.app_exists(as_app)


def _app_view(req: TrustRequest) -> metadata.AppMetadata:
    return metadata.AppMetadata(req.app_name, req.permission_set, "", "", req.username, None)


def _package(
    req: TrustRequest, spec: TrustSpec, saved: profiles.Profile, *, executor: str, key: str | None
) -> TrustPackage:
    certificate = ""
    if saved.cert_file and Path(saved.cert_file).expanduser().is_file():
        certificate = Path(saved.cert_file).expanduser().read_text(encoding="utf-8")  # app create's JWT login stays
    return TrustPackage(
        app_name=req.app_name,
        permission_set=req.permission_set,
        spec=spec,
        execution_user=executor,
        consumer_key=key or metadata.new_consumer_key(),
        certificate_pem=certificate,
        app_exists=key is not None,
    )


def _execution_user(req: TrustRequest, admin: app_deploy.AdminOrg) -> str:
    """The handler's execution user: the admin who trusts (sf's login for --target-org)."""
    if not admin.username:
        raise SfjwtError(
            Code.ADMIN_ORG_NOT_FOUND,
            f"sf could not say who is logged in as {req.target_org}",
            f"check it: sf org display --target-org {req.target_org}",
        )
    return admin.username


def _remember(req: TrustRequest, spec: TrustSpec, report: TrustReport, ctx: Context) -> None:
    saved = profiles.load_or_new(ctx.paths, req.alias)
    profiles.save(
        ctx.paths,
        saved.merged(
            profiles.Profile(
                req.alias,
                client_id=report.client_id,
                username=req.username,
                instance_url=report.login_url,
                oidc_provider=req.provider.value,
                oidc_issuer=req.issuer,
            )
        ),
    )
    path = spec_file(ctx, req.alias)
    files.ensure_private_dir(path.parent)
    files.atomic_write(path, json.dumps(spec.to_json(), indent=2, sort_keys=True) + "\n")
    known = state.load(ctx.paths, req.alias)
    created = datetime.now(UTC).isoformat(timespec="seconds") if report.created else known.app_created_at
    known = known.with_(app_name=req.app_name, app_kind="eca", admin_org=req.target_org, app_created_at=created)
    problem = state.save(ctx.paths, known)
    if problem:
        ctx.console.warn(f"could not record the app in sfjwt-orch's state file ({problem})")
