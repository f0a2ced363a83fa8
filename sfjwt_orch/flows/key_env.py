"""--key-env: a key held in an environment variable (a CI secret), made a durable key file.

sf keeps the key *path* and re-reads it at every token refresh, so the key goes to the alias's
key folder (0600, in a 0700 folder), never to a temp dir (forcedotcom/cli #81).
"""

from __future__ import annotations

from sfjwt_orch import keys
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError


def take(var: str, ctx: Context) -> str:
    """Read the variable, and drop it from the environment of everything started later (sf,
    openssl, a browser): the key must not travel on. Called before anything runs."""
    raw = ctx.take_env(var)
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
