"""What every command needs: its collaborators, and the options they all share."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sfjwt_orch.deps import Deps

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
    from sfjwt_orch.deps import Deps
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


# --- the login options that login and bootstrap share (one definition, one help text) ---


def client_id_option() -> str | None:
    return typer.Option(None, "--client-id", help="The app's consumer key.")  # type: ignore[no-any-return]


def username_option() -> str | None:
    return typer.Option(None, "--username", help="The Salesforce username to log in as.")  # type: ignore[no-any-return]


def instance_url_option() -> str | None:
    return typer.Option(  # type: ignore[no-any-return]
        None, "--instance-url", help="Login URL: My Domain or login host. [default: https://login.salesforce.com]"
    )


def sandbox_option() -> bool:
    return typer.Option(False, "--sandbox", help="Log in at https://test.salesforce.com.")  # type: ignore[no-any-return]


def callback_url_option() -> str | None:
    return typer.Option(  # type: ignore[no-any-return]
        None,
        "--callback-url",
        help="A callback URL of the app, used in the approval URL. [default: http://localhost:1717/OauthRedirect]",
    )


def key_env_option() -> str | None:
    return typer.Option(  # type: ignore[no-any-return]
        None,
        "--key-env",
        help="Read the key from this environment variable (PEM, one-line PEM or base64); it is written to the "
        "alias's key file, which sf re-reads at every token refresh.",
    )


def browser_option() -> bool | None:
    return typer.Option(  # type: ignore[no-any-return]
        None,
        "--browser/--no-browser",
        help="Open the approval URL in a browser. [default: only for a person at a terminal with a display]",
        show_default=False,
    )


def timeout_option() -> float | None:
    return typer.Option(  # type: ignore[no-any-return]
        None, "--timeout", help="Seconds to keep retrying. [default: 600 at a terminal, 0 in scripts and CI]"
    )


def interval_option() -> float:
    return typer.Option(  # type: ignore[no-any-return]
        5.0, "--interval", help="Seconds between tries at first (backs off to 30)."
    )


def set_default_option() -> bool:
    return typer.Option(  # type: ignore[no-any-return]
        False, "--set-default", help="Make this org sf's default target org."
    )


def set_default_dev_hub_option() -> bool:
    return typer.Option(  # type: ignore[no-any-return]
        False, "--set-default-dev-hub", help="Make this org sf's default Dev Hub."
    )


def check_exclusive(*pairs: tuple[str, object, str, object]) -> None:
    """Refuse two flags that cannot go together, e.g. ("--sandbox", sandbox, "--instance-url", url)."""
    from sfjwt_orch.errors import usage

    for flag_a, a, flag_b, b in pairs:
        if a and b:
            raise usage(f"{flag_a} and {flag_b} cannot be used together", "pass only one of them")
