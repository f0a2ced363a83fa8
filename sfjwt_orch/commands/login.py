from __future__ import annotations

import dataclasses
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
Log in with `sf org login jwt`, getting the user's approval and retrying until it works.

On "user hasn't approved this consumer" it prints the approval URL (and opens it when a person
is at a terminal with a browser), then retries every --interval seconds, backing off to 30 s,
until the login works or --timeout passes. A new app that the org does not know yet (it takes
2-10 minutes to propagate) is waited for the same way. On success the values are saved, so the
next time `--alias` alone is enough; flags override saved values.

\b
Examples:
  sfjwt-orch login --alias my-hub-org --client-id KEY --username me@acme.com
  sfjwt-orch login --alias my-sbx --sandbox --client-id KEY --username me@acme.com.uat
  sfjwt-orch login --alias my-hub-org --json          # in CI: no waiting unless --timeout
"""


def run(
    alias: str = alias_option(),
    client_id: str | None = client_id_option(),
    username: str | None = username_option(),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="The private key. [default: the alias's key from keygen]"
    ),
    key_env: str | None = key_env_option(),
    instance_url: str | None = instance_url_option(),
    sandbox: bool = sandbox_option(),
    callback_url: str | None = callback_url_option(),
    browser: bool | None = browser_option(),
    timeout: float | None = timeout_option(),
    interval: float = interval_option(),
    set_default: bool = set_default_option(),
    set_default_dev_hub: bool = set_default_dev_hub_option(),
    json: bool = json_option(),
) -> None:
    from sfjwt_orch import approval, config, flows
    from sfjwt_orch.commands._shared import check_wait
    from sfjwt_orch.errors import Code, SfjwtError, usage
    from sfjwt_orch.interactive import person_present, should_open_browser
    from sfjwt_orch.keys import KEY_NAME
    from sfjwt_orch.locks import alias_lock
    from sfjwt_orch.paths import check_alias

    deps = make_deps()
    try:
        key_text = flows.take_key_env(key_env, deps) if key_env else None  # before anything runs
        check_alias(alias)
        check_exclusive(
            ("--sandbox", sandbox, "--instance-url", instance_url), ("--key-env", key_env, "--key-file", key_file)
        )
        saved = config.load(deps.paths, alias)
        profile = (saved or config.Profile(alias=alias)).merged(
            client_id=client_id,
            username=username,
            instance_url=approval.SANDBOX if sandbox else instance_url,
            key_file=str(key_file.expanduser().resolve()) if key_file else None,
            callback_url=callback_url,
        )
        missing = [
            flag for flag, value in (("--client-id", profile.client_id), ("--username", profile.username)) if not value
        ]
        if missing:
            if saved is None:
                raise SfjwtError(
                    Code.PROFILE_NOT_FOUND,
                    f"no saved profile for alias {alias!r}, and {' and '.join(missing)} not given",
                    f"pass {' and '.join(missing)}, or set it up with: sfjwt-orch keygen --alias {alias}",
                )
            raise usage(f"the profile for {alias!r} has no {' or '.join(missing)}", f"pass {' and '.join(missing)}")
        timeout, interval = check_wait(timeout, interval, person_present(deps.env))
        request = flows.LoginRequest(
            alias=alias,
            client_id=approval.check_client_id(profile.client_id),
            username=approval.check_username(profile.username),
            key_file=Path(profile.key_file) if profile.key_file else deps.paths.key_dir(alias) / KEY_NAME,
            instance_url=approval.check_instance_url(profile.instance_url or approval.PRODUCTION),
            callback_url=approval.check_callback_url(profile.callback_url or approval.DEFAULT_CALLBACK),
            open_browser=should_open_browser(browser, deps.env),
            timeout=timeout,
            interval=interval,
            set_default=set_default,
            set_default_dev_hub=set_default_dev_hub,
        )
        with alias_lock(deps.paths, alias, on_wait=deps.console.info):
            if key_env and key_text is not None:
                request = dataclasses.replace(request, key_file=flows.key_from_text(key_text, key_env, alias, deps))
            report = flows.login(request, deps)
    except SfjwtError as exc:
        # Every --json failure of login has the login document's shape, whatever stage it failed at.
        shape = flows.LoginReport(alias=alias, username=username or "").to_json(exc)
        exc.details = {**shape, **exc.details}
        raise
    ui = deps.console
    ui.success(
        f"Logged in as {report.username} to org {report.org_id} ({report.instance_url}); sf alias: {alias}"
        + (" [Dev Hub]" if report.is_dev_hub else "")
    )
    ui.info(f"Next time: sfjwt-orch login --alias {alias}    Use it: sf org display --target-org {alias}")
    if json:
        ui.emit_json(report.to_json())
