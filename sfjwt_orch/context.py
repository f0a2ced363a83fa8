"""The collaborators every flow gets, built once per run and injectable in tests.

Flows take a Context (runner, environment, console, folders, clock, sleep, callback listener,
browser opener, and the sf and openssl adapters built on the runner) as an argument, so tests
drive every path with fakes and never really sleep [fastapi-cloud-cli `_flow`].
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sfjwt_orch.store.paths import Paths
from sfjwt_orch.tools.openssl import Openssl
from sfjwt_orch.tools.runner import ProcessRunner, Runner
from sfjwt_orch.ui.console import Console, StreamConsole

if TYPE_CHECKING:
    from sfjwt_orch.approval.listener import Callback
    from sfjwt_orch.approval.pages import Approving
    from sfjwt_orch.tools.sf import Sf


class Waiter(Protocol):
    """What the login loop needs of a callback listener (sfjwt_orch.approval.listener.Listener)."""

    port: int

    def wait(self, seconds: float) -> bool: ...
    def consume(self) -> Callback | None: ...
    def stop(self) -> None: ...


def listen(callback_url: str, state: str | None, about: Approving | None = None) -> Waiter | None:
    """Start listening on a loopback callback URL; None for other URLs; OSError if the port is taken.
    `about`: who is being approved, shown on the page the browser lands on."""
    from sfjwt_orch.approval.listener import Listener, loopback_port

    if loopback_port(callback_url) is None:
        return None
    listener = Listener(callback_url, state, about)
    listener.start()
    return listener


class Listen(Protocol):
    def __call__(self, callback_url: str, state: str | None, about: Approving | None = None) -> Waiter | None: ...


def new_state() -> str:
    """The approval URL's `state`: what tells our listener its own browser from anyone else's."""
    import secrets

    return secrets.token_urlsafe(16)


def debugging(env: Mapping[str, str]) -> bool:
    return env.get("SFJWT_ORCH_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


@dataclass
class Context:
    runner: Runner
    env: Mapping[str, str]
    console: Console
    paths: Paths
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    listen: Listen = listen
    new_state: Callable[[], str] = new_state
    verbose: bool = False  # --verbose / SFJWT_ORCH_DEBUG=1: every program run, and all of sf's lines
    _sf: Sf | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, *, verbose: bool = False) -> Context:
        env = dict(os.environ)
        console = StreamConsole(sys.stdout, sys.stderr)  # while a command runs, stdout is cli.main's guard
        verbose = verbose or debugging(env)
        trace = console.trace if verbose else None
        paths = Paths.from_env(env)
        return cls(ProcessRunner(trace=trace), env, console, paths, verbose=verbose)

    def sf(self) -> Sf:
        """The sf adapter (sf itself is looked up on first use)."""
        if self._sf is None:
            from sfjwt_orch.tools.sf import Sf  # the adapter and its parsers (~15 ms): only commands that run sf

            self._sf = Sf(
                self.runner, self.env, self.paths.node_compile_cache(), self.paths.managed_sf(), self.console.warn
            )
        return self._sf

    def openssl(self) -> Openssl:
        return Openssl.find(self.runner, self.env)

    def take_env(self, name: str) -> str:
        """Read a variable and drop it from the environment of everything started later (sf,
        openssl, a browser): what it holds (a key) must not travel on."""
        value = self.env.get(name, "")
        self.env = {k: v for k, v in self.env.items() if k != name}
        self._sf = None  # built on the old environment
        return value
