from __future__ import annotations

from pathlib import Path

import typer

from sfjwt_orch.commands._shared import alias_option, json_option, make_deps

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
    alias: str = alias_option(),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", help="Write the pair here instead of the alias's folder in the data dir."
    ),
    # The defaults are headstart's (tests/unit/test_checks.py holds them together).
    bits: int = typer.Option(2048, "--bits", help="RSA key size; at least 2048 (sf refuses less)."),
    days: int = typer.Option(365, "--days", help="Certificate lifetime in days."),
    subject: str | None = typer.Option(
        None, "--subject", help='Certificate subject in openssl -subj form. [default: "/CN=<alias>"]'
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing key (the old one is lost)."),
    json: bool = json_option(),
) -> None:
    from sfjwt_orch import config, headstart, keys
    from sfjwt_orch.deps import openssl_for
    from sfjwt_orch.locks import alias_lock
    from sfjwt_orch.paths import check_alias

    deps = make_deps()
    check_alias(alias)
    target = out_dir.expanduser().resolve() if out_dir else deps.paths.key_dir(alias)
    request = keys.KeygenRequest(target, bits, days, subject or f"/CN={alias}", force, own_dir=out_dir is None)
    keys.check_keygen_request(request)
    with alias_lock(deps.paths, alias, on_wait=deps.console.info):
        # Read the profile first: a broken or unreadable one must stop us before the key is replaced.
        saved = config.load(deps.paths, alias) or config.Profile(alias=alias)
        result = keys.keygen(request, openssl_for(deps), headstart.pending())
        config.save(deps.paths, saved.merged(key_file=str(result.key_file), cert_file=str(result.cert_file)))
    ui = deps.console
    ui.success(f"Private key:  {result.key_file} (mode 0600; keep it secret, keep it at this path)")
    ui.success(f"Certificate:  {result.cert_file}")
    ui.info(f"  SHA-256 fingerprint: {result.fingerprint_sha256}")
    ui.info(f"  Expires:             {result.not_after:%Y-%m-%d %H:%M} UTC")
    ui.info(
        "Next: upload server.crt to the app in Setup (External Client App: Enable JWT Bearer Flow > "
        "Upload Files), then run:\n"
        f"  sfjwt-orch login --alias {alias} --client-id <consumer key> --username <user>"
    )
    if json:
        ui.emit_json(result.to_json())
