"""sfjwt-orch ci export: options -> flows.ci_export -> the CI file (printed or written) or JSON."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sfjwt_orch.commands.options import JsonFlag, complete_alias, context_of, failed_as, guarded
from sfjwt_orch.errors import Document, Result, usage

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.flows import ci_export
    from sfjwt_orch.flows.ci_export import Export


class CiFormat(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    ENV = "env"


FORMATS: dict[CiFormat, ci_export.Format] = {CiFormat.GITHUB: "github", CiFormat.GITLAB: "gitlab", CiFormat.ENV: "env"}

app = typer.Typer(help="Use profiles from CI.", no_args_is_help=True)

EXPORT_HELP = """\
Write a complete CI job that logs in as a profile, or a matrix job over many.

For one alias: a GitHub Actions workflow or a GitLab CI job that sets up Node and Python, installs
the pinned sf and sfjwt-orch (from --pip-spec, in a step that sees no secret), logs in with
`sfjwt-orch login --key-env`, runs `sf org display` and logs out. With --all or --aliases: one
matrix job over the aliases, each reading its own secret SF_JWT_KEY_<ALIAS>, split into several
jobs past the CI system's matrix limit. The file names the secrets it needs, never their values.
It is printed, or written to --output FILE. The key itself (base64) is printed only with
--include-key, apart from the file: paste it into your CI's secret store, never into a file.

\b
Examples:
  sfjwt-orch ci export my-hub-org --pip-spec sfjwt-orch==0.1.0
  sfjwt-orch ci export --all --format gitlab --pip-spec git+https://github.com/acme/sfjwt-orch@v0.1.0 -o .gitlab-ci.yml
  sfjwt-orch ci export my-hub-org --format env --include-key
"""


@app.command("export", help=EXPORT_HELP)
def export(
    tctx: typer.Context,
    alias: str | None = typer.Argument(
        None, help="The alias to export (or use --all / --aliases).", autocompletion=complete_alias
    ),
    all_: bool = typer.Option(False, "--all", help="A matrix job over every complete profile."),
    aliases: str | None = typer.Option(None, "--aliases", help="A matrix job over these aliases: a,b,c."),
    fmt: Annotated[
        CiFormat, typer.Option("--format", help="github, gitlab or env (NAME=value lines, one alias).")
    ] = CiFormat.GITHUB,
    pip_spec: str | None = typer.Option(
        None,
        "--pip-spec",
        help="Where the job pip-installs sfjwt-orch from, pinned: sfjwt-orch==X.Y.Z once a release is on PyPI "
        "(none is yet), else a wheel URL, git+https://...@<tag or commit> or a wheel path. Required for github and "
        "gitlab.",
    ),
    sf_version: str | None = typer.Option(
        None, "--sf-version", help="The sf version the job installs. [default: the one sfjwt-orch is tested with]"
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the file here (through a temp file) instead of printing it."
    ),
    force: bool = typer.Option(False, "--force", help="Let --output replace a file sfjwt-orch did not write."),
    include_key: bool = typer.Option(
        False, "--include-key", help="Also print the private key(s), base64-encoded, apart from the file."
    ),
    oidc: bool = typer.Option(
        False, "--oidc", help="A keyless job: log in with the CI job's identity token (after sfjwt-orch trust)."
    ),
    json: JsonFlag = False,
) -> Result | None:
    from sfjwt_orch.ci.plan import SF_VERSION
    from sfjwt_orch.flows import ci_export

    ctx = context_of(tctx)
    chosen: ci_export.Format = FORMATS[fmt]
    names = tuple(a.strip() for a in aliases.split(",")) if aliases is not None else None
    req = ci_export.Request(chosen, alias=alias, aliases=names, all=all_, include_key=include_key, pip_spec=pip_spec,
                            sf_version=sf_version or SF_VERSION, output=output, force=force, oidc=oidc)  # fmt: skip

    def body() -> Result:
        if sum((alias is not None, all_, names is not None)) != 1:
            raise usage("name one alias, or pass --all or --aliases a,b,c", "e.g. sfjwt-orch ci export my-hub-org")
        if names is not None and (not all(names) or len(set(names)) != len(names)):
            raise usage(f"--aliases {aliases!r} has an empty or repeated alias", "pass --aliases a,b,c")
        done = ci_export.export(req, ctx)
        _show(ctx, done, json=json)
        # Unredacted only when the user asked for the key: then it is the document's point.
        return Document(done.to_json(), keep_tokens=bool(done.keys))

    return guarded(failed_as(ci_export.failure_shape(req)), body)


def _show(ctx: Context, done: Export, *, json: bool) -> None:
    for skip in done.skipped:
        ctx.console.warn(f"skipped {skip['alias']}: {skip['reason']}")
    for warning in done.warnings:  # written anyway: the user may fix the profile before the job runs
        ctx.console.warn(f"a pipeline cannot use this as it is: {warning}")
    if done.keys:
        ctx.console.warn(
            "The output contains the PRIVATE KEY (last, apart from the CI file). Paste it into your CI secret "
            "store only, never into a file; clear your terminal scrollback afterwards."
        )
    if json:  # the document is the result (the boundary prints it)
        return
    if done.output is None:
        ctx.console.out(done.text)
    else:
        ctx.console.info(f"Wrote {done.output} (job {', '.join(done.jobs)}).")
    secrets = done.to_json()["secrets"]  # none for a keyless (--oidc) job
    if done.fmt != "env" and secrets:
        ctx.console.info("Secrets it needs: " + ", ".join(s["name"] for s in secrets))
        if done.keys:
            values = "".join(f"{name}={value}\n" for name, value in done.keys.items())
            ctx.console.out(f"# ---- the secret values: for the CI secret store only, never a file ----\n{values}")
