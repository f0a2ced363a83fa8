"""sfjwt-orch ci export: options -> flows.ci_export -> the snippet (or JSON)."""

from __future__ import annotations

import typer

from sfjwt_orch.commands.options import complete_alias, context_of, json_option, json_shape

app = typer.Typer(help="Use a profile from CI.", no_args_is_help=True)

EXPORT_HELP = """\
Print what a pipeline needs to log in as this profile, and a ready-to-paste step.

Prints the client id, username and instance URL as secrets/variables, and a workflow step that
installs sf and sfjwt-orch and runs `sfjwt-orch login --key-env SF_JWT_KEY`. The key itself
(base64) is printed only with --include-key: paste it into your CI's secret store, never a file.

\b
Examples:
  sfjwt-orch ci export my-hub-org
  sfjwt-orch ci export my-hub-org --format gitlab --include-key
"""


@app.command("export", help=EXPORT_HELP)
def export(
    tctx: typer.Context,
    alias: str = typer.Argument(..., help="The alias to export.", autocompletion=complete_alias),
    fmt: str = typer.Option("github", "--format", help="github, gitlab or env."),
    include_key: bool = typer.Option(
        False, "--include-key", help="Also print the private key, base64-encoded, apart from the snippet."
    ),
    pip_spec: str = typer.Option(
        "$SFJWT_ORCH_PIP_SPEC",
        "--pip-spec",
        help="What the step pip-installs sfjwt-orch from (a wheel URL or git+https://...); it is not on PyPI.",
    ),
    json: bool = json_option(),
) -> None:
    from sfjwt_orch.errors import usage
    from sfjwt_orch.flows import ci_export

    ctx = context_of(tctx)
    with json_shape(lambda exc: {"alias": alias, "format": fmt, "variables": None, "snippet": None}):
        chosen = next((f for f in ci_export.FORMATS if f == fmt), None)
        if chosen is None:
            raise usage(f"--format {fmt!r} is not known", "use --format github, gitlab or env")
        done = ci_export.export(alias, chosen, ctx, include_key=include_key, pip_spec=pip_spec)
    if include_key:
        ctx.console.warn(
            "The output contains the PRIVATE KEY (last, apart from the snippet). Paste it into your CI secret "
            "store only, never into a file; clear your terminal scrollback afterwards."
        )
    if json:
        ctx.console.emit_json(done.to_json())
        return
    ctx.console.out(done.snippet)
