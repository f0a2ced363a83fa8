"""login --oidc github|gitlab: the CI job's identity token -> the org's token exchange -> sf (keyless CI)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sfjwt_orch.commands.options import guarded
from sfjwt_orch.errors import Result, usage

if TYPE_CHECKING:
    from sfjwt_orch.context import Context


def run(
    ctx: Context, alias: str | None, provider: str, client_id: str | None, instance_url: str | None
) -> Result | None:
    from sfjwt_orch.keyless import login

    shape = login.OidcLoginReport(alias or "", provider)

    def body() -> Result:
        from sfjwt_orch.store.paths import check_alias

        if alias is None:
            raise usage("--alias is missing", "pass --alias NAME with --oidc")
        check_alias(alias)
        report = login.log_in(login.request_for(alias, provider, client_id, instance_url, ctx), ctx)
        if report.error is None:
            ctx.console.success(
                f"Logged in as {report.username} to org {report.org_id} ({report.instance_url}) with the job's "
                f"{provider} identity token; sf alias: {alias}"
            )
        return report

    return guarded(lambda error: dataclasses.replace(shape, error=error), body)
