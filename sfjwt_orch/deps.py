"""The collaborators every command gets, and where the programs it drives are found.

Flows take a Deps (runner, environment, console, folders, clock, sleep, listener, state) as an
argument, so tests drive every path with fakes and never really sleep [fastapi-cloud-cli `_flow`].
Kept apart from flows.py so a command that never logs in (keygen, profiles) imports no sf code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sfjwt_orch.console import Console
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.paths import Paths
from sfjwt_orch.runner import ProgramNotFound, Runner, find_program

if TYPE_CHECKING:
    from sfjwt_orch.callback import Callback
    from sfjwt_orch.openssl import Openssl


class Waiter(Protocol):
    """What the login loop needs of a callback listener (sfjwt_orch.callback.Listener)."""

    port: int

    def wait(self, seconds: float) -> bool: ...
    def consume(self) -> Callback | None: ...
    def stop(self) -> None: ...


def listen(callback_url: str, state: str | None) -> Waiter | None:
    """Start listening on a loopback callback URL; None for other URLs; OSError if the port is taken."""
    from sfjwt_orch.callback import Listener, loopback_port

    if loopback_port(callback_url) is None:
        return None
    listener = Listener(callback_url, state)
    listener.start()
    return listener


def new_state() -> str:
    """The approval URL's `state`: what tells our listener its own browser from anyone else's."""
    import secrets  # only when an approval is needed: it loads hashlib

    return secrets.token_urlsafe(16)


@dataclass
class Deps:
    runner: Runner
    env: Mapping[str, str]
    console: Console
    paths: Paths
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    listen: Callable[[str, str | None], Waiter | None] = listen
    new_state: Callable[[], str] = new_state


def sf_unusable(reason: str) -> SfjwtError:
    """sf is missing, or was found but cannot be started (a broken shebang, a noexec mount)."""
    return SfjwtError(
        Code.SF_NOT_FOUND,
        f"the Salesforce CLI (sf) cannot be used: {reason}",
        "install it: npm install -g @salesforce/cli (needs Node 22+), or set SFJWT_ORCH_SF to its path",
    )


def find_sf(env: Mapping[str, str]) -> str:
    try:
        return find_program("sf", "SFJWT_ORCH_SF", env)
    except ProgramNotFound as exc:
        raise sf_unusable(exc.reason) from None


def openssl_for(deps: Deps) -> Openssl:
    from sfjwt_orch.openssl import Openssl, openssl_unusable

    try:
        exe = find_program("openssl", "SFJWT_ORCH_OPENSSL", deps.env)
    except ProgramNotFound as exc:
        raise openssl_unusable(exc.reason) from None
    return Openssl(deps.runner, exe, deps.env)
