"""Failures that arise from how the org is configured, as at Salesforce, not only forced ones
(issue 15, "The emulator: produce the failures the way Salesforce does")."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_USERNAME,
    Emulator,
    EmulatorConfig,
    EmulatorConfigError,
    config_from_mapping,
    config_to_mapping,
    demo_config,
)
from tests.integration.emulator.emulator_testkit import (
    FakeClock,
    KeyPair,
    post_json,
    sf_claims,
    sign_jwt,
    token_request,
)

Start = Callable[..., Emulator]
NOON = calendar.timegm((2026, 12, 1, 12, 0, 0))  # a Tuesday, 12:00 UTC


def _users(config: EmulatorConfig, **changes: Any) -> EmulatorConfig:
    return replace(config, users=tuple(replace(u, **changes) for u in config.users))


def _org(config: EmulatorConfig, **changes: Any) -> EmulatorConfig:
    return replace(config, org=replace(config.org, **changes))


def _login(emu: Emulator, keys: KeyPair, aud: str | None = None, **claims: Any) -> tuple[int, dict[str, Any]]:
    signed = sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, aud or emu.url + "/")
    signed.update(claims)
    resp = token_request(emu.url, sign_jwt(keys.key, signed))
    return resp.status, resp.json()


def _refused(emu: Emulator, keys: KeyPair, **kw: Any) -> str:
    status, body = _login(emu, keys, **kw)
    assert status == 400, body
    return str(body["error_description"])


def test_my_domain_refuses_other_audiences_and_names_itself(start_emulator: Start, keys: KeyPair) -> None:
    # A Connected App: an ECA answers a generic audience with its own Spring '26 refusal (test_spring26.py).
    config = demo_config(keys.cert_pem, eca=False)
    emu = start_emulator(replace(_org(config, my_domain="localhost"), accepted_audiences=()))
    my_domain = emu.url.replace("127.0.0.1", "localhost")
    # sf --instance-url http://127.0.0.1:PORT signs aud=http://127.0.0.1:PORT/: not this org's My Domain.
    assert _refused(emu, keys) == "audience is invalid"
    assert _refused(emu, keys, aud="https://login.salesforce.com") == "audience is invalid"
    status, body = _login(emu, keys, aud=my_domain + "/")
    assert status == 200, body
    assert body["instance_url"] == my_domain and body["id"].startswith(my_domain + "/id/")


def test_a_server_clock_ahead_expires_a_correct_assertion(start_emulator: Start, keys: KeyPair) -> None:
    clock = FakeClock(NOON)
    right_on_time = {"exp": int(NOON) + 180}  # what the Help page asks for: seconds, within 3 minutes
    emu = start_emulator(demo_config(keys.cert_pem), clock=clock)
    assert _login(emu, keys, **right_on_time)[0] == 200
    ahead = start_emulator(_org(demo_config(keys.cert_pem), clock_offset_seconds=600), clock=clock)
    assert _refused(ahead, keys, **right_on_time) == "expired authorization code"
    assert ahead.token_requests[-1].outcome == "expired"
    # sf's exp is in milliseconds: only a clock wildly ahead makes it expire (salesforce-jwt.md §1a).
    assert _login(ahead, keys)[0] == 200
    wild = start_emulator(_org(demo_config(keys.cert_pem), clock_offset_seconds=1e13), clock=clock)
    assert _refused(wild, keys) == "expired authorization code"


@pytest.mark.parametrize(
    ("ranges", "ok"),
    [(("10.0.0.0/8",), False), (("10.0.0.0/8", "127.0.0.0/8"), True), (("127.0.0.1/32",), True), ((), True)],
)
def test_login_ip_ranges(start_emulator: Start, keys: KeyPair, ranges: tuple[str, ...], ok: bool) -> None:
    emu = start_emulator(_users(demo_config(keys.cert_pem), login_ip_ranges=ranges))
    status, body = _login(emu, keys)
    assert status == (200 if ok else 400), body
    if not ok:
        assert body == {"error": "invalid_grant", "error_description": "IP restricted or invalid login hours"}


@pytest.mark.parametrize(
    ("hours", "offset", "ok"),
    [
        (("08:00", "18:00"), 0, True),
        (("13:00", "14:00"), 0, False),
        (("22:00", "12:01"), 0, True),  # wraps past midnight
        (("22:00", "12:00"), 0, False),  # the end is exclusive
        (("08:00", "13:00"), 3600, False),  # the org's clock is an hour ahead: 13:00
        (("09:00", "09:00"), 0, False),  # an empty window never admits
    ],
)
def test_login_hours(start_emulator: Start, keys: KeyPair, hours: tuple[str, str], offset: float, ok: bool) -> None:
    config = _org(_users(demo_config(keys.cert_pem), login_hours=hours), clock_offset_seconds=offset)
    emu = start_emulator(config, clock=FakeClock(NOON))
    status, body = _login(emu, keys)
    assert status == (200 if ok else 400), body
    assert emu.token_requests[-1].outcome == ("ok" if ok else "ip_restricted")


def test_a_frozen_user_fails_until_unfrozen(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_users(demo_config(keys.cert_pem), frozen=True))
    assert _refused(emu, keys) == "authentication failure"
    reply = post_json(f"{emu.url}/__emulator/user", {"username": DEMO_USERNAME, "frozen": False})
    assert reply.status == 200 and reply.json()["user"]["frozen"] is False
    assert _login(emu, keys)[0] == 200
    emu.update_user(DEMO_USERNAME, frozen=True)
    assert _refused(emu, keys) == "authentication failure"


def test_answers_without_the_usual_fields(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    emu.set_switches(fail_next=["no_description", "incomplete_reply"])
    status, body = _login(emu, keys)
    assert (status, body) == (400, {"error": "invalid_request"})
    status, body = _login(emu, keys)
    assert status == 200 and "access_token" in body
    assert "instance_url" not in body and "id" not in body
    assert [r.outcome for r in emu.token_requests] == ["no_description", "incomplete_reply"]
    assert emu.issued_tokens == ()  # neither answer made a session


def test_the_new_settings_round_trip_through_json(keys: KeyPair) -> None:
    config = _org(
        _users(
            demo_config(keys.cert_pem), frozen=True, login_ip_ranges=("10.0.0.0/8",), login_hours=("08:00", "18:00")
        ),
        my_domain="localhost",
        clock_offset_seconds=-30.5,
    )
    assert config_from_mapping(config_to_mapping(config)) == config
    pending = demo_config(None)  # an app waiting for its certificate: "certificate": null
    assert config_to_mapping(pending)["apps"][0]["certificate"] is None
    assert config_from_mapping(config_to_mapping(pending)) == pending


@pytest.mark.parametrize(
    ("where", "change", "field"),
    [
        ("org", {"my_domain": "acme.my.salesforce.com"}, "org.my_domain"),
        ("org", {"my_domain": "::1"}, "org.my_domain"),
        ("user", {"login_ip_ranges": ["10.0.0.0/33"]}, "users[0].login_ip_ranges[0]"),
        ("user", {"login_hours": {"start": "24:00", "end": "08:00"}}, "users[0].login_hours"),
        ("user", {"login_hours": {"start": "08:00"}}, "users[0].login_hours.end"),
        ("user", {"frozen": "yes"}, "users[0].frozen"),
    ],
)
def test_bad_settings_name_the_field(keys: KeyPair, where: str, change: dict[str, Any], field: str) -> None:
    raw = config_to_mapping(demo_config(keys.cert_pem))
    (raw["org"] if where == "org" else raw["users"][0]).update(change)
    with pytest.raises(EmulatorConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        config_from_mapping(raw)
