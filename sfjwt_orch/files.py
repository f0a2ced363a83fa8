"""Writing files that must never be seen half-written or readable by others.

Every write goes to a temp file in the same folder, is flushed to disk, then `os.replace`d over
the target: a crash, Ctrl-C or full disk leaves either the old file or the new one, never a mix
[pre-commit's store, `os.replace` is atomic on POSIX within one file system].
"""

from __future__ import annotations

import contextlib
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
