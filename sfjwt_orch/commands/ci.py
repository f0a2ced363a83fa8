from __future__ import annotations

import typer

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
    include_key: bool = typer.Option(False, "--include-key", help="Also print the private key, base64-encoded."),
) -> None:
    import base64
    from pathlib import Path

    from sfjwt_orch import config
    from sfjwt_orch.commands._shared import make_deps
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
    key_b64 = "<base64 of the key: run again with --include-key>"
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
            "The output below contains the PRIVATE KEY. Paste it into your CI secret store only; "
            "clear your terminal scrollback afterwards."
        )
    values = {
        "SF_CLIENT_ID": profile.client_id,
        "SF_USERNAME": profile.username,
        "SF_INSTANCE_URL": profile.instance_url or "https://login.salesforce.com",
        "SF_JWT_KEY": key_b64,
    }
    login = (
        f'sfjwt-orch login --alias {alias} --client-id "$SF_CLIENT_ID" --username "$SF_USERNAME" '
        f'--instance-url "$SF_INSTANCE_URL" --key-env SF_JWT_KEY --json'
    )
    install = "npm install --global @salesforce/cli && pip install sfjwt-orch"
    if fmt == "env":
        out = "".join(f"{k}={v}\n" for k, v in values.items())
    elif fmt == "github":
        secrets = "".join(f"#   {k} = {v}\n" for k, v in values.items())
        env = "".join(f"    {k}: ${{{{ secrets.{k} }}}}\n" for k in values)
        out = (
            f"# Repository secrets (Settings > Secrets and variables > Actions):\n{secrets}"
            f"- name: Log in to Salesforce ({alias})\n  env:\n{env}  run: |\n    {install}\n    {login}\n"
            f"# At the end of the job:\n- name: Log out\n  if: always()\n"
            f"  run: sfjwt-orch logout --alias {alias} --shred-key\n"
        )
    else:
        variables = "".join(
            f"#   {k} = {v}   (masked{', protected' if k == 'SF_JWT_KEY' else ''})\n" for k, v in values.items()
        )
        out = (
            f"# CI/CD variables (Settings > CI/CD > Variables):\n{variables}"
            f"salesforce-login:\n  script:\n    - {install}\n    - {login}\n"
            f"  after_script:\n    - sfjwt-orch logout --alias {alias} --shred-key\n"
        )
    typer.echo(out, nl=False)
