"""sfjwt-orch login: options -> LoginCommand -> flows.login -> output."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from sfjwt_orch.commands.options import (
    JsonFlag,
    LoginFlags,
    OptionalAlias,
    Verbose,
    context_of,
    guarded,
    login_options,
    login_wait,
)
from sfjwt_orch.errors import Result, usage

if TYPE_CHECKING:
    from sfjwt_orch.context import Context

HELP = """\
Log in with `sf org login jwt`, getting the user's approval and retrying until it works.

On "user hasn't approved this consumer" it prints the approval URL (and opens it when a person
is at a terminal with a browser), then retries every --interval seconds, backing off to 30 s,
until the login works or --timeout passes. A consumer key the org does not know fails at once
(the key in use is shown, masked), unless the app is new: one that `app create` or `bootstrap`
made minutes ago, or --new-app, is waited for, since a new app takes 2-10 minutes to reach
every Salesforce server. On success the values are saved, so the next time `--alias` alone is
enough; flags override saved values.

\b
Examples:
  sfjwt-orch login --alias my-hub-org --client-id KEY --username me@acme.com
  sfjwt-orch login --alias my-sbx --sandbox --client-id KEY --username me@acme.com.uat
  sfjwt-orch login --alias my-hub-org --json          # in CI: no waiting unless --timeout
  sfjwt-orch login --all                              # every saved profile at once
  sfjwt-orch login --aliases prod,prod-uat --parallel 4 --json

With --all or --aliases the aliases log in in parallel (their saved profiles only); approvals that
need a person are listed together at the end and, at a terminal with --timeout > 0, waited for
one at a time. The exit code is the most severe failure's: 130 > 1 > 5 > 2 > 3 > 4.
"""


@login_options(but=("cert_file",))
def run(
    tctx: typer.Context,
    alias: OptionalAlias = None,
    every: Annotated[bool, typer.Option("--all", help="Log in every complete saved profile, in parallel.")] = False,
    aliases: Annotated[
        str | None, typer.Option("--aliases", help="Log in these saved aliases (comma-separated), in parallel.")
    ] = None,
    parallel: Annotated[
        int | None,
        typer.Option(
            "--parallel", help="With --all/--aliases: logins at once. [default: the number of cores, at least 2]"
        ),
    ] = None,
    flags: LoginFlags = LoginFlags(),
    oidc: Annotated[
        str | None,
        typer.Option(
            "--oidc", help="In CI: log in with the job's identity token, github or gitlab (see sfjwt-orch trust)."
        ),
    ] = None,
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows import login

    ctx = context_of(tctx, verbose)
    if oidc is not None:  # keyless CI (issue 23)
        from sfjwt_orch.commands import login_oidc

        return login_oidc.run(ctx, alias, oidc, flags.client_id, flags.instance_url)
    if every or aliases is not None or parallel is not None:
        from sfjwt_orch.commands import login_fleet as fleet_command

        return fleet_command.run(ctx, every, aliases, parallel, flags, alias)
    shape = login.LoginReport(alias=alias or "", username=flags.username or "")
    return guarded(lambda error: dataclasses.replace(shape, error=error), lambda: _login(ctx, alias, flags))


def _login(ctx: Context, alias: str | None, flags: LoginFlags) -> Result:
    from sfjwt_orch.flows import key_env as key_env_flow
    from sfjwt_orch.flows import login
    from sfjwt_orch.store.paths import check_alias

    if alias is None:
        raise usage("--alias is missing", "pass --alias NAME (or --all / --aliases a,b for several at once)")
    key_text = key_env_flow.take(flags.key_env, ctx) if flags.key_env else None  # before anything runs
    check_alias(alias)
    report = login.run(flags.checked().request(alias, login_wait(ctx, flags)), ctx, key_text)
    if report.error is not None:
        return report
    ui = ctx.console
    ui.success(
        f"Logged in as {report.username} to org {report.org_id} ({report.instance_url}); sf alias: {alias}"
        + (" [Dev Hub]" if report.is_dev_hub else "")
    )
    ui.info(f"Next time: sfjwt-orch login --alias {alias}    Use it: sf org display --target-org {alias}")
    if report.is_dev_hub or flags.set_default_dev_hub:  # Spring '26: an ECA Dev Hub and scratch orgs (C-1016)
        from sfjwt_orch.salesforce import spring26
        from sfjwt_orch.store import state

        if note := spring26.dev_hub_note(state.load(ctx.paths, alias).app_kind):
            ui.warn(note)
    return report
