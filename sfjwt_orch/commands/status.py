"""sfjwt-orch status: flows.status -> a table (and JSON); exit 1 when any alias needs attention."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from sfjwt_orch.commands.options import JsonFlag, Verbose, context_of
from sfjwt_orch.errors import Document, Result
from sfjwt_orch.ui.console import cell

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.flows.status import StatusReport

HELP = """\
Every saved profile in one table: user, org, login URL, certificate days left, whether sf still
holds a working login (checked for all aliases at once), and the last successful login.

Exit 0 when all are healthy, 1 when any needs attention: sf holds no working login, the
certificate has expired or expires within 30 days, or the profile is incomplete (each says which).

\b
Examples:
  sfjwt-orch status
  sfjwt-orch status --json        # for monitoring scripts
"""


def run(tctx: typer.Context, json: JsonFlag = False, verbose: Verbose = False) -> Result:
    from sfjwt_orch.flows.status import status

    ctx = context_of(tctx, verbose)
    report = status(ctx)
    if json:
        _people_table(ctx, report)  # stdout holds the document: the table is for the person, on stderr
    else:
        _plain_table(ctx, report)  # the result, on stdout, one line per alias (issue 24 item 8)
    for skipped in report.skipped:
        ctx.console.warn(f"skipped: {skipped}")
    if not report.rows:
        ctx.console.info("No profiles yet: sfjwt-orch bootstrap --alias NAME")
    # The table says what needs attention; the error (CHECK_FAILED, exit 6) sums it up.
    return Document(report.to_json(), report.error(), said=True)


HEADERS = ["ALIAS", "USERNAME", "ORG", "LOGIN URL", "CERT DAYS", "SF LOGIN", "LAST LOGIN", "ATTENTION"]


def _plain_table(ctx: Context, report: StatusReport) -> None:
    """Aligned columns at a terminal, tab-separated rows in a pipe: never folded into broken cells."""
    from sfjwt_orch.commands.profiles import table

    if not report.rows:
        return
    cells = [
        [
            r.alias,
            r.username or "-",
            (r.org_id or "-") + (f" (refreshed; was {r.org_changed_from})" if r.org_changed_from else ""),
            r.login_url or "-",
            str(r.certificate_days_left) if r.certificate_days_left is not None else "-",
            "yes" if r.sf_login else "no",
            r.last_login[:16] or "-",
            "; ".join(r.problems) or "-",
        ]
        for r in report.rows
    ]
    ctx.console.out(table(HEADERS, cells, for_people=sys.stdout.isatty()))


def _people_table(ctx: Context, report: StatusReport) -> None:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("alias", "username", "org", "login URL", "cert days", "sf login", "last login", "attention"):
        table.add_column(column, overflow="fold")
    for r in report.rows:
        days = r.certificate_days_left
        colour = "red" if days is not None and days < 0 else "yellow" if days is not None and days < 30 else "green"
        table.add_row(
            cell(r.alias),
            cell(r.username or "-"),
            cell(r.org_id or "-") + (f" (refreshed; was {cell(r.org_changed_from)})" if r.org_changed_from else ""),
            cell(r.login_url or "-"),
            f"[{colour}]{days}[/]" if days is not None else "-",
            "[green]yes[/]" if r.sf_login else "[red]no[/]",
            cell(r.last_login[:16] or "-"),
            cell("; ".join(r.problems) or "-"),
        )
    ctx.console.err.print(table)
