"""sfjwt-orch bootstrap: options -> BootstrapRequest -> flows.bootstrap -> output."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from sfjwt_orch.commands.options import (
    alias_option,
    allow_non_salesforce_host_option,
    attempt_timeout_option,
    browser_option,
    callback_url_option,
    check_attempt_timeout,
    check_wait,
    client_id_option,
    context_of,
    instance_url_option,
    interval_option,
    json_option,
    json_shape,
    key_env_option,
    login_flags,
    new_app_option,
    sandbox_option,
    set_default_dev_hub_option,
    set_default_option,
    timeout_option,
    username_option,
    verbose_option,
)
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS

HELP = """\
Onboard an org in one command: tools, key and certificate, the app, login, verify, save.

Each step is shown as it starts and ends; a step already satisfied is skipped, so running it
again on a working alias only re-verifies, and an interrupted run continues where it stopped.
When no consumer key is known yet it prints the External Client App checklist (with the
certificate to upload) and asks for the key, the username and the login URL. An answer is saved
to the profile only once a login with it works; until then it is kept apart and offered as the
default next time (--ask asks every question again). A consumer key the org does not know can
be pasted again, or kept while a new app propagates. With --no-input, without a terminal, or in
CI nothing is asked: missing values are an error naming the flag.

\b
Examples:
  sfjwt-orch bootstrap --alias my-hub-org
  sfjwt-orch bootstrap --alias ci --client-id KEY --username ci@acme.com --key-env SF_JWT_KEY --no-input --json
"""


def run(
    tctx: typer.Context,
    alias: str = alias_option(),
    client_id: str | None = client_id_option(),
    username: str | None = username_option(),
    instance_url: str | None = instance_url_option(),
    allow_non_salesforce_host: bool = allow_non_salesforce_host_option(),
    sandbox: bool = sandbox_option(),
    callback_url: str | None = callback_url_option(),
    key_file: Path | None = typer.Option(None, "--key-file", help="Bring your own private key (checked)."),
    cert_file: Path | None = typer.Option(None, "--cert-file", help="Its certificate (checked against the key)."),
    key_env: str | None = key_env_option(),
    bits: int = typer.Option(DEFAULT_BITS, "--bits", help="RSA key size for a new key."),
    days: int = typer.Option(DEFAULT_DAYS, "--days", help="Lifetime of a new certificate, in days."),
    subject: str | None = typer.Option(
        None, "--subject", help='Subject of a new certificate. [default: "/CN=<alias>"]'
    ),
    browser: bool | None = browser_option(),
    timeout: float | None = timeout_option(),
    interval: float = interval_option(),
    attempt_timeout: float | None = attempt_timeout_option(),
    set_default: bool = set_default_option(),
    set_default_dev_hub: bool = set_default_dev_hub_option(),
    target_org: str | None = typer.Option(
        None,
        "--target-org",
        help="An admin's org alias in sf: when no consumer key is known, create the app (as app create does).",
    ),
    no_input: bool = typer.Option(False, "--no-input", help="Never ask; fail with the flag to pass instead."),
    ask: bool = typer.Option(
        False, "--ask", help="Ask every question again (saved answers are the defaults), e.g. to change the username."
    ),
    new_app: bool = new_app_option(),
    json: bool = json_option(),
    verbose: bool = verbose_option(),
) -> None:
    from sfjwt_orch import config
    from sfjwt_orch.console import Prompter
    from sfjwt_orch.flows import bootstrap, resolve
    from sfjwt_orch.flows import key_env as key_env_flow
    from sfjwt_orch.interactive import person_present, should_open_browser
    from sfjwt_orch.keypair import KeygenRequest, check_keygen_request
    from sfjwt_orch.locks import alias_lock
    from sfjwt_orch.paths import check_alias

    ctx = context_of(tctx, verbose)
    with json_shape(bootstrap.BootstrapReport(alias=alias).to_json):
        key_text = key_env_flow.take(key_env, ctx) if key_env else None  # before any step runs
        check_alias(alias)
        flags = login_flags(
            client_id=client_id,
            username=username,
            instance_url=instance_url,
            sandbox=sandbox,
            key_file=key_file,
            key_env=key_env,
            callback_url=callback_url,
            cert_file=cert_file,
            allow_non_salesforce_host=allow_non_salesforce_host,
        )
        can_prompt = person_present(ctx.env, no_input)
        timeout, interval = check_wait(timeout, interval, can_prompt)
        # Flag values are refused before any step runs, whether or not a new key turns out to be needed.
        check_keygen_request(KeygenRequest(Path("."), bits, days, subject or f"/CN={alias}"))
        given = resolve.merged(config.load_or_new(ctx.paths, alias), flags)  # URLs too (URL_REFUSED), before sf runs
        resolve.instance_url(given)
        resolve.callback_url(given)
        open_browser = should_open_browser(browser, ctx.env) if browser is not None or not no_input else False
        request = bootstrap.BootstrapRequest(
            alias=alias,
            flags=flags,
            wait=resolve.Wait(open_browser, timeout, interval, check_attempt_timeout(attempt_timeout)),
            defaults=resolve.SfDefaults(set_default, set_default_dev_hub),
            new_key=bootstrap.NewKey(bits, days, subject),
            key_env=key_env,
            key_text=key_text,
            can_prompt=can_prompt,
            target_org=target_org,
            ask_all=ask,
            new_app=new_app,
        )
        with alias_lock(ctx.paths, alias, on_wait=ctx.console.info):
            report = bootstrap.bootstrap(request, ctx, Prompter(ctx.console, sys.stdin, sys.stderr))
    ctx.console.success(f"{alias} is ready.")
    ctx.console.info(bootstrap.next_steps(alias))
    if json:
        ctx.console.emit_json(report.to_json())
