"""What the tool has learnt about an alias, kept apart from the user's answers (config.py).

One JSON file per alias in the data folder (the org behind the alias, when it last logged in), and
one for the key files that logged in (_keys.json): a key file sf logged in with, unchanged since,
needs only the quick check before the next login, which spares it cryptography's import (~70 ms of
a ~1.5 s login, on every login of every alias that uses the key).
It is a cache of facts, never a source of truth for a login: failing to read it means starting
from nothing, and failing to write it is a warning, never a failed command.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.store import files, profiles
from sfjwt_orch.store.paths import Paths


@dataclass(frozen=True)
class KeySeen:
    """A key file as it was when sf logged in with it: the same inode, size and mtime mean the
    same bytes for any practical purpose (a rewrite through os.replace gets a new inode)."""

    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    bits: int

    @classmethod
    def of(cls, path: Path, bits: int) -> KeySeen | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, bits)


@dataclass(frozen=True)
class State:
    alias: str
    org_id: str = ""
    instance_url: str = ""
    last_login: str = ""  # ISO 8601, UTC
    # The app `app create` made for this alias, and the admin alias it was made with.
    app_name: str = ""
    app_kind: str = ""
    admin_org: str = ""
    app_created_at: str = ""  # ISO 8601, UTC: when this tool deployed the app (a new app propagates for minutes)
    # A certificate rotation in progress ("made", "deployed", "promoting", "promoted"), so every
    # step resumes; and until when the previous key is kept for --rollback.
    rotation_phase: str = ""
    rotation_deployed_at: str = ""
    previous_kept_until: str = ""
    # A sandbox refresh (or a re-pointed alias) puts a different org behind the alias: the org it
    # was before, and when the change was noticed, so `status` can say so after the login.
    previous_org_id: str = ""
    org_changed_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # keys written by a newer sfjwt-orch: kept

    def with_(self, **changes: Any) -> State:
        return replace(self, **changes)


# How long an app this tool created counts as new: Salesforce takes 2-10 minutes to spread one to
# every server (salesforce-jwt.md, "Propagation delay"); within this window an unknown consumer
# key is waited for, after it a typo is the likelier cause.
NEW_APP_WINDOW = timedelta(minutes=15)


def app_is_new(state: State, now: datetime) -> bool:
    """Did this tool create the alias's app within NEW_APP_WINDOW of `now`?"""
    try:
        created = datetime.fromisoformat(state.app_created_at)
    except ValueError:
        return False
    if created.tzinfo is None:
        return False
    return timedelta(0) <= now - created < NEW_APP_WINDOW


# Answers bootstrap was given that no login has confirmed yet (issue 14, item 2): kept here, not in
# the profile, and offered as the defaults of the next run's questions. A login that works saves
# them to the profile (flows.login.remember) and clears them.
_UNCONFIRMED = "unconfirmed"


def unconfirmed(state: State) -> dict[str, str]:
    """The unconfirmed answers (client_id, username, instance_url) kept for the alias."""
    raw = state.extra.get(_UNCONFIRMED)
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str) and v}


def with_unconfirmed(state: State, answers: dict[str, str]) -> State:
    extra = {k: v for k, v in state.extra.items() if k != _UNCONFIRMED}
    if answers:
        extra[_UNCONFIRMED] = dict(answers)
    return state.with_(extra=extra)


def load(paths: Paths, alias: str) -> State:
    """The alias's state; an empty one when there is none or it cannot be read."""
    try:
        raw = json.loads(paths.state_file(alias).read_text(encoding="utf-8"))
    except (OSError, ValueError, SfjwtError):
        raw = None
    if not isinstance(raw, dict):
        return State(alias=alias, org_id=profiles.legacy_facts(paths, alias).get("org_id", ""))
    known = {f.name for f in fields(State)} - {"alias", "extra"}
    values = {k: str(v) for k, v in raw.items() if k in known and isinstance(v, str)}
    extra = {k: v for k, v in raw.items() if k not in known}
    return State(alias=alias, extra=extra, **values)


def save(paths: Paths, state: State) -> str | None:
    """Write the state if it changed; the reason when it could not be written (for a warning)."""
    if load(paths, state.alias) == state:
        return None
    doc = {k: v for k, v in asdict(state).items() if k not in ("alias", "extra")}
    doc.update(state.extra)
    return _write(paths.state_file(state.alias), doc)


def _write(path: Path, doc: dict[str, Any]) -> str | None:
    try:
        files.ensure_private_dir(path.parent)
        files.atomic_write(path, json.dumps(doc, indent=2) + "\n")
    except SfjwtError as exc:
        return exc.message
    return None


_MAX_KEYS = 64  # _keys.json remembers this many key files, the most recent


def _keys(paths: Paths) -> dict[str, Any]:
    try:
        raw = json.loads(paths.keys_state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def known_key_bits(paths: Paths, path: Path) -> int | None:
    """The size of the key in `path` when sf logged in with that very file (same device, inode,
    size and mtime: a rewrite through a temp file and a rename is a new inode), else None."""
    entry = _keys(paths).get(str(path))
    if not isinstance(entry, dict):
        return None
    try:
        seen = KeySeen(**entry)
    except TypeError:
        return None
    return seen.bits if KeySeen.of(path, seen.bits) == seen else None


def remember_key(paths: Paths, path: Path, bits: int) -> str | None:
    """Record that sf logged in with this key file; the reason when it could not be written."""
    seen = KeySeen.of(path, bits)
    known = _keys(paths)
    if seen is None or known.get(str(path)) == asdict(seen):
        return None
    known.pop(str(path), None)
    known[str(path)] = asdict(seen)
    return _write(paths.keys_state_file(), dict(list(known.items())[-_MAX_KEYS:]))
