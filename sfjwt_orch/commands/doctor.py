"""sfjwt-orch doctor: options -> flows.doctor -> a table (and JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sfjwt_orch.commands.options import JsonFlag, Verbose, complete_alias, context_of, failed_as, guarded
from sfjwt_orch.errors import Document, Result
from sfjwt_orch.ui.console import cell

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.flows.doctor import DoctorReport

HELP = """\
Check everything a JWT login depends on, with the fix for each problem.

sf and openssl present, and sf on a Node its HTTP client accepts; the key exists, is mode 0600,
is an unencrypted RSA key of 2048+ bits and matches the certificate; the certificate has not
expired (warns under 30 days); the instance URL is https and not a Lightning domain (with sandbox
hints); the profile is complete; and sf still holds a working login for the alias.
Exit 0 when nothing fails, 6 otherwise (CHECK_FAILED).

\b
Examples:
  sfjwt-orch doctor
  sfjwt-orch doctor --alias my-hub-org --json
"""


def run(
    tctx: typer.Context,
    alias: str | None = typer.Option(
        None, "--alias", "-a", help="Check this alias's profile, key and sf login.", autocompletion=complete_alias
    ),
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    ctx = context_of(tctx, verbose)

    def body() -> Result:
        from sfjwt_orch.flows.doctor import diagnose
        from sfjwt_orch.store.paths import check_alias

        if alias is not None:
            check_alias(alias)
        report = diagnose(alias, ctx)
        _said(ctx, report, json=json)
        # The checks say what failed, each with its fix; the error (CHECK_FAILED, exit 6) sums them up.
        return Document(report.to_json(), report.error(), said=True)

    return guarded(failed_as({"alias": alias, "checks": []}), body)


def _said(ctx: Context, report: DoctorReport, *, json: bool) -> None:
    # One check per line, not a table: a table folds a long path or fingerprint mid-word to fit
    # its column (issue 14). The checks are the result: on stdout, plain (issue 24 item 8); with
    # --json stdout holds the document, so the person's coloured lines go to stderr.
    width = max((len(c.name) for c in report.checks), default=0)
    if not json:
        lines = []
        for c in report.checks:
            lines.append(f"{c.result}  {c.name.ljust(width)}  {c.detail}\n")
            if c.fix and c.result != "pass":
                lines.append(f"{' ' * (width + 8)}fix: {c.fix}\n")
        ctx.console.out("".join(lines))
    style = {"pass": "[green]pass[/]", "warn": "[yellow]warn[/]", "fail": "[red]fail[/]"}
    for c in report.checks if json else ():
        ctx.console.err.print(f"{style[c.result]}  {cell(c.name.ljust(width))}  {cell(c.detail)}")
        if c.fix and c.result != "pass":
            ctx.console.err.print(f"{' ' * (width + 8)}[cyan]fix:[/] {cell(c.fix)}")
    counts = report.counts()
    summary = f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed"
    (ctx.console.success if report.ok else ctx.console.warn)(summary)
