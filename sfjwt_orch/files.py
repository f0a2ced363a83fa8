"""Writing files that must never be seen half-written or readable by others.

Every write goes to a temp file in the same folder, is flushed to disk, then `os.replace`d over
the target: a crash, Ctrl-C or full disk leaves either the old file or the new one, never a mix
[pre-commit's store, `os.replace` is atomic on POSIX within one file system].
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sfjwt_orch.errors import Code, SfjwtError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def file_error(action: str, path: Path, exc: OSError) -> SfjwtError:
    reason = exc.strerror or str(exc)
    return SfjwtError(
        Code.FILE_ERROR,
        f"cannot {action} {path}: {reason}",
        "check that the folder exists, is writable by you and the disk is not full "
        "(or move it with SFJWT_ORCH_CONFIG_DIR / SFJWT_ORCH_DATA_DIR)",
    )


def ensure_private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Create `path` (and parents) with mode 0700 for the leaf; with `tighten`, also an existing
    leaf (our own folders). A folder the user named (--out-dir) is left as it is."""
    try:
        existed = path.is_dir()
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        if (tighten or not existed) and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(PRIVATE_DIR)
    except OSError as exc:
        raise file_error("create folder", path, exc) from exc
    return path


@contextlib.contextmanager
def private_temp_path(directory: Path, suffix: str) -> Iterator[Path]:
    """A 0600 temp file in `directory`, removed on exit unless it was renamed away."""
    try:
        fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    except OSError as exc:
        raise file_error("write in", directory, exc) from exc
    os.close(fd)  # mkstemp creates it 0600
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_synced(path: Path, raw: bytes) -> None:
    """Write and fsync, so that a rename that follows never publishes an empty or partial file."""
    with open(path, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write(path: Path, data: str | bytes, mode: int = PRIVATE_FILE) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with private_temp_path(path.parent, path.suffix) as tmp:
        try:
            write_synced(tmp, raw)
            tmp.chmod(mode)
            os.replace(tmp, path)
        except OSError as exc:
            raise file_error("write", path, exc) from exc


def is_group_or_world_readable(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)


# A 16384-bit RSA key is about 12 KiB of PEM, a certificate for it less: a bigger file is neither.
MAX_SMALL_FILE = 64 * 1024


class NotAFileToRead(Exception):
    """The path is not one we read: a pipe or device (reading could hang), or far too large."""


def read_small_file(path: Path, what: str) -> tuple[bytes, int]:
    """The bytes (at most MAX_SMALL_FILE) and the permission bits of a regular file.

    The stat comes first, so a FIFO (whose open waits for a writer) or a device is never opened,
    and a huge file never read. O_NONBLOCK keeps a FIFO swapped in after the stat from hanging us,
    and the bounded read holds whatever the file became. Raises OSError (IsADirectoryError for a
    folder) or NotAFileToRead.
    """
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(st.st_mode):
        raise NotAFileToRead("is not a regular file (a pipe, socket or device?)")
    if st.st_size > MAX_SMALL_FILE:
        raise NotAFileToRead(f"is too large to be a {what} ({st.st_size} bytes)")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # no O_NONBLOCK on Windows
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(MAX_SMALL_FILE + 1)
    if len(raw) > MAX_SMALL_FILE:  # it grew after the stat
        raise NotAFileToRead(f"is too large to be a {what}")
    return raw, stat.S_IMODE(st.st_mode)
