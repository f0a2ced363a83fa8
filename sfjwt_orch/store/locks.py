"""One run per alias at a time: two runs writing the same key, profile or sf auth would race.

An advisory `flock` on a per-alias lock file. The kernel drops it when the process dies, so a
crashed or killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.store import files
from sfjwt_orch.store.paths import Paths

# A full disk or a read-only data folder: no new lock file can be made there.
_CANNOT_WRITE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def _open(path: Path) -> int:
    """The lock file, opened to be locked. When it cannot be created or written (a full disk, a
    read-only mount), an existing lock file read-only, or else its folder, which flock locks as
    well: a login must not fail over a write it does not need (issue 15). The folder locks every
    alias at once, which only a degraded machine ever sees."""
    no_follow = getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | no_follow, 0o600)
    except OSError as exc:
        if exc.errno not in _CANNOT_WRITE:
            raise files.file_error("open", path, exc) from exc
        for fallback in (path, path.parent):
            with contextlib.suppress(OSError):
                return os.open(fallback, os.O_RDONLY | no_follow)
        raise files.file_error("open", path, exc) from exc


def _holder(fd: int) -> str:
    """The pid the lock's holder wrote, when it could (a folder locked instead holds none)."""
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
    except OSError:
        return "another process"


@contextlib.contextmanager
def alias_lock(
    paths: Paths, alias: str, wait: float = 10.0, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    path = paths.lock_file(alias)
    files.ensure_private_dir(path.parent)
    fd = _open(path)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                if on_wait is not None:
                    on_wait(f"Waiting up to {wait:.0f} s for another sfjwt-orch run (pid {holder}) on {alias!r}…")
                    on_wait = None  # say it once
                if time.monotonic() >= deadline:
                    raise SfjwtError(
                        Code.LOCKED,
                        f"another sfjwt-orch run (pid {holder}) is working on alias {alias!r}",
                        "wait for it to finish, or stop it, then run this again",
                    ) from None
                time.sleep(0.2)
        # Only a courtesy for the message above: on a full disk or a read-only data folder the lock
        # holds without it, and a login must not fail over a write it does not need (issue 15).
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
