"""The admin user and what sf's admin commands need besides the Metadata API: the admin access token
(`sf org login access-token`), `sobjects/User/{id}`, the User and PermissionSet queries and
`sobjects/PermissionSetAssignment` (`sf org assign permset`), configs with admins and permission sets,
and the control API's view of them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sfjwt_orch.emulator import (
    DEMO_ADMIN_USER_ID,
    DEMO_ADMIN_USERNAME,
    DEMO_USER_ID,
    Emulator,
    EmulatorConfigError,
    EmulatorError,
    PermissionSet,
    User,
    admin_json,
    config_from_mapping,
    config_to_mapping,
    demo_config,
    empty_org_config,
    load_config,
)
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
GATE = PermissionSet("Gate", "0PS000000000001AAA", "Gate")
# plugin-auth's check of an access token's shape (reference §D).
ACCESS_TOKEN_RE = re.compile(r"(00D\w{12,15})![.\w]*")


def _query(emu: Emulator, soql: str, token: str | None = None) -> tuple[int, Any]:
    resp = get(f"{emu.url}/services/data/v62.0/query?q={quote(soql)}", bearer(token or emu.admin_token))
    return resp.status, resp.json()


def _assign(emu: Emulator, body: Any, token: str | None = None) -> tuple[int, Any]:
    resp = request(
        "POST",
        f"{emu.url}/services/data/v62.0/sobjects/PermissionSetAssignment",
        body=json.dumps(body).encode(),
        headers={**bearer(token or emu.admin_token), "Content-Type": "application/json"},
    )
    return resp.status, resp.json()


# --------------------------------------------------------------------------- the admin and its token


def test_empty_org_has_integration_users_an_admin_and_no_app(start_emulator: Start) -> None:
    emu = start_emulator(empty_org_config(("ci@example.com", "ops@example.com")))
    users = emu.users()
    assert [u.username for u in users] == ["ci@example.com", "ops@example.com", DEMO_ADMIN_USERNAME]
    assert users[0].user_id == DEMO_USER_ID and users[1].user_id == "005000000000002AAA"
    assert users[-1].admin and users[-1].profile_name == "System Administrator"
    assert not any(u.preauthorized for u in users) and emu.apps() == ()
    assert ACCESS_TOKEN_RE.fullmatch(emu.admin_token) and emu.admin_token.startswith("00D000000000001!")
    assert admin_json(emu) == {"username": DEMO_ADMIN_USERNAME, "access_token": emu.admin_token}
    state = emu.state()
    assert state["admin"] == DEMO_ADMIN_USERNAME and emu.admin_token not in json.dumps(state)


def test_an_org_without_admin_has_no_admin_token(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    assert admin_json(emu) is None
    with pytest.raises(EmulatorError, match="no admin user"):
        _ = emu.admin_token


def test_demo_config_can_add_an_admin(keys: KeyPair) -> None:
    config = demo_config(keys.cert_pem, admin_username="root@example.com")
    assert [u.username for u in config.users] == ["dev@example.com", "root@example.com"]
    assert config.admin is not None and config.admin.user_id == DEMO_ADMIN_USER_ID


def test_admin_token_answers_the_access_token_login_sequence(start_emulator: Start) -> None:
    """`sf org login access-token`: userinfo, then sobjects/User/{id} at v51.0 (reference §D)."""
    emu = start_emulator(empty_org_config())
    info = get(f"{emu.url}/services/oauth2/userinfo", bearer(emu.admin_token)).json()
    assert info["user_id"] == DEMO_ADMIN_USER_ID and info["preferred_username"] == DEMO_ADMIN_USERNAME
    user = get(f"{emu.url}/services/data/v51.0/sobjects/User/{info['user_id']}", bearer(emu.admin_token))
    assert user.status == 200 and user.json()["Username"] == DEMO_ADMIN_USERNAME
    assert user.json()["attributes"] == {
        "type": "User",
        "url": f"/services/data/v51.0/sobjects/User/{DEMO_ADMIN_USER_ID}",
    }


@pytest.mark.parametrize(
    ("user_id", "token", "status"),
    [
        (DEMO_USER_ID[:15], True, 200),
        ("005000000000099AAA", True, 404),
        (DEMO_USER_ID, False, 401),
    ],
    ids=["15-character-id", "unknown-user", "no-session"],
)
def test_sobjects_user(start_emulator: Start, user_id: str, token: bool, status: int) -> None:
    emu = start_emulator(empty_org_config())
    resp = get(f"{emu.url}/services/data/v51.0/sobjects/User/{user_id}", bearer(emu.admin_token) if token else None)
    assert resp.status == status


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize(
    ("soql", "status", "expected"),
    [
        ("SELECT Id FROM User WHERE Username='ci@example.com'", 200, [{"Id": DEMO_USER_ID}]),
        ("SELECT Id FROM User WHERE Username='CI@Example.com'", 200, [{"Id": DEMO_USER_ID}]),
        ("SELECT Id FROM User WHERE Username='nobody@example.com'", 200, []),
        ("SELECT Id, Username FROM User WHERE Username = 'ci@example.com' AND IsActive = 'true'", 200,
         [{"Id": DEMO_USER_ID, "Username": "ci@example.com"}]),
        ("SELECT Id FROM PermissionSet WHERE Name='Gate'", 200, [{"Id": GATE.perm_set_id}]),
        ("SELECT Id FROM PermissionSet WHERE Name='Gate' AND NamespacePrefix='ns'", 200, []),
        ("SELECT Id FROM PermissionSet WHERE Name='It\\'s'", 200, []),
        ("SELECT Id, Name FROM PermissionSet LIMIT 0", 200, []),
        ("SELECT AssigneeId FROM PermissionSetAssignment", 200, [{"AssigneeId": DEMO_USER_ID}]),
        ("SELECT Id, DeveloperName FROM ExternalClientApplication", 200, []),
        ("SELECT Nope FROM User", 400, "INVALID_FIELD"),
        ("SELECT Id FROM User WHERE Username LIKE 'ci%'", 400, "MALFORMED_QUERY"),
        ("SELECT Id FROM Account", 400, "INVALID_TYPE"),
    ],
)  # fmt: skip
def test_queries(start_emulator: Start, soql: str, status: int, expected: Any) -> None:
    config = empty_org_config(("ci@example.com",), permission_sets=(GATE,))
    users = (User("ci@example.com", DEMO_USER_ID, permission_sets=("Gate",)), *config.users[1:])
    emu = start_emulator(replace(config, users=users))
    got_status, body = _query(emu, soql)
    assert got_status == status
    if status == 200:
        assert [{k: v for k, v in r.items() if k != "attributes"} for r in body["records"]] == expected
        assert body["totalSize"] == len(expected) and body["done"] is True
    else:
        assert body[0]["errorCode"] == expected


# --------------------------------------------------------------------------- PermissionSetAssignment


@pytest.mark.parametrize(
    ("body", "as_admin", "status", "code"),
    [
        ({"AssigneeId": DEMO_USER_ID, "PermissionSetId": GATE.perm_set_id}, True, 201, None),
        ({"AssigneeId": DEMO_USER_ID[:15], "PermissionSetId": GATE.perm_set_id[:15]}, True, 201, None),
        ({"AssigneeId": DEMO_USER_ID}, True, 400, "REQUIRED_FIELD_MISSING"),
        ({"AssigneeId": "005000000000099AAA", "PermissionSetId": GATE.perm_set_id}, True, 400, "FIELD_INTEGRITY_EXCEPTION"),
        ({"AssigneeId": DEMO_USER_ID, "PermissionSetId": "0PS000000000099AAA"}, True, 400, "FIELD_INTEGRITY_EXCEPTION"),
        ({"AssigneeId": DEMO_USER_ID, "PermissionSetId": "Gate"}, True, 400, "FIELD_INTEGRITY_EXCEPTION"),
        ([], True, 400, "JSON_PARSER_ERROR"),
        ({"AssigneeId": DEMO_USER_ID, "PermissionSetId": GATE.perm_set_id}, False, 400,
         "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"),
    ],
    ids=["created", "15-character-ids", "missing-field", "unknown-user", "unknown-set", "a-name-not-an-id",
         "not-an-object", "not-an-admin"],
)  # fmt: skip
def test_permission_set_assignment(
    start_emulator: Start, keys: KeyPair, body: Any, as_admin: bool, status: int, code: str | None
) -> None:
    config = demo_config(keys.cert_pem, admin_username=DEMO_ADMIN_USERNAME, preauthorized=True)
    emu = start_emulator(replace(config, permission_sets=(GATE,)))
    token = emu.admin_token
    if not as_admin:
        claims = sf_claims(config.apps[0].consumer_key, "dev@example.com", emu.url + "/")
        token = token_request(emu.url, sign_jwt(keys.key, claims)).json()["access_token"]
    got_status, answer = _assign(emu, body, token)
    assert got_status == status, answer
    if code is None:
        assert answer["success"] is True and answer["id"].startswith("0Pa") and answer["errors"] == []
        assert emu.permission_sets_of("dev@example.com") == ("Gate",)
    else:
        assert answer[0]["errorCode"] == code and emu.permission_sets_of("dev@example.com") == ()


def test_a_repeated_assignment_is_a_duplicate(start_emulator: Start) -> None:
    emu = start_emulator(empty_org_config(permission_sets=(GATE,)))
    body = {"AssigneeId": DEMO_USER_ID, "PermissionSetId": GATE.perm_set_id}
    assert _assign(emu, body)[0] == 201
    status, answer = _assign(emu, body)
    assert status == 400 and answer == [
        {
            "message": f"Duplicate PermissionSetAssignment. Assignee: {DEMO_USER_ID}; Permission Set: {GATE.perm_set_id}",
            "errorCode": "DUPLICATE_VALUE",
            "fields": [],
        }
    ]
    assert emu.requests[-1].outcome == "DUPLICATE_VALUE"
    assert [a["permission_set_id"] for a in emu.state()["assignments"]] == [GATE.perm_set_id]


# --------------------------------------------------------------------------- configs


def _mapping(cert_pem: str) -> dict[str, Any]:
    return {
        "org": {},
        "users": [
            {"username": "ci@example.com", "user_id": DEMO_USER_ID, "permission_sets": ["Gate"], "profile": "Robots"},
            {"username": "admin@example.com", "user_id": DEMO_ADMIN_USER_ID, "admin": True},
        ],
        "permission_sets": [{"name": "Gate", "id": GATE.perm_set_id, "label": "Gate"}],
        "switches": {
            "connected_app_creation_blocked": False,
            "deploy_pending_polls": 1,
            "permission_set_ids_only": True,
        },
    }


def test_config_file_with_an_admin_permission_sets_and_no_apps(tmp_path: Path, keys: KeyPair) -> None:
    path = tmp_path / "org.json"
    path.write_text(json.dumps(_mapping(keys.cert_pem)))
    config = load_config(path)
    assert config.apps == () and config.admin is not None and config.admin.username == "admin@example.com"
    assert config.users[0].permission_sets == ("Gate",) and config.users[0].profile_name == "Robots"
    assert config.permission_sets == (GATE,)
    assert not config.switches.connected_app_creation_blocked and config.switches.permission_set_ids_only
    assert config_from_mapping(config_to_mapping(config)) == config


def test_configured_assignments_and_profiles_exist_from_the_start(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(config_from_mapping(_mapping(keys.cert_pem)))
    assert emu.permission_sets_of("ci@example.com") == ("Gate",)
    assert (
        _assign(emu, {"AssigneeId": DEMO_USER_ID, "PermissionSetId": GATE.perm_set_id})[1][0]["errorCode"]
        == "DUPLICATE_VALUE"
    )
    user = next(u for u in emu.state()["users"] if u["username"] == "ci@example.com")
    assert user["profile"] == "Robots" and user["admin"] is False


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda m: m["permission_sets"][0].update(id="005000000000001AAA"), "permission_sets[0].id"),
        (lambda m: m["permission_sets"][0].update(name="Bad Name"), "permission_sets[0].name"),
        (lambda m: m["permission_sets"].append(dict(m["permission_sets"][0])), "permission_sets[1]"),
        (lambda m: m["users"][0].update(permission_sets=["Unknown"]), "users[0].permission_sets[0]"),
        (lambda m: m["users"][0].update(profile=" "), "users[0].profile"),
        (lambda m: m["users"][1].update(admin="yes"), "users[1].admin"),
        (lambda m: m["switches"].update(deploy_pending_polls=-1), "switches.deploy_pending_polls"),
        (lambda m: m["switches"].update(deploy_propagation_seconds=-5), "switches.deploy_propagation_seconds"),
        (lambda m: m["switches"].update(external_client_apps_disabled="on"), "switches.external_client_apps_disabled"),
    ],
    ids=["id-not-0PS", "name-not-api-name", "duplicate", "unknown-set-on-user", "empty-profile", "admin-not-bool",
         "negative-polls", "negative-propagation", "switch-not-bool"],
)  # fmt: skip
def test_config_errors(keys: KeyPair, change: Callable[[dict[str, Any]], None], where: str) -> None:
    mapping = _mapping(keys.cert_pem)
    change(mapping)
    with pytest.raises(EmulatorConfigError) as info:
        config_from_mapping(mapping, "org.json")
    assert f"org.json: {where}:" in info.value.message and info.value.fix


def test_new_switches_through_the_control_api(start_emulator: Start) -> None:
    emu = start_emulator(empty_org_config())
    resp = post_json(
        f"{emu.url}/__emulator/config", {"external_client_apps_disabled": True, "deploy_propagation_seconds": 30}
    )
    assert resp.status == 200
    assert resp.json()["switches"]["external_client_apps_disabled"] is True
    assert emu.switches.deploy_propagation_seconds == 30 and emu.switches.connected_app_creation_blocked is True
