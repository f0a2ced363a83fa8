from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import Emulator, EmulatorConfig
from tests.integration.emulator.emulator_testkit import OPENSSL, KeyPair, make_keypair


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """The app's key and certificate (made once per session: RSA generation is the slow part)."""
    if not Path(OPENSSL).exists() and shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the emulator tests need it to make keys and sign JWTs")
    return make_keypair(tmp_path_factory.mktemp("keys"), "server")


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """A second key pair: signing with it must give 'invalid assertion'."""
    return make_keypair(tmp_path_factory.mktemp("other-keys"), "other")


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators on 127.0.0.1:<free port>; every one is stopped after the test."""
    started: list[Emulator] = []

    def _start(config: EmulatorConfig, **kwargs: Any) -> Emulator:
        emulator = Emulator(config, **kwargs).start()
        started.append(emulator)
        return emulator

    yield _start
    for emulator in started:
        emulator.stop()
