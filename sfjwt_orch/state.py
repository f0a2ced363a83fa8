"""What the tool has learnt about an alias, kept apart from the user's answers (config.py).

One JSON file per alias in the data folder: the org behind the alias, when it last logged in, and
which key file logged in (so a later login can skip the deep key check that needs cryptography).
It is a cache of facts, never a source of truth for a login: failing to read it means starting
from nothing, and failing to write it is a warning, never a failed command.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sfjwt_orch import config, files
from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.paths import Paths


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
    key_seen: KeySeen | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys written by a newer sfjwt-orch: kept

    def with_(self, **changes: Any) -> State:
        return replace(self, **changes)


def _path(paths: Paths, alias: str) -> Path:
    return paths.state_file(alias)


def load(paths: Paths, alias: str) -> State:
    """The alias's state; an empty one when there is none or it cannot be read."""
    try:
        raw = json.loads(_path(paths, alias).read_text(encoding="utf-8"))
    except (OSError, ValueError, SfjwtError):
        raw = None
    if not isinstance(raw, dict):
        return State(alias=alias, org_id=config.legacy_facts(paths, alias).get("org_id", ""))
    known = {"org_id", "instance_url", "last_login"}
    values = {k: str(v) for k, v in raw.items() if k in known and isinstance(v, str)}
    key_seen = None
    seen = raw.get("key_seen")
    if isinstance(seen, dict):
        try:
            key_seen = KeySeen(**seen)
        except TypeError:
            key_seen = None
    extra = {k: v for k, v in raw.items() if k not in known and k != "key_seen"}
    return State(alias=alias, key_seen=key_seen, extra=extra, **values)


def save(paths: Paths, state: State) -> str | None:
    """Write the state if it changed; the reason when it could not be written (for a warning)."""
    if load(paths, state.alias) == state:
        return None
    doc = {k: v for k, v in asdict(state).items() if k not in ("alias", "extra")}
    doc.update(state.extra)
    path = _path(paths, state.alias)
    try:
        files.ensure_private_dir(path.parent)
        files.atomic_write(path, json.dumps(doc, indent=2) + "\n")
    except SfjwtError as exc:
        return exc.message
    return None


def key_known_good(state: State, path: Path) -> bool:
    """True when `path` is, byte for byte as far as stat can tell, the key sf last logged in with."""
    seen = state.key_seen
    if seen is None or seen.path != str(path):
        return False
    now = KeySeen.of(path, seen.bits)
    return now == seen and os.access(path, os.R_OK)
