"""ci export ALIAS --oidc: the keyless CI job for an alias `trust` set up (issue 23), with no secret.

The alias's profile gives the app and the org (consumer key, login URL, provider), the trust record
(flows/trust.py) the bound environment; the file is written as ci export writes its others.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfjwt_orch.ci import github, oidc, plan, text
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, usage
from sfjwt_orch.flows import ci_export, trust
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import profiles


@dataclass(frozen=True)
class OidcExport:
    """The same shape as ci_export.Export where the command reads it; no secret, no key."""

    fmt: str
    alias: str
    text: str
    jobs: list[str]
    output: Path | None
    keys: dict[str, str] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # ci export's warnings (none checked for a keyless job yet)

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "alias": self.alias, "aliases": [self.alias], "format": self.fmt, "oidc": True,
                "output": str(self.output) if self.output else None, "jobs": self.jobs, "variables": None,
                "secrets": [], "skipped": [], "warnings": self.warnings, "snippet": self.text}  # fmt: skip


def export(req: ci_export.Request, ctx: Context) -> OidcExport:
    if req.fleet or req.fmt == "env" or req.include_key:
        raise usage("--oidc writes one keyless job for one alias", "pass one alias and --format github or gitlab")
    alias = req.alias or ""
    profile = profiles.load(ctx.paths, alias)
    fix = f"trust the repository first, as an admin: sfjwt-orch trust {req.fmt} --alias {alias} …"
    if profile is None or not (profile.client_id and profile.instance_url and profile.oidc_provider):
        raise SfjwtError(Code.PROFILE_NOT_FOUND, f"the alias {alias!r} is not set up for keyless CI", fix)
    if profile.oidc_provider != req.fmt:
        raise usage(
            f"the alias {alias!r} trusts {profile.oidc_provider}, not {req.fmt}",
            f"pass --format {profile.oidc_provider}",
        )
    job = oidc.OidcJob(
        alias=alias,
        client_id=validate.check_client_id(profile.client_id),
        instance_url=profile.instance_url,
        pip_spec=plan.check_pip_spec(req.pip_spec, req.fmt),
        sf_version=plan.check_sf_version(req.sf_version),
        environment=_bound_environment(ctx, alias),
    )
    argv = ["sfjwt-orch", "ci", "export", alias, "--oidc", "--format", req.fmt, "--pip-spec", job.pip_spec]
    regenerate = shlex.join(argv + (["--output", str(req.output)] if req.output else []))

    if req.fmt == "github":
        body = text.dump(oidc.github_workflow(job), oidc.header(job, req.fmt, regenerate), github.RELEASES)
    else:
        body = text.dump(oidc.gitlab_pipeline(job), oidc.header(job, req.fmt, regenerate))
    if req.output is not None:
        ci_export.write_output(req.output, body, force=req.force)
    return OidcExport(req.fmt, alias, body, [plan.JOB], req.output)


def _bound_environment(ctx: Context, alias: str) -> str | None:
    """The one environment every binding names (the job runs in it), else none."""
    try:
        doc = json.loads(trust.spec_file(ctx, alias).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    named = {b.get("environment") for b in doc.get("bindings", []) if isinstance(b, dict)}
    return named.pop() if len(named) == 1 and None not in named else None
