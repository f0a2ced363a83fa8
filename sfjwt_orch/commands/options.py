"""What every command needs: its Context, and the options commands share (one definition, one help text).

The login options are declared once, in `LoginFlags`: each field is the option (its type, flag and
help, as Typer's `Annotated` form), and `login_options` adds the ones a command names to its
parameters, handing the command one `LoginFlags`. So a new login option is its field here, its
field in the profile when it is saved (config.Profile, matched by name), and the code that uses it;
and `login --all` refuses it (each alias logs in with its saved profile) unless it is a `FLEET` one.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sfjwt_orch.errors import Document, Result, SfjwtError, interrupted, usage
from sfjwt_orch.salesforce import validate
from sfjwt_orch.salesforce.validate import DEFAULT_CALLBACK

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.flows.login_request import LoginRequest, Wait
    from sfjwt_orch.store.profiles import Profile

JSON_HELP = "Print one JSON document on stdout; messages for people stay on stderr."

JsonFlag = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Show each program run (argv, secrets redacted), its exit code and time; also SFJWT_ORCH_DEBUG=1.",
    ),
]


def complete_alias(incomplete: str) -> list[str]:
    """Shell completion of a saved alias (imported only when the shell asks)."""
    from sfjwt_orch.ui.completion import saved_aliases

    return saved_aliases(incomplete)


_ALIAS_HELP = "The sf alias for the org; also names sfjwt-orch's saved profile and key folder."
Alias = Annotated[
    str, typer.Option("--alias", "-a", help=_ALIAS_HELP, show_default=False, autocompletion=complete_alias)
]
OptionalAlias = Annotated[
    str | None, typer.Option("--alias", "-a", help=_ALIAS_HELP, show_default=False, autocompletion=complete_alias)
]


def context_of(tctx: typer.Context, verbose: bool = False) -> Context:
    """The run's Context: the one cli.main was handed (tests; the root's obj), else built from the environment."""
    from sfjwt_orch.context import Context

    given = tctx.find_root().obj
    if isinstance(given, Context):
        return given
    return Context.from_environ(verbose=verbose)


def guarded(failure: Callable[[SfjwtError], Result], body: Callable[[], Result | None]) -> Result | None:
    """The command's `body`, whose flow returns its result; an error raised before that (a bad flag,
    a missing profile, Ctrl-C) becomes `failure(error)`: the command's document shape with the error,
    whatever stage it failed at (the boundary would otherwise print only {ok, error})."""
    try:
        return body()
    except SfjwtError as exc:
        return failure(exc)
    except KeyboardInterrupt:
        return failure(interrupted())


def failed_as(fields: Mapping[str, Any]) -> Callable[[SfjwtError], Result]:
    """`guarded`'s failure for a command whose failure document is these fields."""
    return lambda error: Document(fields, error)


def check_wait(timeout: float | None, interval: float, person: bool) -> tuple[float, float]:
    """--timeout defaults to 600 s for a person and 0 for scripts: a script that wants to wait says so."""
    if timeout is None:
        timeout = 600.0 if person else 0.0
    if not 0 <= timeout <= 86400:
        raise usage(f"--timeout {timeout:g} is out of range", "use 0 (no waiting) up to 86400 seconds")
    if not 0.5 <= interval <= 3600:
        raise usage(f"--interval {interval:g} is out of range", "use 0.5 to 3600 seconds (5 is a good start)")
    return timeout, interval


def check_attempt_timeout(seconds: float | None) -> float | None:
    from sfjwt_orch.tools.sf.env import MAX_RUN_TIMEOUT, RUN_TIMEOUT

    if seconds is not None and not 1 <= seconds <= MAX_RUN_TIMEOUT:
        raise usage(
            f"--attempt-timeout {seconds:g} is out of range",
            f"use 1 up to {MAX_RUN_TIMEOUT:.0f} seconds (default {RUN_TIMEOUT:.0f})",
        )
    return seconds


def check_exclusive(*pairs: tuple[str, object, str, object]) -> None:
    """Refuse two flags that cannot go together, e.g. ("--sandbox", sandbox, "--instance-url", url)."""
    for flag_a, a, flag_b, b in pairs:
        if a and b:
            raise usage(f"{flag_a} and {flag_b} cannot be used together", "pass only one of them")


# --- the login options (one declaration each, shared by login, bootstrap, sandbox add, authorize-url) ---

Timeout = Annotated[
    float | None,
    typer.Option("--timeout", help="Seconds to keep retrying. [default: 600 at a terminal, 0 in scripts and CI]"),
]
Interval = Annotated[float, typer.Option("--interval", help="Seconds between tries at first (backs off to 30).")]

# The login options `login --all` accepts: how to wait. Every other one belongs to one alias.
FLEET = ("browser", "timeout", "interval")


@dataclass(frozen=True)
class LoginFlags:
    """The login options a command was given (None or False: not given). A field named as a
    config.Profile field is an answer: it overrides the saved one (`given`)."""

    client_id: Annotated[str | None, typer.Option("--client-id", help="The app's consumer key.")] = None
    username: Annotated[str | None, typer.Option("--username", help="The Salesforce username to log in as.")] = None
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="The private key. [default: the alias's key from keygen]")
    ] = None
    cert_file: Annotated[
        Path | None, typer.Option("--cert-file", help="Its certificate (checked against the key).")
    ] = None
    key_env: Annotated[
        str | None,
        typer.Option(
            "--key-env",
            help="The NAME of the environment variable holding the key (PEM, one-line PEM or base64), e.g. "
            "SF_JWT_KEY, never its value; the key is written to the alias's key file, which sf re-reads at every "
            "token refresh.",
        ),
    ] = None
    instance_url: Annotated[
        str | None,
        typer.Option(
            "--instance-url", help="Login URL: My Domain or login host. [default: https://login.salesforce.com]"
        ),
    ] = None
    allow_non_salesforce_host: Annotated[
        bool,
        typer.Option(
            "--allow-non-salesforce-host",
            help="Let --instance-url name a host that is not Salesforce's (a proxy in front of it); saved in the "
            "profile. sf sends that host signed logins: use it only for a host you trust.",
        ),
    ] = False
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Log in at https://test.salesforce.com.")] = False
    callback_url: Annotated[
        str | None,
        typer.Option(
            "--callback-url",
            help=f"A callback URL of the app, used in the approval URL. [default: {DEFAULT_CALLBACK}]",
        ),
    ] = None
    browser: Annotated[
        bool | None,
        typer.Option(
            "--browser/--no-browser",
            help="Open the approval URL in a browser. [default: only for a person at a terminal with a display]",
            show_default=False,
        ),
    ] = None
    timeout: Timeout = None
    interval: Interval = 5.0
    attempt_timeout: Annotated[
        float | None,
        typer.Option(
            "--attempt-timeout",
            help="Seconds one sf run may take before it is stopped (also SFJWT_ORCH_SF_TIMEOUT). [default: 45]",
            show_default=False,
        ),
    ] = None
    set_default: Annotated[bool, typer.Option("--set-default", help="Make this org sf's default target org.")] = False
    set_default_dev_hub: Annotated[
        bool, typer.Option("--set-default-dev-hub", help="Make this org sf's default Dev Hub.")
    ] = False
    new_app: Annotated[
        bool,
        typer.Option(
            "--new-app",
            help="The app was created minutes ago: wait (up to --timeout) while Salesforce does not know its "
            "consumer key yet. Without it an unknown key fails at once: it is most likely mistyped.",
        ),
    ] = False

    def checked(self) -> LoginFlags:
        """Itself, after refusing flags that exclude each other."""
        check_exclusive(
            ("--sandbox", self.sandbox, "--instance-url", self.instance_url),
            ("--key-env", self.key_env, "--key-file", self.key_file),
        )
        return self

    def given(self, alias: str) -> Profile:
        """The answers given, as a profile to lay over the saved one (Profile.merged)."""
        from sfjwt_orch.store import profiles

        answers: dict[str, Any] = {
            f.name: _answer(getattr(self, f.name))
            for f in dataclasses.fields(profiles.Profile)
            if f.name in _FIELDS and getattr(self, f.name)
        }
        if self.sandbox:
            answers["instance_url"] = validate.SANDBOX
        return profiles.Profile(alias=alias, **answers)

    def single_alias(self) -> list[str]:
        """The flags given that name one alias's values (refused by `login --all`)."""
        return [_flag(name) for name in _FIELDS if name not in FLEET and getattr(self, name)]

    def request(self, alias: str, wait: Wait) -> LoginRequest:
        """The login these flags ask for, before the saved profile fills the rest (resolve.resolved)."""
        from sfjwt_orch.flows.login_request import LoginRequest

        return LoginRequest(
            profile=self.given(alias),
            wait=wait,
            set_default=self.set_default,
            set_default_dev_hub=self.set_default_dev_hub,
            new_app=self.new_app,
            key_env=self.key_env,
        )


_FIELDS = tuple(f.name for f in dataclasses.fields(LoginFlags))


def _answer(value: object) -> str | bool:
    return _absolute(value) if isinstance(value, Path) else typing.cast("str | bool", value)


def _absolute(path: Path) -> str:
    """The path with symlinks resolved, unless that leads nowhere: a process substitution's
    /dev/fd/63 resolves to /proc/PID/fd/pipe:[N], which is no path at all, so it stays as given."""
    path = path.expanduser()
    resolved = path.resolve()
    return str(resolved if resolved.exists() else path.absolute())


@functools.cache
def _hints() -> dict[str, Any]:
    """LoginFlags' fields with their Annotated options (read once: every login command needs them)."""
    return typing.get_type_hints(LoginFlags, include_extras=True)


def _option(name: str) -> Any:
    return typing.get_args(_hints()[name])[1]


def _flag(name: str) -> str:
    """The option's long name: in the Annotated form, Typer keeps the first name where a default would be."""
    option = _option(name)
    return str(option.default).split("/")[0]


def login_options(
    *names: str, but: tuple[str, ...] = (), helps: Mapping[str, str] | None = None
) -> Callable[[Callable[..., Result | None]], Callable[..., Result | None]]:
    """Give a command the login options `names` (LoginFlags' fields; none named: every one `but`
    those), in that order, where its `flags: LoginFlags` parameter stands; it is called with them
    as that one value. `helps` rewords an option's help for this command (e.g. sandbox add's
    defaults come from production)."""
    names = names or tuple(name for name in _FIELDS if name not in but)
    hints = _hints()
    defaults = {f.name: f.default for f in dataclasses.fields(LoginFlags)}

    def parameter(name: str) -> inspect.Parameter:
        annotation = hints[name]
        if helps and name in helps:
            annotation = Annotated[typing.get_args(annotation)[0], _copy_with_help(_option(name), helps[name])]
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=defaults[name], annotation=annotation)

    def decorate(command: Callable[..., Result | None]) -> Callable[..., Result | None]:
        own = typing.get_type_hints(command, include_extras=True)
        params: list[inspect.Parameter] = []
        for p in inspect.signature(command).parameters.values():
            if p.name == "flags":
                params += [parameter(name) for name in names]
            else:
                params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=own.get(p.name, p.annotation)))

        @functools.wraps(command)
        def run(**kwargs: Any) -> Result | None:
            flags = LoginFlags(**{name: kwargs.pop(name) for name in names})
            return command(**kwargs, flags=flags)

        setattr(run, "__signature__", inspect.Signature(params, return_annotation=None))  # noqa: B010 (read by Typer)
        run.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return run

    return decorate


def _copy_with_help(option: Any, help_text: str) -> Any:
    reworded = copy.copy(option)
    reworded.help = help_text
    return reworded


def login_wait(ctx: Context, flags: LoginFlags) -> Wait:
    """How a login waits, from its flags: --timeout's default and the browser depend on whether a
    person is at the terminal (login, sandbox add, login --all)."""
    from sfjwt_orch.flows.login_request import Wait
    from sfjwt_orch.ui.interactive import person_present, should_open_browser

    timeout, interval = check_wait(flags.timeout, flags.interval, person_present(ctx.env))
    return Wait(
        should_open_browser(flags.browser, ctx.env), timeout, interval, check_attempt_timeout(flags.attempt_timeout)
    )
