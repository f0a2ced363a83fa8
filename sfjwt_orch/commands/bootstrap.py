from __future__ import annotations

from pathlib import Path

import typer

from sfjwt_orch.commands._shared import (
    alias_option,
    browser_option,
    callback_url_option,
    check_exclusive,
    client_id_option,
    instance_url_option,
    interval_option,
    json_option,
    key_env_option,
    make_deps,
    sandbox_option,
    set_default_dev_hub_option,
    set_default_option,
    timeout_option,
    username_option,
)

HELP = """\
Onboard an org in one command: tools, key and certificate, the app, login, verify, save.

Each step is shown as it starts and ends; a step already satisfied is skipped, so running it
again on a working alias only re-verifies, and an interrupted run continues where it stopped.
When no consumer key is known yet it prints the External Client App checklist (with the
certificate to upload) and asks for the key, the username and the login URL. With --no-input,
without a terminal, or in CI nothing is asked: missing values are an error naming the flag.

\b
Examples:
  sfjwt-orch bootstrap --alias my-hub-org
  sfjwt-orch bootstrap --alias ci --client-id KEY --username ci@acme.com --key-env SF_JWT_KEY --no-input --json
"""


def run(
    alias: str = alias_option(),
    client_id: str | None = client_id_option(),
    username: str | None = username_option(),
    instance_url: str | None = instance_url_option(),
    sandbox: bool = sandbox_option(),
    callback_url: str | None = callback_url_option(),
    key_file: Path | None = typer.Option(None, "--key-file", help="Bring your own private key (checked)."),
    cert_file: Path | None = typer.Option(None, "--cert-file", help="Its certificate (checked against the key)."),
    key_env: str | None = key_env_option(),
    bits: int = typer.Option(2048, "--bits", help="RSA key size for a new key."),
    days: int = typer.Option(365, "--days", help="Lifetime of a new certificate, in days."),
    subject: str | None = typer.Option(
        None, "--subject", help='Subject of a new certificate. [default: "/CN=<alias>"]'
    ),
    browser: bool | None = browser_option(),
    timeout: float | None = timeout_option(),
    interval: float = interval_option(),
    set_default: bool = set_default_option(),
    set_default_dev_hub: bool = set_default_dev_hub_option(),
    no_input: bool = typer.Option(False, "--no-input", help="Never ask; fail with the flag to pass instead."),
    json: bool = json_option(),
) -> None:
    from sfjwt_orch import approval, flows
    from sfjwt_orch.bootstrap import BootstrapRequest, bootstrap, next_steps
    from sfjwt_orch.commands._shared import check_wait
    from sfjwt_orch.console import Prompter
    from sfjwt_orch.interactive import person_present, should_open_browser
    from sfjwt_orch.keys import KeygenRequest, check_keygen_request
    from sfjwt_orch.locks import alias_lock
    from sfjwt_orch.paths import check_alias

    deps = make_deps()
    key_text = flows.take_key_env(key_env, deps) if key_env else None  # before any step runs
    check_alias(alias)
    check_exclusive(
        ("--sandbox", sandbox, "--instance-url", instance_url), ("--key-env", key_env, "--key-file", key_file)
    )
    can_prompt = person_present(deps.env, no_input)
    timeout, interval = check_wait(timeout, interval, can_prompt)
    # Flag values are refused before any step runs, whether or not a new key turns out to be needed.
    check_keygen_request(KeygenRequest(Path("."), bits, days, subject or f"/CN={alias}"))
    request = BootstrapRequest(
        alias=alias,
        client_id=client_id,
        username=username,
        instance_url=approval.SANDBOX if sandbox else instance_url,
        callback_url=callback_url,
        key_file=key_file.expanduser().resolve() if key_file else None,
        cert_file=cert_file.expanduser().resolve() if cert_file else None,
        key_env=key_env,
        key_text=key_text,
        bits=bits,
        days=days,
        subject=subject,
        open_browser=should_open_browser(browser, deps.env) if browser is not None or not no_input else False,
        timeout=timeout,
        interval=interval,
        set_default=set_default,
        set_default_dev_hub=set_default_dev_hub,
        can_prompt=can_prompt,
    )
    with alias_lock(deps.paths, alias, on_wait=deps.console.info):
        report = bootstrap(request, deps, Prompter(deps.console))
    deps.console.success(f"{alias} is ready.")
    deps.console.info(next_steps(alias))
    if json:
        deps.console.emit_json(report.to_json())
