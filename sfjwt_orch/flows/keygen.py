"""keygen: a new key and certificate for an alias, recorded in its profile."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sfjwt_orch.context import Context
from sfjwt_orch.keys import pair
from sfjwt_orch.store import profiles
from sfjwt_orch.store.locks import alias_lock
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS


@dataclass(frozen=True)
class KeygenCommand:
    alias: str
    out_dir: Path | None = None
    bits: int = DEFAULT_BITS
    days: int = DEFAULT_DAYS
    subject: str | None = None
    force: bool = False


def request_for(cmd: KeygenCommand, ctx: Context) -> pair.KeygenRequest:
    """The checked request (bad --bits, --days or --subject are refused before anything runs)."""
    target = cmd.out_dir.expanduser().resolve() if cmd.out_dir else ctx.paths.key_dir(cmd.alias)
    subject = cmd.subject or f"/CN={cmd.alias}"
    request = pair.KeygenRequest(target, cmd.bits, cmd.days, subject, cmd.force, own_dir=cmd.out_dir is None)
    pair.check_keygen_request(request)
    return request


def keygen(cmd: KeygenCommand, ctx: Context) -> pair.KeygenResult:
    request = request_for(cmd, ctx)
    with alias_lock(ctx.paths, cmd.alias, on_wait=ctx.console.info):
        # Read the profile first: a broken or unreadable one must stop us before the key is replaced.
        saved = profiles.load_or_new(ctx.paths, cmd.alias)
        result = pair.keygen(request, ctx.openssl())
        profiles.save(ctx.paths, saved.merged(result.as_profile(cmd.alias)))
    return result
