"""sfjwt-orch authorize-url: the approval URL for a profile or flags, and nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from sfjwt_orch.commands.options import (
    JsonFlag,
    LoginFlags,
    complete_alias,
    context_of,
    failed_as,
    guarded,
    login_options,
)
from sfjwt_orch.errors import Document, Result, usage
from sfjwt_orch.salesforce import validate

HELP = """\
Print the one-time approval URL for an app, and nothing else.

Open it as the JWT user and click Allow once; `sf org login jwt` for that user then works.
The redirect URI must be one of the app's callback URLs.

\b
Example:
  sfjwt-orch authorize-url --client-id KEY --sandbox
"""


@login_options("client_id", "instance_url", "allow_non_salesforce_host", "sandbox", "callback_url")
def run(
    tctx: typer.Context,
    flags: LoginFlags = LoginFlags(),
    alias: Annotated[
        str | None,
        typer.Option(
            "--alias", "-a", help="Fill missing values from this saved profile.", autocompletion=complete_alias
        ),
    ] = None,
    json: JsonFlag = False,
) -> Result | None:
    from sfjwt_orch.flows import login_request
    from sfjwt_orch.store import profiles

    ctx = context_of(tctx)

    def body() -> Result:
        saved = (profiles.load(ctx.paths, alias) if alias else None) or profiles.Profile(alias=alias or "")
        profile = saved.merged(flags.checked().given(saved.alias))
        if not profile.client_id:
            raise usage("no client id", "pass --client-id (the app's consumer key)")
        url = validate.authorize_url(
            login_request.instance_url(profile),
            validate.check_client_id(profile.client_id),
            login_request.callback_url(profile),
        )
        if not json:
            ctx.console.out(url + "\n")
        return Document({"url": url})

    return guarded(failed_as({"url": None}), body)
