"""requirements/test.lock (what scripts/setup installs, with hashes) covers what pyproject.toml asks for:
a dependency added without regenerating the lock would be installed unpinned and unhashed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
LOCK = (ROOT / "requirements" / "test.lock").read_text()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REGENERATE = re.search(r"^#\s+(uv pip compile .*)$", LOCK, re.MULTILINE)


def pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from `name==version ; markers \\` lines and their --hash lines."""
    found: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK):
        head = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", block)
        if head:
            found[canonicalize_name(head[1])] = (head[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return found


WANTED = [Requirement(r) for r in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"],
                                   *PROJECT["optional-dependencies"]["dev"]]]  # fmt: skip


@pytest.mark.parametrize("req", WANTED, ids=[r.name for r in WANTED])
def test_every_dependency_is_locked_at_a_version_it_accepts(req: Requirement) -> None:
    locked = pins()
    fix = f"regenerate the lock: pip install uv; {REGENERATE[1] if REGENERATE else 'uv pip compile ...'}"
    assert canonicalize_name(req.name) in locked, f"{req.name} is not in requirements/test.lock; {fix}"
    version, _ = locked[canonicalize_name(req.name)]
    assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} is not {req.specifier}; {fix}"


def test_every_pin_carries_hashes_and_the_lock_says_how_to_regenerate_it() -> None:
    locked = pins()
    assert len(locked) >= len(WANTED)
    assert all(hashes for _, hashes in locked.values()), [name for name, (_, h) in locked.items() if not h]
    assert REGENERATE and "--generate-hashes" in REGENERATE[1]
