from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sfjwt_orch.commands._shared import alias_option, json_option, make_deps

if TYPE_CHECKING:
    from sfjwt_orch.config import Profile
    from sfjwt_orch.deps import Deps

HELP = """\
Log the alias out of sf (sf org logout --no-prompt); for the end of a CI job.

With --shred-key the key file is overwritten and deleted too (unless another profile uses it).

\b
Example:
  sfjwt-orch logout --alias ci --shred-key
"""


def sf_logout(alias: str, profile: Profile | None, deps: Deps) -> None:
    from sfjwt_orch import sf
    from sfjwt_orch.deps import find_sf
    from sfjwt_orch.errors import Code, SfjwtError

    exe = find_sf(deps.env)
    env = sf.sf_env(deps.env, profile.instance_url if profile else "")
    result = deps.runner.run(sf.logout_argv(exe, alias), timeout=sf.run_timeout(deps.env), env=env)
    failed = sf.sf_failed(result, "sf org logout")
    # Exit 1 with NoAuthFoundForTargetOrgError means there was nothing to log out: the goal is met.
    nothing_to_do = result.returncode == 1 and "NoAuthFound" in result.stdout
    if failed is not None or not (result.returncode == 0 or nothing_to_do):
        raise SfjwtError(
            Code.SF_FAILED,
            failed.message if failed else "sf org logout failed",
            f"run it yourself: sf org logout --target-org {alias} --no-prompt",
        )


def run(
    alias: str = alias_option(),
    shred_key: bool = typer.Option(False, "--shred-key", help="Overwrite and delete the alias's key file."),
    json: bool = json_option(),
) -> None:
    from pathlib import Path

    from sfjwt_orch import config, keys
    from sfjwt_orch.locks import alias_lock
    from sfjwt_orch.paths import check_alias

    deps = make_deps()
    check_alias(alias)
    profile = config.load(deps.paths, alias)
    shredded = None
    with alias_lock(deps.paths, alias, on_wait=deps.console.info):
        sf_logout(alias, profile, deps)
        if shred_key:
            key = Path(profile.key_file) if profile and profile.key_file else deps.paths.key_dir(alias) / keys.KEY_NAME
            users = config.key_users(deps.paths, key, besides=alias)
            if users:
                deps.console.warn(f"kept {key}: profile(s) {', '.join(users)} use it")
            else:
                keys.shred(key)
                shredded = str(key)
    deps.console.success(f"Logged {alias} out of sf" + (f"; shredded {shredded}" if shredded else ""))
    if json:
        deps.console.emit_json({"ok": True, "alias": alias, "shredded_key": shredded})
