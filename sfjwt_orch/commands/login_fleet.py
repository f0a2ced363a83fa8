"""`login --all` / `--aliases`: the fleet's options checked -> flows.fleet -> the table and the document."""

from __future__ import annotations

from sfjwt_orch.commands.options import LoginFlags, guarded, login_wait
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Result, usage


def run(
    ctx: Context,
    every: bool,
    aliases: str | None,
    parallel: int | None,
    flags: LoginFlags,
    alias: str | None,
) -> Result | None:
    from sfjwt_orch.flows import fleet

    def body() -> Result:
        from sfjwt_orch.ui import fleet_view
        from sfjwt_orch.ui.interactive import person_present

        if every and aliases is not None:
            raise usage("--all and --aliases cannot be used together", "pass only one of them")
        if not every and aliases is None:
            raise usage("--parallel needs --all or --aliases", "add --all, or --aliases a,b,c")
        given = ["--alias"] * bool(alias) + flags.single_alias()  # each alias logs in with its saved profile
        if given:
            raise usage(
                f"{', '.join(given)} cannot be used with --all/--aliases (each alias logs in with its saved profile)",
                f"log that one alias in alone: sfjwt-orch login --alias NAME {given[0]} ...",
            )
        limit = fleet.check_parallel(parallel)
        wait = login_wait(ctx, flags)
        profiles = fleet.select(ctx, every, aliases)
        command = fleet.FleetCommand(
            profiles=tuple(profiles),
            parallel=limit,
            wait=wait,
            wait_for_approvals=person_present(ctx.env) and wait.timeout > 0,
        )
        return fleet.run(command, ctx, fleet_view.for_console(ctx.console))

    return guarded(lambda error: fleet.FleetReport(error=error), body)
