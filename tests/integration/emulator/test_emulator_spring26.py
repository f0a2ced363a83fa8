"""The Spring '26 rules as switches of the emulated org (docs/platform-2026.md): an External Client
App refuses the generic audiences, logins are capped per user per hour, and the consumer-secret
gates guard a retrieve of ExtlClntAppGlobalOauthSettings. Each default is what a new real org does;
each switch turned off rehearses the other side."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_USERNAME,
    Emulator,
    EmulatorConfigError,
    config_from_mapping,
    config_to_mapping,
    demo_config,
    empty_org_config,
)
from sfjwt_orch.emulator.presets import with_switches
from tests.integration.emulator.emulator_testkit import (
    FakeClock,
    KeyPair,
    bearer,
    get,
    request,
    sf_claims,
    sign_jwt,
    token_request,
)
from tests.integration.emulator.metadata_kit import NAME, deploy_and_wait, eca_files, soap

Start = Callable[..., Emulator]
OTHER = "other@example.com"


def _login(emu: Emulator, keys: KeyPair, aud: Any = None, username: str = DEMO_USERNAME) -> tuple[int, dict[str, Any]]:
    claims = sf_claims(DEMO_CONSUMER_KEY, username, aud if aud is not None else emu.url + "/")
    resp = token_request(emu.url, sign_jwt(keys.key, claims))
    return resp.status, resp.json()


# --------------------------------------------------------------------------- rule 2: ECA audience

NOT_INSTALLED = {"error": "app_not_found", "error_description": "External client app is not installed in this org"}


@pytest.mark.parametrize(
    "aud",
    [
        "https://login.salesforce.com",
        "https://login.salesforce.com/",
        "https://test.salesforce.com/",
        "HTTPS://TEST.SALESFORCE.COM",
        ["https://login.salesforce.com", "{url}/"],  # a list naming a generic host is still refused
    ],
)
def test_an_eca_refuses_the_generic_audiences(start_emulator: Start, keys: KeyPair, aud: Any) -> None:
    emu = start_emulator(replace(demo_config(keys.cert_pem), accepted_audiences=("https://test.salesforce.com",)))
    filled = [a.format(url=emu.url) for a in aud] if isinstance(aud, list) else aud
    assert _login(emu, keys, filled) == (400, NOT_INSTALLED)
    assert emu.token_requests[-1].outcome == "app_not_installed" and emu.issued_tokens == ()


def test_an_eca_takes_its_my_domain_and_the_switch_off_takes_the_generic_host(
    start_emulator: Start, keys: KeyPair
) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    assert _login(emu, keys)[0] == 200  # the org's own URL (sf's first aud for a My Domain login URL)
    legacy = start_emulator(with_switches(demo_config(keys.cert_pem), eca_generic_audience_refused=False))
    assert _login(legacy, keys, "https://login.salesforce.com")[0] == 200


def test_a_connected_app_still_takes_the_generic_audience(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, eca=False))
    assert _login(emu, keys, "https://login.salesforce.com")[0] == 200


# --------------------------------------------------------------------------- rule 5: the login cap

RATE = {"error": "invalid_grant", "error_description": "login rate exceeded"}


def test_logins_are_capped_per_user_per_rolling_hour(start_emulator: Start, keys: KeyPair) -> None:
    clock = FakeClock()
    config = with_switches(demo_config(keys.cert_pem), login_rate_per_hour=2)
    config = replace(config, users=(*config.users, replace(config.users[0], username=OTHER, user_id="005" + "2" * 15)))
    emu = start_emulator(config, clock=clock)
    assert [_login(emu, keys)[0] for _ in range(2)] == [200, 200]
    clock.advance(1800)
    assert _login(emu, keys) == (400, RATE)
    assert emu.token_requests[-1].outcome == "login_rate_exceeded"
    assert _login(emu, keys, username=OTHER)[0] == 200  # the cap is per user
    assert _login(emu, keys, username=DEMO_USERNAME.upper()) == (400, RATE)  # usernames are case-insensitive
    clock.advance(1800)  # the first two logins are an hour old: they drop out (refusals never counted)
    assert [_login(emu, keys)[0] for _ in range(3)] == [200, 200, 400]


def test_the_default_cap_is_salesforces_and_null_lifts_it(start_emulator: Start, keys: KeyPair) -> None:
    assert demo_config(keys.cert_pem).switches.login_rate_per_hour == 3600
    emu = start_emulator(with_switches(demo_config(keys.cert_pem), login_rate_per_hour=0))
    assert _login(emu, keys) == (400, RATE)
    emu.set_switches(login_rate_per_hour=None)
    assert _login(emu, keys)[0] == 200


# --------------------------------------------------------------------------- rule 4: consumer-secret gates


def _retrieve_settings(emu: Emulator) -> tuple[int, Any]:
    members = f"<types><members>{NAME}_glbloauth</members><name>ExtlClntAppGlobalOauthSettings</name></types>"
    call = f"<retrieve><request><apiVersion>62.0</apiVersion><unpackaged>{members}<version>62.0</version></unpackaged></request></retrieve>"
    return soap(emu.url, emu.admin_token, call)


@pytest.mark.parametrize(
    ("switch", "named"),
    [
        ("consumer_secret_access", "'Allow Access to OAuth Consumer Secrets via Metadata API' is off"),
        ("admin_views_consumer_secrets", "'View External Client Apps Consumer Secrets in Metadata'"),
    ],
)
def test_a_closed_gate_refuses_the_retrieve_of_the_oauth_settings(
    start_emulator: Start, keys: KeyPair, switch: str, named: str
) -> None:
    emu = start_emulator(empty_org_config())
    deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))  # deploying is not gated
    assert _retrieve_settings(emu)[1]["result"]["id"].startswith("09S")  # open by default
    emu.set_switches(**{switch: False})
    status, fault = _retrieve_settings(emu)
    assert status == 500 and fault["faultcode"] == "sf:INSUFFICIENT_ACCESS", fault
    assert named in fault["faultstring"] and fault["faultstring"].startswith("INSUFFICIENT_ACCESS: ")
    # Other types are not gated: the app's header still comes back.
    header = f"<types><members>{NAME}</members><name>ExternalClientApplication</name></types>"
    call = f"<retrieve><request><apiVersion>62.0</apiVersion><unpackaged>{header}<version>62.0</version></unpackaged></request></retrieve>"
    assert soap(emu.url, emu.admin_token, call)[0] == 200


# --------------------------------------------------------------------------- the org description


def test_the_switches_round_trip_and_are_checked(keys: KeyPair) -> None:
    config = with_switches(
        demo_config(keys.cert_pem),
        eca_generic_audience_refused=False,
        login_rate_per_hour=10,
        consumer_secret_access=False,
        admin_views_consumer_secrets=False,
    )
    raw = config_to_mapping(config)
    assert config_from_mapping(raw).switches == config.switches
    with pytest.raises(EmulatorConfigError, match=r"switches\.login_rate_per_hour"):
        config_from_mapping({**raw, "switches": {**raw["switches"], "login_rate_per_hour": -1}})
    with pytest.raises(EmulatorConfigError, match=r"switches\.consumer_secret_access"):
        config_from_mapping({**raw, "switches": {**raw["switches"], "consumer_secret_access": "yes"}})


# --------------------------------------------------------------------------- rule 3: an ECA and scratch orgs


def _sign_up(emu: Emulator, keys: KeyPair, **fields: str) -> tuple[int, Any, dict[str, Any] | None]:
    """A Dev Hub login through the demo app, then sf's ScratchOrgInfo insert and its read-back."""
    status, body = _login(emu, keys)
    assert status == 200, body
    headers = {**bearer(body["access_token"]), "Content-Type": "application/json"}
    payload = {"Edition": "developer", "ConnectedAppCallbackUrl": "http://localhost:1717/OauthRedirect", **fields}
    url = f"{emu.url}/services/data/v62.0/sobjects/ScratchOrgInfo"
    made = request("POST", url, body=json.dumps(payload).encode(), headers=headers)
    if made.status != 201:
        return made.status, made.json(), None
    record = get(f"{url}/{made.json()['id']}", headers)
    assert record.status == 200
    return made.status, made.json(), record.json()


@pytest.mark.parametrize("eca", [True, False], ids=["eca", "connected-app"])
def test_a_scratch_sign_up_naming_the_dev_hubs_eca_ends_in_c1016(
    start_emulator: Start, keys: KeyPair, eca: bool
) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, is_dev_hub=True, eca=eca))
    status, made, record = _sign_up(emu, keys, ConnectedAppConsumerKey=DEMO_CONSUMER_KEY)
    # The insert itself works; the refusal is the record's status, as sf reads it back.
    assert status == 201 and made["success"] is True and record is not None
    assert record["Id"] == made["id"] and record["ConnectedAppConsumerKey"] == DEMO_CONSUMER_KEY
    expected = ("Error", "C-1016") if eca else ("New", None)
    assert (record["Status"], record["ErrorCode"]) == expected
    assert emu.scratch_requests == (record,)


@pytest.mark.parametrize(
    ("key", "switch_on"),
    [("PlatformCLI", True), (DEMO_CONSUMER_KEY, False)],
    ids=["sf-remedy-builtin-app", "switch-off"],
)
def test_the_remedy_or_the_switch_off_lets_the_sign_up_proceed(
    start_emulator: Start, keys: KeyPair, key: str, switch_on: bool
) -> None:
    config = demo_config(keys.cert_pem, is_dev_hub=True)
    emu = start_emulator(with_switches(config, eca_scratch_signup_refused=switch_on))
    _, _, record = _sign_up(emu, keys, ConnectedAppConsumerKey=key)
    assert record is not None and (record["Status"], record["ErrorCode"]) == ("New", None)


def test_scratch_sign_up_errors(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, is_dev_hub=True))
    status, body, _ = _sign_up(emu, keys)  # no ConnectedAppConsumerKey
    assert status == 400 and body[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert body[0]["fields"] == ["ConnectedAppConsumerKey"]
    _, token = _login(emu, keys)
    unknown = get(
        f"{emu.url}/services/data/v62.0/sobjects/ScratchOrgInfo/2SR000000000001AAA", bearer(token["access_token"])
    )
    assert unknown.status == 404 and emu.scratch_requests == ()
    not_a_hub = start_emulator(demo_config(keys.cert_pem))
    status, body, _ = _sign_up(not_a_hub, keys, ConnectedAppConsumerKey="PlatformCLI")
    assert status == 404 and body[0]["errorCode"] == "NOT_FOUND"  # no ScratchOrgInfo outside a Dev Hub
