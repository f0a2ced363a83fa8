"""The whole CI file for a plan: a header that names the secrets it needs (never their values), then
the workflow (GitHub) or the pipeline (GitLab) as YAML."""

from __future__ import annotations

from typing import Literal

from sfjwt_orch.ci import github, gitlab, text
from sfjwt_orch.ci.plan import MARKER, Plan

CiFormat = Literal["github", "gitlab"]

_WHERE = {
    "github": "The repository secrets it needs (Settings > Secrets and variables > Actions),",
    "gitlab": "The CI/CD variables it needs (Settings > CI/CD > Variables: masked; protected if only protected "
    "branches log in),",
}
_SET_ONE = {
    "github": "base64 -w0 server.key | gh secret set NAME",
    "gitlab": "base64 -w0 server.key | glab variable set NAME --masked",
}


def render(p: Plan, fmt: CiFormat, regenerate: str) -> str:
    """The file's text; `regenerate` is the `sfjwt-orch ci export …` command that writes it again."""
    if fmt == "github":
        return text.dump(github.workflow(p), header(p, fmt, regenerate), github.RELEASES)
    return text.dump(gitlab.pipeline(p), header(p, fmt, regenerate))


def job_ids(p: Plan, fmt: CiFormat) -> list[str]:
    return github.job_ids(p) if fmt == "github" else gitlab.job_ids(p)


def header(p: Plan, fmt: CiFormat, regenerate: str) -> list[str]:
    orgs = f"{len(p.targets)} orgs (the aliases below)" if p.matrix else p.targets[0].alias
    width = max(len(t.key_var) for t in p.targets)
    lines = [
        f"{MARKER}; write it again with:",
        f"  {regenerate}",
        f"Logs in to Salesforce as {orgs}, with sf {p.sf_version} and sfjwt-orch from {p.pip_spec}.",
        _WHERE[fmt],
        f"each the base64 of that org's private key (`{_SET_ONE[fmt]}`):",
        *(f"  {t.key_var.ljust(width)}  for {t.alias}" for t in p.targets),
        "The consumer keys, usernames and login URLs below are not secrets (a consumer key is in every approval URL).",
    ]
    return lines
