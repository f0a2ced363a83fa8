"""The emulator's Host check: only loopback names with its port (issue 16, DNS rebinding)."""

from __future__ import annotations

import pytest

from sfjwt_orch.emulator.http import host_allowed


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8555", True),
        ("localhost:8555", True),
        ("LocalHost:8555", True),
        ("[::1]:8555", True),
        ("127.0.0.2:8555", True),  # any 127/8 literal is this machine
        ("127.0.0.1:8556", False),  # another port: another server
        ("127.0.0.1", False),  # no port means 80
        ("evil.example:8555", False),  # the rebinding page's own name
        ("localhost.evil.example:8555", False),
        ("127.0.0.1.nip.io:8555", False),
        ("localhost.:8555", False),
        ("::1:8555", False),  # IPv6 without brackets
        ("[127.0.0.1]:8555", False),
        ("[::1:8555", False),
        ("10.0.0.1:8555", False),
        ("127.0.0.1:+8555", False),
        ("127.0.0.1:８５５５", False),  # full-width digits
        ("", False),
        (None, False),
    ],
)
def test_host_allowed(host: str | None, allowed: bool) -> None:
    assert host_allowed(host, 8555) is allowed


def test_port_80_may_be_omitted() -> None:
    assert host_allowed("localhost", 80) and host_allowed("[::1]", 80) and host_allowed("127.0.0.1:80", 80)
