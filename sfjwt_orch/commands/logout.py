"""sfjwt-orch logout: options -> flows.logout -> output."""

from __future__ import annotations

import typer

from sfjwt_orch.commands.options import Alias, JsonFlag, Verbose, context_of, failed_as, guarded
from sfjwt_orch.errors import Document, Result

HELP = """\
Log the alias out of sf (sf org logout --no-prompt); for the end of a CI job.

With --shred-key the key file is overwritten and deleted too (unless another profile uses it).
It says what it did: an alias sf holds no login for, or a key already gone, is reported and is not
an error (exit 0), so a CI cleanup step can run it again.

\b
Example:
  sfjwt-orch logout --alias ci --shred-key
"""


def run(
    tctx: typer.Context,
    alias: Alias,
    shred_key: bool = typer.Option(False, "--shred-key", help="Overwrite and delete the alias's key file."),
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows.logout import logout
    from sfjwt_orch.store.paths import check_alias

    ctx = context_of(tctx, verbose)

    def body() -> Result:
        check_alias(alias)
        return Document(logout(alias, ctx, shred_key=shred_key).to_json())

    failure = {"alias": alias, "logged_out": False, "shredded_key": None, "did_you_mean": None}
    return guarded(failed_as(failure), body)
