"""What every command needs: its collaborators, and the options they all share."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sfjwt_orch.flows import Deps

JSON_HELP = "Print one JSON document on stdout; messages for people stay on stderr."


def json_option() -> bool:
    return typer.Option(False, "--json", help=JSON_HELP)  # type: ignore[no-any-return]


def alias_option(required: bool = True) -> str:
    return typer.Option(  # type: ignore[no-any-return]
        ... if required else None,
        "--alias",
        "-a",
        help="The sf alias for the org; also names sfjwt-orch's saved profile and key folder.",
        show_default=False,
    )


def make_deps() -> Deps:
    from sfjwt_orch.console import Console
    from sfjwt_orch.flows import Deps
    from sfjwt_orch.paths import Paths
    from sfjwt_orch.runner import Runner

    env = dict(os.environ)
    return Deps(runner=Runner(), env=env, console=Console(), paths=Paths.from_env(env))


def check_wait(timeout: float | None, interval: float, person: bool) -> tuple[float, float]:
    """--timeout defaults to 600 s for a person and 0 for scripts: a script that wants to wait says so."""
    from sfjwt_orch.errors import usage

    if timeout is None:
        timeout = 600.0 if person else 0.0
    if not 0 <= timeout <= 86400:
        raise usage(f"--timeout {timeout:g} is out of range", "use 0 (no waiting) up to 86400 seconds")
    if not 0.5 <= interval <= 3600:
        raise usage(f"--interval {interval:g} is out of range", "use 0.5 to 3600 seconds (5 is a good start)")
    return timeout, interval
