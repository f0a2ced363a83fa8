"""Profiles and key clean-up: shared keys are found however their path was spelled, one broken
profile blocks nothing else, and a failed sf logout is not reported as success."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.integration.conftest import Cli, sf_output

SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}
LOGGED_OUT = {"stdout": '{"status": 0, "result": ["user@example.com"]}', "rc": 0}


def _login(cli: Cli, alias: str, key: str) -> None:
    cli.scenario(SUCCESS)
    result = cli.run(
        "login", "--alias", alias, "--client-id", "3MVG9CLIENTID1234567", "--username", f"{alias}@example.com",
        "--instance-url", "https://acme.my.salesforce.com", "--key-file", key, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_a_key_shared_through_a_symlink_or_dotdot_is_never_deleted(cli: Cli) -> None:
    shared = cli.tmp / "shared"
    assert cli.run("keygen", "--alias", "owner", "--out-dir", str(shared)).returncode == 0
    (cli.tmp / "link").symlink_to(shared)
    _login(cli, "a", str(shared / "server.key"))
    _login(cli, "b", str(cli.tmp / "link" / ".." / "shared" / "server.key"))
    _login(cli, "c", str(cli.tmp / "link" / "server.key"))
    result = cli.run("profiles", "remove", "a", "--delete-key", "--no-logout", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["deleted"] == []
    assert "another profile uses it (b, c, owner)" in result.stderr
    assert (shared / "server.key").exists() and (shared / "server.crt").exists()


def test_keygen_leaves_the_mode_of_an_existing_out_dir_alone(cli: Cli) -> None:
    folder = cli.tmp / "repo"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert cli.run("keygen", "--alias", "r", "--out-dir", str(folder)).returncode == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "server.key").stat().st_mode) == 0o600


def test_a_broken_profile_blocks_neither_listing_nor_the_end_of_job_shred(cli: Cli, key_file: Path) -> None:
    key_file = Path(json.loads(cli.run("keygen", "--alias", "ci", "--json").stdout)["key_file"])
    _login(cli, "ci", str(key_file))
    broken = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles" / "broken.toml"
    broken.write_text("client_id = oops\n")
    listed = cli.run("profiles", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [p["alias"] for p in json.loads(listed.stdout)["profiles"]] == ["ci", "hub"]
    assert "skipped:" in listed.stderr and "broken.toml" in listed.stderr
    cli.scenario(LOGGED_OUT)
    result = cli.run("logout", "--alias", "ci", "--shred-key", "--json")
    assert result.returncode == 0, result.stderr
    assert not key_file.exists()
    assert broken.read_text() == "client_id = oops\n"


def test_logout_failure_is_not_reported_as_success(cli: Cli, key_file: Path) -> None:
    _login(cli, "ci", str(key_file))
    cli.scenario({"stdout": '{"status": 1, "name": "GenericKeychainServiceError", "message": "EACCES"}', "rc": 1})
    result = cli.run("logout", "--alias", "ci", "--shred-key", "--json")
    assert result.returncode == 5
    assert json.loads(result.stdout)["error"]["code"] == "SF_FAILED"
    assert key_file.exists(), "nothing is shredded when the logout failed"
    not_logged_in = '{"status": 1, "name": "NoAuthFoundForTargetOrgError", "message": "No authenticated org"}'
    cli.scenario({"stdout": not_logged_in, "rc": 1})
    assert cli.run("logout", "--alias", "ci").returncode == 0  # already logged out: the goal is met
