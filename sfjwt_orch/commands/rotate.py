"""sfjwt-orch rotate: options -> RotateRequest -> flows.rotate -> output."""

from __future__ import annotations

import typer

from sfjwt_orch.commands.options import Alias, Interval, JsonFlag, Verbose, check_wait, context_of, guarded
from sfjwt_orch.errors import Result, usage
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS

HELP = """\
Replace the alias's key and certificate before the certificate expires, without a broken login.

A new pair is made beside the current one. With --target-org (or the admin alias the app was
created with) the new certificate is deployed to the app; without one, upload it in Setup while
sfjwt-orch waits. A login with the new key proves it, then it replaces the current pair at the same
paths (the profile does not change); the previous pair is kept for --rollback until --finish or
--keep-days. Every step is recorded, so a rerun continues an interrupted rotation. An app holds one
certificate: from the deploy until your pipeline has the new key, the old key no longer logs in.

\b
Examples:
  sfjwt-orch rotate --alias ci --target-org admin
  sfjwt-orch rotate --alias ci                      # upload the printed certificate in Setup
  sfjwt-orch rotate --alias ci --finish             # drop the previous key now
  sfjwt-orch rotate --alias ci --rollback
"""


def run(
    tctx: typer.Context,
    alias: Alias,
    target_org: str | None = typer.Option(
        None, "--target-org", help="An admin's org alias in sf: deploy the new certificate to the app."
    ),
    name: str | None = typer.Option(None, "--name", help="The app's API name, for an app sfjwt-orch did not create."),
    days: int = typer.Option(DEFAULT_DAYS, "--days", help="Lifetime of the new certificate, in days."),
    bits: int = typer.Option(DEFAULT_BITS, "--bits", help="RSA key size of the new key."),
    keep_days: int = typer.Option(7, "--keep-days", help="Days to keep the previous key for --rollback."),
    finish: bool = typer.Option(False, "--finish", help="Remove the previous key now (end the rotation)."),
    rollback: bool = typer.Option(
        False, "--rollback", help="Go back to the previous key (and certificate on the app)."
    ),
    timeout: float = typer.Option(
        600.0, "--timeout", help="Seconds to wait for the app to take the new certificate (0: do not wait)."
    ),
    interval: Interval = 5.0,
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows import login_request, rotate
    from sfjwt_orch.keys.pair import KeygenRequest, check_keygen_request
    from sfjwt_orch.store.paths import check_alias

    ctx = context_of(tctx, verbose)

    def body() -> Result:
        check_alias(alias)
        if finish and rollback:
            raise usage("--finish and --rollback cannot be used together", "pass only one of them")
        if not 0 <= keep_days <= 365:
            raise usage(f"--keep-days {keep_days} is out of range", "use 0 to 365 days")
        check_keygen_request(KeygenRequest(ctx.paths.key_dir(alias), bits, days, f"/CN={alias}"))
        # Waiting is the point here, in CI too: the app takes a new certificate minutes after the deploy.
        waited, every = check_wait(timeout, interval, person=True)
        request = rotate.RotateRequest(
            alias=alias,
            target_org=target_org,
            name=name,
            bits=bits,
            days=days,
            keep_days=keep_days,
            wait=login_request.Wait(open_browser=False, timeout=waited, interval=every),
            action="finish" if finish else "rollback" if rollback else "rotate",
        )
        return rotate.run(request, ctx)

    return guarded(lambda error: rotate.RotateReport(alias, error=error), body)
