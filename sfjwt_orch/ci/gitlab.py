"""A GitLab CI job that logs in to one org, or to a fleet as a `parallel:matrix`. Pure data.

GitLab hands every CI/CD variable to the whole job, so the key variables cannot be kept out of the
install commands by scoping: each install command runs under `env -u` for every key variable this
file names (npm and pip run install scripts from the registries). Only the login command sees them.
"""

from __future__ import annotations

import shlex
from typing import Any

from sfjwt_orch.ci import plan
from sfjwt_orch.ci.plan import Plan, Target

# "The matrix can generate a maximum of 200 jobs" (https://docs.gitlab.com/ci/yaml/#parallelmatrix);
# the published schema checks the same bound (maxItems 200).
MATRIX_LIMIT = 200
IMAGE = "node:24-bookworm"  # the official Node image (sf needs Node 22+); Debian has python3-venv for sfjwt-orch
VENV = "/opt/sfjwt-orch"

LOGIN = (
    'sfjwt-orch login --alias "$SFJWT_ALIAS" --client-id "$SF_CLIENT_ID" --username "$SF_USERNAME" '
    '--instance-url "$SF_INSTANCE_URL" --key-env "$SFJWT_KEY_VAR"'
)


def pipeline(p: Plan) -> dict[str, Any]:
    groups = plan.chunks(p.targets, MATRIX_LIMIT) if p.matrix else [p.targets]
    return {plan.job_id(n, len(groups)): _job(p, group) for n, group in enumerate(groups, start=1)}


def job_ids(p: Plan) -> list[str]:
    return plan.job_ids(p, MATRIX_LIMIT)


def _job(p: Plan, group: tuple[Target, ...]) -> dict[str, Any]:
    job: dict[str, Any] = {"image": IMAGE, "timeout": "15 minutes"}
    if p.matrix:
        # Only the alias is a matrix variable: GitLab names each job after all its matrix values and
        # silently creates no pipeline past 255 characters (gitlab-org/gitlab#584573), which a consumer
        # key, a username and a URL together reach. The values come from the table in the script.
        job["parallel"] = {"matrix": [{"SFJWT_ALIAS": t.alias} for t in group]}
        script = [_values_table(group)]
    else:
        (target,) = group
        job["variables"] = {
            "SFJWT_ALIAS": target.alias,
            "SF_CLIENT_ID": target.client_id,
            "SF_USERNAME": target.username,
            "SF_INSTANCE_URL": target.instance_url,
            "SFJWT_KEY_VAR": target.key_var,
        }
        script = []
    job["script"] = [*script, *_install(p), LOGIN + p.login_flags, 'sf org display --target-org "$SFJWT_ALIAS"']
    # after_script runs in a new shell, even when the script failed: the PATH export is gone.
    job["after_script"] = [f'{VENV}/bin/sfjwt-orch logout --alias "$SFJWT_ALIAS" --shred-key']
    return job


def _values_table(group: tuple[Target, ...]) -> str:
    """A shell `case` setting the login values (not secrets) and the key variable's name per alias."""
    rows = [
        f"  {shlex.quote(t.alias)}) SF_CLIENT_ID={shlex.quote(t.client_id)} SF_USERNAME={shlex.quote(t.username)}"
        f" SF_INSTANCE_URL={shlex.quote(t.instance_url)} SFJWT_KEY_VAR={t.key_var} ;;"
        for t in group
    ]
    unknown = '  *) echo "no login values for alias $SFJWT_ALIAS" >&2; exit 2 ;;'
    return "\n".join(['case "$SFJWT_ALIAS" in', *rows, unknown, "esac"]) + "\n"


def _install(p: Plan) -> list[str]:
    no_keys = "env " + " ".join(f"-u {name}" for name in p.key_vars)
    return [
        f"{no_keys} sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv'",
        f"{no_keys} python3 -m venv {VENV}",
        f"{no_keys} {VENV}/bin/pip install --disable-pip-version-check --quiet {shlex.quote(p.pip_spec)}",
        f"{no_keys} npm install --global @salesforce/cli@{p.sf_version}",
        f'export PATH="{VENV}/bin:$PATH"',
    ]
