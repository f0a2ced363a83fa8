"""sfjwt-orch resolve URL: the login URL and JWT audience sf will use for what a person pasted."""

from __future__ import annotations

import typer

from sfjwt_orch.commands.options import JsonFlag, context_of, emit, json_shape

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
) -> None:
    from sfjwt_orch.salesforce import login_urls

    ctx = context_of(tctx)
    empty = {"given": url, "kind": None, "login_url": None, "audience": None, "eca_ok": None, "why": None}
    with json_shape(lambda exc: empty):
        found = login_urls.check(url)
    if json:
        emit(ctx, found.to_json())
        return
    ctx.console.out(
        f"login URL: {found.login_url}\n"
        f"audience:  {found.audience}  (sf's first attempt; an External Client App "
        f"{'takes' if found.eca_ok else 'refuses'} it)\n"
        f"why:       {found.why}\n"
    )
