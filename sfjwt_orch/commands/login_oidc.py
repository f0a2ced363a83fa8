"""login --oidc github|gitlab: the CI job's identity token -> the org's token exchange -> sf (keyless CI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sfjwt_orch.commands.options import emit, json_shape
from sfjwt_orch.errors import usage

if TYPE_CHECKING:
    from sfjwt_orch.context import Context


def run(
    ctx: Context, alias: str | None, provider: str, client_id: str | None, instance_url: str | None, json: bool
) -> None:
    from sfjwt_orch.keyless import login
    from sfjwt_orch.store.paths import check_alias

    shape = login.OidcLoginReport(alias or "", provider)
    with json_shape(shape.to_json):
        if alias is None:
            raise usage("--alias is missing", "pass --alias NAME with --oidc")
        check_alias(alias)
        report = login.log_in(login.request_for(alias, provider, client_id, instance_url, ctx), ctx)
    ctx.console.success(
        f"Logged in as {report.username} to org {report.org_id} ({report.instance_url}) with the job's "
        f"{provider} identity token; sf alias: {alias}"
    )
    if json:
        emit(ctx, report.to_json())
