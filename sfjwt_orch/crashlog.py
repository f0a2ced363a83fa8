"""The crash log: the traceback of an unexpected error, redacted, where the user can attach it.

Tracebacks never reach the terminal (their locals can hold keys and tokens), so they go here. The
file is created 0600 whatever the umask, never through a symlink someone planted (O_NOFOLLOW),
and rotated by size so that the last few crashes are kept and the folder does not grow forever.
"""

from __future__ import annotations

import contextlib
import os
import stat
import traceback
from pathlib import Path

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.ui.redact import redact

NAME = "crash.log"
MAX_BYTES = 256 * 1024  # a few dozen tracebacks
KEEP = 3  # crash.log.1 .. crash.log.3 besides crash.log


def write(log_dir: Path, text: str) -> Path:
    """Append `text` (already redacted) to the crash log; OSError when it cannot be written."""
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = log_dir / NAME
    _rotate(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise PermissionError(f"{path} is not a file of yours")
        os.fchmod(fd, 0o600)  # an older file, or one created under another umask
        data = memoryview(text.encode("utf-8", errors="replace"))
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
    return path


def unexpected(exc: Exception, log_dir: Path) -> SfjwtError:
    """INTERNAL for an exception being handled, its traceback (redacted) in the crash log with the
    log named; or, when the log cannot be written either (a full disk), the error itself in one
    line, so the message never points at a log that does not exist. Called in the `except` block."""
    try:
        log = write(log_dir, redact(traceback.format_exc()) + "\n")
        return SfjwtError(
            Code.INTERNAL,
            f"unexpected error ({type(exc).__name__}); details in {log}",
            "please report it with the log file attached",
        )
    except Exception as why:
        reason = getattr(why, "strerror", None) or str(why)
        return SfjwtError(
            Code.INTERNAL,
            f"unexpected error ({type(exc).__name__}: {redact(str(exc))[:200]}); the crash log could not be "
            f"written either ({reason})",
            "please report it with this message",
        )


def _rotate(path: Path) -> None:
    """crash.log -> crash.log.1 -> ... -> crash.log.KEEP (dropped), once it has grown past MAX_BYTES."""
    try:
        if path.lstat().st_size < MAX_BYTES:
            return
    except OSError:
        return
    for n in range(KEEP - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}.{n}", f"{path}.{n + 1}")
    os.replace(path, f"{path}.1")
