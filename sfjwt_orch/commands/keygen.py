"""sfjwt-orch keygen: options -> KeygenCommand -> flows.keygen -> output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sfjwt_orch.commands.options import Alias, JsonFlag, Verbose, context_of, failed_as, guarded
from sfjwt_orch.errors import Document, Result
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.keys import pair

HELP = """\
Generate an RSA key (server.key) and a self-signed certificate (server.crt) with openssl.

The key is written mode 0600 in a 0700 folder under sfjwt-orch's data dir (or --out-dir) and
is never printed. Upload server.crt to your External Client App ("Enable JWT Bearer Flow" >
Upload Files) or Connected App ("Use digital signatures").

\b
Examples:
  sfjwt-orch keygen --alias my-hub-org
  sfjwt-orch keygen --alias ci --bits 4096 --days 730 --subject "/CN=ci/O=Acme"
"""


def run(
    tctx: typer.Context,
    alias: Alias,
    out_dir: Path | None = typer.Option(
        None, "--out-dir", help="Write the pair here instead of the alias's folder in the data dir."
    ),
    bits: int = typer.Option(DEFAULT_BITS, "--bits", help="RSA key size; at least 2048 (sf refuses less)."),
    days: int = typer.Option(DEFAULT_DAYS, "--days", help="Certificate lifetime in days."),
    subject: str | None = typer.Option(
        None, "--subject", help='Certificate subject in openssl -subj form. [default: "/CN=<alias>"]'
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing key (the old one is lost)."),
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows.keygen import KeygenCommand, keygen
    from sfjwt_orch.store.paths import check_alias

    ctx = context_of(tctx, verbose)

    def body() -> Result:
        check_alias(alias)
        result = keygen(KeygenCommand(alias, out_dir, bits, days, subject, force), ctx)
        _said(ctx, alias, result)
        return Document(result.to_json())

    return guarded(failed_as(dict.fromkeys(("key_file", "cert_file", "fingerprint_sha256", "not_after"))), body)


def _said(ctx: Context, alias: str, result: pair.KeygenResult) -> None:
    ui = ctx.console
    ui.success(f"Private key:  {result.key_file} (mode 0600; keep it secret, keep it at this path)")
    ui.success(f"Certificate:  {result.cert_file}")
    ui.info(f"  SHA-256 fingerprint: {result.fingerprint_sha256}")
    ui.info(f"  Expires:             {result.not_after:%Y-%m-%d %H:%M} UTC")
    ui.info(
        "Next: upload server.crt to the app in Setup (External Client App: Enable JWT Bearer Flow > "
        "Upload Files), then run:\n"
        f"  sfjwt-orch login --alias {alias} --client-id <consumer key> --username <user>"
    )
