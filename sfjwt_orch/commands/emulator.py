from __future__ import annotations

import typer

app = typer.Typer(help="The offline Salesforce login emulator, for rehearsals and tests.", no_args_is_help=True)
