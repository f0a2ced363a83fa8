"""Integration tier: the real runner and CLI process, with fake `sf` / browser executables on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.keymaterial import KeySet
from tests.integration.keymaterial import build as build_keyset

HERE = Path(__file__).parent
SF_OUT = HERE.parent / "data" / "sf-outputs"


# A CI-style login: the key comes from $SF_JWT_KEY (--key-env), the rest from flags.
KEY_ENV_LOGIN = (
    *("login", "--alias", "ci", "--key-env", "SF_JWT_KEY"),
    *("--client-id", "3MVG9CLIENTID1234567", "--username", "ci@example.com"),
)


def sf_output(case: str) -> str:
    return (SF_OUT / case).read_text()


@dataclass
class Cli:
    tmp: Path
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.tmp / "bin"

    def scenario(self, *steps: dict[str, Any]) -> None:
        (self.tmp / "scenario.json").write_text(json.dumps(list(steps)))

    def sf_calls(self) -> list[dict[str, Any]]:
        log = self.tmp / "sf.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def browser_calls(self) -> list[str]:
        log = self.tmp / "browser.log"
        return log.read_text().splitlines() if log.exists() else []

    def run(self, *args: str, timeout: float = 60, **extra_env: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **extra_env}
        return subprocess.run(
            [sys.executable, "-m", "sfjwt_orch", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


def _script(path: Path, body: str) -> None:
    path.write_text(body)
    path.chmod(0o755)


@pytest.fixture
def cli(tmp_path: Path, isolated_env: dict[str, Path]) -> Cli:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "sf", f'#!/bin/sh\nexec {sys.executable} {HERE / "fake_sf.py"} "$@"\n')
    _script(bin_dir / "fake-browser", f'#!/bin/sh\necho "$1" >> {tmp_path / "browser.log"}\n')
    openssl = subprocess.run(["sh", "-c", "command -v openssl"], capture_output=True, text=True).stdout.strip()
    os.symlink(openssl, bin_dir / "openssl")
    env = dict(os.environ)
    env.update(
        PATH=str(bin_dir),  # only our fakes and openssl: a real sf elsewhere can never be picked up
        FAKE_SF_SCENARIO=str(tmp_path / "scenario.json"),
        FAKE_SF_LOG=str(tmp_path / "sf.log"),
        PYTHONPATH=str(HERE.parents[1]),
    )
    c = Cli(tmp_path, env)
    c.scenario()
    return c


@pytest.fixture
def key_file(cli: Cli) -> Path:
    result = cli.run("keygen", "--alias", "hub", "--json")
    assert result.returncode == 0, result.stderr
    return Path(json.loads(result.stdout)["key_file"])


LoginArgs = Callable[..., list[str]]


@pytest.fixture
def login_args(key_file: Path) -> LoginArgs:
    def build(*extra: str) -> list[str]:
        return [
            "login",
            "--alias",
            "hub",
            "--client-id",
            "3MVG9CLIENTID1234567",
            "--username",
            "user@example.com",
            "--instance-url",
            "https://acme.my.salesforce.com",
            "--json",
            *extra,
        ]

    return build


@pytest.fixture(scope="session")
def keyset(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    """Keys and certificates of every shape, made once with the real openssl (tests copy them)."""
    return build_keyset(tmp_path_factory.mktemp("keyset"))
