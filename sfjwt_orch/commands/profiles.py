from __future__ import annotations

import typer

from sfjwt_orch.commands._shared import json_option, make_deps

app = typer.Typer(help="List, show and remove saved profiles.", no_args_is_help=True)


@app.command("list", help="List saved profiles.")
def list_(json: bool = json_option()) -> None:
    from sfjwt_orch import config

    deps = make_deps()
    rows, problems = config.load_all(deps.paths)
    for problem in problems:
        deps.console.warn(f"skipped: {problem.message}")
    if json:
        deps.console.emit_json({"ok": True, "profiles": [p.__dict__ for p in rows]})
        return
    if not rows:
        deps.console.info("No profiles yet: sfjwt-orch bootstrap --alias NAME")
    for p in rows:
        typer.echo(f"{p.alias}\t{p.username or '-'}\t{p.instance_url or '-'}\t{p.org_id or '-'}")


@app.command("show", help="Show one profile (no secrets: the key is a path).")
def show(alias: str = typer.Argument(..., help="The alias."), json: bool = json_option()) -> None:
    from sfjwt_orch import config
    from sfjwt_orch.errors import Code, SfjwtError

    deps = make_deps()
    profile = config.load(deps.paths, alias)
    if profile is None:
        raise SfjwtError(Code.PROFILE_NOT_FOUND, f"no profile for alias {alias!r}", "see: sfjwt-orch profiles list")
    if json:
        deps.console.emit_json({"ok": True, "profile": profile.__dict__, "file": str(deps.paths.profile_file(alias))})
        return
    for key, value in profile.__dict__.items():
        typer.echo(f"{key:13} {value or '-'}")


@app.command("remove", help="Remove a profile; optionally log the alias out of sf and delete its key.")
def remove(
    alias: str = typer.Argument(..., help="The alias."),
    logout: bool | None = typer.Option(
        None,
        "--logout/--no-logout",
        help="Also run sf org logout for the alias. [default: ask at a terminal, else no]",
        show_default=False,
    ),
    delete_key: bool = typer.Option(
        False, "--delete-key", help="Also delete the key and certificate (never one another profile uses)."
    ),
    json: bool = json_option(),
) -> None:
    from pathlib import Path

    from sfjwt_orch import config, keys
    from sfjwt_orch.commands.logout import sf_logout
    from sfjwt_orch.errors import Code, SfjwtError
    from sfjwt_orch.interactive import person_present
    from sfjwt_orch.locks import alias_lock

    deps = make_deps()
    profile = config.load(deps.paths, alias)
    if profile is None:
        raise SfjwtError(Code.PROFILE_NOT_FOUND, f"no profile for alias {alias!r}", "see: sfjwt-orch profiles list")
    if logout is None:
        logout = person_present(deps.env) and typer.confirm(f"Also log {alias} out of sf?", default=False, err=True)
    done: dict[str, object] = {"ok": True, "alias": alias, "logged_out": False, "deleted": []}
    with alias_lock(deps.paths, alias, on_wait=deps.console.info):
        if logout:
            sf_logout(alias, profile, deps)
            done["logged_out"] = True
        if delete_key and profile.key_file:
            # The certificate goes with its key: both stay while another profile uses the key.
            users = config.key_users(deps.paths, Path(profile.key_file), besides=alias)
            if users:
                deps.console.warn(
                    f"kept {profile.key_file}: another profile uses it ({', '.join(users)}); its certificate stays too"
                )
            else:
                keys.shred(Path(profile.key_file))
                done["deleted"].append(profile.key_file)  # type: ignore[attr-defined]
                if profile.cert_file:
                    Path(profile.cert_file).unlink(missing_ok=True)
                    done["deleted"].append(profile.cert_file)  # type: ignore[attr-defined]
        config.remove(deps.paths, alias)
    deps.console.success(f"Removed profile {alias}")
    if json:
        deps.console.emit_json(done)
