"""sfjwt-orch completion bash|zsh|fish: print the shell's completion script."""

from __future__ import annotations

import sys

import typer

from sfjwt_orch.errors import usage
from sfjwt_orch.ui.console import StreamConsole

HELP = """\
Print the shell completion script: commands, options and saved aliases complete on Tab.

The script goes to stdout, where to put it to stderr. Completion loads nothing until the shell
asks, so it costs `sfjwt-orch` nothing otherwise.

\b
Examples:
  sfjwt-orch completion bash > ~/.local/share/bash-completion/completions/sfjwt-orch
  sfjwt-orch completion zsh > "${fpath[1]}/_sfjwt-orch"
  sfjwt-orch completion fish > ~/.config/fish/completions/sfjwt-orch.fish
"""


def run(shell: str = typer.Argument(..., help="bash, zsh or fish.", show_default=False)) -> None:
    from sfjwt_orch.ui import completion

    if shell not in completion.SHELLS:
        raise usage(f"no completion for shell {shell!r}", f"use one of: {', '.join(completion.SHELLS)}")
    console = StreamConsole(sys.stdout, sys.stderr)
    console.out(completion.script(shell) + "\n")
    console.info(f"To install it: {completion.INSTALL[shell]}")
