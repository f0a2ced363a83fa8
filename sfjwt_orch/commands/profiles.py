"""sfjwt-orch profiles list|show|remove."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from sfjwt_orch.commands.options import JsonFlag, complete_alias, context_of, failed_as, guarded
from sfjwt_orch.errors import Code, Document, Result, SfjwtError
from sfjwt_orch.ui.console import masked_key

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.store.profiles import Profile

app = typer.Typer(help="List, show and remove saved profiles.", no_args_is_help=True)


@app.command("list", help="List saved profiles.")
def list_(tctx: typer.Context, json: JsonFlag = False) -> Result:
    from sfjwt_orch.store import profiles, state

    ctx = context_of(tctx)
    rows, problems = profiles.load_all(ctx.paths)
    for problem in problems:
        ctx.console.warn(f"skipped: {problem.message}")
    shown = [{**p.to_json(), "org_id": state.load(ctx.paths, p.alias).org_id} for p in rows]
    result = Document({"profiles": shown})
    if json:
        return result
    if not rows:
        ctx.console.info("No profiles yet: sfjwt-orch bootstrap --alias NAME")
        return result
    cells = [[str(p[k] or "-") for k in ("alias", "username", "instance_url", "org_id")] for p in shown]
    ctx.console.out(table(["ALIAS", "USERNAME", "LOGIN URL", "ORG ID"], cells, for_people=sys.stdout.isatty()))
    return result


def table(headers: list[str], rows: list[list[str]], *, for_people: bool) -> str:
    """Aligned columns under headers for a person; for a pipe, tab-separated rows without headers,
    which scripts split on (as GitHub CLI's list commands do)."""
    if not for_people:
        return "".join("\t".join(row) + "\n" for row in rows)
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in [headers, *rows]
    )


def _profile(alias: str, tctx: typer.Context) -> tuple[Context, Profile]:
    from sfjwt_orch.store import profiles

    ctx = context_of(tctx)
    profile = profiles.load(ctx.paths, alias)
    if profile is None:
        from sfjwt_orch.store.suggest import alias_hint

        hint = alias_hint(ctx.paths, alias)
        raise SfjwtError(
            Code.PROFILE_NOT_FOUND, f"no profile for alias {alias!r}{hint}", "see: sfjwt-orch profiles list"
        )
    return ctx, profile


@app.command("show", help="Show one profile (no secrets: the key is a path).")
def show(
    tctx: typer.Context,
    alias: str = typer.Argument(..., help="The alias.", autocompletion=complete_alias),
    json: JsonFlag = False,
) -> Result | None:
    def body() -> Result:
        from sfjwt_orch.store import state

        ctx, profile = _profile(alias, tctx)
        shown = {**profile.to_json(), "org_id": state.load(ctx.paths, alias).org_id}
        result = Document({"profile": shown, "file": str(ctx.paths.profile_file(alias))})
        if json:
            return result
        people = dict(shown)
        if people.get("client_id"):
            people["client_id"] = masked_key(str(people["client_id"]))  # human output never shows it whole
        ctx.console.out("".join(f"{key:13} {value or '-'}\n" for key, value in people.items()))
        return result

    return guarded(failed_as({"profile": None, "file": None}), body)


@app.command("remove", help="Remove a profile; optionally log the alias out of sf and delete its key.")
def remove(
    tctx: typer.Context,
    alias: str = typer.Argument(..., help="The alias.", autocompletion=complete_alias),
    logout: bool | None = typer.Option(
        None,
        "--logout/--no-logout",
        help="Also run sf org logout for the alias. [default: ask at a terminal, else no]",
        show_default=False,
    ),
    delete_key: bool = typer.Option(
        False, "--delete-key", help="Also delete the key and certificate (never one another profile uses)."
    ),
    json: JsonFlag = False,
) -> Result | None:
    def body() -> Result:
        from sfjwt_orch.flows.logout import remove_profile
        from sfjwt_orch.ui.interactive import person_present

        ctx, profile = _profile(alias, tctx)
        asked = logout
        if asked is None:
            asked = person_present(ctx.env) and typer.confirm(f"Also log {alias} out of sf?", default=False, err=True)
        done = remove_profile(profile, ctx, logout=asked, delete_key=delete_key)
        ctx.console.success(f"Removed profile {alias}")
        return Document(done.to_json())

    return guarded(failed_as({"alias": alias, "logged_out": False, "deleted": []}), body)
