"""The JWT bearer grant over real HTTP: success, every error pair, and the fault switches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_ORG_ID,
    DEMO_USER_ID,
    DEMO_USERNAME,
    Emulator,
    EmulatorConfig,
    EmulatorConfigError,
    Org,
    User,
    demo_config,
)
from tests.integration.emulator.emulator_testkit import (
    JWT_GRANT,
    FakeClock,
    KeyPair,
    b64url,
    bearer,
    get,
    post_form,
    request,
    sf_claims,
    sign_jwt,
    token_request,
)

Start = Callable[..., Emulator]


def _login(emu: Emulator, keys: KeyPair, *, chunked: bool = True, **claim_changes: Any) -> tuple[int, Any]:
    claims = sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/")
    claims.update(claim_changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    resp = token_request(emu.url, sign_jwt(keys.key, claims), chunked=chunked)
    return resp.status, resp.json()


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked-like-sf", "content-length"])
def test_success_issues_a_token_that_works_on_rest(start_emulator: Start, keys: KeyPair, chunked: bool) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    status, body = _login(emu, keys, chunked=chunked)
    assert status == 200, body
    token = body["access_token"]
    assert token.startswith(DEMO_ORG_ID[:15] + "!") and len(token) > 60
    assert body["instance_url"] == emu.url
    assert body["id"] == f"{emu.url}/id/{DEMO_ORG_ID}/{DEMO_USER_ID}"
    assert body["token_type"] == "Bearer" and body["signature"] and body["issued_at"].isdigit()
    assert emu.issued_tokens == (token,)

    record = emu.token_requests[-1]
    assert record.outcome == "ok" and record.status == 200
    assert record.claims is not None and record.claims["sub"] == DEMO_USERNAME
    assert record.claims["aud"] == emu.url + "/"
    assert record.jwt_header == {"alg": "RS256", "typ": "JWT"}
    assert record.params["grant_type"] == JWT_GRANT
    # The assertion is a credential: the log keeps its size, never its text.
    assert record.params["assertion"].startswith("<JWT, ")
    assert ("transfer-encoding" in record.headers) is chunked

    assert get(f"{emu.url}/services/data/v62.0", bearer(token)).status == 200
    denied = get(f"{emu.url}/services/data/v62.0", bearer(token + "x"))
    assert denied.status == 401
    assert denied.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_every_token_is_new_and_remembered(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    tokens = [_login(emu, keys)[1]["access_token"] for _ in range(3)]
    assert len(set(tokens)) == 3
    assert emu.issued_tokens == tuple(tokens)
    assert all(get(f"{emu.url}/services/data/v62.0", bearer(t)).status == 200 for t in tokens)


def _demo(keys: KeyPair) -> EmulatorConfig:
    return demo_config(keys.cert_pem)


def _connected_app(keys: KeyPair) -> EmulatorConfig:
    # The org's audience rules alone: an ECA adds its own refusal of the generic hosts (Spring '26).
    return demo_config(keys.cert_pem, eca=False)


def _self_authorize(keys: KeyPair) -> EmulatorConfig:
    return demo_config(keys.cert_pem, policy="self-authorize", preauthorized=False)


def _with_users(config: EmulatorConfig, *users: User) -> EmulatorConfig:
    return replace(config, users=config.users + users)


NOW_S = int(time.time())
OTHER_USER = User("other@example.com", "005000000000002AAA", preauthorized=False)

# (id, config builder, claim changes, expected status, error, error_description)
ERROR_CASES: list[tuple[str, Callable[[KeyPair], EmulatorConfig], dict[str, Any], str, str]] = [
    (
        "unknown-client-id",
        _demo,
        {"iss": "3MVG9unknownConsumerKey0000"},
        "invalid_client_id",
        "client identifier invalid",
    ),
    ("missing-iss", _demo, {"iss": None}, "invalid_client_id", "client identifier invalid"),
    (
        "audience-other-host",
        _demo,
        {"aud": "https://acme.my.salesforce.com/"},
        "invalid_grant",
        "audience is invalid",
    ),
    (
        "audience-test-on-production",
        _connected_app,
        {"aud": "https://test.salesforce.com"},
        "invalid_grant",
        "audience is invalid",
    ),
    (
        "eca-refuses-the-generic-audience",
        _demo,
        {"aud": "https://login.salesforce.com"},
        "app_not_found",
        "External client app is not installed in this org",
    ),
    ("expired-seconds", _demo, {"exp": NOW_S - 10}, "invalid_grant", "expired authorization code"),
    ("exp-missing", _demo, {"exp": None}, "invalid_grant", "invalid assertion"),
    ("exp-not-a-number", _demo, {"exp": "tomorrow"}, "invalid_grant", "invalid assertion"),
    ("sub-missing", _demo, {"sub": None}, "invalid_grant", "invalid assertion"),
    (
        "unknown-user",
        _demo,
        {"sub": "nobody@example.com"},
        "invalid_grant",
        "user hasn't approved this consumer",
    ),
    (
        "self-authorize-not-approved",
        _self_authorize,
        {},
        "invalid_grant",
        "user hasn't approved this consumer",
    ),
    (
        "admin-approved-not-preauthorized",
        lambda k: demo_config(k.cert_pem, preauthorized=False),
        {},
        "invalid_app_access",
        "user is not admin approved to access this app",
    ),
    (
        "admin-approved-other-user",
        lambda k: _with_users(demo_config(k.cert_pem), OTHER_USER),
        {"sub": OTHER_USER.username},
        "invalid_app_access",
        "user is not admin approved to access this app",
    ),
    (
        "inactive-user",
        lambda k: replace(
            demo_config(k.cert_pem),
            users=(User(DEMO_USERNAME, DEMO_USER_ID, active=False, preauthorized=True),),
        ),
        {},
        "inactive_user",
        "User is inactive",
    ),
    (
        "inactive-org",
        lambda k: replace(demo_config(k.cert_pem), org=Org(active=False)),
        {},
        "inactive_org",
        "Org is locked, closed, or suspended",
    ),
]


@pytest.mark.parametrize(
    ("build", "claims", "error", "description"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_error_pairs(
    start_emulator: Start,
    keys: KeyPair,
    build: Callable[[KeyPair], EmulatorConfig],
    claims: dict[str, Any],
    error: str,
    description: str,
) -> None:
    emu = start_emulator(build(keys))
    status, body = _login(emu, keys, **claims)
    assert (status, body) == (400, {"error": error, "error_description": description})
    assert emu.issued_tokens == ()
    record = emu.token_requests[-1]
    assert (record.error, record.error_description, record.status) == (error, description, 400)


def test_wrong_key_is_invalid_assertion(start_emulator: Start, keys: KeyPair, other_keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    status, body = _login(emu, other_keys)
    assert (status, body) == (400, {"error": "invalid_grant", "error_description": "invalid assertion"})
    assert emu.token_requests[-1].outcome == "invalid_assertion"


@pytest.mark.parametrize(
    ("grant_type", "assertion", "error", "description"),
    [
        ("password", "x.y.z", "unsupported_grant_type", "grant type not supported"),
        (JWT_GRANT, "", "invalid_grant", "invalid assertion"),
        (JWT_GRANT, "not-a-jwt", "invalid_grant", "invalid assertion"),
        (
            JWT_GRANT,
            b64url(b'{"alg":"none"}') + "." + b64url(b"{}") + ".",
            "invalid_grant",
            "invalid assertion",
        ),
    ],
    ids=["wrong-grant", "empty-assertion", "garbage-assertion", "alg-none"],
)
def test_malformed_requests(
    start_emulator: Start, keys: KeyPair, grant_type: str, assertion: str, error: str, description: str
) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_form(f"{emu.url}/services/oauth2/token", {"grant_type": grant_type, "assertion": assertion})
    assert resp.status == 400
    assert resp.json() == {"error": error, "error_description": description}


def test_token_endpoint_requires_post(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = get(f"{emu.url}/services/oauth2/token")
    assert (resp.status, resp.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("aud", "accepted", "ok"),
    [
        ("{url}/", None, True),  # what sf sends: --instance-url plus "/"
        ("{url}", None, True),
        (["{url}/", "https://other"], None, True),  # RFC 7519 allows a list
        ("{url}//", None, False),
        ("https://login.salesforce.com", None, True),  # the documented audience, accepted by production orgs
        ("https://login.salesforce.com/", None, True),
        ("https://login.salesforce.com", (), False),  # a My Domain that only takes its own URL
        ("https://test.salesforce.com/", ("https://test.salesforce.com",), True),
    ],
)
def test_audiences(start_emulator: Start, keys: KeyPair, aud: Any, accepted: tuple[str, ...] | None, ok: bool) -> None:
    emu = start_emulator(replace(_connected_app(keys), accepted_audiences=accepted))
    filled = [a.format(url=emu.url) for a in aud] if isinstance(aud, list) else aud.format(url=emu.url)
    status, body = _login(emu, keys, aud=filled)
    assert status == (200 if ok else 400), body
    if not ok:
        assert body["error_description"] == "audience is invalid"


def test_localhost_login_url_is_its_own_audience(start_emulator: Start, keys: KeyPair) -> None:
    # sf --instance-url http://localhost:PORT sends aud http://localhost:PORT/ and Host: localhost:PORT.
    emu = start_emulator(demo_config(keys.cert_pem))
    localhost = emu.url.replace("127.0.0.1", "localhost")
    claims = sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, localhost + "/")
    resp = token_request(emu.url, sign_jwt(keys.key, claims))  # Host header is 127.0.0.1 here...
    assert resp.json()["error_description"] == "audience is invalid"
    resp = request(
        "POST",
        f"{emu.url}/services/oauth2/token",
        body=f"grant_type={JWT_GRANT}&assertion={sign_jwt(keys.key, claims)}".encode(),
        headers={
            "Host": localhost.removeprefix("http://"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert resp.status == 200, resp.text


def test_a_forged_host_header_does_not_widen_the_audience(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(replace(demo_config(keys.cert_pem), accepted_audiences=()))
    claims = sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, "http://login.salesforce.com/")
    resp = request(
        "POST",
        f"{emu.url}/services/oauth2/token",
        body=f"grant_type={JWT_GRANT}&assertion={sign_jwt(keys.key, claims)}".encode(),
        headers={"Host": "login.salesforce.com", "Content-Type": "application/x-www-form-urlencoded"},
    )
    # A Host that is not a loopback name of this port is refused before the token endpoint runs.
    assert resp.status == 421 and resp.json()["error"] == "misdirected_request"
    assert emu.issued_tokens == () and emu.requests[-1].outcome == "bad_host"


@pytest.mark.parametrize(
    ("exp_offset", "unit", "ok"),
    # Read as seconds, like Salesforce: sf's millisecond exp (Date.now()+300) is far in the future,
    # even one that would be in the past as milliseconds.
    [(300, "ms", True), (300, "s", True), (-1, "s", False), (-1, "ms", True), (-(10**6), "ms", True)],
)
def test_exp_in_seconds_or_milliseconds(
    start_emulator: Start, keys: KeyPair, exp_offset: int, unit: str, ok: bool
) -> None:
    clock = FakeClock()
    emu = start_emulator(demo_config(keys.cert_pem), clock=clock)
    exp = clock.now + exp_offset
    status, body = _login(emu, keys, exp=int(exp * 1000) if unit == "ms" else int(exp))
    assert status == (200 if ok else 400), body


def test_prn_is_the_legacy_sub_and_wins(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    status, _ = _login(emu, keys, sub="nobody@example.com", prn=DEMO_USERNAME)
    assert status == 200


def test_username_is_case_insensitive(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    assert _login(emu, keys, sub=DEMO_USERNAME.upper())[0] == 200


def test_self_authorize_passes_after_approval(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_self_authorize(keys))
    assert _login(emu, keys)[1]["error_description"] == "user hasn't approved this consumer"
    emu.approve(DEMO_CONSUMER_KEY, DEMO_USERNAME)
    assert _login(emu, keys)[0] == 200


def test_preauthorizing_a_user_at_runtime(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, preauthorized=False))
    assert _login(emu, keys)[1]["error"] == "invalid_app_access"
    emu.update_user(DEMO_USERNAME, preauthorized=True)
    assert _login(emu, keys)[0] == 200
    emu.update_user(DEMO_USERNAME, active=False)
    assert _login(emu, keys)[1]["error"] == "inactive_user"


@pytest.mark.parametrize(
    ("eca", "error", "description"),
    [
        (True, "app_not_found", "External client app is not installed in this org"),
        (False, "invalid_client_id", "client identifier invalid"),
    ],
    ids=["eca", "connected-app"],
)
def test_propagating_app_answers_unknown_until_ready(
    start_emulator: Start, keys: KeyPair, eca: bool, error: str, description: str
) -> None:
    clock = FakeClock()
    emu = start_emulator(demo_config(keys.cert_pem, eca=eca, propagation_seconds=120), clock=clock)
    assert _login(emu, keys) == (400, {"error": error, "error_description": description})
    clock.advance(119)
    assert _login(emu, keys)[0] == 400
    assert emu.state()["apps"][0]["propagated"] is False
    clock.advance(1)
    assert _login(emu, keys)[0] == 200
    assert emu.state()["apps"][0]["propagated"] is True


def test_propagation_with_the_real_clock(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, propagation_seconds=1.0))
    assert _login(emu, keys)[1]["error"] == "app_not_found"
    deadline = time.monotonic() + 10  # a wait for the default clock to move on, not a speed check
    while _login(emu, keys)[0] != 200:
        assert time.monotonic() < deadline, "the app never finished propagating"
        time.sleep(0.1)


def test_maintenance_is_an_html_503(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    emu.set_switches(maintenance=True)
    claims = sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/")
    resp = token_request(emu.url, sign_jwt(keys.key, claims))
    assert resp.status == 503
    assert resp.headers["content-type"].startswith("text/html")
    assert "maintenance" in resp.text.lower()
    assert emu.token_requests[-1].outcome == "maintenance"
    emu.set_switches(maintenance=False)
    assert _login(emu, keys)[0] == 200


def test_rate_limit_after_n_token_requests(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(replace(demo_config(keys.cert_pem)), expose_tokens=False)
    emu.set_switches(rate_limit_after=2)
    results = [_login(emu, keys) for _ in range(3)]
    assert [status for status, _ in results] == [200, 200, 400]
    assert results[2][1] == {"error": "rate_limit_exceeded", "error_description": "Number of logins exceeded"}


def test_fail_next_answers_in_order_then_recovers(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    emu.set_switches(fail_next=["not_approved", "server_error"])
    first, second, third = (_login_raw(emu, keys) for _ in range(3))
    assert first.json()["error_description"] == "user hasn't approved this consumer"
    assert second.status == 500 and second.headers["content-type"].startswith("text/html")
    assert third.status == 200
    assert emu.switches.fail_next == ()


def _login_raw(emu: Emulator, keys: KeyPair) -> Any:
    return token_request(emu.url, sign_jwt(keys.key, sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/")))


def test_slow_token_reply(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    emu.set_switches(slow_token_seconds=0.4)
    assertion = sign_jwt(keys.key, sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/"))
    started = time.monotonic()
    resp = token_request(emu.url, assertion)
    assert resp.status == 200
    assert time.monotonic() - started >= 0.4
    # Only the token endpoint is slowed: REST answers while a slow token reply is still pending.
    emu.set_switches(slow_token_seconds=5)
    pending = threading.Thread(target=lambda: token_request(emu.url, assertion))
    pending.start()
    assert get(f"{emu.url}/services/data").status == 200
    assert pending.is_alive()
    emu.set_switches(slow_token_seconds=0)


def test_stop_interrupts_a_slow_reply(keys: KeyPair) -> None:
    emu = Emulator(demo_config(keys.cert_pem)).start()
    emu.set_switches(slow_token_seconds=30)
    result: list[Any] = []
    assertion = sign_jwt(keys.key, sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/"))
    before = threading.active_count()
    thread = threading.Thread(target=lambda: result.append(token_request(emu.url, assertion)))
    thread.start()
    deadline = time.monotonic() + 5  # until the server's handler thread holds the request
    while threading.active_count() < before + 2:
        assert time.monotonic() < deadline, "the request never reached the emulator"
        time.sleep(0.02)
    emu.stop()
    thread.join(10)
    assert not thread.is_alive()  # well before the 30 s the reply was slowed by
    # A server that is going away answers 500 rather than issuing a token.
    assert result[0].status == 500 and emu.issued_tokens == ()


def test_set_switches_validates(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    with pytest.raises(EmulatorConfigError, match="unknown key"):
        emu.set_switches(maintenence=True)
    with pytest.raises(EmulatorConfigError, match="true or false"):
        emu.set_switches(maintenance="yes")
    with pytest.raises(EmulatorConfigError, match="unknown outcome"):
        emu.set_switches(fail_next=["nope"])
    assert emu.switches.maintenance is False
