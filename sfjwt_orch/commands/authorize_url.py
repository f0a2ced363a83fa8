from __future__ import annotations

import typer

from sfjwt_orch.commands._shared import (
    callback_url_option,
    check_exclusive,
    client_id_option,
    instance_url_option,
    json_option,
    make_deps,
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
    client_id: str | None = client_id_option(),
    instance_url: str | None = instance_url_option(),
    sandbox: bool = sandbox_option(),
    callback_url: str | None = callback_url_option(),
    alias: str | None = typer.Option(None, "--alias", "-a", help="Fill missing values from this saved profile."),
    json: bool = json_option(),
) -> None:
    from sfjwt_orch import approval, config
    from sfjwt_orch.errors import usage

    deps = make_deps()
    profile = config.load(deps.paths, alias) if alias else None
    check_exclusive(("--sandbox", sandbox, "--instance-url", instance_url))
    cid = client_id or (profile.client_id if profile else "")
    if not cid:
        raise usage("no client id", "pass --client-id (the app's consumer key)")
    url = approval.authorize_url(
        approval.check_instance_url(
            approval.SANDBOX
            if sandbox
            else instance_url or (profile.instance_url if profile else "") or approval.PRODUCTION
        ),
        approval.check_client_id(cid),
        approval.check_callback_url(
            callback_url or (profile.callback_url if profile else "") or approval.DEFAULT_CALLBACK
        ),
    )
    if json:
        deps.console.emit_json({"ok": True, "url": url})
    else:
        deps.console.out(url + "\n")
