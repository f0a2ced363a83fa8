"""`sfjwt-orch emulator serve` as a user runs it: prints where it is, serves, stops on Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cli


@dataclass
class Served:
    doc: dict[str, Any]  # the --json start-up line
    stderr: str = ""  # what it told people, once stopped
    returncode: int | None = None


@contextlib.contextmanager
def serving(cli: Cli, *args: str) -> Iterator[Served]:
    """`emulator serve --port 0 --json ARGS` running until the block ends, then stopped with Ctrl-C."""
    argv = [sys.executable, "-m", "sfjwt_orch", "emulator", "serve", "--port", "0", *args, "--json"]
    proc = subprocess.Popen(argv, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    served = Served(json.loads(proc.stdout.readline()))
    try:
        yield served
    finally:
        proc.send_signal(signal.SIGINT)
        _, served.stderr = proc.communicate(timeout=15)
        served.returncode = proc.returncode


def test_serve_prints_url_and_key_serves_and_stops_on_ctrl_c(cli: Cli) -> None:
    assert cli.run("keygen", "--alias", "rehearsal").returncode == 0
    with serving(cli, "--alias", "rehearsal", "--policy", "self-authorize") as served:
        doc = served.doc
        assert doc["ok"] and doc["url"].startswith("http://127.0.0.1:")
        assert doc["apps"][0]["policy"] == "self-authorize" and len(doc["apps"][0]["consumer_key"]) >= 18
        versions = json.loads(urllib.request.urlopen(doc["url"] + "/services/data", timeout=5).read())
        assert any(v["version"] for v in versions)
    assert served.returncode == 0, served.stderr
    assert "consumer key" in served.stderr and "Traceback" not in served.stderr


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
    with serving(cli, "--username", "ci@example.com") as served:
        doc = served.doc
        assert doc["apps"] == [] and doc["users"] == ["ci@example.com"]
        token = doc["admin"]["access_token"]
        assert doc["admin"]["username"] and token.startswith("00D") and "!" in token
        userinfo = doc["url"] + "/services/oauth2/userinfo"
        request = urllib.request.Request(userinfo, headers={"Authorization": f"Bearer {token}"})
        answer = json.loads(urllib.request.urlopen(request, timeout=5).read())
        assert answer["preferred_username"] == doc["admin"]["username"]
    assert served.returncode == 0, served.stderr
    assert "sfjwt-orch app create --alias emu --target-org admin" in served.stderr and token not in served.stderr
