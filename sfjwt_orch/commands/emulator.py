"""sfjwt-orch emulator serve: options -> flows.rehearsal -> the emulator, until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer

from sfjwt_orch.commands.options import complete_alias, context_of

app = typer.Typer(help="The offline Salesforce login emulator, for rehearsals and tests.", no_args_is_help=True)

SERVE_HELP = """\
Run an offline Salesforce login server on 127.0.0.1 until Ctrl-C.

It implements the JWT bearer grant as Salesforce does (signature, issuer, audience, expiry,
approvals, with the same error texts), the one-time approval page, and the REST calls sf makes,
so `sfjwt-orch login` and `sf org display` work against it with no org and no network. Describe
the org, apps and users in a JSON file (--app-config), or register one app with --cert or --alias.
With none of them it serves an org with no app yet, an admin and the --username integration user:
log sf in as the admin with the printed SF_ACCESS_TOKEN line, then run `sfjwt-orch app create`.

\b
Examples:
  sfjwt-orch keygen --alias rehearsal
  sfjwt-orch emulator serve --alias rehearsal --policy self-authorize --port 8555
  sfjwt-orch login --alias rehearsal --client-id <printed key> --username dev@example.com \\
      --instance-url http://127.0.0.1:8555
(`emulator serve` prints the NODE_OPTIONS that keeps sf's fall-back attempts on this machine.)
"""


@app.command("serve", help=SERVE_HELP)
def serve(
    tctx: typer.Context,
    port: int = typer.Option(8555, "--port", help="TCP port on 127.0.0.1 (0: any free port)."),
    app_config: Path | None = typer.Option(None, "--app-config", help="JSON file describing the org, apps and users."),
    cert: Path | None = typer.Option(None, "--cert", help="Register one app with this certificate (server.crt)."),
    alias: str | None = typer.Option(
        None, "--alias", "-a", help="Use this alias's certificate (from keygen).", autocompletion=complete_alias
    ),
    username: str = typer.Option("dev@example.com", "--username", help="The org's user (with --cert/--alias)."),
    policy: str = typer.Option("admin-approved", "--policy", help="admin-approved or self-authorize."),
    dev_hub: bool = typer.Option(False, "--dev-hub", help="Make the org a Dev Hub."),
    json: bool = typer.Option(
        False, "--json", help="Print one line of JSON (url, apps, users) on stdout once serving."
    ),
) -> None:
    from sfjwt_orch.emulator import Emulator, EmulatorError, admin_json, serve_forever
    from sfjwt_orch.errors import Code, SfjwtError
    from sfjwt_orch.flows import rehearsal

    ctx = context_of(tctx)
    request = rehearsal.ServeRequest(port, app_config, cert, alias, username, policy, dev_hub)  # type: ignore[arg-type]
    emu_config = rehearsal.emulator_config(request, ctx)

    def ready(emu: Emulator) -> None:
        ui, apps = ctx.console, emu_config.apps
        users = [u.username for u in emu_config.users if not u.admin]
        admin = admin_json(emu)
        if json:
            listed = [{"name": a.name, "consumer_key": a.consumer_key, "policy": a.policy} for a in apps]
            doc = {"ok": True, "url": emu.url, "apps": listed, "users": users}
            # The emulator's own rehearsal credential: the one token sfjwt-orch ever prints, and only here.
            doc.update({"admin": admin} if admin else {})
            ui.emit_json(doc, one_line=True, keep_tokens=True)
        ui.success(f"Salesforce login emulator on {emu.url}  (Ctrl-C to stop)")
        for a in apps:
            ui.info(f"  app {a.name!r} ({a.policy}): consumer key {a.consumer_key}")
        ui.info(f"  users: {', '.join(users)}")
        guard = rehearsal.guard_hint()
        if apps:
            ui.info(
                f"Try: {guard} sfjwt-orch login --alias emu --client-id {apps[0].consumer_key} "
                f"--username {users[0]} --instance-url {emu.url}"
            )
        elif admin:
            ui.info(
                f"Try: {guard} sf org login access-token --instance-url {emu.url} --alias admin --no-prompt "
                "(with SF_ACCESS_TOKEN set to the admin token: emulator serve --json prints it), then: "
                f"{guard} sfjwt-orch app create --alias emu --target-org admin --username {users[0]}"
            )

    try:
        serve_forever(emu_config, "127.0.0.1", port, on_ready=ready)
    except EmulatorError as exc:
        raise SfjwtError(Code.USAGE, exc.message, exc.fix) from None
