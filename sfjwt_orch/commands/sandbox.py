"""sfjwt-orch sandbox add: options -> SandboxCommand -> flows.sandbox -> output."""

from __future__ import annotations

from pathlib import Path

import typer

from sfjwt_orch.commands.options import (
    allow_non_salesforce_host_option,
    attempt_timeout_option,
    browser_option,
    callback_url_option,
    context_of,
    interval_option,
    json_option,
    json_shape,
    login_flags,
    login_wait,
    timeout_option,
    verbose_option,
)

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
def add(
    tctx: typer.Context,
    production: str = typer.Option(..., "--from", help="The production profile's alias.", show_default=False),
    name: str = typer.Option(..., "--name", help="The sandbox's name (as in Setup → Sandboxes).", show_default=False),
    alias: str | None = typer.Option(
        None, "--alias", "-a", help="The sandbox's sf alias and profile name. [default: <--from>-<--name>]"
    ),
    client_id: str | None = typer.Option(None, "--client-id", help="The app's consumer key. [default: production's]"),
    username: str | None = typer.Option(
        None, "--username", help="The user to log in as. [default: production's + .<name>]"
    ),
    key_file: Path | None = typer.Option(None, "--key-file", help="The private key. [default: production's]"),
    instance_url: str | None = typer.Option(
        None,
        "--instance-url",
        help="The sandbox's login URL. [default: https://<mydomain>--<name>.sandbox.my.salesforce.com when "
        "production's is a My Domain, else https://test.salesforce.com]",
    ),
    allow_non_salesforce_host: bool = allow_non_salesforce_host_option(),
    callback_url: str | None = callback_url_option(),
    browser: bool | None = browser_option(),
    timeout: float | None = timeout_option(),
    interval: float = interval_option(),
    attempt_timeout: float | None = attempt_timeout_option(),
    json: bool = json_option(),
    verbose: bool = verbose_option(),
) -> None:
    from sfjwt_orch.flows import login, sandbox
    from sfjwt_orch.paths import check_alias

    ctx = context_of(tctx, verbose)
    target = alias or f"{production}-{name.lower()}"
    shape = login.LoginReport(alias=target, username=username or "")
    extra = {"from_alias": production, "sandbox_name": name, "org_changed_from": None}
    with json_shape(lambda exc: {**shape.to_json(exc), **extra}):
        check_alias(production)
        check_alias(target)
        flags = login_flags(
            client_id=client_id,
            username=username,
            instance_url=instance_url,
            sandbox=False,
            key_file=key_file,
            key_env=None,
            callback_url=callback_url,
            allow_non_salesforce_host=allow_non_salesforce_host,
        )
        command = sandbox.SandboxCommand(
            production=production,
            name=sandbox.check_name(name),
            alias=target,
            flags=flags,
            wait=login_wait(ctx, browser, timeout, interval, attempt_timeout),
        )
        doc = sandbox.run(command, ctx)
    ctx.console.success(f"Logged in to sandbox {name!r} as {doc['username']} (org {doc['org_id']}); sf alias: {target}")
    ctx.console.info(f"Next time: sfjwt-orch login --alias {target}    With the others: sfjwt-orch login --all")
    if json:
        ctx.console.emit_json(doc)
