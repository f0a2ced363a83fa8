"""`ci export`'s jobs, run: the commands of the generated GitHub workflow and GitLab job (all but the
installs, which need the network) on a fresh "runner" (its own HOME and sfjwt-orch folders), with the
secret the file names, against the emulator with the real sf: login, `sf org display`, logout."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_ORG_ID
from tests.e2e.conftest import E2E, login_args

SPEC = "git+https://github.com/acme/sfjwt-orch@v0.1.0"


def runner_env(e2e: E2E, name: str) -> dict[str, str]:
    """A fresh CI machine: its own HOME (so sf's own auth files), config and data, and CI=true;
    `sfjwt-orch` on PATH as the install step would leave it."""
    root = e2e.tmp / name
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "sfjwt-orch"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m sfjwt_orch "$@"\n')
    shim.chmod(0o755)
    dirs = {key: root / key for key in ("home", "config", "data")}
    for folder in dirs.values():
        folder.mkdir()
    return {**e2e.env, "PATH": f"{bin_dir}:{e2e.env['PATH']}", "HOME": str(dirs["home"]), "CI": "true",
            "SFJWT_ORCH_CONFIG_DIR": str(dirs["config"]), "SFJWT_ORCH_DATA_DIR": str(dirs["data"])}  # fmt: skip


def sh(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-ec", script], env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)  # fmt: skip


def export(e2e: E2E, *args: str) -> tuple[str, dict[str, Any]]:
    out = e2e.cli("ci", "export", *args, "--pip-spec", SPEC)
    assert out.returncode == 0, out.stderr
    return out.stdout, YAML(typ="safe", pure=True).load(out.stdout)


@pytest.fixture
def hub(e2e: E2E) -> str:
    """The base64 key secret of a profile `hub` logged in against the emulator."""
    emu = e2e.emulator()
    result = e2e.cli(*login_args(emu, e2e.keypair.key, "hub"))
    assert result.returncode == 0, result.stderr
    return base64.b64encode(e2e.keypair.key.read_bytes()).decode()


def assert_logged_in_and_out(env: dict[str, str], login: subprocess.CompletedProcess[str]) -> None:
    assert login.returncode == 0, login.stderr
    assert DEMO_ORG_ID in login.stdout + login.stderr  # `sf org display` showed the org
    key_file = Path(env["SFJWT_ORCH_DATA_DIR"]) / "keys" / "hub" / "server.key"
    assert not key_file.exists(), "the job's last step shreds the key it wrote"


def test_the_github_workflow_runs_as_written(e2e: E2E, hub: str) -> None:
    text, workflow = export(e2e, "hub", "--format", "github")
    assert hub[:40] not in text and DEMO_CONSUMER_KEY in text
    job = workflow["jobs"]["salesforce-login"]
    steps = {step.get("name"): step for step in job["steps"]}
    env = {**runner_env(e2e, "github"), **job["env"]}
    secrets = {"${{ secrets.SF_JWT_KEY }}": hub}
    login = steps["Log in to Salesforce"]
    run = [login, steps["Check the login"], steps["Log out and delete the key file"]]
    outputs = []
    for step in run:
        step_env = {**env, **{k: secrets[v] for k, v in step.get("env", {}).items()}}
        done = sh(step["run"], step_env)
        assert done.returncode == 0, f"{step['name']}: {done.stderr}"
        outputs.append(done)
    assert "Connected" in outputs[1].stdout and DEMO_ORG_ID in outputs[1].stdout
    assert not (Path(env["SFJWT_ORCH_DATA_DIR"]) / "keys" / "hub" / "server.key").exists()


def test_the_gitlab_job_runs_as_written_with_the_key_only_in_the_login(e2e: E2E, hub: str) -> None:
    _, pipeline = export(e2e, "hub", "--format", "gitlab")
    job = pipeline["salesforce-login"]
    env = {**runner_env(e2e, "gitlab"), **job["variables"], "SF_JWT_KEY": hub}  # GitLab: a job-wide variable
    installs = [line for line in job["script"] if line.startswith("env -u SF_JWT_KEY ")]
    assert len(installs) == 4
    # What an install command's programs see: the same prefix, with `env` itself in place of the installer.
    seen = sh(installs[0].split(" sh -c ")[0] + " env", env)
    assert seen.returncode == 0 and "SF_JWT_KEY=" not in seen.stdout and "SFJWT_ALIAS=hub" in seen.stdout
    rest = [line for line in job["script"] if line not in installs and not line.startswith("export PATH=")]
    login = sh("\n".join(rest), env)  # GitLab runs the script lines in one shell
    logout = sh(job["after_script"][0].replace("/opt/sfjwt-orch/bin/", ""), env)  # the venv's sfjwt-orch
    assert logout.returncode == 0, logout.stderr
    assert_logged_in_and_out(env, login)


def test_a_fleet_file_reads_each_aliases_own_secret(e2e: E2E, hub: str) -> None:
    _, pipeline = export(e2e, "--aliases", "hub", "--format", "gitlab")
    job = pipeline["salesforce-login"]
    assert job["parallel"]["matrix"] == [{"SFJWT_ALIAS": "hub"}]
    env = {**runner_env(e2e, "fleet"), "SFJWT_ALIAS": "hub", "SF_JWT_KEY_HUB": hub}
    rest = [line for line in job["script"] if not line.startswith(("env -u ", "export PATH="))]
    login = sh("\n".join([*rest, job["after_script"][0].replace("/opt/sfjwt-orch/bin/", "")]), env)
    assert_logged_in_and_out(env, login)


def test_env_format_with_the_key_is_a_secret_store_list(e2e: E2E, hub: str) -> None:
    out = e2e.cli("ci", "export", "hub", "--format", "env", "--include-key")
    assert out.returncode == 0 and "PRIVATE KEY" in out.stderr
    values = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert values["SF_JWT_KEY"] == hub and values["SF_CLIENT_ID"] == DEMO_CONSUMER_KEY
    as_json = json.loads(e2e.cli("ci", "export", "hub", "--include-key", "--pip-spec", SPEC, "--json").stdout)
    assert as_json["variables"]["SF_JWT_KEY"] == hub and hub[:40] not in as_json["snippet"]
