"""Shell completion: `sfjwt-orch completion bash|zsh|fish` prints the script; the shell then runs
sfjwt-orch with _SFJWT_ORCH_COMPLETE set to ask for completions of commands, options and saved
aliases. Imported only then (cli.main), so `--help` and `--version` never pay for it: completing
needs every command's options declared, which the lazy registry in cli.build_app avoids otherwise.
Typer's own completion classes do the shell side (its scripts pass the words in the environment).
"""

from __future__ import annotations

import os

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
    import typer
    from typer._completion_classes import completion_init
    from typer.completion import shell_complete

    from sfjwt_orch.cli import build_app

    completion_init()
    command = typer.main.get_command(build_app([], every_command=True))
    return shell_complete(command, {}, PROG, COMPLETE_VAR, os.environ[COMPLETE_VAR])


def script(shell: str) -> str:
    """The completion script for `shell` (one of SHELLS)."""
    import typer
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    from sfjwt_orch.cli import build_app

    completion_init()
    cls = get_completion_class(shell)
    assert cls is not None, shell
    return cls(typer.main.get_command(build_app([])), {}, PROG, COMPLETE_VAR).source()


def saved_aliases(incomplete: str) -> list[str]:
    """The saved profiles' aliases that start with what was typed (for --alias and NAME)."""
    from sfjwt_orch.store.paths import Paths
    from sfjwt_orch.store.profiles import list_aliases

    try:
        names = list_aliases(Paths.from_env())
    except OSError:
        return []
    return [name for name in names if name.startswith(incomplete)]
