"""What sf keeps on this machine, read without starting sf (for --dry-run, which contacts no org).

sf 2.x keeps its aliases in ~/.sfdx/alias.json ({"orgs": {alias: username}}) and one auth file per
username, ~/.sfdx/<username>.json, whose instanceUrl names the org. Only those two keys are read:
the auth file also holds the (encrypted) tokens, which never leave it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def org_url(alias_or_username: str, env: Mapping[str, str]) -> str | None:
    """The instance URL sf holds for an alias (or a username), or None when sf knows no such org."""
    home = Path(env.get("HOME") or Path.home())
    folder = home / ".sfdx"
    orgs = _load(folder / "alias.json").get("orgs")
    username = orgs.get(alias_or_username) if isinstance(orgs, dict) else None
    name = username if isinstance(username, str) else alias_or_username
    if "/" in name or name.startswith("."):
        return None  # never a path outside sf's folder
    url = _load(folder / f"{name}.json").get("instanceUrl")
    return url.rstrip("/") if isinstance(url, str) and url else None
