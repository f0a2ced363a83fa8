"""Helpers for the fault tests: what is on disk, and whether a process is still there."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

Snapshot = dict[str, tuple[int, bytes | None]]

IN_CI = os.environ.get("CI") == "true"  # read at import: the autouse fixture clears CI for each test
GUARD = 30  # seconds: a deadline that catches a hang, not a timing assertion


def snapshot(*roots: Path) -> Snapshot:
    """Every file and folder under the roots: mode, and bytes for files.

    The per-alias lock file is left out: taking the lock creates it and writes the holder's pid
    into it, by design (a lock file that is deleted on release races with the next run). So is the
    cache folder: Node's compile cache for sf, made when sf first runs, deletable at any time.
    """
    out: Snapshot = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            rel = str(path.relative_to(root.parent))
            if rel.startswith(("data/locks", "data/cache")):
                continue
            st = path.lstat()
            try:
                content = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
            except PermissionError:  # a chmod 000 file, when not root
                content = b"<unreadable>"
            out[rel] = (stat.S_IMODE(st.st_mode), content)
    return out


def temp_files(*roots: Path) -> list[Path]:
    """Leftovers of an interrupted write (files.private_temp names them .tmp-*)."""
    return [p for root in roots for p in root.rglob(".tmp-*")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; it only waits for its parent to read its status.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
