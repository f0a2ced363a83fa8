"""The REST calls sf makes after a login, the identity endpoints, and the control API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_ORG_ID,
    DEMO_USER_ID,
    DEMO_USERNAME,
    Emulator,
    Org,
    demo_config,
)
from tests.fakesecrets import fake_token
from tests.integration.emulator.emulator_testkit import (
    KeyPair,
    bearer,
    get,
    post_json,
    request,
    sf_claims,
    sign_jwt,
    token_request,
)

Start = Callable[..., Emulator]

SCRATCH_QUERY = "SELECT Id FROM ScratchOrgInfo limit 1"
ORG_QUERY = (
    "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization"
)


def _token(emu: Emulator, keys: KeyPair) -> str:
    claims = sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/")
    resp = token_request(emu.url, sign_jwt(keys.key, claims))
    assert resp.status == 200, resp.text
    token: str = resp.json()["access_token"]
    return token


def _query(emu: Emulator, token: str, soql: str, version: str = "62.0", tooling: bool = False) -> tuple[int, object]:
    path = "tooling/query" if tooling else "query"
    resp = get(f"{emu.url}/services/data/v{version}/{path}?q={quote(soql)}", bearer(token))
    return resp.status, resp.json()


def test_versions_list_is_public_and_highest_is_configured(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    versions = get(f"{emu.url}/services/data").json()
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    assert {"label": "Summer '24", "url": "/services/data/v61.0", "version": "61.0"} in versions
    assert max(float(v["version"]) for v in versions) == 62.0


def test_resources_map_answers_the_org_display_ping(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    token = _token(emu, keys)
    resp = get(f"{emu.url}/services/data/v62.0", bearer(token))
    assert resp.status == 200
    assert resp.json()["query"] == "/services/data/v62.0/query"
    assert get(f"{emu.url}/services/data/v62.0/", bearer(token)).status == 200


@pytest.mark.parametrize(
    ("dev_hub", "status"),
    [(True, 200), (False, 400)],
    ids=["dev-hub", "not-dev-hub"],
)
def test_dev_hub_probe(start_emulator: Start, keys: KeyPair, dev_hub: bool, status: int) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, is_dev_hub=dev_hub))
    got_status, body = _query(emu, _token(emu, keys), SCRATCH_QUERY, version="51.0")
    assert got_status == status
    if dev_hub:
        assert body == {"totalSize": 0, "done": True, "records": []}
    else:
        assert isinstance(body, list) and body[0]["errorCode"] == "INVALID_TYPE"
        assert "sObject type 'ScratchOrgInfo' is not supported" in body[0]["message"]


def test_organization_query_returns_the_configured_org(start_emulator: Start, keys: KeyPair) -> None:
    org = Org(
        name="Acme",
        instance_name="NA99",
        edition="Enterprise Edition",
        is_sandbox=True,
        namespace_prefix="acme",
        trial_expiration_date="2027-01-01T00:00:00.000+0000",
    )
    emu = start_emulator(replace(demo_config(keys.cert_pem), org=org))
    status, body = _query(emu, _token(emu, keys), ORG_QUERY)
    assert status == 200
    assert isinstance(body, dict)
    assert body["totalSize"] == 1
    record = body["records"][0]
    assert record["attributes"]["type"] == "Organization"
    assert {k: v for k, v in record.items() if k != "attributes"} == {
        "Name": "Acme",
        "InstanceName": "NA99",
        "IsSandbox": True,
        "TrialExpirationDate": "2027-01-01T00:00:00.000+0000",
        "NamespacePrefix": "acme",
        "OrganizationType": "Enterprise Edition",
    }


@pytest.mark.parametrize(
    ("soql", "tooling", "error_code"),
    [
        ("SELECT Nope FROM Organization", False, "INVALID_FIELD"),
        ("SELECT Id FROM Account", False, "INVALID_TYPE"),
        ("DELETE everything", False, "MALFORMED_QUERY"),
        ("SELECT Id FROM SandboxProcess", True, "INVALID_TYPE"),
        (SCRATCH_QUERY, True, "INVALID_TYPE"),
    ],
)
def test_other_queries_get_rest_errors(
    start_emulator: Start, keys: KeyPair, soql: str, tooling: bool, error_code: str
) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, is_dev_hub=True))
    status, body = _query(emu, _token(emu, keys), soql, tooling=tooling)
    assert status == 400
    assert isinstance(body, list) and body[0]["errorCode"] == error_code


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/services/data/v62.0/sobjects", 404),
        ("/services/data/v99.0", 404),
        ("/services/data/latest", 404),
        ("/services/apexrest/x", 404),
        ("/", 404),
    ],
)
def test_unknown_paths_are_json_404(start_emulator: Start, keys: KeyPair, path: str, status: int) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = get(emu.url + path, bearer(_token(emu, keys)))
    assert resp.status == status
    assert resp.json() == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.mark.parametrize(
    "auth", [None, "Bearer ", f"Bearer {fake_token()}", "Basic abc"], ids=["none", "empty", "forged", "basic"]
)
def test_rest_needs_an_issued_token(start_emulator: Start, keys: KeyPair, auth: str | None) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = get(f"{emu.url}/services/data/v62.0/query?q=x", {"Authorization": auth} if auth else None)
    assert resp.status == 401
    assert resp.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_oauth_scheme_is_accepted_too(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    assert get(f"{emu.url}/services/data/v62.0", {"Authorization": f"OAuth {_token(emu, keys)}"}).status == 200


def test_userinfo_and_id(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    token = _token(emu, keys)
    info = get(f"{emu.url}/services/oauth2/userinfo", bearer(token)).json()
    assert info["preferred_username"] == DEMO_USERNAME and info["organization_id"] == DEMO_ORG_ID
    ident = get(f"{emu.url}/id/{DEMO_ORG_ID}/{DEMO_USER_ID}", bearer(token)).json()
    assert ident["username"] == DEMO_USERNAME and ident["user_id"] == DEMO_USER_ID
    assert get(f"{emu.url}/id/{DEMO_ORG_ID}/005000000000999AAA", bearer(token)).status == 404
    bad = get(f"{emu.url}/services/oauth2/userinfo", bearer("nope"))
    assert (bad.status, bad.text) == (403, "Bad_OAuth_Token")


# --------------------------------------------------------------------------- control API


def test_state_shows_requests_and_approvals_but_no_tokens(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, policy="self-authorize"))
    approve = post_json(f"{emu.url}/__emulator/approve", {"client_id": DEMO_CONSUMER_KEY, "username": DEMO_USERNAME})
    assert approve.status == 200
    token = _token(emu, keys)
    state_resp = get(f"{emu.url}/__emulator/state")
    assert token not in state_resp.text  # a state dump is safe to print or attach to a CI log
    state = state_resp.json()
    assert state["issued_token_count"] == 1 and state["token_request_count"] == 1
    assert state["approvals"] == [{"client_id": DEMO_CONSUMER_KEY, "username": DEMO_USERNAME, "refresh_token": True}]
    assert [r["outcome"] for r in state["requests"]] == ["ok"]  # control calls are not logged
    assert state["requests"][0]["claims"]["sub"] == DEMO_USERNAME
    assert state["apps"][0]["propagated"] is True


def test_config_endpoint_changes_switches(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_json(f"{emu.url}/__emulator/config", {"maintenance": True, "fail_next": ["expired"]})
    assert resp.status == 200
    assert resp.json()["switches"]["maintenance"] is True
    assert emu.switches.maintenance and emu.switches.fail_next == ("expired",)
    bad = post_json(f"{emu.url}/__emulator/config", {"maintenance": "on"})
    assert bad.status == 400 and "maintenance" in bad.json()["error"] and bad.json()["fix"]


def test_user_endpoint_flips_flags(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, preauthorized=False))
    resp = post_json(f"{emu.url}/__emulator/user", {"username": DEMO_USERNAME, "preauthorized": True})
    assert resp.status == 200 and resp.json()["user"]["preauthorized"] is True
    _token(emu, keys)  # now succeeds
    assert post_json(f"{emu.url}/__emulator/user", {"username": "x@y.io", "active": False}).status == 400


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"client_id": DEMO_CONSUMER_KEY, "username": "nobody@example.com"}, "no user"),
        ({"client_id": "unknown-key-000000000", "username": DEMO_USERNAME}, "no app"),
        ({"client_id": DEMO_CONSUMER_KEY}, "required"),
    ],
)
def test_approve_endpoint_errors(start_emulator: Start, keys: KeyPair, payload: dict[str, str], words: str) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_json(f"{emu.url}/__emulator/approve", payload)
    assert resp.status == 400 and words in resp.json()["error"]


def test_control_posts_must_be_json(start_emulator: Start, keys: KeyPair) -> None:
    # A plain form post (what a hostile web page could send from a browser) is refused.
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_json(f"{emu.url}/__emulator/config", {"maintenance": True}, content_type="text/plain")
    assert resp.status == 415
    assert emu.switches.maintenance is False


@pytest.mark.parametrize("expose", [True, False])
def test_tokens_endpoint_only_with_the_test_flag(start_emulator: Start, keys: KeyPair, expose: bool) -> None:
    emu = start_emulator(demo_config(keys.cert_pem), expose_tokens=expose)
    token = _token(emu, keys)
    resp = get(f"{emu.url}/__emulator/tokens")
    if expose:
        assert resp.json() == {"tokens": [token]}
    else:
        assert resp.status == 404 and token not in resp.text


def test_unknown_control_endpoint(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    assert get(f"{emu.url}/__emulator/nope").status == 404
    assert request("DELETE", f"{emu.url}/__emulator/state").status == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"provider": "jenkins", "claims": {}},
        {"claims": {"repository": "acme/app"}},
        {"provider": "github", "claims": {"repository": 7}},
        {"provider": "github", "claims": ["repository"]},
        {"provider": "github", "claims": {}, "lifetime": 0},
    ],
)
def test_ci_job_endpoint_errors(start_emulator: Start, keys: KeyPair, payload: dict[str, object]) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_json(f"{emu.url}/__emulator/ci-job", payload)
    assert resp.status == 400 and "expected provider (github or gitlab)" in resp.json()["error"]


def test_ci_job_endpoint_opens_a_job_as_a_test_does(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_json(f"{emu.url}/__emulator/ci-job", {"provider": "github", "claims": {"repository": "acme/app"}})
    assert resp.status == 200 and resp.json()["issuer"] == emu.ci_issuer("github")
    env = resp.json()["env"]
    assert set(env) == {"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITHUB_ACTIONS"}
    assert emu.requests == ()  # control calls are not logged
