from __future__ import annotations

import typer

from sfjwt_orch.commands._shared import json_option, make_deps

app = typer.Typer(help="Use a profile from CI.", no_args_is_help=True)

EXPORT_HELP = """\
Print what a pipeline needs to log in as this profile, and a ready-to-paste step.

Prints the client id, username and instance URL as secrets/variables, and a workflow step that
installs sf and sfjwt-orch and runs `sfjwt-orch login --key-env SF_JWT_KEY`. The key itself
(base64) is printed only with --include-key: paste it into your CI's secret store, never a file.

\b
Examples:
  sfjwt-orch ci export my-hub-org
  sfjwt-orch ci export my-hub-org --format gitlab --include-key
"""


@app.command("export", help=EXPORT_HELP)
def export(
    alias: str = typer.Argument(..., help="The alias to export."),
    fmt: str = typer.Option("github", "--format", help="github, gitlab or env."),
    include_key: bool = typer.Option(
        False, "--include-key", help="Also print the private key, base64-encoded, apart from the snippet."
    ),
    pip_spec: str = typer.Option(
        "$SFJWT_ORCH_PIP_SPEC",
        "--pip-spec",
        help="What the step pip-installs sfjwt-orch from (a wheel URL or git+https://...); it is not on PyPI.",
    ),
    json: bool = json_option(),
) -> None:
    import base64
    from pathlib import Path

    from sfjwt_orch import config
    from sfjwt_orch.errors import Code, SfjwtError, usage

    deps = make_deps()
    if fmt not in ("github", "gitlab", "env"):
        raise usage(f"--format {fmt!r} is not known", "use --format github, gitlab or env")
    profile = config.load(deps.paths, alias)
    if profile is None or not (profile.client_id and profile.username):
        raise SfjwtError(
            Code.PROFILE_NOT_FOUND,
            f"no complete profile for alias {alias!r}",
            f"set it up first: sfjwt-orch bootstrap --alias {alias}",
        )
    key_b64 = None
    if include_key:
        try:
            key_b64 = base64.b64encode(Path(profile.key_file).read_bytes()).decode("ascii")
        except OSError as exc:
            raise SfjwtError(
                Code.KEY_NOT_FOUND,
                f"cannot read {profile.key_file}: {exc.strerror}",
                f"sfjwt-orch doctor --alias {alias}",
            ) from None
        deps.console.warn(
            "The output contains the PRIVATE KEY (last, apart from the snippet). Paste it into your CI secret "
            "store only, never into a file; clear your terminal scrollback afterwards."
        )
    variables = {
        "SF_CLIENT_ID": profile.client_id,
        "SF_USERNAME": profile.username,
        "SF_INSTANCE_URL": profile.instance_url or "https://login.salesforce.com",
    }
    if key_b64 is None:
        shown = {**variables, "SF_JWT_KEY": "<base64 of the key: run again with --include-key>"}
    elif fmt == "env":  # a plain NAME=value list, made for secret stores
        shown = {**variables, "SF_JWT_KEY": key_b64}
    else:
        shown = {**variables, "SF_JWT_KEY": "<printed below, apart from this snippet>"}
    snippet = _snippet(fmt, alias, shown, pip_spec)
    if key_b64 is not None and fmt != "env":
        # Never inside the snippet: a snippet gets pasted into a workflow file, and committed.
        snippet += f"\n# ---- the secret value: for the CI secret store only, never a file ----\nSF_JWT_KEY={key_b64}\n"
    if json:
        secrets = {**variables, **({"SF_JWT_KEY": key_b64} if key_b64 else {})}
        deps.console.emit_json({"ok": True, "alias": alias, "format": fmt, "variables": secrets, "snippet": snippet})
        return
    deps.console.out(snippet)


def _snippet(fmt: str, alias: str, values: dict[str, str], pip_spec: str) -> str:
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
    if fmt == "env":
        return "".join(f"{k}={v}\n" for k, v in values.items())
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
