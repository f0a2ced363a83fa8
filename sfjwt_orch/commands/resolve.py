"""sfjwt-orch resolve URL: the login URL and JWT audience sf will use for what a person pasted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sfjwt_orch.commands.options import JsonFlag, context_of, failed_as, guarded
from sfjwt_orch.errors import Document, Result

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.salesforce.login_urls import Resolved

HELP = """\
Turn any Salesforce URL you paste into the login URL to use, and the JWT audience sf signs for it.

Takes a Lightning URL, a Setup URL, an instance URL, a My Domain, a sandbox My Domain, or the
words login / test. Since Spring '26 an External Client App refuses the generic audiences
(login.salesforce.com, test.salesforce.com): log in through the org's My Domain.

\b
Examples:
  sfjwt-orch resolve https://acme.lightning.force.com/lightning/page/home
  sfjwt-orch resolve acme--uat.sandbox.my.salesforce-setup.com --json
"""


def run(
    tctx: typer.Context,
    url: str = typer.Argument(..., help="The URL (or login / test) to resolve."),
    json: JsonFlag = False,
) -> Result | None:
    from sfjwt_orch.salesforce import login_urls

    ctx = context_of(tctx)
    empty = {"given": url, "kind": None, "login_url": None, "audience": None, "eca_ok": None, "why": None}

    def body() -> Result:
        found = login_urls.check(url)
        if not json:
            _said(ctx, found)
        return Document(found.to_json())

    return guarded(failed_as(empty), body)


def _said(ctx: Context, found: Resolved) -> None:
    ctx.console.out(
        f"login URL: {found.login_url}\n"
        f"audience:  {found.audience}  (sf's first attempt; an External Client App "
        f"{'takes' if found.eca_ok else 'refuses'} it)\n"
        f"why:       {found.why}\n"
    )
