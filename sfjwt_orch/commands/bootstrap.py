"""sfjwt-orch bootstrap: options -> BootstrapRequest -> flows.bootstrap -> output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sfjwt_orch.commands.options import (
    Alias,
    JsonFlag,
    LoginFlags,
    Verbose,
    check_attempt_timeout,
    check_wait,
    context_of,
    guarded,
    login_options,
)
from sfjwt_orch.errors import Result
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS
from sfjwt_orch.ui.console import Prompter

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


@login_options(helps={"key_file": "Bring your own private key (checked)."})
def run(
    tctx: typer.Context,
    alias: Alias,
    flags: LoginFlags = LoginFlags(),
    bits: Annotated[int, typer.Option("--bits", help="RSA key size for a new key.")] = DEFAULT_BITS,
    days: Annotated[int, typer.Option("--days", help="Lifetime of a new certificate, in days.")] = DEFAULT_DAYS,
    subject: Annotated[
        str | None, typer.Option("--subject", help='Subject of a new certificate. [default: "/CN=<alias>"]')
    ] = None,
    target_org: Annotated[
        str | None,
        typer.Option(
            "--target-org",
            help="An admin's org alias in sf: when no consumer key is known, create the app (as app create does).",
        ),
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask; fail with the flag to pass instead.")
    ] = False,
    ask: Annotated[
        bool,
        typer.Option(
            "--ask", help="Ask every question again (saved answers are the defaults), e.g. to change the username."
        ),
    ] = False,
    json: JsonFlag = False,
    verbose: Verbose = False,
) -> Result | None:
    from sfjwt_orch.flows import bootstrap, login_request
    from sfjwt_orch.flows import key_env as key_env_flow
    from sfjwt_orch.keys.pair import KeygenRequest, check_keygen_request
    from sfjwt_orch.store import profiles
    from sfjwt_orch.store.locks import alias_lock
    from sfjwt_orch.store.paths import check_alias
    from sfjwt_orch.ui.interactive import person_present, should_open_browser

    ctx = context_of(tctx, verbose)

    def body() -> Result:
        key_text = key_env_flow.take(flags.key_env, ctx) if flags.key_env else None  # before any step runs
        check_alias(alias)
        flags.checked()
        can_prompt = person_present(ctx.env, no_input)
        timeout, interval = check_wait(flags.timeout, flags.interval, can_prompt)
        # Flag values are refused before any step runs, whether or not a new key turns out to be needed.
        check_keygen_request(KeygenRequest(Path("."), bits, days, subject or f"/CN={alias}"))
        given = profiles.load_or_new(ctx.paths, alias).merged(flags.given(alias))
        login_request.instance_url(given)  # URLs too (URL_REFUSED), before sf runs
        login_request.callback_url(given)
        browser = flags.browser
        open_browser = should_open_browser(browser, ctx.env) if browser is not None or not no_input else False
        wait = login_request.Wait(open_browser, timeout, interval, check_attempt_timeout(flags.attempt_timeout))
        request = bootstrap.BootstrapRequest(
            login=flags.request(alias, wait),
            new_key=bootstrap.NewKey(bits, days, subject),
            key_text=key_text,
            can_prompt=can_prompt,
            target_org=target_org,
            ask_all=ask,
        )
        with alias_lock(ctx.paths, alias, on_wait=ctx.console.info):
            report = bootstrap.bootstrap(request, ctx, Prompter(ctx.console, sys.stdin, sys.stderr))
        if report.error is None:
            ctx.console.success(f"{alias} is ready.")
            ctx.console.info(bootstrap.next_steps(alias))
        return report

    return guarded(lambda error: bootstrap.BootstrapReport(alias=alias, error=error), body)
