"""sfjwt-orch app create: options -> AppCreateRequest -> flows.app_create -> output."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sfjwt_orch.commands.options import Alias, Interval, JsonFlag, Verbose, check_wait, context_of, guarded
from sfjwt_orch.errors import Result, usage
from sfjwt_orch.salesforce import validate
from sfjwt_orch.salesforce.advice import DEV_HUB

if TYPE_CHECKING:
    from sfjwt_orch.salesforce import metadata


class AppKind(StrEnum):
    ECA = "eca"
    CONNECTED_APP = "connected-app"


KINDS: dict[AppKind, metadata.Kind] = {AppKind.ECA: "eca", AppKind.CONNECTED_APP: "connected-app"}

app = typer.Typer(help="Create the JWT app in the org from the command line.", no_args_is_help=True)

CREATE_HELP = f"""\
Create the org's JWT app by deploying its metadata as an admin: no Setup clicks, no approval.

From an admin login that sf already holds (sf org login web --alias admin), it makes or reuses the
alias's key and certificate, deploys an External Client App with the certificate, pre-authorized
through a small permission set, assigns that permission set to the integration user, saves the
profile, then logs in as that user (waiting through the org's propagation delay) and verifies.
A rerun finds the app it created and only checks the login; an app of the same name that it did
not create is never overwritten. --dry-run writes the metadata and lists the sf commands, and
contacts no org.

{DEV_HUB}

\b
Examples:
  sfjwt-orch app create --alias ci --target-org admin --username ci-bot@acme.com
  sfjwt-orch app create --alias ci --target-org admin --username ci-bot@acme.com --dry-run --output-dir app-md
  sfjwt-orch app create --alias hub --target-org admin --username ci@acme.com --kind connected-app
"""


@app.command("create", help=CREATE_HELP)
def create(
    tctx: typer.Context,
    alias: Alias,
    target_org: str = typer.Option(
        ..., "--target-org", help="An admin's org alias that sf already knows (sf org login web --alias NAME)."
    ),
    username: str = typer.Option(..., "--username", help="The integration user who will log in with JWT."),
    name: str | None = typer.Option(None, "--name", help="The app's API name. [default: SfjwtOrch_<alias>]"),
    permission_set: str | None = typer.Option(
        None, "--permission-set", help="The gate permission set's API name. [default: <name>_Jwt]"
    ),
    kind: Annotated[
        AppKind,
        typer.Option(
            "--kind",
            help="eca (External Client App), or connected-app for a Dev Hub that creates scratch orgs or sandboxes.",
        ),
    ] = AppKind.ECA,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Write the metadata and list the sf commands; deploy nothing."
    ),
    output_dir: Path | None = typer.Option(None, "--output-dir", help="With --dry-run: where to write the metadata."),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds to wait for the new app to reach the login."),
    interval: Interval = 5.0,
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows import app_create, app_deploy, login_request
    from sfjwt_orch.salesforce import metadata
    from sfjwt_orch.store.paths import check_alias

    ctx = context_of(tctx, verbose)
    app_name = name or metadata.default_app_name(alias)

    def body() -> Result:
        check_alias(alias)
        if output_dir is not None and not dry_run:
            raise usage("--output-dir goes with --dry-run", "add --dry-run, or drop --output-dir")
        waited, every = check_wait(timeout, interval, person=True)
        request = app_deploy.AppCreateRequest(
            alias=alias,
            target_org=target_org,
            username=validate.check_username(username),
            name=metadata.check_app_name(app_name, KINDS[kind]),
            permission_set=metadata.check_name(
                permission_set or metadata.default_permission_set(app_name), "--permission-set"
            ),
            kind=KINDS[kind],
            wait=login_request.Wait(open_browser=False, timeout=waited, interval=every),
            dry_run=dry_run,
            output_dir=output_dir.expanduser().resolve() if output_dir else None,
        )
        report = app_create.create(request, ctx)
        if not dry_run and report.error is None:
            ctx.console.success(f"{alias} logs in with the app {report.app_name}: sfjwt-orch login --alias {alias}")
        return report

    return guarded(lambda error: app_create.AppReport(alias, app_name, kind, error=error), body)
