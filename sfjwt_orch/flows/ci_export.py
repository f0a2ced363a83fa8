"""ci export: what a pipeline needs to log in as a profile, and a ready-to-paste step.

The key never goes inside the snippet: a snippet gets pasted into a workflow file, and committed.
With --include-key it is printed apart, for the CI's secret store only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sfjwt_orch import config, keys, validate
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError

Format = Literal["github", "gitlab", "env"]
FORMATS: tuple[Format, ...] = ("github", "gitlab", "env")


@dataclass(frozen=True)
class Export:
    alias: str
    fmt: Format
    variables: dict[str, str]  # the secrets/variables, the key included when asked for
    snippet: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "alias": self.alias,
            "format": self.fmt,
            "variables": self.variables,
            "snippet": self.snippet,
        }


def export(alias: str, fmt: Format, ctx: Context, *, include_key: bool, pip_spec: str) -> Export:
    profile = config.load(ctx.paths, alias)
    if profile is None or not (profile.client_id and profile.username):
        raise SfjwtError(
            Code.PROFILE_NOT_FOUND,
            f"no complete profile for alias {alias!r}",
            f"set it up first: sfjwt-orch bootstrap --alias {alias}",
        )
    key_b64 = _key_base64(profile) if include_key else None
    variables = {
        "SF_CLIENT_ID": profile.client_id,
        "SF_USERNAME": profile.username,
        "SF_INSTANCE_URL": profile.instance_url or validate.PRODUCTION,
    }
    if key_b64 is None:
        shown = {**variables, "SF_JWT_KEY": "<base64 of the key: run again with --include-key>"}
    elif fmt == "env":  # a plain NAME=value list, made for secret stores
        shown = {**variables, "SF_JWT_KEY": key_b64}
    else:
        shown = {**variables, "SF_JWT_KEY": "<printed below, apart from this snippet>"}
    snippet = render(fmt, alias, shown, pip_spec)
    if key_b64 is not None and fmt != "env":
        snippet += f"\n# ---- the secret value: for the CI secret store only, never a file ----\nSF_JWT_KEY={key_b64}\n"
    secrets = {**variables, **({"SF_JWT_KEY": key_b64} if key_b64 else {})}
    return Export(alias, fmt, secrets, snippet)


def _key_base64(profile: config.Profile) -> str:
    # The key checks' own read: its type and size first, never more than a key's worth of bytes.
    raw = keys.read_key(Path(profile.key_file).expanduser())
    return base64.b64encode(raw).decode("ascii")


def render(fmt: Format, alias: str, values: dict[str, str], pip_spec: str) -> str:
    """The snippet for one CI system (pure)."""
    if fmt == "env":
        return "".join(f"{k}={v}\n" for k, v in values.items())
    login = (
        f'sfjwt-orch login --alias {alias} --client-id "$SF_CLIENT_ID" --username "$SF_USERNAME" '
        f'--instance-url "$SF_INSTANCE_URL" --key-env SF_JWT_KEY --json'
    )
    install = f'npm install --global @salesforce/cli && pip install "{pip_spec}"'
    where = (
        "# SFJWT_ORCH_PIP_SPEC: where your team installs sfjwt-orch from (a wheel URL or git+https://...)\n"
        if pip_spec.startswith("$")
        else ""
    )
    if fmt == "github":
        secrets = "".join(f"#   {k} = {v}\n" for k, v in values.items())
        env = "".join(f"    {k}: ${{{{ secrets.{k} }}}}\n" for k in values)
        return (
            f"# Repository secrets (Settings > Secrets and variables > Actions):\n{secrets}{where}"
            f"- name: Log in to Salesforce ({alias})\n  env:\n{env}  run: |\n    {install}\n    {login}\n"
            f"# At the end of the job:\n- name: Log out\n  if: always()\n"
            f"  run: sfjwt-orch logout --alias {alias} --shred-key\n"
        )
    variables = "".join(
        f"#   {k} = {v}   (masked{', protected' if k == 'SF_JWT_KEY' else ''})\n" for k, v in values.items()
    )
    return (
        f"# CI/CD variables (Settings > CI/CD > Variables):\n{variables}{where}"
        f"salesforce-login:\n  script:\n    - {install}\n    - {login}\n"
        f"  after_script:\n    - sfjwt-orch logout --alias {alias} --shred-key\n"
    )
