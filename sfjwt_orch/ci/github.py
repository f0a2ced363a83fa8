"""A GitHub Actions workflow that logs in to one org, or to a fleet as a matrix. Pure data.

The key secret is in the login step's `env:` only: the install step (npm and pip run install scripts
from the registries) never sees it. Values reach the shell through `env:`, never by `${{ }}`
substitution inside `run:` (GitHub's script-injection advice).
"""

from __future__ import annotations

import shlex
from typing import Any

from sfjwt_orch.ci import plan
from sfjwt_orch.ci.plan import Plan, Target

# "A matrix will generate a maximum of 256 jobs per workflow run"
# (https://docs.github.com/en/actions/how-tos/write-workflows/choose-what-workflows-do/run-job-variations).
MATRIX_LIMIT = 256
# Actions pinned to a commit, as GitHub's security hardening guide advises; the comment names the release.
SETUP_NODE = "actions/setup-node@820762786026740c76f36085b0efc47a31fe5020"
SETUP_PYTHON = "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97"
RELEASES = {SETUP_NODE: "v7.0.0", SETUP_PYTHON: "v7.0.0"}

LOGIN = (
    'sfjwt-orch login --alias "$SFJWT_ALIAS" --client-id "$SF_CLIENT_ID" --username "$SF_USERNAME" '
    '--instance-url "$SF_INSTANCE_URL" --key-env SF_JWT_KEY'
)


def workflow(p: Plan) -> dict[str, Any]:
    groups = plan.chunks(p.targets, MATRIX_LIMIT) if p.matrix else [p.targets]
    jobs = {plan.job_id(n, len(groups)): _job(p, group) for n, group in enumerate(groups, start=1)}
    name = "Salesforce login" + ("" if p.matrix else f" ({p.targets[0].alias})")
    return {
        "name": name,
        "on": {"workflow_dispatch": None, "push": None},
        "permissions": {"contents": "read"},
        "jobs": jobs,
    }


def job_ids(p: Plan) -> list[str]:
    return plan.job_ids(p, MATRIX_LIMIT)


def _job(p: Plan, group: tuple[Target, ...]) -> dict[str, Any]:
    if not p.matrix:
        (target,) = group
        return {
            "runs-on": "ubuntu-latest",
            "timeout-minutes": 15,
            "env": _values(target.alias, target.client_id, target.username, target.instance_url),
            "steps": _steps(p, f"${{{{ secrets.{target.key_var} }}}}"),
        }
    include = [
        {"alias": t.alias, "client_id": t.client_id, "username": t.username, "instance_url": t.instance_url,
         "key_secret": t.key_var}
        for t in group
    ]  # fmt: skip
    return {
        "name": "login ${{ matrix.alias }}",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 15,
        # One org's failure must not cancel the others' logins.
        "strategy": {"fail-fast": False, "matrix": {"include": include}},
        "env": _values(*(f"${{{{ matrix.{k} }}}}" for k in ("alias", "client_id", "username", "instance_url"))),
        "steps": _steps(p, "${{ secrets[matrix.key_secret] }}"),
    }


def _values(alias: str, client_id: str, username: str, instance_url: str) -> dict[str, str]:
    """Not secrets (the consumer key is in every approval URL): visible to every step."""
    return {"SFJWT_ALIAS": alias, "SF_CLIENT_ID": client_id, "SF_USERNAME": username, "SF_INSTANCE_URL": instance_url}


def _steps(p: Plan, key_expression: str) -> list[dict[str, Any]]:
    install = (
        f"npm install --global @salesforce/cli@{p.sf_version}\n"
        f"python -m pip install --disable-pip-version-check {shlex.quote(p.pip_spec)}\n"
    )
    return [
        {"uses": SETUP_NODE, "with": {"node-version": plan.NODE_VERSION}},
        {"uses": SETUP_PYTHON, "with": {"python-version": plan.PYTHON_VERSION}},
        {"name": "Install sf and sfjwt-orch (no secret in this step)", "run": install},
        {
            "name": "Log in to Salesforce",
            "id": "login",
            "env": {"SF_JWT_KEY": key_expression},
            "run": LOGIN + p.login_flags,
        },
        {"name": "Check the login", "run": 'sf org display --target-org "$SFJWT_ALIAS"'},
        {
            "name": "Log out and delete the key file",
            "if": "${{ always() && steps.login.outcome != 'skipped' }}",
            "run": 'sfjwt-orch logout --alias "$SFJWT_ALIAS" --shred-key',
        },
    ]
