"""Ending a login: sf forgets the alias; optionally the key is shredded or the profile removed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import material
from sfjwt_orch.store import profiles, state
from sfjwt_orch.store.locks import alias_lock
from sfjwt_orch.store.suggest import closest
from sfjwt_orch.tools.sf import SfFailed


def sf_logout(alias: str, ctx: Context) -> bool:
    """sf org logout; an alias sf holds nothing for is already logged out (False: nothing to do)."""
    try:
        return ctx.sf().logout(alias)
    except SfFailed as failed:
        fix = f"run it yourself: sf org logout --target-org {alias} --no-prompt"
        raise failed.unless_local(SfjwtError(Code.SF_FAILED, failed.message, fix)) from None


def _key_of(profile: profiles.Profile | None, alias: str, ctx: Context) -> Path:
    if profile and profile.key_file:
        return Path(profile.key_file).expanduser()  # a hand-edited profile may say ~/keys/server.key
    return ctx.paths.key_dir(alias) / material.KEY_NAME


def _kept(path: Path, ctx: Context) -> str | None:
    """Why `path` stays (told to the user), or None when it may be shredded or deleted."""
    why = material.removable_key(path, ctx.paths.data_dir / "keys")
    if why is not None:
        ctx.console.warn(f"kept {path}: {why}")
    return why


@dataclass
class LoggedOut:
    """What logout did, and only that: a CI cleanup step reruns it for a login already gone."""

    alias: str
    logged_out: bool = False  # sf held a login for the alias and forgot it
    shredded_key: str | None = None
    did_you_mean: str | None = None  # a saved alias close to one that is not saved

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def logout(alias: str, ctx: Context, *, shred_key: bool) -> LoggedOut:
    """Log out; with `shred_key` the key goes too, unless another profile uses it. Each part says
    what it found: no sf login, no key file, a key another profile needs."""
    profile = profiles.load(ctx.paths, alias)
    done = LoggedOut(alias)
    if profile is None:
        done.did_you_mean = closest(alias, profiles.list_aliases(ctx.paths))
    with alias_lock(ctx.paths, alias, on_wait=ctx.console.info):
        done.logged_out = sf_logout(alias, ctx)
        if done.logged_out:
            ctx.console.success(f"Logged {alias} out of sf.")
        else:
            hint = f" (did you mean {done.did_you_mean!r}?)" if done.did_you_mean else ""
            ctx.console.info(f"sf holds no login for {alias}{hint}: nothing to log out.")
        if not shred_key:
            return done
        key = _key_of(profile, alias, ctx)
        users = profiles.key_users(ctx.paths, key, besides=alias)
        if users:
            ctx.console.warn(f"kept {key}: profile(s) {', '.join(users)} use it")
        elif not key.exists():
            ctx.console.info(f"No key at {key}: nothing to shred.")
        elif not _kept(key, ctx):
            material.shred(key)
            done.shredded_key = str(key)
            ctx.console.success(f"Shredded {key}.")
    return done


@dataclass
class Removed:
    alias: str
    logged_out: bool = False
    deleted: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"alias": self.alias, "logged_out": self.logged_out, "deleted": self.deleted}


def remove_profile(profile: profiles.Profile, ctx: Context, *, logout: bool, delete_key: bool) -> Removed:
    """Remove the profile and, when asked, its sf login and key files, naming each file it deletes;
    the alias's state file and an emptied key folder go too (kept while a rotation is under way)."""
    done = Removed(profile.alias)
    with alias_lock(ctx.paths, profile.alias, on_wait=ctx.console.info):
        if logout:
            done.logged_out = sf_logout(profile.alias, ctx)
            if not done.logged_out:
                ctx.console.info(f"sf holds no login for {profile.alias}: nothing to log out.")
        if delete_key and profile.key_file:
            _delete_pair(profile, ctx, done)
        profiles.remove(ctx.paths, profile.alias)
        if state.load(ctx.paths, profile.alias).rotation_phase:
            ctx.console.warn(f"kept {ctx.paths.state_file(profile.alias)}: it records a rotation under way")
        elif (facts := ctx.paths.state_file(profile.alias)).exists():
            # sfjwt-orch's own record of the alias (org id, last login): no user file, so not in `deleted`.
            facts.unlink(missing_ok=True)
            ctx.console.info(f"Removed sfjwt-orch's record of {profile.alias} ({facts})")
        folder = ctx.paths.key_dir(profile.alias)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            done.deleted.append(str(folder))
    for path in done.deleted:
        ctx.console.info(f"Deleted {path}")
    return done


def _delete_pair(profile: profiles.Profile, ctx: Context, done: Removed) -> None:
    """The certificate goes with its key: both stay while another profile uses the key."""
    key = Path(profile.key_file).expanduser()
    users = profiles.key_users(ctx.paths, key, besides=profile.alias)
    if users:
        ctx.console.warn(f"kept {key}: another profile uses it ({', '.join(users)}); its certificate stays too")
        return
    if not key.exists():
        ctx.console.info(f"No key at {key}: nothing to delete.")
    elif not _kept(key, ctx):
        material.shred(key)
        done.deleted.append(str(key))
    else:
        return
    cert = Path(profile.cert_file).expanduser() if profile.cert_file else None
    if cert is not None and cert.exists() and not _kept(cert, ctx):
        _delete(cert, done)


def _delete(path: Path, done: Removed) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    done.deleted.append(str(path))
