"""Work begun before the CLI is imported.

Most of keygen's time is openssl searching for two large primes: 0.05-0.5 s, at random. Starting
Python and importing typer takes ~60 ms on top. So for a plain `keygen --alias NAME` command line,
__main__ starts making the pair first, the keygen command adopts it once its options have passed
their checks, and whatever was not adopted is stopped when the command ends. The key comes back
through a pipe (never a file or a command line) and is dropped unused if the command fails.

Imports are kept to what starting openssl needs: every module loaded here delays it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (~10 ms) first
if TYPE_CHECKING:
    from collections.abc import Sequence

    from sfjwt_orch.openssl import PendingPair

# keygen's defaults for --bits and --days (tests/unit/test_checks.py holds them together).
DEFAULT_BITS = 2048
DEFAULT_DAYS = 365
_VALUE_OPTIONS = ("--alias", "-a", "--out-dir")  # options whose value does not change the pair
_FLAGS = ("--force", "--json")

_pending: PendingPair | None = None


def plan(args: Sequence[str]) -> tuple[int, int, str] | None:
    """(bits, days, subject) of the pair `args` will ask for, when it is keygen with the defaults;
    None for anything else, including anything unexpected (the CLI then reports it)."""
    if list(args[:1]) != ["keygen"]:
        return None
    values: dict[str, str] = {}
    rest = iter(args[1:])
    for arg in rest:
        name, eq, value = arg.partition("=")
        if name in _VALUE_OPTIONS and name.startswith("--") and eq:
            values[name] = value
        elif arg in _VALUE_OPTIONS:
            values["--alias" if arg == "-a" else arg] = next(rest, "")
        elif arg not in _FLAGS:
            return None  # --bits, --days, --subject, --help, a typo: the CLI decides
    alias = values.get("--alias", "")
    if not (alias.isascii() and alias.replace(".", "").replace("_", "").replace("-", "").isalnum()):
        return None
    return DEFAULT_BITS, DEFAULT_DAYS, f"/CN={alias}"


def begin(args: Sequence[str]) -> None:
    global _pending
    wanted = plan(args)
    if wanted is None:
        return
    from sfjwt_orch.errors import SfjwtError
    from sfjwt_orch.openssl import Openssl
    from sfjwt_orch.runner import ProgramNotFound, Runner, find_program

    env = dict(os.environ)
    try:
        _pending = Openssl(Runner(), find_program("openssl", "SFJWT_ORCH_OPENSSL", env), env).start_pair(*wanted)
    except (ProgramNotFound, SfjwtError):
        return  # keygen itself runs into the same and says so, with the fix


def pending() -> PendingPair | None:
    """The pair under way, if any; keys.keygen uses it only if it is the one asked for."""
    return _pending


def cancel() -> None:
    """Stop a pair nobody adopted (a failed check, Ctrl-C); a no-op once it has finished."""
    if _pending is not None:
        _pending.running.cancel()
