"""sfjwt-orch trust github|gitlab: options -> TrustRequest -> flows.trust -> output."""

from __future__ import annotations

from pathlib import Path

import typer

from sfjwt_orch.commands.options import Alias, JsonFlag, Verbose, context_of, guarded
from sfjwt_orch.errors import Result, usage
from sfjwt_orch.salesforce import validate

app = typer.Typer(
    help="Let CI jobs log in with their provider's identity token: no key, no secret.", no_args_is_help=True
)

_HELP = """\
Trust {who}'s identity tokens for one user of the org: keyless CI (OAuth 2.0 token exchange).

From an admin login that sf already holds, one deploy makes (or updates) an External Client App
with token exchange on and no secret, an Apex handler generated from the bound claims with its
test class, the handler's enablement for the app, the issuer's Remote Site Setting and a gate
permission set, assigned to --username. The handler accepts a token only when its signature
verifies against the issuer's published keys, and its issuer, audience (this org's URL), expiry
and the bound claims hold; it maps every accepted token to --username. No key pair is made.
Rerun with another {flag} to trust one more; --remove withdraws one.

\b
Examples:
  sfjwt-orch trust {name} --alias ci --target-org admin --username ci-bot@acme.com {flag} {example}
  sfjwt-orch trust {name} --alias ci --target-org admin --username ci-bot@acme.com {flag} {example} \\
      --environment production --ref refs/heads/main
  sfjwt-orch trust {name} --alias ci --target-org admin --username ci-bot@acme.com {flag} {example} --remove
Then in the job: sfjwt-orch login --alias ci --oidc {name} --client-id KEY --instance-url URL
"""


def _run(
    provider: str,
    tctx: typer.Context,
    alias: str,
    target_org: str,
    username: str,
    subject: str,
    environment: str | None,
    ref: str | None,
    issuer: str | None,
    name: str | None,
    remove: bool,
    dry_run: bool,
    output_dir: Path | None,
    json: bool,
    verbose: bool,
) -> Result | None:
    from sfjwt_orch.flows import trust
    from sfjwt_orch.keyless import spec
    from sfjwt_orch.salesforce import metadata
    from sfjwt_orch.store.paths import check_alias

    ctx = context_of(tctx, verbose)
    chosen = spec.Provider(provider)
    app_name = name or metadata.default_app_name(alias)

    def body() -> Result:
        check_alias(alias)
        if output_dir is not None and not dry_run:
            raise usage("--output-dir goes with --dry-run", "add --dry-run, or drop --output-dir")
        request = trust.TrustRequest(
            alias=alias,
            target_org=target_org,
            username=validate.check_username(username),
            provider=chosen,
            binding=spec.binding(chosen, subject, ref, environment),
            issuer=spec.check_issuer(issuer or spec.DEFAULT_ISSUER[chosen]),
            app_name=metadata.check_name(app_name, "--name"),
            permission_set=metadata.check_name(f"{app_name}_Jwt"[:80], "--name"),
            remove=remove,
            dry_run=dry_run,
            output_dir=output_dir.expanduser().resolve() if output_dir else None,
        )
        report = trust.trust(request, ctx)
        if not dry_run and report.error is None:
            verb = "no longer trusts" if remove else "trusts"
            ctx.console.success(
                f"{target_org} {verb} {subject} ({provider}); CI logs in as {username} through {app_name}."
            )
            ctx.console.info(
                f"In the job: sfjwt-orch login --alias {alias} --oidc {provider} --client-id {report.client_id} "
                f"--instance-url {report.login_url}"
            )
        return report

    return guarded(lambda error: trust.TrustReport(alias, app_name, error=error), body)


_TARGET = typer.Option(..., "--target-org", help="An admin's org alias that sf already knows.")
_USER = typer.Option(..., "--username", help="The org user every trusted CI job logs in as.")
_ENV = typer.Option(None, "--environment", help="Only jobs in this deployment environment (the environment claim).")
_REF = typer.Option(None, "--ref", help="Only jobs on this Git ref (the ref claim), e.g. refs/heads/main.")
_ISSUER = typer.Option(
    None, "--issuer", help="The issuer (GitHub Enterprise Server, self-managed GitLab, a rehearsal)."
)
_NAME = typer.Option(None, "--name", help="The app's API name. [default: SfjwtOrch_<alias>]")
_REMOVE = typer.Option(False, "--remove", help="Withdraw the trust of this repository or project.")
_DRY = typer.Option(False, "--dry-run", help="Write the package; deploy nothing.")
_OUT = typer.Option(None, "--output-dir", help="With --dry-run: where to write the package.")


@app.command(
    "github",
    help=_HELP.format(who="GitHub Actions", name="github", flag="--repo", example="acme/salesforce-app"),
)
def github(
    tctx: typer.Context,
    alias: Alias,
    target_org: str = _TARGET,
    username: str = _USER,
    repo: str = typer.Option(..., "--repo", help="The repository whose jobs may log in: OWNER/NAME."),
    environment: str | None = _ENV,
    ref: str | None = _REF,
    issuer: str | None = _ISSUER,
    name: str | None = _NAME,
    remove: bool = _REMOVE,
    dry_run: bool = _DRY,
    output_dir: Path | None = _OUT,
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    return _run("github", tctx, alias, target_org, username, repo, environment, ref, issuer, name, remove, dry_run,
         output_dir, json, verbose)  # fmt: skip


@app.command(
    "gitlab",
    help=_HELP.format(who="GitLab CI", name="gitlab", flag="--project", example="acme/salesforce-app"),
)
def gitlab(
    tctx: typer.Context,
    alias: Alias,
    target_org: str = _TARGET,
    username: str = _USER,
    project: str = typer.Option(..., "--project", help="The project whose jobs may log in: GROUP/NAME."),
    environment: str | None = _ENV,
    ref: str | None = _REF,
    issuer: str | None = _ISSUER,
    name: str | None = _NAME,
    remove: bool = _REMOVE,
    dry_run: bool = _DRY,
    output_dir: Path | None = _OUT,
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    return _run("gitlab", tctx, alias, target_org, username, project, environment, ref, issuer, name, remove, dry_run,
         output_dir, json, verbose)  # fmt: skip
