"""Keys that are not files sf could keep reading, made durable key files: --key-env (a key held in
an environment variable, a CI secret) and --key-file naming a pipe (`<(vault read ...)`, a FIFO).

sf keeps the key *path* and re-reads it at every token refresh, so the key goes to the alias's
key folder (0600, in a 0700 folder), never to a temp dir (forcedotcom/cli #81); a pipe can be read
only once, so it cannot be handed to sf at all.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import material
from sfjwt_orch.store import files

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What a key looks like when its value was passed instead of its name (`--key-env "$SF_JWT_KEY"`):
# PEM, base64 of PEM ("-----BEGIN" encodes to LS0tLS1CRUdJTi), or any long base64 run.
_KEY_LIKE = re.compile(r"-----BEGIN|LS0tLS1CRUdJTi|[A-Za-z0-9+/=\s]{64,}")


def check_name(var: str) -> str:
    """--key-env takes a variable's NAME. A value that looks like key material is refused without
    ever being echoed (not in the message, not in --json): issue 16 item 3."""
    fix = "pass the variable's name, not its value: --key-env SF_JWT_KEY (no $)"
    # First: a long base64 run of letters and digits alone is also a valid name, and the messages
    # below would echo it ("that variable is not set") (issue 24 item 6).
    if _KEY_LIKE.search(var) or len(var) > 64:
        raise SfjwtError(
            Code.USAGE, "--key-env takes a variable's name, and was given what looks like a key (not shown)", fix
        )
    if _NAME.fullmatch(var):
        return var
    raise SfjwtError(Code.USAGE, f"--key-env {var!r} is not an environment variable name", fix)


def take(var: str, ctx: Context) -> str:
    """Read the variable, and drop it from the environment of everything started later (sf,
    openssl) and from our own process's too: a browser started through Python's webbrowser
    inherits os.environ, not ctx.env. Called before anything runs."""
    raw = ctx.take_env(check_name(var))
    os.environ.pop(var, None)
    if not raw:
        raise SfjwtError(
            Code.USAGE,
            f"--key-env {var}: that variable is not set or is empty",
            f"export {var} with the private key (PEM, or base64 of it), or drop --key-env",
        )
    return raw


class Imported(NamedTuple):
    key: material.KeyInfo  # checked as it was written
    source: str  # where it came from: "$SF_JWT_KEY", or the pipe's path


def key_of(var: str | None, raw: str | None, key_file: Path | None, alias: str, ctx: Context) -> Imported | None:
    """The key --key-env gave (`raw`: its value, taken before anything ran), else the key a pipe at
    `key_file` gives, imported into the alias's key file; None when neither gives one."""
    if var and raw is not None:
        return Imported(write(raw, var, alias, ctx), f"${var}")
    found = from_pipe(key_file, alias, ctx) if key_file is not None else None
    return Imported(found, str(key_file)) if found is not None else None


def write(raw: str, var: str, alias: str, ctx: Context) -> material.KeyInfo:
    """The key, checked (openssl too) and written to the alias's durable key file."""
    return _import(raw, f"the key in ${var}", alias, ctx)


def _import(raw: str, source: str, alias: str, ctx: Context) -> material.KeyInfo:
    key_file = ctx.paths.key_dir(alias) / material.KEY_NAME
    return material.materialise_key(raw, key_file, ctx.openssl(), source=source)


def from_pipe(path: Path, alias: str, ctx: Context) -> material.KeyInfo | None:
    """When `path` is a pipe: read it once (bounded in size and time), import the key into the
    alias's key folder as --key-env does, and say so. None when it is not a pipe."""
    if not files.is_pipe(path):
        return None
    try:
        raw = files.read_pipe(path, "key")
    except (OSError, files.NotAFileToRead) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SfjwtError(
            Code.KEY_INVALID,
            f"--key-file {path} {reason}",
            "write the key into it (e.g. --key-file <(vault read -field=key secret/sf)), or pass a key file",
        ) from None
    info = _import(raw.decode("utf-8", errors="replace"), f"the key read from {path}", alias, ctx)
    ctx.console.info(
        f"Imported the key read from the pipe {path} into {info.path} (0600): sf reads the key again at "
        "every token refresh, which a pipe cannot give it"
    )
    return info
