"""A different org behind an alias than last time: a sandbox refresh gives the sandbox a new org id
(Salesforce Help "Sandbox refresh": the refreshed copy is a new org), so the same alias, username
and login URL now reach a new org. Not an error when the login works, but worth saying: data and
metadata the pipeline relied on were replaced by production's."""

from __future__ import annotations

from datetime import UTC, datetime

from sfjwt_orch.context import Context
from sfjwt_orch.store import state


def note(ctx: Context, alias: str, before: str, now: str) -> str | None:
    """After a login that worked (flows.login.remember): when the org changed, record it (for
    `status`), say so, and return the previous org id (the login's `org_changed_from`)."""
    if not before or not now or before == now:
        return None
    known = state.load(ctx.paths, alias)
    changed = known.with_(previous_org_id=before, org_changed_at=datetime.now(UTC).isoformat(timespec="seconds"))
    problem = state.save(ctx.paths, changed)
    if problem:
        ctx.console.warn(f"could not record the org change in sfjwt-orch's state file ({problem})")
    ctx.console.warn(
        f"{alias!r} now reaches org {now}, not {before} as last time: the sandbox was refreshed "
        "(or the alias points at another org); the login itself worked"
    )
    return before
