"""The Typer app and the ONE error boundary.

Every command returns its result (errors.Result: its fields and the error it ended with, if any);
`main` renders it: the JSON document with --json, the error's message line and fix line, and the
error's documented exit code. An SfjwtError raised before any result exists is rendered the same
way, as a document with no fields. Anything unexpected
prints one line and leaves its traceback in a log file, never on the terminal: tracebacks can
hold keys and tokens in their locals.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sfjwt_orch import __version__
from sfjwt_orch.errors import Code, Document, Exit, Result, SfjwtError, envelope, interrupted
from sfjwt_orch.tools.runner import ProgramNotFound
from sfjwt_orch.ui.console import GuardedStdout, OutputError, StreamConsole, stop_live

if TYPE_CHECKING:
    from sfjwt_orch.context import Context

HELP = """\
Set up Salesforce JWT bearer-flow logins in one command.

sfjwt-orch generates the RSA key and certificate, runs the real `sf org login jwt`, explains
every failure with a concrete fix, and when the user has not approved the app yet, prints (and
opens) the approval URL and retries until the login works or --timeout passes.

\b
Typical use:
  sfjwt-orch keygen --alias my-hub-org          # then upload server.crt to the app
  sfjwt-orch login --alias my-hub-org --client-id KEY --username me@acme.com
  sfjwt-orch login --alias my-hub-org           # later: the saved profile fills in the rest

Exit codes: 0 ok, 1 unexpected, 2 bad input, 3 Salesforce refused, 4 not approved in time,
5 sf/openssl missing or broken, 6 doctor/status found a problem, 130 interrupted. Every command has --json.
"""

# name -> (module in sfjwt_orch.commands, attribute, is a group of subcommands). Only the command
# being run is imported and built: Typer inspects every parameter of every command it registers,
# which would cost each start ~20 ms for commands that are not run.
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "bootstrap": ("bootstrap", "run", False),
    "keygen": ("keygen", "run", False),
    "login": ("login", "run", False),
    "logout": ("logout", "run", False),
    "rotate": ("rotate", "run", False),
    "doctor": ("doctor", "run", False),
    "status": ("status", "run", False),
    "authorize-url": ("authorize_url", "run", False),
    "resolve": ("resolve", "run", False),
    "app": ("app", "app", True),
    "profiles": ("profiles", "app", True),
    "sandbox": ("sandbox", "app", True),
    "ci": ("ci", "app", True),
    "trust": ("trust", "app", True),
    "emulator": ("emulator", "app", True),
    "sf": ("sf", "app", True),  # sfjwt-orch sf install | status | uninstall
    "completion": ("completion", "run", False),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sfjwt-orch {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


def build_app(args: Sequence[str], *, every_command: bool = False) -> typer.Typer:
    """The app with the command `args` names, or with every command (for help and unknown names):
    listed by name and help only, or declared in full with `every_command` (shell completion)."""
    app = typer.Typer(
        name="sfjwt-orch",
        help=HELP,
        add_completion=False,
        rich_markup_mode=None,  # plain click help: honours \b blocks, and --help never imports rich
        no_args_is_help=True,
        pretty_exceptions_enable=False,  # tracebacks go to the log file (see main)
        pretty_exceptions_show_locals=False,  # and never with locals: they can hold keys
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)  # a callback keeps it a group even when one command is registered
    first = next((a for a in args if not a.startswith("-")), None)
    if every_command:
        for name in COMMANDS:
            _register(app, name)
        return app
    if first not in COMMANDS:
        # Only the list of commands will be shown (help, or "No such command"): each is listed by
        # name and help text alone, without the cost of declaring its options.
        for name, (module_name, attribute, is_group) in COMMANDS.items():
            module = importlib.import_module(f"sfjwt_orch.commands.{module_name}")
            listed = getattr(module, attribute).info.help if is_group else module.HELP
            app.command(name, help=listed)(_listed_only)
        return app
    _register(app, first)
    return app


def _register(app: typer.Typer, name: str) -> None:
    module_name, attribute, is_group = COMMANDS[name]
    module = importlib.import_module(f"sfjwt_orch.commands.{module_name}")
    if is_group:
        app.add_typer(getattr(module, attribute), name=name)
    else:
        app.command(name, help=module.HELP)(getattr(module, attribute))


def _listed_only() -> None:  # never run: build_app registers these only when no command is named
    raise AssertionError("a command listed only for help was run")


def _show(result: Result, json_mode: bool) -> int:
    """A command's result: its document with --json, its error's message and fix, its exit code."""
    error = result.error
    said = isinstance(result, Document) and result.said
    console = StreamConsole(sys.stdout, sys.stderr)
    if error is not None and not said:
        stop_live()  # a spinner still turning (Ctrl-C): the message goes on a line of its own
        console.error(error.message, error.fix)
    if json_mode:
        keep_tokens = isinstance(result, Document) and result.keep_tokens
        document = envelope(result.to_json(), error)
        if error is None:
            console.emit_json(document, keep_tokens=keep_tokens)
        else:
            with contextlib.suppress(OutputError):  # stdout is gone; the message is on stderr already
                console.emit_json(document, keep_tokens=keep_tokens)
    return error.exit_code if error is not None else int(Exit.OK)


def _render(exc: SfjwtError, json_mode: bool) -> int:
    """An error raised before any result existed: {ok, error} with --json."""
    return _show(Document(error=exc), json_mode)


def _returned(value: Any, json_mode: bool) -> int:
    """What the command returned: a Result to render, or (typer) an exit code, or nothing."""
    if value is None:
        return int(Exit.OK)
    if isinstance(value, int):
        return value
    return _show(value, json_mode)


def _output_lost(reason: str) -> SfjwtError:
    # stdout is gone, so this goes to stderr only (never --json).
    fix = "check where the output goes: a full disk, or a reader that closed the pipe (| head)"
    return SfjwtError(Code.INTERNAL, f"could not write the output: {reason}", fix)


# This module is loaded by --help, which loads no more than it needs (tests/unit/test_architecture.py):
# what only a crash or a full disk needs is imported there.


def _unexpected(exc: Exception) -> SfjwtError:
    from sfjwt_orch import crashlog
    from sfjwt_orch.store.paths import Paths

    return crashlog.unexpected(exc, Paths.from_env().log_dir)


def _file_fault(exc: OSError) -> SfjwtError | None:
    """An OSError no flow caught, from a full disk or a read-only mount: that is FILE_ERROR, and it
    names the file, not an 'unexpected error' (the flows catch their own; this is a last resort)."""
    from sfjwt_orch.store import files

    if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) or not exc.filename:
        return None

    return files.file_error("write", Path(exc.filename), exc)


def _as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, context: Context | None = None) -> int:
    """Run the CLI; SIGTERM and SIGHUP (a cancelled CI job, a closed terminal) end it like Ctrl-C:
    children killed, listener closed, nothing half-written, exit 130. `context` replaces the one
    commands would build from the environment (the CliRunner test tier hands in fakes)."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, _as_interrupt)
    stdout, sys.stdout = sys.stdout, GuardedStdout(sys.stdout)
    try:
        return _main(argv, context)
    finally:
        sys.stdout = stdout
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(argv: Sequence[str] | None, context: Context | None) -> int:
    # Bad usage (unknown option, missing value, a --kind not among the choices): typer >= 0.24 vendors
    # click and derives its errors from typer.TyperException; an older typer raises click's own.
    usage_errors: tuple[type[Exception], ...] = (typer.TyperException,)
    with contextlib.suppress(ImportError):
        import click  # type: ignore[import-not-found,unused-ignore]  # there only with an older typer, or beside it

        usage_errors += (click.ClickException,)

    args = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in args
    try:
        # The shell asks for completions (completion.COMPLETE_VAR; spelled out so that no other run
        # imports that module).
        if os.environ.get("_SFJWT_ORCH_COMPLETE"):
            from sfjwt_orch.ui.completion import complete

            return complete()
        # Not standalone, typer (0.29) *returns* the code of a typer.Exit raised by a command (doctor's
        # exit 6) instead of raising it, and turns Ctrl-C into that return value 130 (typer/core.py `_main`).
        app = build_app(args)
        # A command's return value comes back here too: its Result, rendered in one place (_show).
        returned = app(args=args, standalone_mode=False, prog_name="sfjwt-orch", obj=context)
        if isinstance(returned, int) and returned == Exit.INTERRUPTED:
            raise KeyboardInterrupt
        code = _returned(returned, json_mode)
        sys.stdout.flush()  # inside the boundary: a result that cannot be written is an error
        return code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except usage_errors as exc:
        format_message = getattr(exc, "format_message", None)
        message = str(format_message() if format_message else exc)
        if json_mode:
            return _render(SfjwtError(Code.USAGE, message, "see: sfjwt-orch COMMAND --help"), json_mode=True)
        getattr(exc, "show", lambda: print(f"Error: {message}", file=sys.stderr))()
        return int(getattr(exc, "exit_code", Exit.USAGE))
    except SfjwtError as exc:
        return _render(exc, json_mode)
    except ProgramNotFound as exc:  # the adapters translate their own; this is a last resort
        err = SfjwtError(Code.INTERNAL, f"{exc.program} cannot be started: {exc.reason}", "check the program named")
        return _render(err, json_mode)
    except OutputError as exc:
        return _render(_output_lost(str(exc)), json_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        return _render(interrupted(), json_mode)
    except OSError as exc:
        return _render(_file_fault(exc) or _unexpected(exc), json_mode)
    except Exception as exc:
        return _render(_unexpected(exc), json_mode)
