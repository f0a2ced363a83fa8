from __future__ import annotations

import typer

from sfjwt_orch.commands._shared import json_option, make_deps

HELP = """\
Check everything a JWT login depends on, with the fix for each problem.

sf and openssl present; the key exists, is mode 0600, is an unencrypted RSA key of 2048+ bits and
matches the certificate; the certificate has not expired (warns under 30 days); the instance URL
is https and not a Lightning domain (with sandbox hints); the profile is complete; and sf still
holds a working login for the alias. Exit 0 when nothing fails, 1 otherwise.

\b
Examples:
  sfjwt-orch doctor
  sfjwt-orch doctor --alias my-hub-org --json
"""


def run(
    alias: str | None = typer.Option(None, "--alias", "-a", help="Check this alias's profile, key and sf login."),
    json: bool = json_option(),
) -> None:
    from sfjwt_orch import doctor
    from sfjwt_orch.paths import check_alias

    deps = make_deps()
    if alias is not None:
        check_alias(alias)
    checks = doctor.run(alias, deps)
    ok = not any(c.result == "fail" for c in checks)
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("check", "result", "detail", "fix"):
        table.add_column(column, overflow="fold")
    style = {"pass": "[green]pass[/]", "warn": "[yellow]warn[/]", "fail": "[red]fail[/]"}
    from rich.markup import escape

    for c in checks:
        table.add_row(escape(c.name), style[c.result], escape(c.detail), escape(c.fix))
    deps.console.err.print(table)
    counts = {result: sum(c.result == result for c in checks) for result in ("pass", "warn", "fail")}
    summary = f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed"
    (deps.console.success if ok else deps.console.warn)(summary)
    if json:
        deps.console.emit_json({"ok": ok, "alias": alias, "checks": [c.__dict__ for c in checks]})
    if not ok:
        raise typer.Exit(1)
