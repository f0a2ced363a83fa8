"""sfjwt-orch authorize-url: the approval URL for a profile or flags, and nothing else."""

from __future__ import annotations

import typer

from sfjwt_orch.commands.options import (
    allow_non_salesforce_host_option,
    callback_url_option,
    check_exclusive,
    client_id_option,
    complete_alias,
    context_of,
    instance_url_option,
    json_option,
    json_shape,
    sandbox_option,
)

HELP = """\
Print the one-time approval URL for an app, and nothing else.

Open it as the JWT user and click Allow once; `sf org login jwt` for that user then works.
The redirect URI must be one of the app's callback URLs.

\b
Example:
  sfjwt-orch authorize-url --client-id KEY --sandbox
"""


def run(
    tctx: typer.Context,
    client_id: str | None = client_id_option(),
    instance_url: str | None = instance_url_option(),
    allow_non_salesforce_host: bool = allow_non_salesforce_host_option(),
    sandbox: bool = sandbox_option(),
    callback_url: str | None = callback_url_option(),
    alias: str | None = typer.Option(
        None, "--alias", "-a", help="Fill missing values from this saved profile.", autocompletion=complete_alias
    ),
    json: bool = json_option(),
) -> None:
    from sfjwt_orch import config, validate
    from sfjwt_orch.errors import usage
    from sfjwt_orch.flows import resolve

    ctx = context_of(tctx)
    with json_shape(lambda exc: {"url": None}):
        saved = (config.load(ctx.paths, alias) if alias else None) or config.Profile(alias=alias or "")
        check_exclusive(("--sandbox", sandbox, "--instance-url", instance_url))
        flags = resolve.LoginFlags.of(
            client_id=client_id,
            instance_url=instance_url,
            sandbox=sandbox,
            callback_url=callback_url,
            allow_non_salesforce_host=allow_non_salesforce_host,
        )
        profile = resolve.merged(saved, flags)
        if not profile.client_id:
            raise usage("no client id", "pass --client-id (the app's consumer key)")
        url = validate.authorize_url(
            resolve.instance_url(profile), validate.check_client_id(profile.client_id), resolve.callback_url(profile)
        )
    if json:
        ctx.console.emit_json({"ok": True, "url": url})
    else:
        ctx.console.out(url + "\n")
