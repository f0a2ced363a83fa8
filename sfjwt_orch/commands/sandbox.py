"""sfjwt-orch sandbox add: options -> SandboxCommand -> flows.sandbox -> output."""

from __future__ import annotations

from typing import Annotated

import typer

from sfjwt_orch.commands.options import (
    JsonFlag,
    LoginFlags,
    Verbose,
    context_of,
    guarded,
    login_options,
    login_wait,
)
from sfjwt_orch.errors import Result, SfjwtError

app = typer.Typer(help="Sandboxes derived from a production profile.", no_args_is_help=True)

ADD_HELP = """\
Add a sandbox of a production profile and log in to it (approval and retries as `login`).

The sandbox's values come from production's: the username with `.<name>` appended, the login URL
https://<mydomain>--<name>.sandbox.my.salesforce.com when production logs in at its My Domain
(else https://test.salesforce.com), the same key and consumer key (a Connected App is copied into
a sandbox on refresh). Any of them can be overridden with the login flags. A local External Client
App is not copied: the sandbox then says so, and `app create` in the sandbox is the fix.

\b
Examples:
  sfjwt-orch sandbox add --from prod --name uat                 # alias prod-uat
  sfjwt-orch sandbox add --from prod --name qa --alias qa --username ci@acme.com.qa2 --json
"""


@app.command("add", help=ADD_HELP)
@login_options(
    "client_id",
    "username",
    "key_file",
    "instance_url",
    "allow_non_salesforce_host",
    "callback_url",
    "browser",
    "timeout",
    "interval",
    "attempt_timeout",
    helps={
        "client_id": "The app's consumer key. [default: production's]",
        "username": "The user to log in as. [default: production's + .<name>]",
        "key_file": "The private key. [default: production's]",
        "instance_url": "The sandbox's login URL. [default: https://<mydomain>--<name>.sandbox.my.salesforce.com "
        "when production's is a My Domain, else https://test.salesforce.com]",
    },
)
def add(
    tctx: typer.Context,
    production: Annotated[str, typer.Option("--from", help="The production profile's alias.", show_default=False)],
    name: Annotated[
        str, typer.Option("--name", help="The sandbox's name (as in Setup → Sandboxes).", show_default=False)
    ],
    alias: Annotated[
        str | None,
        typer.Option("--alias", "-a", help="The sandbox's sf alias and profile name. [default: <--from>-<--name>]"),
    ] = None,
    flags: LoginFlags = LoginFlags(),
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows import login, sandbox

    ctx = context_of(tctx, verbose)
    target = alias or f"{production}-{name.lower()}"

    def failure(error: SfjwtError) -> Result:
        shape = login.LoginReport(alias=target, username=flags.username or "", error=error)
        return sandbox.SandboxReport(shape, production, name)

    def body() -> Result:
        from sfjwt_orch.store.paths import check_alias

        check_alias(production)
        check_alias(target)
        command = sandbox.SandboxCommand(
            production=production,
            name=sandbox.check_name(name),
            login=flags.checked().request(target, login_wait(ctx, flags)),
        )
        report = sandbox.run(command, ctx)
        if report.error is None:
            done = report.login
            ctx.console.success(
                f"Logged in to sandbox {name!r} as {done.username} (org {done.org_id}); sf alias: {target}"
            )
            ctx.console.info(f"Next time: sfjwt-orch login --alias {target}    With the others: sfjwt-orch login --all")
        return report

    return guarded(failure, body)
