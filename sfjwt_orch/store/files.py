"""Writing files that must never be seen half-written or readable by others.

Every write goes to a temp file in the same folder, is flushed to disk, then `os.replace`d over
the target: a crash, Ctrl-C or full disk leaves either the old file or the new one, never a mix
[pre-commit's store, `os.replace` is atomic on POSIX within one file system].
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from shlex import quote

from sfjwt_orch.errors import Code, SfjwtError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


_MOVE = "(or move sfjwt-orch's folders with SFJWT_ORCH_CONFIG_DIR / SFJWT_ORCH_DATA_DIR)"


def file_error(action: str, path: Path, exc: OSError) -> SfjwtError:
    """FILE_ERROR for a failed file operation: the path, the system's reason, and for the two
    faults a user meets most (a full disk, a read-only mount) the folder to look at."""
    reason = exc.strerror or str(exc)
    folder = path if action in ("write in", "create folder") else path.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return SfjwtError(
            Code.FILE_ERROR,
            f"cannot {action} {path}: {reason} (no space left on the disk holding {folder})",
            f"free some space (df -h {_quote(folder)}) so the disk is not full, then run it again {_MOVE}",
        )
    if exc.errno == errno.EROFS:
        return SfjwtError(
            Code.FILE_ERROR,
            f"cannot {action} {path}: {reason} ({folder} is on a read-only mount)",
            f"mount it writable, or point sfjwt-orch at a writable folder {_MOVE}",
        )
    return SfjwtError(
        Code.FILE_ERROR,
        f"cannot {action} {path}: {reason}",
        f"check that the folder exists, is writable by you and the disk is not full {_MOVE}",
    )


def _quote(path: Path) -> str:
    return quote(str(path))  # paths in the fixes we print must paste into a shell


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


@dataclass(frozen=True)
class TempFile:
    """A 0600 temp file and the descriptor mkstemp opened it with.

    Everything is written through that descriptor, never by reopening the name: in a folder
    someone else can write to, the name could be a symlink to their file by then (issue 16).
    `publish` checks that the name still is this very file before renaming it into place.
    """

    path: Path
    fd: int

    def write(self, raw: bytes, target: Path) -> None:
        """Write and fsync, so that a rename that follows never publishes an empty or partial file.
        A failure (a full disk) is FILE_ERROR naming `target`."""
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
        except OSError as exc:
            raise file_error("write", target, exc) from exc

    def chmod(self, mode: int) -> None:
        os.fchmod(self.fd, mode)

    def publish(self, target: Path) -> None:
        """Rename it to `target`, once `lstat` shows the name is still our regular file."""
        try:
            seen, ours = os.lstat(self.path), os.fstat(self.fd)
            if not stat.S_ISREG(seen.st_mode) or (seen.st_dev, seen.st_ino) != (ours.st_dev, ours.st_ino):
                raise SfjwtError(
                    Code.FILE_ERROR,
                    f"{self.path} was replaced by someone else while it was written; {target} was left as it was",
                    f"write only to a folder nobody else can write to (chmod 700 {_quote(target.parent)})",
                )
            os.replace(self.path, target)
        except OSError as exc:
            raise file_error("write", target, exc) from exc


@contextlib.contextmanager
def private_temp(directory: Path, suffix: str) -> Iterator[TempFile]:
    """A 0600 temp file in `directory` (mkstemp creates it so), removed on exit unless published."""
    try:
        fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    except OSError as exc:
        raise file_error("write in", directory, exc) from exc
    tmp = TempFile(Path(name), fd)
    try:
        yield tmp
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.path.unlink()


def atomic_write(path: Path, data: str | bytes, mode: int = PRIVATE_FILE) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with private_temp(path.parent, path.suffix) as tmp:
        tmp.write(raw, path)
        tmp.chmod(mode)
        tmp.publish(path)


def is_group_or_world_readable(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)


# A 16384-bit RSA key is about 12 KiB of PEM, a certificate for it less: a bigger file is neither.
MAX_SMALL_FILE = 64 * 1024


class NotAFileToRead(Exception):
    """The path is not one we read: a pipe or device (reading could hang), or far too large."""


PIPE_WAIT = 5.0  # seconds a pipe may keep us waiting for its writer (vault read, op read) to finish


def is_pipe(path: Path) -> bool:
    """A FIFO, or a process substitution (`<(vault read ...)`: /dev/fd/N, a pipe)."""
    try:
        return stat.S_ISFIFO(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def read_pipe(path: Path, what: str, wait: float = PIPE_WAIT) -> bytes:
    """Everything a pipe delivers until its writer closes it: at most MAX_SMALL_FILE bytes, within
    `wait` seconds.

    Opened non-blocking, so a FIFO nobody writes to does not hang the open; then polled against a
    deadline (Linux reports no hang-up on a FIFO whose writer never came, so poll simply waits).
    Raises OSError or NotAFileToRead with the reason.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise NotAFileToRead("stopped being a pipe while it was opened")
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        chunks: list[bytes] = []
        size, deadline = 0, time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if not poller.poll(left * 1000):
                continue
            try:
                chunk = os.read(fd, MAX_SMALL_FILE + 1 - size)
            except BlockingIOError:
                continue
            if not chunk:  # the writer closed it: that is all
                if size:
                    return b"".join(chunks)
                raise NotAFileToRead(f"is a pipe whose writer closed it without writing a {what}")
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_SMALL_FILE:
                raise NotAFileToRead(f"is a pipe that gave more than {MAX_SMALL_FILE} bytes: too large to be a {what}")
        got = f"only {size} bytes" if size else "nothing"
        raise NotAFileToRead(f"is a pipe that gave {got} within {wait:.0f} s (nobody writing to it?)")
    finally:
        os.close(fd)


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
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else after the stat
            raise NotAFileToRead("is not a regular file (a pipe, socket or device?)")
        raw = fh.read(MAX_SMALL_FILE + 1)
    if len(raw) > MAX_SMALL_FILE:  # it grew after the stat
        raise NotAFileToRead(f"is too large to be a {what}")
    return raw, stat.S_IMODE(st.st_mode)
