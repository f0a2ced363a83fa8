"""End-to-end tier: real openssl, the real `sf` CLI (pinned 2.150.x), the emulator on loopback.

Nothing may leave the machine. sf's fall-back attempts at the real Salesforce hosts (it tries
test.salesforce.com and login.salesforce.com after any failure) are stopped by the Node preload
guard (`sfjwt_orch/emulator/loopback_guard.cjs`), loaded through NODE_OPTIONS for every sf run:
it answers every non-loopback DNS lookup with ENOTFOUND and refuses non-loopback connects, and
logs each block. A canary at session start proves it works with this sf, and aborts the session
if not; failing-login tests assert that the attempts were stopped.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import Emulator, EmulatorConfig, demo_config, guard_path
from tests.e2e.setups import SetUps
from tests.keypairs import KeyPair, make_keypair

ROOT = Path(__file__).parents[2]
PINNED = "@salesforce/cli/2.150."
REAL_HOSTS = {"login.salesforce.com", "test.salesforce.com"}
VISITOR = f"{sys.executable} -m sfjwt_orch.emulator.visitor"


def _sf_version(sf: str) -> str:
    try:
        out = subprocess.run(
            [sf, "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={
                **os.environ,
                "SF_DISABLE_AUTOUPDATE": "true",
                "SF_SKIP_NEW_VERSION_CHECK": "true",
                "SF_DISABLE_TELEMETRY": "true",
            },
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.strip()


@pytest.fixture(scope="session")
def sf_exe(shared_tmp: Path) -> str:
    """A pinned sf: the project-local one, one on PATH, or installed now by scripts/setup; or the
    release a compatibility run (scripts/test --sf VERSION) names in SFJWT_ORCH_TEST_SF."""
    chosen = os.environ.get("SFJWT_ORCH_TEST_SF")
    if chosen:
        return chosen
    candidates = [str(ROOT / ".tools" / "bin" / "sf"), shutil.which("sf") or ""]
    for sf in candidates:
        if sf and Path(sf).exists() and PINNED in _sf_version(sf):
            return sf
    with (shared_tmp / "setup.lock").open("w") as lock:  # one install, whichever xdist worker comes first
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["bash", str(ROOT / "scripts" / "setup")], check=True)
    sf = str(ROOT / ".tools" / "bin" / "sf")
    assert PINNED in _sf_version(sf), "scripts/setup did not produce a working sf 2.150.x"
    return sf


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def other_keypair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keypair(tmp_path_factory.mktemp("other-keys"))


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (each worker has its own basetemp below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def compile_cache(shared_tmp: Path) -> Path:
    """One Node compile cache for every sf run of the session, all workers included (each test's
    data folder would start a cold one): ~0.25 s less per sf run. Parallel sf runs share it as a
    fleet's sf runs share sfjwt-orch's own. test_login_e2e checks sfjwt-orch's own cache folder."""
    cache = shared_tmp / "node-compile-cache"
    cache.mkdir(exist_ok=True)
    return cache


def base_env(home: Path, sf: str, guard_log: Path, compile_cache: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SF_", "SFDX_", "SFJWT_ORCH_"))
        and k
        not in ("CI", "BROWSER", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NODE_OPTIONS", "DISPLAY")
    }
    env.update(
        HOME=str(home),
        PATH=f"{Path(sf).parent}{os.pathsep}{env.get('PATH', '')}",
        SF_USE_GENERIC_UNIX_KEYCHAIN="true",  # a file keychain in HOME: no OS keyring prompts
        SF_DISABLE_TELEMETRY="true",
        SF_DISABLE_AUTOUPDATE="true",
        SF_AUTOUPDATE_DISABLE="true",
        SF_SKIP_NEW_VERSION_CHECK="true",
        SF_DISABLE_LOG_FILE="true",
        NODE_OPTIONS=f"--require {guard_path()}",
        NODE_COMPILE_CACHE=str(compile_cache),
        SFJWT_ORCH_GUARD_LOG=str(guard_log),
        SFJWT_ORCH_SF=sf,
        PYTHONPATH=str(ROOT),
    )
    return env


def read_guard_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def guard_canary(
    sf_exe: str, keypair: KeyPair, tmp_path_factory: pytest.TempPathFactory, compile_cache: Path, shared_tmp: Path
) -> None:
    """Prove, with this sf, that a failing login's fall-back attempts are stopped on this machine:
    once per run, whichever xdist worker comes first; the others read its verdict."""
    with (shared_tmp / "canary.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        verdict = shared_tmp / "canary.verdict"
        if not verdict.exists():
            verdict.write_text(_canary(sf_exe, keypair, tmp_path_factory, compile_cache))
    if problem := verdict.read_text():
        pytest.exit(problem, returncode=3)


def _canary(sf_exe: str, keypair: KeyPair, tmp_path_factory: pytest.TempPathFactory, compile_cache: Path) -> str:
    """What is wrong with the loopback guard on this machine ("" when it holds)."""
    tmp = tmp_path_factory.mktemp("canary")
    log = tmp / "guard.log"
    (tmp / "home").mkdir()
    with Emulator(demo_config(keypair.cert_pem)).start() as emu:
        result = subprocess.run(
            [
                sf_exe,
                "org",
                "login",
                "jwt",
                "--client-id",
                "CANARY_UNKNOWN_CLIENT_ID_123",
                "--jwt-key-file",
                str(keypair.key),
                "--username",
                "dev@example.com",
                "--instance-url",
                emu.url,
                "--json",
            ],
            env=base_env(tmp / "home", sf_exe, log, compile_cache),
            capture_output=True,
            text=True,
            timeout=120,
        )
        seen_by_emulator = len(emu.token_requests)
    blocked = {entry.get("host") for entry in read_guard_log(log)}
    if result.returncode != 1 or not blocked >= REAL_HOSTS or seen_by_emulator == 0:
        return (
            f"loopback guard canary failed (rc={result.returncode}, blocked={sorted(h for h in blocked if h)}, "
            f"emulator saw {seen_by_emulator} token requests): refusing to run sf where it could reach the network"
        )
    return ""


@pytest.fixture(scope="session")
def setups(shared_tmp: Path, sf_exe: str, compile_cache: Path) -> SetUps:
    return SetUps(shared_tmp, lambda home, guard_log: base_env(home, sf_exe, guard_log, compile_cache))


@dataclass
class E2E:
    tmp: Path
    env: dict[str, str]
    sf: str
    keypair: KeyPair
    emulators: list[Emulator]
    setups: SetUps

    def from_setup(self, name: str, **switches: Any) -> tuple[Emulator, dict[str, Any] | None]:
        """Start from a set-up made once per run (tests/e2e/setups.py: "admin", an empty org with sf
        logged in as its admin under the alias `admin`; "admin-dev-hub", the same as a Dev Hub;
        "app", "admin" after `app create --alias ci --target-org admin --username ci@example.com`;
        "app-dev-hub", "admin-dev-hub" after the same):
        the org's emulator, with `switches` set, and what app create answered."""
        emu, made = self.setups.copy(name, self.tmp, self.env, self.emulators)
        if switches:
            emu.set_switches(**switches)
        return emu, made.app

    @property
    def guard_log(self) -> Path:
        return Path(self.env["SFJWT_ORCH_GUARD_LOG"])

    def emulator(self, **kwargs: Any) -> Emulator:
        """Start an emulator whose app holds this test's certificate; kwargs go to demo_config.

        `tweak` (a function of the EmulatorConfig) changes what demo_config has no parameter for,
        e.g. `lambda c: dataclasses.replace(c, accepted_audiences=())`.
        """
        switches = kwargs.pop("switches", None)
        cert = kwargs.pop("cert_pem", self.keypair.cert_pem)
        tweak: Callable[[EmulatorConfig], EmulatorConfig] = kwargs.pop("tweak", lambda config: config)
        emu = Emulator(tweak(demo_config(cert, **kwargs))).start()
        self.emulators.append(emu)
        if switches:
            emu.set_switches(**switches)
        return emu

    def cli(self, *args: str, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sfjwt_orch", *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def sf_json(self, *args: str) -> dict[str, Any]:
        return self.sf_json_env({}, *args)

    def sf_json_env(self, extra: dict[str, str], *args: str) -> dict[str, Any]:
        """The real sf's --json document, run with `extra` added to the test's environment."""
        env = {**self.env, **extra}
        result = subprocess.run([self.sf, *args, "--json"], env=env, capture_output=True, text=True, timeout=120)
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def blocked_hosts(self) -> set[str]:
        return {str(e.get("host")) for e in read_guard_log(self.guard_log)}

    def assert_fallbacks_blocked(self) -> None:
        """sf's attempts at the real Salesforce hosts were answered locally, never sent."""
        assert self.blocked_hosts() >= REAL_HOSTS, read_guard_log(self.guard_log)


@pytest.fixture
def e2e(
    tmp_path: Path,
    sf_exe: str,
    keypair: KeyPair,
    isolated_env: dict[str, Path],
    compile_cache: Path,
    setups: SetUps,
) -> Iterator[E2E]:
    env = base_env(isolated_env["home"], sf_exe, tmp_path / "guard.log", compile_cache)
    env["SFJWT_ORCH_CONFIG_DIR"] = str(isolated_env["config"])
    env["SFJWT_ORCH_DATA_DIR"] = str(isolated_env["data"])
    # The key the app's certificate belongs to, at a 0600 path sf may keep using after the test's login.
    key = tmp_path / "server.key"
    shutil.copy(keypair.key, key)
    key.chmod(0o600)
    harness = E2E(tmp_path, env, sf_exe, KeyPair(key, keypair.cert), [], setups)
    yield harness
    for emu in harness.emulators:
        emu.stop()


def free_port() -> int:
    """A loopback port nothing listens on right now (for a callback URL, or a dead login host)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LoginArgs = Callable[..., list[str]]


def login_args(
    emu: Emulator,
    key: Path,
    alias: str = "e2e",
    username: str = "dev@example.com",
    client_id: str | None = None,
    *extra: str,
) -> list[str]:
    from sfjwt_orch.emulator import DEMO_CONSUMER_KEY

    return [
        "login",
        "--alias",
        alias,
        "--client-id",
        client_id or DEMO_CONSUMER_KEY,
        "--username",
        username,
        "--key-file",
        str(key),
        "--instance-url",
        emu.url,
        "--json",
        *extra,
    ]


def demo_login(emu: Emulator, alias: str) -> list[str]:
    """`login` as the emulator's demo user of its demo app; the key comes from the alias or a flag added after."""
    from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME

    return ["login", "--alias", alias, "--client-id", DEMO_CONSUMER_KEY, "--username", DEMO_USERNAME,
            "--instance-url", emu.url]  # fmt: skip
