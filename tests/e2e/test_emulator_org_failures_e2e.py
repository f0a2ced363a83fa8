"""Refusals that arise from how the org is set up (issue 15), not forced: the real sf against the
emulator, and sfjwt-orch's classification of what sf printed.

The forced twins of these cases live in test_login_scenarios.py; here the emulator's org is
configured the way a Salesforce admin would have it, and the refusal follows from that.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sfjwt_orch.emulator import EmulatorConfig
from tests.e2e.conftest import E2E
from tests.e2e.test_login_scenarios import TRACEBACK, assert_connected, login_argv, output

pytestmark = pytest.mark.e2e


def _users(**changes: Any) -> Callable[[EmulatorConfig], EmulatorConfig]:
    return lambda c: dataclasses.replace(c, users=tuple(dataclasses.replace(u, **changes) for u in c.users))


def _org(**changes: Any) -> Callable[[EmulatorConfig], EmulatorConfig]:
    return lambda c: dataclasses.replace(c, org=dataclasses.replace(c.org, **changes))


def _my_domain_only(config: EmulatorConfig) -> EmulatorConfig:
    return dataclasses.replace(_org(my_domain="localhost")(config), accepted_audiences=())


def _hours_from_now(start: int, end: int) -> tuple[str, str]:
    """A daily UTC login-hours window from `start` to `end` hours after now (so never now)."""
    now = time.gmtime()
    return tuple(f"{(now.tm_hour + h) % 24:02d}:{now.tm_min:02d}" for h in (start, end))  # type: ignore[return-value]


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    outcome: str  # what the emulator answered the attempt that decided it
    tweak: Callable[[EmulatorConfig], EmulatorConfig] = lambda c: c
    switches: dict[str, Any] = field(default_factory=dict)


CASES = [
    # sf signs aud = the --instance-url it was given; an org whose My Domain is another name refuses it.
    Case("my-domain-refuses-the-generic-audience", "AUDIENCE_INVALID", "audience_invalid", _my_domain_only),
    Case("outside-login-ip-ranges", "IP_RESTRICTED", "ip_restricted", _users(login_ip_ranges=("10.0.0.0/8",))),
    Case("outside-login-hours", "IP_RESTRICTED", "ip_restricted", _users(login_hours=_hours_from_now(2, 3))),
    # sf's exp is Date.now()+300 in milliseconds: only a server clock this far ahead expires it.
    Case("server-clock-far-ahead", "EXPIRED_ASSERTION", "expired", _org(clock_offset_seconds=1e13)),
    Case("frozen-user", "AUTH_FAILURE", "authentication_failure", _users(frozen=True)),
    Case("error-without-description", "SERVER_ERROR", "no_description", switches={"fail_next": ["no_description"] * 3}),
    Case(
        "token-reply-missing-fields", "SERVER_ERROR", "incomplete_reply", switches={"fail_next": ["incomplete_reply"]}
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_configured_refusal_is_classified(e2e: E2E, case: Case) -> None:
    emu = e2e.emulator(tweak=case.tweak, switches=case.switches)
    result = e2e.cli(*login_argv(emu.url, e2e.keypair.key, "--timeout", "0"))
    assert result.returncode == 3, output(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == case.code, doc["error"]
    assert doc["error"]["message"].strip() and doc["error"]["fix"].strip()
    assert not TRACEBACK.search(output(result)), output(result)
    outcomes = [r.outcome for r in emu.token_requests]
    assert outcomes[0] == case.outcome, outcomes
    assert emu.issued_tokens == () and not emu.switches.fail_next
    if case.outcome != "incomplete_reply":  # sf gives up at once on a 200 it cannot read
        e2e.assert_fallbacks_blocked()


def test_my_domain_login_works_at_its_own_name(e2e: E2E) -> None:
    """The same My Domain org accepts sf at http://localhost:PORT (the name may resolve to ::1 or
    127.0.0.1: the emulator listens on both), and sf keeps the My Domain as the instance URL."""
    emu = e2e.emulator(tweak=_my_domain_only)
    my_domain = emu.url.replace("127.0.0.1", "localhost")
    result = e2e.cli(*login_argv(my_domain, e2e.keypair.key, "--timeout", "0"))
    assert result.returncode == 0, output(result)
    assert [r.outcome for r in emu.token_requests] == ["ok"]
    display = assert_connected(e2e)
    assert display["result"]["instanceUrl"] == my_domain


def test_sf_logs_in_over_ipv6_loopback(e2e: E2E) -> None:
    emu = e2e.emulator()
    if len(emu.urls) < 2:
        pytest.skip("this machine has no IPv6 loopback (::1): the emulator serves 127.0.0.1 alone")
    v6 = emu.urls[1]
    result = e2e.cli(*login_argv(v6, e2e.keypair.key, "--timeout", "0"))
    assert result.returncode == 0, output(result)
    (token,) = emu.token_requests
    assert token.outcome == "ok" and token.claims is not None and token.claims["aud"] == v6 + "/"
    assert token.headers["host"] == v6.removeprefix("http://")
    # The token reply names the org's own URL whatever login host was used, as Salesforce does.
    assert assert_connected(e2e)["result"]["instanceUrl"] == emu.url
