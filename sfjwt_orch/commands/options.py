"""What every command needs: its Context, and the options commands share (one definition, one help text)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import typer

from sfjwt_orch.validate import DEFAULT_CALLBACK

if TYPE_CHECKING:
    from pathlib import Path

    from sfjwt_orch.context import Context
    from sfjwt_orch.errors import SfjwtError
    from sfjwt_orch.flows.resolve import LoginFlags, Wait

JSON_HELP = "Print one JSON document on stdout; messages for people stay on stderr."


def json_option() -> bool:
    return typer.Option(False, "--json", help=JSON_HELP)  # type: ignore[no-any-return]


def verbose_option() -> bool:
    return typer.Option(  # type: ignore[no-any-return]
        False,
        "--verbose",
        "-v",
        help="Show each program run (argv, secrets redacted), its exit code and time; also SFJWT_ORCH_DEBUG=1.",
    )


def context_of(tctx: typer.Context, verbose: bool = False) -> Context:
    """The run's Context: the one cli.main was handed (tests), else built from the environment,
    with keygen's early key if __main__ began one (cli.main hands either in as the root's obj)."""
    from sfjwt_orch.context import Context

    given = tctx.find_root().obj  # a Context, keygen's early key (a PendingKey), or None
    if isinstance(given, Context):
        return given
    return Context.from_environ(verbose=verbose, early_key=given)


@contextlib.contextmanager
def json_shape(shape: Callable[[SfjwtError], dict[str, Any]]) -> Iterator[None]:
    """Every --json failure keeps the command's document shape, whatever stage it failed at,
    Ctrl-C included (the error boundary would otherwise print only {ok, error})."""
    from sfjwt_orch.errors import Code, SfjwtError

    try:
        yield
    except SfjwtError as exc:
        exc.details = {**shape(exc), **exc.details}
        raise
    except KeyboardInterrupt:
        interrupted = SfjwtError(
            Code.INTERRUPTED, "interrupted", "nothing was left half-written; run the command again"
        )
        interrupted.details = shape(interrupted)
        raise interrupted from None


def complete_alias(incomplete: str) -> list[str]:
    """Shell completion of a saved alias (imported only when the shell asks)."""
    from sfjwt_orch.completion import saved_aliases

    return saved_aliases(incomplete)


def alias_option(required: bool = True) -> str:
    return typer.Option(  # type: ignore[no-any-return]
        ... if required else None,
        "--alias",
        "-a",
        help="The sf alias for the org; also names sfjwt-orch's saved profile and key folder.",
        show_default=False,
        autocompletion=complete_alias,
    )


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


def allow_non_salesforce_host_option() -> bool:
    return typer.Option(  # type: ignore[no-any-return]
        False,
        "--allow-non-salesforce-host",
        help="Let --instance-url name a host that is not Salesforce's (a proxy in front of it); saved in the "
        "profile. sf sends that host signed logins: use it only for a host you trust.",
    )


def sandbox_option() -> bool:
    return typer.Option(False, "--sandbox", help="Log in at https://test.salesforce.com.")  # type: ignore[no-any-return]


def callback_url_option() -> str | None:
    return typer.Option(  # type: ignore[no-any-return]
        None,
        "--callback-url",
        help=f"A callback URL of the app, used in the approval URL. [default: {DEFAULT_CALLBACK}]",
    )


def key_env_option() -> str | None:
    return typer.Option(  # type: ignore[no-any-return]
        None,
        "--key-env",
        help="The NAME of the environment variable holding the key (PEM, one-line PEM or base64), e.g. SF_JWT_KEY, "
        "never its value; the key is written to the alias's key file, which sf re-reads at every token refresh.",
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


def attempt_timeout_option() -> float | None:
    return typer.Option(  # type: ignore[no-any-return]
        None,
        "--attempt-timeout",
        help="Seconds one sf run may take before it is stopped (also SFJWT_ORCH_SF_TIMEOUT). [default: 45]",
        show_default=False,
    )


def login_wait(
    ctx: Context, browser: bool | None, timeout: float | None, interval: float, attempt_timeout: float | None = None
) -> Wait:
    """How a login waits, from its flags: --timeout's default and the browser depend on whether a
    person is at the terminal (login, sandbox add, login --all)."""
    from sfjwt_orch.flows.resolve import Wait
    from sfjwt_orch.interactive import person_present, should_open_browser

    timeout, interval = check_wait(timeout, interval, person_present(ctx.env))
    return Wait(should_open_browser(browser, ctx.env), timeout, interval, check_attempt_timeout(attempt_timeout))


def check_attempt_timeout(seconds: float | None) -> float | None:
    from sfjwt_orch.errors import usage
    from sfjwt_orch.tools.sf.env import MAX_RUN_TIMEOUT, RUN_TIMEOUT

    if seconds is not None and not 1 <= seconds <= MAX_RUN_TIMEOUT:
        raise usage(
            f"--attempt-timeout {seconds:g} is out of range",
            f"use 1 up to {MAX_RUN_TIMEOUT:.0f} seconds (default {RUN_TIMEOUT:.0f})",
        )
    return seconds


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


def new_app_option() -> bool:
    return typer.Option(  # type: ignore[no-any-return]
        False,
        "--new-app",
        help="The app was created minutes ago: wait (up to --timeout) while Salesforce does not know its consumer "
        "key yet. Without it an unknown key fails at once: it is most likely mistyped.",
    )


def check_exclusive(*pairs: tuple[str, object, str, object]) -> None:
    """Refuse two flags that cannot go together, e.g. ("--sandbox", sandbox, "--instance-url", url)."""
    from sfjwt_orch.errors import usage

    for flag_a, a, flag_b, b in pairs:
        if a and b:
            raise usage(f"{flag_a} and {flag_b} cannot be used together", "pass only one of them")


def login_flags(
    *,
    client_id: str | None,
    username: str | None,
    instance_url: str | None,
    sandbox: bool,
    key_file: Path | None,
    key_env: str | None,
    callback_url: str | None,
    cert_file: Path | None = None,
    allow_non_salesforce_host: bool = False,
) -> LoginFlags:
    """The login values login and bootstrap were given, after refusing flags that exclude each other."""
    from sfjwt_orch.flows.resolve import LoginFlags

    check_exclusive(
        ("--sandbox", sandbox, "--instance-url", instance_url), ("--key-env", key_env, "--key-file", key_file)
    )
    return LoginFlags.of(
        client_id=client_id,
        username=username,
        instance_url=instance_url,
        sandbox=sandbox,
        key_file=key_file,
        cert_file=cert_file,
        callback_url=callback_url,
        allow_non_salesforce_host=allow_non_salesforce_host,
    )
