"""sfjwt-orch emulator serve / upload-cert: options -> flows.emulator_serve -> the emulator."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sfjwt_orch.commands.options import JsonFlag, complete_alias, context_of, failed_as, guarded
from sfjwt_orch.errors import Code, Document, Result, SfjwtError, envelope, usage
from sfjwt_orch.keyless.spec import Provider as CiProvider

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.emulator import Emulator, EmulatorConfig
    from sfjwt_orch.flows.emulator_serve import Policy


class ServePolicy(StrEnum):
    """--policy: who may use the emulated app (Typer offers and checks the choices)."""

    ADMIN_APPROVED = "admin-approved"
    SELF_AUTHORIZE = "self-authorize"


POLICIES: dict[ServePolicy, Policy] = {
    ServePolicy.ADMIN_APPROVED: "admin-approved",
    ServePolicy.SELF_AUTHORIZE: "self-authorize",
}

app = typer.Typer(help="The offline Salesforce login emulator, for rehearsals and tests.", no_args_is_help=True)

SERVE_HELP = """\
Run an offline Salesforce login server on 127.0.0.1 (and [::1]) until Ctrl-C.

It implements the JWT bearer grant as Salesforce does (signature, issuer, audience, expiry,
approvals, with the same error texts), the one-time approval page, and the REST calls sf makes,
so `sfjwt-orch login` and `sf org display` work against it with no org and no network. Describe
the org, apps and users in a JSON file (--app-config), or register one app with --cert or --alias.
--pending-app serves an app whose certificate is uploaded later (emulator upload-cert), to
rehearse bootstrap from zero. With none of them it serves an org with no app yet, an admin and
the --username integration user: log sf in as the admin with the printed SF_ACCESS_TOKEN line,
then run `sfjwt-orch app create`. --log FILE writes one JSON line per request it answers.

\b
Examples:
  sfjwt-orch emulator serve --pending-app --alias rehearsal --port 8555 --log emulator.jsonl
  sfjwt-orch keygen --alias rehearsal
  sfjwt-orch emulator serve --alias rehearsal --policy self-authorize --port 8555
(`emulator serve` prints the commands to try next, with the NODE_OPTIONS that keeps sf's
fall-back attempts on this machine.)
"""

UPLOAD_HELP = """\
Upload a certificate to an app of a running emulator, as an admin does in Setup.

Logins signed with the matching key work from then on; the previous certificate stops working.

\b
Example:
  sfjwt-orch emulator upload-cert --port 8555 --cert ~/.local/share/sfjwt-orch/keys/rehearsal/server.crt
"""


@app.command("serve", help=SERVE_HELP)
def serve(
    tctx: typer.Context,
    port: int = typer.Option(8555, "--port", help="TCP port on 127.0.0.1 (0: any free port)."),
    app_config: Path | None = typer.Option(None, "--app-config", help="JSON file describing the org, apps and users."),
    cert: Path | None = typer.Option(None, "--cert", help="Register one app with this certificate (server.crt)."),
    alias: str | None = typer.Option(
        None,
        "--alias",
        "-a",
        help="Use this alias's certificate (from keygen); the printed commands use it.",
        autocompletion=complete_alias,
    ),
    pending_app: bool = typer.Option(
        False, "--pending-app", help="One app with no certificate yet: upload it later with emulator upload-cert."
    ),
    username: str = typer.Option("dev@example.com", "--username", help="The org's user (with --cert/--alias)."),
    policy: Annotated[
        ServePolicy,
        typer.Option(
            "--policy",
            help="Who may log in: admin-approved, the users whose profile or permission set is on the app; "
            "self-authorize, any user once they approved the app.",
        ),
    ] = ServePolicy.ADMIN_APPROVED,
    dev_hub: bool = typer.Option(False, "--dev-hub", help="Make the org a Dev Hub."),
    log: Path | None = typer.Option(
        None, "--log", help="Append one JSON line per request answered (never tokens, assertions or keys)."
    ),
    json: bool = typer.Option(
        False, "--json", help="Print one line of JSON (url, apps, users) on stdout once serving."
    ),
) -> None:
    from sfjwt_orch.emulator import EmulatorError, JsonLinesLog, serve_forever
    from sfjwt_orch.flows import emulator_serve

    ctx = context_of(tctx)
    request = emulator_serve.ServeRequest(
        port, app_config, cert, alias, username, POLICIES[policy], dev_hub, pending_app
    )
    emu_config = emulator_serve.emulator_config(request, ctx)
    try:
        request_log = None if log is None else JsonLinesLog(log)
    except OSError as exc:
        raise SfjwtError(Code.FILE_ERROR, f"cannot write --log {log}: {exc.strerror}", "pick a writable file") from None
    kept: list[Path] = []
    try:
        serve_forever(
            emu_config,
            "127.0.0.1",
            port,
            on_ready=lambda emu: _ready(emu, emu_config, alias, ctx, as_json=json, kept=kept),
            on_answer=None if request_log is None else request_log.write,
        )
    except EmulatorError as exc:
        raise SfjwtError(Code.USAGE, exc.message, exc.fix) from None
    finally:
        if request_log is not None:
            request_log.close()
        for path in kept:  # the admin token for emulator run: only while this emulator serves
            path.unlink(missing_ok=True)


def _ready(
    emu: Emulator, emu_config: EmulatorConfig, alias: str | None, ctx: Context, *, as_json: bool, kept: list[Path]
) -> None:
    from sfjwt_orch.emulator import CI_PROVIDERS, admin_json
    from sfjwt_orch.flows import emulator_serve

    ui, apps = ctx.console, emu_config.apps
    # The emulated CI identity providers, for a keyless rehearsal (trust --issuer, emulator run --ci).
    issuers = {provider: emu.ci_issuer(provider) for provider in CI_PROVIDERS}
    users = [u.username for u in emu_config.users if not u.admin]
    admin = admin_json(emu)
    if admin:
        kept.append(emulator_serve.keep_admin_token(ctx, emu.address[1], admin["access_token"]))
    if as_json:
        listed = [
            {
                "name": a.name,
                "consumer_key": a.consumer_key,
                "policy": a.policy,
                "certificate": a.certificate_pem is not None,
            }
            for a in apps
        ]
        doc: dict[str, Any] = {
            "ok": True,
            "url": emu.url,
            "urls": list(emu.urls),
            "apps": listed,
            "users": users,
            "ci_issuers": issuers,
        }
        # The emulator's own rehearsal credential: the one token sfjwt-orch ever prints, and only here.
        doc.update({"admin": admin} if admin else {})
        # Printed as it starts serving, not returned: the command returns only when the emulator stops.
        ctx.console.emit_json(envelope(doc), one_line=True, keep_tokens=True)
    ui.success(f"Salesforce login emulator on {' and '.join(emu.urls)}  (Ctrl-C to stop)")
    for a in apps:
        waiting = "" if a.certificate_pem is not None else ", no certificate yet"
        ui.info(f"  app {a.name!r} ({a.policy}{waiting}): consumer key {a.consumer_key}")
    ui.info(f"  users: {', '.join(users)}")
    ui.info("  CI identity issuers (trust --issuer URL): " + ", ".join(f"{p} {u}" for p, u in issuers.items()))
    for line in emulator_serve.try_lines(emu_config, emu.url, alias, ctx, issuers):
        ui.info(line)


@app.command("upload-cert", help=UPLOAD_HELP)
def upload_cert(
    tctx: typer.Context,
    port: int = typer.Option(8555, "--port", help="The port emulator serve listens on."),
    cert: Path = typer.Option(..., "--cert", help="The certificate to upload (server.crt, PEM)."),
    client_id: str | None = typer.Option(
        None, "--client-id", help="The app's consumer key (needed only when the emulator has several apps)."
    ),
    json: JsonFlag = False,
) -> Result | None:
    from sfjwt_orch.flows import emulator_serve

    ctx = context_of(tctx)

    def body() -> Result:
        done = emulator_serve.upload_cert(emulator_serve.UploadRequest(port, cert, client_id), ctx)
        ctx.console.success(f"Uploaded the certificate to app {done.app!r}: logins signed with its key work now")
        return Document({"app": done.app, "certificate_sha256": done.certificate_sha256})

    return guarded(failed_as({"app": None, "certificate_sha256": None}), body)


RUN_HELP = """\
Run a program in the rehearsal's environment: the loopback guard in NODE_OPTIONS (sf's fall-back
attempts at the real Salesforce hosts stay on this machine), sf's quiet variables, and, when the
emulator on --port has an admin, SF_ACCESS_TOKEN set to the admin's token (never printed). The
program's exit code is this command's.

With --ci github|gitlab the program runs as a CI job of the emulated provider whose identity token
carries the --claim values (GitHub's token-request variables, or GitLab's id_tokens variable
SFJWT_ORCH_ID_TOKEN): a keyless rehearsal of `login --oidc`, nothing of the job printed.

\b
Examples:
  sfjwt-orch emulator run -- sf org login access-token --instance-url http://127.0.0.1:8555 --alias admin --no-prompt
  sfjwt-orch emulator run -- sfjwt-orch bootstrap --alias rehearsal --instance-url http://127.0.0.1:8555
  sfjwt-orch emulator run --ci github --claim repository=acme/app -- sfjwt-orch login --alias ci --oidc github
"""

APPROVE_HELP = """\
Approve (or --deny) an emulator approval URL without a browser: what a person clicking Allow does,
for machines with no desktop. Only the emulator's loopback URLs are visited.

\b
Example:
  sfjwt-orch emulator approve 'http://127.0.0.1:8555/services/oauth2/authorize?response_type=code&...'
"""


@app.command("run", help=RUN_HELP, context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    tctx: typer.Context,
    command: list[str] = typer.Argument(..., help="The program and its arguments (after --)."),
    port: int = typer.Option(8555, "--port", help="The port emulator serve listens on."),
    ci: CiProvider | None = typer.Option(
        None, "--ci", help="Run it as a job of this emulated CI provider (its identity token for login --oidc)."
    ),
    claim: list[str] = typer.Option(
        [], "--claim", help="A claim of the job's identity token, NAME=VALUE (repeatable; with --ci)."
    ),
) -> None:
    from sfjwt_orch.flows import emulator_serve

    ctx = context_of(tctx)
    if claim and ci is None:
        raise usage("--claim needs --ci", "add --ci github or --ci gitlab")
    job = None if ci is None else emulator_serve.CiJob(ci.value, tuple(claim))
    env = emulator_serve.run_env(port, ctx, job)
    # exec, not the runner: the program takes this terminal over (stdin, a prompt, its exit code),
    # where the runner pipes output and closes stdin for the programs sfjwt-orch itself drives.
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        raise SfjwtError(
            Code.USAGE, f"cannot run {command[0]!r}: {exc.strerror}", "name a program on PATH, after --"
        ) from None


@app.command("approve", help=APPROVE_HELP)
def approve(
    tctx: typer.Context,
    url: str = typer.Argument(..., help="The approval URL sfjwt-orch printed."),
    deny: bool = typer.Option(False, "--deny", help="Click Deny instead of Allow."),
    json: JsonFlag = False,
) -> Result | None:
    from sfjwt_orch.flows import emulator_serve

    ctx = context_of(tctx)

    def body() -> Result:
        where = emulator_serve.approve(url, allow=not deny)
        ctx.console.success(f"{'Denied' if deny else 'Allowed'}; the browser would go on to {where}")
        return Document({"approved": not deny, "redirected_to": where})

    return guarded(failed_as({"approved": None, "redirected_to": None}), body)
