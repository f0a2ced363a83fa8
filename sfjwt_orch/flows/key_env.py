"""--key-env: a key held in an environment variable (a CI secret), made a durable key file.

sf keeps the key *path* and re-reads it at every token refresh, so the key goes to the alias's
key folder (0600, in a 0700 folder), never to a temp dir (forcedotcom/cli #81).
"""

from __future__ import annotations

import os
import re

from sfjwt_orch import keys
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What a key looks like when its value was passed instead of its name (`--key-env "$SF_JWT_KEY"`):
# PEM, base64 of PEM ("-----BEGIN" encodes to LS0tLS1CRUdJTi), or any long base64 run.
_KEY_LIKE = re.compile(r"-----BEGIN|LS0tLS1CRUdJTi|[A-Za-z0-9+/=\s]{64,}")


def check_name(var: str) -> str:
    """--key-env takes a variable's NAME. A value that looks like key material is refused without
    ever being echoed (not in the message, not in --json): issue 16 item 3."""
    if _NAME.fullmatch(var):
        return var
    fix = "pass the variable's name, not its value: --key-env SF_JWT_KEY (no $)"
    if _KEY_LIKE.search(var) or len(var) > 64:
        raise SfjwtError(
            Code.USAGE, "--key-env takes a variable's name, and was given what looks like a key (not shown)", fix
        )
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


def write(raw: str, var: str, alias: str, ctx: Context) -> keys.KeyInfo:
    """The key, checked (openssl too) and written to the alias's durable key file."""
    key_file = ctx.paths.key_dir(alias) / keys.KEY_NAME
    return keys.materialise_key(raw, key_file, ctx.openssl(), source=f"the key in ${var}")
