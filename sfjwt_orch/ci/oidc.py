"""Keyless CI jobs (issue 23): GitHub Actions and GitLab CI files that log in with the job's identity
token (`login --oidc`), with no secret at all. Pure data, rendered by ci/text.py as ci export's are.

GitHub: the job asks for the identity-token permission (`permissions: id-token: write`, GitHub
docs "About security hardening with OpenID Connect"); GitLab: an `id_tokens` entry whose `aud` is
the org's URL, the audience the org's handler was bound to (GitLab docs, `id_tokens` keyword). A
bound environment becomes the job's `environment:`, so the token carries the claim the org checks.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from sfjwt_orch.ci import github, gitlab, plan

GITLAB_VARIABLE = "SFJWT_ORCH_ID_TOKEN"  # keyless/login.py reads the same name


@dataclass(frozen=True)
class OidcJob:
    alias: str
    client_id: str
    instance_url: str
    pip_spec: str
    sf_version: str
    environment: str | None = None  # the bound environment, when the org's trust names one


def _login(provider: str) -> str:
    return (
        f'sfjwt-orch login --alias "$SFJWT_ALIAS" --oidc {provider} --client-id "$SF_CLIENT_ID" '
        '--instance-url "$SF_INSTANCE_URL"'
    )


def _values(job: OidcJob) -> dict[str, str]:
    """Not secrets (a consumer key is in every approval URL)."""
    return {"SFJWT_ALIAS": job.alias, "SF_CLIENT_ID": job.client_id, "SF_INSTANCE_URL": job.instance_url}


def github_workflow(job: OidcJob) -> dict[str, Any]:
    install = (
        f"npm install --global @salesforce/cli@{job.sf_version}\n"
        f"python -m pip install --disable-pip-version-check {shlex.quote(job.pip_spec)}\n"
    )
    body: dict[str, Any] = {"runs-on": "ubuntu-latest", "timeout-minutes": 15}
    if job.environment:
        body["environment"] = job.environment
    body["permissions"] = {"contents": "read", "id-token": "write"}  # the identity token, for this job only
    body["env"] = _values(job)
    body["steps"] = [
        {"uses": github.SETUP_NODE, "with": {"node-version": plan.NODE_VERSION}},
        {"uses": github.SETUP_PYTHON, "with": {"python-version": plan.PYTHON_VERSION}},
        {"name": "Install sf and sfjwt-orch", "run": install},
        {"name": "Log in to Salesforce with the job's identity token", "id": "login", "run": _login("github")},
        {"name": "Check the login", "run": 'sf org display --target-org "$SFJWT_ALIAS"'},
        {
            "name": "Log out",
            "if": "${{ always() && steps.login.outcome != 'skipped' }}",
            "run": 'sfjwt-orch logout --alias "$SFJWT_ALIAS"',
        },
    ]
    return {
        "name": f"Salesforce login ({job.alias}, keyless)",
        "on": {"workflow_dispatch": None, "push": None},
        "permissions": {"contents": "read"},
        "jobs": {plan.JOB: body},
    }


def gitlab_pipeline(job: OidcJob) -> dict[str, Any]:
    # GitLab hands the ID token to the whole job: the install commands run without it (npm and pip
    # run install scripts from the registries), as ci export's key variables are kept from them.
    no_token = f"env -u {GITLAB_VARIABLE}"
    venv = gitlab.VENV
    body: dict[str, Any] = {"image": gitlab.IMAGE, "timeout": "15 minutes"}
    if job.environment:
        body["environment"] = job.environment
    body["id_tokens"] = {GITLAB_VARIABLE: {"aud": job.instance_url}}
    body["variables"] = _values(job)
    body["script"] = [
        f"{no_token} sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv'",
        f"{no_token} python3 -m venv {venv}",
        f"{no_token} {venv}/bin/pip install --disable-pip-version-check --quiet {shlex.quote(job.pip_spec)}",
        f"{no_token} npm install --global @salesforce/cli@{job.sf_version}",
        f'export PATH="{venv}/bin:$PATH"',
        _login("gitlab"),
        'sf org display --target-org "$SFJWT_ALIAS"',
    ]
    body["after_script"] = [f'{venv}/bin/sfjwt-orch logout --alias "$SFJWT_ALIAS"']
    return {plan.JOB: body}


def header(job: OidcJob, fmt: str, regenerate: str) -> list[str]:
    where = "the identity-token permission" if fmt == "github" else f"the id_tokens entry {GITLAB_VARIABLE}"
    return [
        f"{plan.MARKER}; write it again with:",
        f"  {regenerate}",
        f"Logs in to Salesforce as {job.alias} with the job's {fmt} identity token ({where}): no secret at all.",
        "The org accepts it because an admin ran sfjwt-orch trust for this repository or project.",
        "The consumer key and login URL below are not secrets (a consumer key is in every approval URL).",
    ]
