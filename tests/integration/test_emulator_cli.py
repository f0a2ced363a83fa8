"""`sfjwt-orch emulator serve` as a user runs it: prints where it is, serves, stops on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import Cli


def test_serve_prints_url_and_key_serves_and_stops_on_ctrl_c(cli: Cli) -> None:
    assert cli.run("keygen", "--alias", "rehearsal").returncode == 0
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sfjwt_orch",
            "emulator",
            "serve",
            "--alias",
            "rehearsal",
            "--port",
            "0",
            "--policy",
            "self-authorize",
            "--json",
        ],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        doc = json.loads(proc.stdout.readline())
        assert doc["ok"] and doc["url"].startswith("http://127.0.0.1:")
        assert doc["apps"][0]["policy"] == "self-authorize" and len(doc["apps"][0]["consumer_key"]) >= 18
        versions = json.loads(urllib.request.urlopen(doc["url"] + "/services/data", timeout=5).read())
        assert any(v["version"] for v in versions)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "consumer key" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--policy", "whatever"], "--policy"),
        (["--port", "70000"], "--port"),
        (["--username", "not-an-email"], "is not a Salesforce username"),
        (["--cert", "/nonexistent/server.crt"], "cannot read certificate"),
    ],
)
def test_serve_rejects_bad_input(cli: Cli, args: list[str], words: str) -> None:
    result = cli.run("emulator", "serve", *args, timeout=30)
    assert result.returncode == 2
    assert words in result.stderr and "fix:" in result.stderr and "Traceback" not in result.stderr


def test_serve_names_the_file_and_field_of_a_bad_config(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "org.json"
    config.write_text(json.dumps({"org": {}, "users": [], "apps": [], "surprise": 1}))
    result = cli.run("emulator", "serve", "--app-config", str(config), timeout=30)
    assert result.returncode == 2
    assert str(config) in result.stderr and "fix:" in result.stderr


def test_serve_without_an_app_serves_an_empty_org_and_prints_its_admin_credential(cli: Cli) -> None:
    """No --alias, --cert or --app-config: an org where an admin creates the app (app create). Until
    0.2 this was a usage error ("no app to serve"). The admin's token is the emulator's own
    rehearsal credential, the one token sfjwt-orch prints, on this start-up line only."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sfjwt_orch",
            "emulator",
            "serve",
            "--port",
            "0",
            "--username",
            "ci@example.com",
            "--json",
        ],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        doc = json.loads(proc.stdout.readline())
        assert doc["apps"] == [] and doc["users"] == ["ci@example.com"]
        token = doc["admin"]["access_token"]
        assert doc["admin"]["username"] and token.startswith("00D") and "!" in token
        request = urllib.request.Request(
            doc["url"] + "/services/oauth2/userinfo", headers={"Authorization": f"Bearer {token}"}
        )
        assert (
            json.loads(urllib.request.urlopen(request, timeout=5).read())["preferred_username"]
            == doc["admin"]["username"]
        )
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "sfjwt-orch app create --alias emu --target-org admin" in err and token not in err
