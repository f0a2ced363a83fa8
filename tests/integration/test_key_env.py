"""--key-env: the key variable never reaches a child process, and never replaces a different key."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import Cli, LoginArgs, sf_output

SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}


def test_bootstrap_key_env_is_gone_before_any_program_starts(cli: Cli, key_file: Path) -> None:
    pem = key_file.read_text()
    cli.scenario({"stdout": "@salesforce/cli/2.150.6 linux-x64 node-v24.19.0\n"}, SUCCESS, {"stdout": "{}"})
    cli.run(
        "bootstrap", "--alias", "ci", "--client-id", "3MVG9CLIENTID1234567", "--username", "ci@example.com",
        "--instance-url", "https://acme.my.salesforce.com", "--key-env", "CI_KEY", "--no-input", "--json",
        CI_KEY=pem,
    )  # fmt: skip
    calls = cli.sf_calls()
    assert calls and calls[0]["argv"] == ["--version"]  # the tools step runs sf before the key step
    assert all(call["secret_env"] == [] for call in calls), calls


def test_key_env_never_replaces_a_different_key(cli: Cli, login_args: LoginArgs, key_file: Path) -> None:
    before = key_file.read_bytes()
    other = cli.run("keygen", "--alias", "other", "--json")
    other_pem = Path(json.loads(other.stdout)["key_file"]).read_text()
    args = login_args()
    result = cli.run(*args, "--key-env", "CI_KEY", CI_KEY=other_pem)
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "KEY_EXISTS"
    assert key_file.read_bytes() == before
    assert cli.sf_calls() == []
    # The same key again is fine: a CI rerun on a kept machine.
    cli.scenario(SUCCESS)
    result = cli.run(*args, "--key-env", "CI_KEY", CI_KEY=before.decode())
    assert result.returncode == 0, result.stderr
    assert all(call["secret_env"] == [] for call in cli.sf_calls())
