"""Ending a login: sf forgets the alias; optionally the key is shredded or the profile removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfjwt_orch import config, keys
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.locks import alias_lock
from sfjwt_orch.tools.sf import SfFailed


def sf_logout(alias: str, ctx: Context) -> None:
    """sf org logout; an alias sf holds nothing for is already logged out."""
    try:
        ctx.sf().logout(alias)
    except SfFailed as failed:
        fix = f"run it yourself: sf org logout --target-org {alias} --no-prompt"
        raise failed.unless_local(SfjwtError(Code.SF_FAILED, failed.message, fix)) from None


def _key_of(profile: config.Profile | None, alias: str, ctx: Context) -> Path:
    if profile and profile.key_file:
        return Path(profile.key_file).expanduser()  # a hand-edited profile may say ~/keys/server.key
    return ctx.paths.key_dir(alias) / keys.KEY_NAME


def _kept(path: Path, ctx: Context) -> str | None:
    """Why `path` stays (told to the user), or None when it may be shredded or deleted."""
    why = keys.removable_key(path, ctx.paths.data_dir / "keys")
    if why is not None:
        ctx.console.warn(f"kept {path}: {why}")
    return why


def logout(alias: str, ctx: Context, *, shred_key: bool) -> str | None:
    """Log out; with `shred_key` the key goes too, unless another profile uses it. Returns the
    path of the shredded key, if one was."""
    profile = config.load(ctx.paths, alias)
    with alias_lock(ctx.paths, alias, on_wait=ctx.console.info):
        sf_logout(alias, ctx)
        if not shred_key:
            return None
        key = _key_of(profile, alias, ctx)
        users = config.key_users(ctx.paths, key, besides=alias)
        if users:
            ctx.console.warn(f"kept {key}: profile(s) {', '.join(users)} use it")
            return None
        if _kept(key, ctx):
            return None
        keys.shred(key)
        return str(key)


@dataclass
class Removed:
    alias: str
    logged_out: bool = False
    deleted: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "alias": self.alias, "logged_out": self.logged_out, "deleted": self.deleted}


def remove_profile(profile: config.Profile, ctx: Context, *, logout: bool, delete_key: bool) -> Removed:
    done = Removed(profile.alias)
    with alias_lock(ctx.paths, profile.alias, on_wait=ctx.console.info):
        if logout:
            sf_logout(profile.alias, ctx)
            done.logged_out = True
        if delete_key and profile.key_file:
            # The certificate goes with its key: both stay while another profile uses the key.
            key = Path(profile.key_file).expanduser()
            users = config.key_users(ctx.paths, key, besides=profile.alias)
            if users:
                ctx.console.warn(
                    f"kept {profile.key_file}: another profile uses it ({', '.join(users)}); its certificate stays too"
                )
            elif not _kept(key, ctx):
                keys.shred(key)
                done.deleted.append(profile.key_file)
                cert = Path(profile.cert_file).expanduser() if profile.cert_file else None
                if cert is not None and not _kept(cert, ctx):
                    cert.unlink(missing_ok=True)
                    done.deleted.append(profile.cert_file)
        config.remove(ctx.paths, profile.alias)
    return done
