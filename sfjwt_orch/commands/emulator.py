from __future__ import annotations

from pathlib import Path

import typer

from sfjwt_orch.commands._shared import make_deps

app = typer.Typer(help="The offline Salesforce login emulator, for rehearsals and tests.", no_args_is_help=True)

SERVE_HELP = """\
Run an offline Salesforce login server on 127.0.0.1 until Ctrl-C.

It implements the JWT bearer grant as Salesforce does (signature, issuer, audience, expiry,
approvals, with the same error texts), the one-time approval page, and the REST calls sf makes,
so `sfjwt-orch login` and `sf org display` work against it with no org and no network. Describe
the org, apps and users in a JSON file (--app-config), or register one app with --cert.

\b
Examples:
  sfjwt-orch keygen --alias rehearsal
  sfjwt-orch emulator serve --alias rehearsal --policy self-authorize --port 8555
  sfjwt-orch login --alias rehearsal --client-id <printed key> --username dev@example.com \\
      --instance-url http://127.0.0.1:8555
"""


@app.command("serve", help=SERVE_HELP)
def serve(
    port: int = typer.Option(8555, "--port", help="TCP port on 127.0.0.1 (0: any free port)."),
    app_config: Path | None = typer.Option(None, "--app-config", help="JSON file describing the org, apps and users."),
    cert: Path | None = typer.Option(None, "--cert", help="Register one app with this certificate (server.crt)."),
    alias: str | None = typer.Option(None, "--alias", "-a", help="Use this alias's certificate (from keygen)."),
    username: str = typer.Option("dev@example.com", "--username", help="The org's user (with --cert/--alias)."),
    policy: str = typer.Option("admin-approved", "--policy", help="admin-approved or self-authorize."),
    dev_hub: bool = typer.Option(False, "--dev-hub", help="Make the org a Dev Hub."),
    json: bool = typer.Option(
        False, "--json", help="Print one line of JSON (url, apps, users) on stdout once serving."
    ),
) -> None:
    from sfjwt_orch import approval, config
    from sfjwt_orch.emulator import EmulatorError, demo_config, load_config, serve_forever
    from sfjwt_orch.errors import Code, SfjwtError, usage
    from sfjwt_orch.keys import CERT_NAME
    from sfjwt_orch.paths import check_alias

    deps = make_deps()
    if not 0 <= port <= 65535:
        raise usage(f"--port {port} is out of range", "use 1024-65535, or 0 for any free port")
    if policy not in ("admin-approved", "self-authorize"):
        raise usage(f"--policy {policy!r} is not known", "use --policy admin-approved or --policy self-authorize")
    try:
        if app_config is not None:
            if cert or alias:
                raise usage("--app-config cannot be combined with --cert or --alias", "describe the app in the file")
            emu_config = load_config(app_config)
        else:
            if cert is None and alias:
                check_alias(alias)
                saved = config.load(deps.paths, alias)
                cert = Path(saved.cert_file) if saved and saved.cert_file else deps.paths.key_dir(alias) / CERT_NAME
            if cert is None:
                raise usage(
                    "no app to serve", "pass --alias NAME (after keygen), --cert server.crt or --app-config FILE"
                )
            try:
                pem = cert.read_text(encoding="utf-8")
            except OSError as exc:
                raise SfjwtError(
                    Code.CERT_INVALID,
                    f"cannot read certificate {cert}: {exc.strerror}",
                    "make one first: sfjwt-orch keygen --alias NAME",
                ) from None
            emu_config = demo_config(
                pem,
                username=approval.check_username(username),
                policy="self-authorize" if policy == "self-authorize" else "admin-approved",
                is_dev_hub=dev_hub,
            )
    except EmulatorError as exc:
        raise SfjwtError(Code.USAGE, exc.message, exc.fix) from None

    def ready(emu: object) -> None:
        from sfjwt_orch.emulator import Emulator

        assert isinstance(emu, Emulator)
        ui = deps.console
        apps = emu_config.apps
        if json:
            ui.emit_json(
                {
                    "ok": True,
                    "url": emu.url,
                    "apps": [{"name": a.name, "consumer_key": a.consumer_key, "policy": a.policy} for a in apps],
                    "users": [u.username for u in emu_config.users],
                },
                one_line=True,
            )
        ui.success(f"Salesforce login emulator on {emu.url}  (Ctrl-C to stop)")
        for a in apps:
            ui.info(f"  app {a.name!r} ({a.policy}): consumer key {a.consumer_key}")
        ui.info(f"  users: {', '.join(u.username for u in emu_config.users)}")
        first = apps[0].consumer_key
        ui.info(
            f"Try: sfjwt-orch login --alias emu --client-id {first} --username "
            f"{emu_config.users[0].username} --instance-url {emu.url}"
        )

    try:
        serve_forever(emu_config, "127.0.0.1", port, on_ready=ready)
    except EmulatorError as exc:
        raise SfjwtError(Code.USAGE, exc.message, exc.fix) from None
