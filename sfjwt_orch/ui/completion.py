"""Shell completion: `sfjwt-orch completion bash|zsh|fish` prints the script; the shell then runs
sfjwt-orch with _SFJWT_ORCH_COMPLETE set to ask for completions of commands, options and saved
aliases. Imported only then (cli.main), so `--help` and `--version` never pay for it: completing
needs every command's options declared, which the lazy registry in cli.build_app avoids otherwise.
Typer's own completion classes do the shell side (its scripts pass the words in the environment).
"""

from __future__ import annotations

import contextlib
import io
import os

import typer
from typer.completion import get_completion_inspect_parameters, shell_complete

from sfjwt_orch.cli import build_app
from sfjwt_orch.store.paths import Paths
from sfjwt_orch.store.profiles import list_aliases

PROG = "sfjwt-orch"
COMPLETE_VAR = "_SFJWT_ORCH_COMPLETE"
SHELLS = ("bash", "zsh", "fish")

# Where each shell picks up a completion script for the user (printed on stderr with the script).
INSTALL = {
    "bash": "sfjwt-orch completion bash > ~/.local/share/bash-completion/completions/sfjwt-orch",
    "zsh": 'sfjwt-orch completion zsh > "${fpath[1]}/_sfjwt-orch"    # then: compinit',
    "fish": "sfjwt-orch completion fish > ~/.config/fish/completions/sfjwt-orch.fish",
}


def complete() -> int:
    """Answer the shell's completion request (the instruction is in COMPLETE_VAR)."""
    _with_typers_classes()
    command = typer.main.get_command(build_app([], every_command=True))
    return shell_complete(command, {}, PROG, COMPLETE_VAR, os.environ[COMPLETE_VAR])


def script(shell: str) -> str:
    """The completion script for `shell` (one of SHELLS): Typer's, as its `--show-completion` prints it."""
    _with_typers_classes()
    command = typer.main.get_command(build_app([]))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = shell_complete(command, {}, PROG, COMPLETE_VAR, f"source_{shell}")
    assert code == 0, shell
    return printed.getvalue().removesuffix("\n")  # echo's own line end


def _with_typers_classes() -> None:
    """Put Typer's completion classes in place: its bash, zsh and fish scripts, which pass the words
    in the environment, and its answers' format. Typer registers them when it declares
    --install-completion and --show-completion; the app declares neither (`sfjwt-orch completion
    SHELL` prints the script), so it asks typer.completion's public function for those declarations
    and drops them, instead of importing the registration from Typer's private modules."""
    get_completion_inspect_parameters()


def saved_aliases(incomplete: str) -> list[str]:
    """The saved profiles' aliases that start with what was typed (for --alias and NAME)."""
    try:
        names = list_aliases(Paths.from_env())
    except OSError:
        return []
    return [name for name in names if name.startswith(incomplete)]
