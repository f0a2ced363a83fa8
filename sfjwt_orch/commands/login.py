"""sfjwt-orch login: options -> LoginCommand -> flows.login -> output."""

from __future__ import annotations

from pathlib import Path

import typer

from sfjwt_orch.commands.options import (
    alias_option,
    allow_non_salesforce_host_option,
    attempt_timeout_option,
    browser_option,
    callback_url_option,
    client_id_option,
    context_of,
    instance_url_option,
    interval_option,
    json_option,
    json_shape,
    key_env_option,
    login_flags,
    login_wait,
    new_app_option,
    sandbox_option,
    set_default_dev_hub_option,
    set_default_option,
    timeout_option,
    username_option,
    verbose_option,
)

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


def run(
    tctx: typer.Context,
    alias: str | None = alias_option(required=False),
    every: bool = typer.Option(False, "--all", help="Log in every complete saved profile, in parallel."),
    aliases: str | None = typer.Option(
        None, "--aliases", help="Log in these saved aliases (comma-separated), in parallel."
    ),
    parallel: int | None = typer.Option(
        None, "--parallel", help="With --all/--aliases: logins at once. [default: the number of cores, at least 2]"
    ),
    client_id: str | None = client_id_option(),
    username: str | None = username_option(),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="The private key. [default: the alias's key from keygen]"
    ),
    key_env: str | None = key_env_option(),
    instance_url: str | None = instance_url_option(),
    allow_non_salesforce_host: bool = allow_non_salesforce_host_option(),
    sandbox: bool = sandbox_option(),
    callback_url: str | None = callback_url_option(),
    browser: bool | None = browser_option(),
    timeout: float | None = timeout_option(),
    interval: float = interval_option(),
    attempt_timeout: float | None = attempt_timeout_option(),
    set_default: bool = set_default_option(),
    set_default_dev_hub: bool = set_default_dev_hub_option(),
    new_app: bool = new_app_option(),
    oidc: str | None = typer.Option(
        None, "--oidc", help="In CI: log in with the job's identity token, github or gitlab (see sfjwt-orch trust)."
    ),
    json: bool = json_option(),
    verbose: bool = verbose_option(),
) -> None:
    from sfjwt_orch.errors import usage
    from sfjwt_orch.flows import key_env as key_env_flow
    from sfjwt_orch.flows import login, org_change, resolve
    from sfjwt_orch.paths import check_alias

    ctx = context_of(tctx, verbose)
    if oidc is not None:  # keyless CI (issue 23)
        from sfjwt_orch.commands import login_oidc

        login_oidc.run(ctx, alias, oidc, client_id, instance_url, json)
        return
    if every or aliases is not None or parallel is not None:
        from sfjwt_orch.commands import login_fleet as fleet_command

        single = {"--alias": alias, "--client-id": client_id, "--username": username, "--key-file": key_file,
                  "--key-env": key_env, "--instance-url": instance_url, "--sandbox": sandbox,
                  "--callback-url": callback_url, "--set-default": set_default,
                  "--set-default-dev-hub": set_default_dev_hub, "--new-app": new_app,
                  "--allow-non-salesforce-host": allow_non_salesforce_host,
                  "--attempt-timeout": attempt_timeout}  # fmt: skip
        fleet_command.run(ctx, every, aliases, parallel, single, browser, timeout, interval, json)
        return
    shape = login.LoginReport(alias=alias or "", username=username or "")
    with json_shape(lambda exc: {**shape.to_json(exc), "org_changed_from": None}):
        if alias is None:
            raise usage("--alias is missing", "pass --alias NAME (or --all / --aliases a,b for several at once)")
        key_text = key_env_flow.take(key_env, ctx) if key_env else None  # before anything runs
        check_alias(alias)
        flags = login_flags(
            client_id=client_id,
            username=username,
            instance_url=instance_url,
            sandbox=sandbox,
            key_file=key_file,
            key_env=key_env,
            callback_url=callback_url,
            allow_non_salesforce_host=allow_non_salesforce_host,
        )
        command = login.LoginCommand(
            alias=alias,
            flags=flags,
            wait=login_wait(ctx, browser, timeout, interval, attempt_timeout),
            defaults=resolve.SfDefaults(set_default, set_default_dev_hub),
            key_env=key_env,
            new_app=new_app,
        )
        before = org_change.org_before(ctx, alias)
        report = login.run(command, ctx, key_text)
    changed = org_change.note(ctx, alias, before, report.org_id)
    ui = ctx.console
    ui.success(
        f"Logged in as {report.username} to org {report.org_id} ({report.instance_url}); sf alias: {alias}"
        + (" [Dev Hub]" if report.is_dev_hub else "")
    )
    ui.info(f"Next time: sfjwt-orch login --alias {alias}    Use it: sf org display --target-org {alias}")
    if json:
        ui.emit_json({**report.to_json(), "org_changed_from": changed})
