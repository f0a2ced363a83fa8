"""What sf keeps on this machine, read without starting sf (for --dry-run, which contacts no org),
and which of its files is broken when sf fails on them (SF_STATE_BROKEN).

sf 2.x keeps its aliases in ~/.sfdx/alias.json ({"orgs": {alias: username}}) and one auth file per
username, ~/.sfdx/<username>.json, whose instanceUrl names the org and isDevHub says what sf found.
Only those keys are read:
the auth file also holds the (encrypted) tokens, which never leave it.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from shlex import quote
from typing import Any


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _folder(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home()) / ".sfdx"


def username_of(alias_or_username: str, env: Mapping[str, str]) -> str:
    """The username sf's alias names, or the argument itself (a username, or an alias sf does not know)."""
    orgs = _load(_folder(env) / "alias.json").get("orgs")
    username = orgs.get(alias_or_username) if isinstance(orgs, dict) else None
    return username if isinstance(username, str) else alias_or_username


def _auth(alias_or_username: str, env: Mapping[str, str]) -> dict[str, Any]:
    folder = _folder(env)
    name = username_of(alias_or_username, env)
    if "/" in name or name.startswith("."):
        return {}  # never a path outside sf's folder
    return _load(folder / f"{name}.json")


def org_url(alias_or_username: str, env: Mapping[str, str]) -> str | None:
    """The instance URL sf holds for an alias (or a username), or None when sf knows no such org."""
    url = _auth(alias_or_username, env).get("instanceUrl")
    return url.rstrip("/") if isinstance(url, str) and url else None


def is_dev_hub(alias_or_username: str, env: Mapping[str, str]) -> bool:
    """Did sf find the org to be a Dev Hub when it logged in (the auth file's isDevHub)?"""
    return _auth(alias_or_username, env).get("isDevHub") is True


@dataclass(frozen=True)
class StateProblem:
    """One of sf's own files that sf cannot read, with the fix that suits that file."""

    path: Path
    message: str
    fix: str


def _move_aside(path: Path, rebuilt: str) -> str:
    return f"move it aside: mv {quote(str(path))} {quote(str(path) + '.broken')} ({rebuilt})"


def _json_problem(path: Path) -> str | None:
    """Why `path` is not a JSON object sf can read, or None (also when it does not exist)."""
    try:
        if not path.exists():
            return None
        if not path.is_file():
            return "is not a file"
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    except ValueError:
        return "is not valid JSON"
    return None if isinstance(doc, dict) else "is not a JSON object"


def state_problem(env: Mapping[str, str], said: str = "") -> StateProblem | None:
    """The first of sf's files under HOME that sf could not read (sf 2.150: ~/.sfdx, its alias.json
    and key.json, and sf's config files), or None. `said`: sf's own words, when it has failed on
    them. Observed with the real sf: see tests/data/sf-outputs/state_*."""
    home = Path(env.get("HOME") or Path.home())
    folder = home / ".sfdx"
    if folder.exists() and not folder.is_dir():
        fix = _move_aside(folder, "sf creates its folder again at the next login")
        return StateProblem(folder, f"{folder} is not a folder: sf keeps its logins there", fix)
    alias = folder / "alias.json"
    why = _json_problem(alias)
    if why:
        fix = _move_aside(alias, "sf rebuilds it; log in again with each alias to get them back")
        return StateProblem(alias, f"sf's alias file {alias} {why}", fix)
    key = folder / "key.json"
    # key.json holds the key that encrypts every login sf stored in the folder (SF_USE_GENERIC_UNIX_KEYCHAIN).
    lost = "without it every sf login stored there is unreadable: restore it from a backup, or log in again to each org"
    why = _json_problem(key)
    if why is None and key.is_file() and stat.S_IMODE(key.stat().st_mode) != 0o600:
        why = "is not mode 600, which sf requires"
        lost = f"restrict it: chmod 600 {quote(str(key))}"
    if why is None and not key.exists() and any(p.name.count("@") for p in folder.glob("*@*.json")):
        why = "is missing, but sf holds logins encrypted with it"
    if why is None and any(s in said.lower() for s in ("decipher auth data", "authinfooverwriteerror")):
        # sf writes a new key.json when it finds none, so by now the file looks fine: only sf's
        # words tell that the logins it holds were encrypted with a key that is gone.
        why = "is not the key sf's stored logins were encrypted with (lost or replaced)"
    if why:
        return StateProblem(key, f"sf's key file {key} {why}", lost)
    for config in (home / ".sf" / "config.json", folder / "sfdx-config.json"):
        why = _json_problem(config)
        if why:
            return StateProblem(config, f"sf's config file {config} {why}", _move_aside(config, "sf starts a new one"))
    return None
