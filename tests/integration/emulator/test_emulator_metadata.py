"""The SOAP Metadata API endpoint (deploy, checkDeployStatus, listMetadata, retrieve, checkRetrieveStatus)
and what a deploy does to the org: apps that verify JWTs, pre-authorization through permission sets
or profiles, the org's refusals (switches), propagation, and certificate replacement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    Emulator,
    EmulatorConfig,
    PermissionSet,
    demo_config,
    empty_org_config,
)
from tests.integration.emulator.emulator_testkit import (
    FakeClock,
    KeyPair,
    bearer,
    post_json,
    request,
    sf_claims,
    sign_jwt,
    token_request,
)
from tests.integration.emulator.metadata_kit import (
    NAME,
    PERMSET,
    POLICY,
    as_list,
    check_status_call,
    connected_app_files,
    deploy_and_wait,
    deploy_call,
    eca_files,
    package_xml,
    permission_set_files,
    problems,
    soap,
    unzip,
    zip_b64,
)

Start = Callable[..., Emulator]
USER = "ci@example.com"


def _org(**kw: Any) -> EmulatorConfig:
    return empty_org_config((USER,), **kw)


def _fault(result: tuple[int, Any]) -> tuple[int, str, str]:
    status, body = result
    return status, body["faultcode"], body["faultstring"]


def _jwt(emu: Emulator, key: KeyPair, client_id: str, username: str = USER) -> tuple[int, dict[str, Any]]:
    resp = token_request(emu.url, sign_jwt(key.key, sf_claims(client_id, username, emu.url + "/")))
    return resp.status, resp.json()


def _assign_as_admin(emu: Emulator, username: str, permset: str) -> int:
    user_id = next(u.user_id for u in emu.users() if u.username == username)
    ps_id = next(p["id"] for p in emu.state()["permission_sets"] if p["name"] == permset)
    resp = request(
        "POST",
        f"{emu.url}/services/data/v62.0/sobjects/PermissionSetAssignment",
        body=f'{{"AssigneeId": "{user_id}", "PermissionSetId": "{ps_id}"}}'.encode(),
        headers={**bearer(emu.admin_token), "Content-Type": "application/json"},
    )
    return resp.status


# --------------------------------------------------------------------------- the envelope and the session


@pytest.mark.parametrize(
    ("session", "body", "version", "code"),
    [
        (None, "<listMetadata/>", "62.0", "sf:INVALID_SESSION_ID"),
        ("00D000000000001!notissued", "<listMetadata/>", "62.0", "sf:INVALID_SESSION_ID"),
        ("admin", "<describeEverything/>", "62.0", "soapenv:Client"),
        ("admin", "<listMetadata/>", "99.0", "sf:UNSUPPORTED_API_VERSION"),
        ("admin", "<listMetadata/>", "latest", "sf:UNSUPPORTED_API_VERSION"),
        ("user", "<listMetadata/>", "62.0", "sf:INSUFFICIENT_ACCESS"),
    ],
    ids=[
        "no-session",
        "unknown-session",
        "unknown-operation",
        "version-too-new",
        "version-not-a-number",
        "not-an-admin",
    ],
)
def test_faults(start_emulator: Start, keys: KeyPair, session: str | None, body: str, version: str, code: str) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, admin_username="admin@example.com"))
    if session == "admin":
        session = emu.admin_token
    elif session == "user":
        session = _jwt(emu, keys, DEMO_CONSUMER_KEY, "dev@example.com")[1]["access_token"]
    status, faultcode, message = _fault(soap(emu.url, session, body, version))
    assert status == 500 and faultcode == code
    assert message.startswith(code.split(":")[1]) or code == "soapenv:Client"
    assert emu.requests[-1].outcome == code.split(":")[1]


def test_invalid_session_text_is_salesforces(start_emulator: Start) -> None:
    emu = start_emulator(_org())
    _, _, message = _fault(soap(emu.url, "nope", "<listMetadata/>"))
    assert message == "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"


def test_a_body_that_is_not_soap_is_a_client_fault(start_emulator: Start) -> None:
    emu = start_emulator(_org())
    resp = request("POST", f"{emu.url}/services/Soap/m/62.0", body=b"<not-closed", headers={"Content-Type": "text/xml"})
    assert resp.status == 500 and b"<faultcode>soapenv:Client</faultcode>" in resp.body


# --------------------------------------------------------------------------- deploy and its polls


def test_deploy_is_queued_then_polled_to_success(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    emu.set_switches(deploy_pending_polls=2)
    status, started = soap(emu.url, emu.admin_token, deploy_call(zip_b64(eca_files(keys.cert_pem))))
    assert status == 200 and started["result"]["done"] == "false" and started["result"]["state"] == "Queued"
    deploy_id = started["result"]["id"]
    assert deploy_id.startswith("0Af") and len(deploy_id) == 18
    seen = [soap(emu.url, emu.admin_token, check_status_call(deploy_id))[1]["result"] for _ in range(3)]
    assert [r["status"] for r in seen] == ["InProgress", "InProgress", "Succeeded"]
    assert [r["done"] for r in seen] == ["false", "false", "true"]
    final = seen[-1]
    assert final["success"] == "true" and final["numberComponentsDeployed"] == "6"
    successes = as_list(final["details"]["componentSuccesses"])
    names = {s["fileName"] for s in successes}
    assert "zip/package.xml" in names and f"zip/externalClientApps/{NAME}.eca" in names
    assert all(s["created"] == "true" for s in successes if s["fullName"] != "package.xml")
    # The request log names each operation and deploy id, as sf sent them.
    logged = [(r.params.get("operation"), r.params.get("id")) for r in emu.requests]
    assert logged == [("deploy", deploy_id)] + [("checkDeployStatus", deploy_id)] * 3


def test_unknown_deploy_id_is_a_fault(start_emulator: Start) -> None:
    emu = start_emulator(_org())
    status, faultcode, _ = _fault(soap(emu.url, emu.admin_token, check_status_call("0Af000000000000AAA")))
    assert (status, faultcode) == (500, "sf:INVALID_CROSS_REFERENCE_KEY")


def test_check_only_writes_nothing(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    result = deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem), checkOnly="true")
    assert result["status"] == "Succeeded" and result["checkOnly"] == "true"
    assert emu.apps() == () and emu.state()["components"] == []


def test_without_rollback_the_good_components_are_written(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    files = eca_files(keys.cert_pem, plugin={"isEnabled": "maybe"})
    result = deploy_and_wait(emu.url, emu.admin_token, files, rollbackOnError="false")
    assert result["status"] == "SucceededPartial" and result["success"] == "true"
    assert [c for c, _ in problems(result)] == ["ExtlClntAppConfigurablePolicies"]
    assert emu.find_app(NAME) is not None


def test_an_unreadable_zip_fails_the_whole_deploy(start_emulator: Start) -> None:
    emu = start_emulator(_org())
    status, started = soap(emu.url, emu.admin_token, deploy_call("bm90IGEgemlw"))
    assert status == 200  # the deploy is accepted; its result says the zip is unreadable
    result = soap(emu.url, emu.admin_token, check_status_call(started["result"]["id"]))[1]["result"]
    assert result["status"] == "Failed" and result["errorStatusCode"] == "UNKNOWN_EXCEPTION"
    assert "zip" in result["errorMessage"]


def test_single_package_zip_has_no_root(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    status, started = soap(
        emu.url, emu.admin_token, deploy_call(zip_b64(eca_files(keys.cert_pem), root=""), singlePackage="true")
    )
    assert status == 200
    result = soap(emu.url, emu.admin_token, check_status_call(started["result"]["id"]))[1]["result"]
    assert result["status"] == "Succeeded"
    assert f"externalClientApps/{NAME}.eca" in {s["fileName"] for s in as_list(result["details"]["componentSuccesses"])}


# --------------------------------------------------------------------------- what a deploy does to the org


def test_deployed_app_logs_in_users_holding_the_permission_set(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    assert deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))["status"] == "Succeeded"
    app = emu.find_app(NAME)
    assert app is not None and app.eca and app.policy == "admin-approved" and app.permission_sets == (PERMSET,)
    assert app.description == "sfjwt-orch JWT login"  # a marker written here comes back
    assert app.consumer_key.startswith("3MVG9") and len(app.consumer_key) == 85  # generated: none was deployed
    status, body = _jwt(emu, keys, app.consumer_key)
    assert (status, body["error_description"]) == (400, "user is not admin approved to access this app")
    assert _assign_as_admin(emu, USER, PERMSET) == 201
    assert emu.permission_sets_of(USER) == (PERMSET,)
    status, body = _jwt(emu, keys, app.consumer_key)
    assert status == 200 and body["access_token"].startswith("00D000000000001!")


def test_deployed_consumer_key_is_kept(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    key = "SfjwtOrchChosenKey" + "x" * 60
    deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem, consumer_key=key))
    assert emu.find_app(key) is not None and emu.find_app(NAME) == emu.find_app(key)


def test_a_profile_policy_admits_users_of_that_profile(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    files = eca_files(
        keys.cert_pem,
        permset=None,
        policy={"commaSeparatedPermissionSet": None, "commaSeparatedProfile": "System Administrator"},
    )
    deploy_and_wait(emu.url, emu.admin_token, files)
    key = emu.find_app(NAME).consumer_key  # type: ignore[union-attr]
    assert _jwt(emu, keys, key, "admin@example.com")[0] == 200
    assert _jwt(emu, keys, key, USER)[1]["error_description"] == "user is not admin approved to access this app"


def test_a_self_authorize_policy_needs_the_users_approval(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    deploy_and_wait(
        emu.url, emu.admin_token, eca_files(keys.cert_pem, policy={"permittedUsersPolicyType": "AllSelfAuthorized"})
    )
    key = emu.find_app(NAME).consumer_key  # type: ignore[union-attr]
    assert _jwt(emu, keys, key)[1]["error_description"] == "user hasn't approved this consumer"
    emu.approve(key, USER)
    assert _jwt(emu, keys, key)[0] == 200


def test_without_a_policy_file_the_default_one_is_generated(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    files = eca_files(keys.cert_pem)
    del files[POLICY]
    files["package.xml"] = files["package.xml"].replace(
        f"<types><members>{NAME}_oauth_defaultPolicy</members><name>ExtlClntAppOauthConfigurablePolicies</name></types>",
        "",
    )
    assert deploy_and_wait(emu.url, emu.admin_token, files)["status"] == "Succeeded"
    generated = [c for c in emu.state()["components"] if c["type"] == "ExtlClntAppOauthConfigurablePolicies"]
    assert [c["full_name"] for c in generated] == [f"{NAME}_oauth_defaultPolicy"]
    assert emu.find_app(NAME).policy == "self-authorize"  # type: ignore[union-attr]
    # Deploying that policy by its generated name updates it (a new name would be a duplicate).
    policy_only = {
        POLICY: eca_files(keys.cert_pem)[POLICY],
        f"permissionsets/{PERMSET}.permissionset": eca_files(keys.cert_pem)[f"permissionsets/{PERMSET}.permissionset"],
        "package.xml": package_xml(
            {"ExtlClntAppOauthConfigurablePolicies": [f"{NAME}_oauth_defaultPolicy"], "PermissionSet": [PERMSET]}
        ),
    }
    updated = deploy_and_wait(emu.url, emu.admin_token, policy_only)
    assert updated["status"] == "Succeeded", problems(updated)
    (changed,) = [s for s in as_list(updated["details"]["componentSuccesses"]) if s["fullName"].endswith("Policy")]
    assert (changed["created"], changed["changed"]) == ("false", "true")
    assert emu.find_app(NAME).policy == "admin-approved"  # type: ignore[union-attr]


def test_a_second_policy_for_the_same_app_is_a_duplicate(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))
    files = {
        POLICY.replace("_oauth_defaultPolicy", "_otherPolicy"): eca_files(keys.cert_pem)[POLICY],
        "package.xml": package_xml({"ExtlClntAppOauthConfigurablePolicies": [f"{NAME}_otherPolicy"]}),
    }
    (got,) = problems(deploy_and_wait(emu.url, emu.admin_token, files))
    assert got[0] == "ExtlClntAppOauthConfigurablePolicies"
    assert got[1].startswith(
        "duplicate value found: ExternalClientApplicationId duplicates value on record with id: 0xm"
    )


def test_an_app_name_already_taken_fails_and_changes_nothing(
    start_emulator: Start, keys: KeyPair, other_keys: KeyPair
) -> None:
    emu = start_emulator(_org())
    deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem, description="first"))
    before = emu.find_app(NAME)
    result = deploy_and_wait(emu.url, emu.admin_token, eca_files(other_keys.cert_pem, description="second"))
    header = [p for c, p in problems(result) if c == "ExternalClientApplication"]
    assert result["status"] == "Failed" and header[0].startswith(
        "duplicate value found: DeveloperName duplicates value on record with id: 0xI"
    )
    assert emu.find_app(NAME) == before and before is not None and before.description == "first"


def test_a_consumer_key_in_use_is_taken(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, admin_username="admin@example.com"))
    result = deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem, consumer_key=DEMO_CONSUMER_KEY))
    assert ("ExtlClntAppGlobalOauthSettings", "The consumer key is already taken.") in problems(result)


# --------------------------------------------------------------------------- switches


@pytest.mark.parametrize(
    ("switches", "files", "expected"),
    [
        (
            {"external_client_apps_disabled": True},
            "eca",
            ("ExternalClientApplication", "Not available for deploy for this organization"),
        ),
        (
            {"consumer_key_refused": True},
            "eca-with-key",
            ("ExtlClntAppGlobalOauthSettings", "You cannot provide a Consumer Key"),
        ),
        (
            {"permission_set_ids_only": True},
            "eca",
            (
                "ExtlClntAppOauthConfigurablePolicies",
                "In field: commaSeparatedPermissionSet - 'SfjwtOrch_Access' is not a valid permission set ID",
            ),
        ),
        (
            {},
            "connected-app",
            (
                "ConnectedApp",
                "You can't create a connected app. To enable connected app creation, contact Salesforce Customer Support.",
            ),
        ),
    ],
    ids=["ecas-disabled", "consumer-key-refused", "permission-set-ids-only", "connected-apps-blocked-by-default"],
)
def test_switches_refuse_deploys(
    start_emulator: Start, keys: KeyPair, switches: dict[str, bool], files: str, expected: tuple[str, str]
) -> None:
    emu = start_emulator(_org())
    emu.set_switches(**switches)
    chosen = {
        "eca": eca_files(keys.cert_pem),
        "eca-with-key": eca_files(keys.cert_pem, consumer_key="Chosen" + "k" * 40),
        "connected-app": connected_app_files(keys.cert_pem),
    }[files]
    result = deploy_and_wait(emu.url, emu.admin_token, chosen)
    assert result["status"] == "Failed" and expected in problems(result), problems(result)
    assert emu.apps() == ()


def test_ecas_disabled_fails_each_eca_component(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    emu.set_switches(external_client_apps_disabled=True)
    got = problems(deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem)))
    assert len(got) == 5 and {p for _, p in got} == {"Not available for deploy for this organization"}


def test_a_refused_key_is_generated_instead(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    emu.set_switches(consumer_key_refused=True)
    assert deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))["status"] == "Succeeded"
    assert emu.find_app(NAME).consumer_key.startswith("3MVG9")  # type: ignore[union-attr]


def test_ids_only_policy_takes_the_permission_set_id(start_emulator: Start, keys: KeyPair) -> None:
    gate = PermissionSet("Gate", "0PS000000000007AAA", "Gate")
    emu = start_emulator(empty_org_config((USER,), permission_sets=(gate,)))
    emu.set_switches(permission_set_ids_only=True)
    files = eca_files(keys.cert_pem, permset=None, policy={"commaSeparatedPermissionSet": gate.perm_set_id})
    assert deploy_and_wait(emu.url, emu.admin_token, files)["status"] == "Succeeded"
    key = emu.find_app(NAME).consumer_key  # type: ignore[union-attr]
    assert _jwt(emu, keys, key)[0] == 400
    assert _assign_as_admin(emu, USER, "Gate") == 201
    assert _jwt(emu, keys, key)[0] == 200


def test_an_org_that_wants_the_permission_set_first(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    emu.set_switches(permission_set_deploy_first=True)
    together = deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))
    expected = f"In field: commaSeparatedPermissionSet - no PermissionSet named {PERMSET} found"
    assert ("ExtlClntAppOauthConfigurablePolicies", expected) in problems(together)
    assert deploy_and_wait(emu.url, emu.admin_token, permission_set_files(PERMSET))["status"] == "Succeeded"
    assert deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))["status"] == "Succeeded"


def test_a_connected_app_deploys_where_creation_is_allowed(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    emu.set_switches(connected_app_creation_blocked=False)
    assert deploy_and_wait(emu.url, emu.admin_token, connected_app_files(keys.cert_pem))["status"] == "Succeeded"
    app = emu.find_app("LegacyApp")
    assert (
        app is not None and not app.eca and app.policy == "admin-approved" and app.profiles == ("System Administrator",)
    )
    assert _jwt(emu, keys, app.consumer_key, "admin@example.com")[0] == 200
    # Unknown references fail like an ECA policy's.
    bad = connected_app_files(keys.cert_pem, "OtherApp", access_xml="<permissionSetName>Nope</permissionSetName>")
    assert ("ConnectedApp", "In field: permissionSetName - no PermissionSet named Nope found") in problems(
        deploy_and_wait(emu.url, emu.admin_token, bad)
    )


def test_a_deployed_app_propagates_before_it_answers(start_emulator: Start, keys: KeyPair) -> None:
    clock = FakeClock()
    emu = start_emulator(_org(), clock=clock)
    emu.set_switches(deploy_propagation_seconds=120)
    deploy_and_wait(
        emu.url,
        emu.admin_token,
        eca_files(
            keys.cert_pem,
            permset=None,
            policy={"commaSeparatedPermissionSet": None, "commaSeparatedProfile": "Standard User"},
        ),
    )
    key = emu.find_app(NAME).consumer_key  # type: ignore[union-attr]
    assert _jwt(emu, keys, key)[1]["error_description"] == "External client app is not installed in this org"
    clock.advance(121)
    assert _jwt(emu, keys, key)[0] == 200


# --------------------------------------------------------------------------- list and retrieve


def test_list_metadata(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    call = "<listMetadata><queries><type>ExternalClientApplication</type></queries><asOfVersion>62.0</asOfVersion></listMetadata>"
    status, empty = soap(emu.url, emu.admin_token, call)
    assert status == 200 and empty == ""  # no <result>: jsforce reads an empty list
    deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))
    (listed,) = as_list(soap(emu.url, emu.admin_token, call)[1]["result"])
    assert listed["fullName"] == NAME and listed["type"] == "ExternalClientApplication"
    assert listed["fileName"] == f"externalClientApps/{NAME}.eca" and listed["id"].startswith("0xI")
    assert listed["createdByName"] == "admin" and listed["manageableState"] == "unmanaged"
    assert emu.requests[-1].params["types"] == "ExternalClientApplication"


def _retrieve(emu: Emulator, members: str, single: bool = False) -> dict[str, Any]:
    flag = "<singlePackage>true</singlePackage>" if single else ""
    call = f"<retrieve><request><apiVersion>62.0</apiVersion>{flag}<unpackaged>{members}<version>62.0</version></unpackaged></request></retrieve>"
    started = soap(emu.url, emu.admin_token, call)[1]["result"]
    assert started["done"] == "false" and started["id"].startswith("09S")
    status = f"<checkRetrieveStatus><asyncProcessId>{started['id']}</asyncProcessId></checkRetrieveStatus>"
    return dict(soap(emu.url, emu.admin_token, status)[1]["result"])


def test_retrieve_gives_back_the_generated_consumer_key(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_org())
    deploy_and_wait(emu.url, emu.admin_token, eca_files(keys.cert_pem))
    key = emu.find_app(NAME).consumer_key  # type: ignore[union-attr]
    result = _retrieve(
        emu, f"<types><members>{NAME}_glbloauth</members><name>ExtlClntAppGlobalOauthSettings</name></types>"
    )
    assert result["status"] == "Succeeded" and result["done"] == "true"
    files = unzip(result["zipFile"])
    settings = files[f"unpackaged/extlClntAppGlobalOauthSets/{NAME}_glbloauth.ecaGlblOauth"]
    assert f"<consumerKey>{key}</consumerKey>" in settings and "-----BEGIN CERTIFICATE-----" in settings
    assert "<members>SfjwtOrch_glbloauth</members>" in files["unpackaged/package.xml"]
    types = [p["type"] for p in as_list(result["fileProperties"])]
    assert types == ["ExtlClntAppGlobalOauthSettings", "Package"]
    # The header carries the generated org-scoped name and the description.
    header = unzip(
        _retrieve(emu, f"<types><members>{NAME}</members><name>ExternalClientApplication</name></types>", True)[
            "zipFile"
        ]
    )
    assert (
        f"<orgScopedExternalApp>00D000000000001AAA:{NAME}</orgScopedExternalApp>"
        in header[f"externalClientApps/{NAME}.eca"]
    )
    assert "<description>sfjwt-orch JWT login</description>" in header[f"externalClientApps/{NAME}.eca"]


def test_retrieve_of_a_missing_member_warns(start_emulator: Start) -> None:
    emu = start_emulator(_org())
    result = _retrieve(emu, "<types><members>Nope</members><name>ExtlClntAppGlobalOauthSettings</name></types>")
    assert result["status"] == "Succeeded"
    assert (
        result["messages"]["problem"] == "Entity of type 'ExtlClntAppGlobalOauthSettings' named 'Nope' cannot be found"
    )


# --------------------------------------------------------------------------- certificates


def test_certificate_upload_replaces_the_key_that_verifies(
    start_emulator: Start, keys: KeyPair, other_keys: KeyPair
) -> None:
    emu = start_emulator(_org())
    deploy_and_wait(
        emu.url,
        emu.admin_token,
        eca_files(
            keys.cert_pem,
            permset=None,
            policy={"commaSeparatedPermissionSet": None, "commaSeparatedProfile": "Standard User"},
        ),
    )
    key = emu.find_app(NAME).consumer_key  # type: ignore[union-attr]
    assert _jwt(emu, keys, key)[0] == 200
    resp = post_json(f"{emu.url}/__emulator/certificate", {"app": NAME, "certificate": other_keys.cert_pem})
    assert resp.status == 200 and resp.json()["app"]["consumer_key"] == key
    assert _jwt(emu, keys, key)[1]["error_description"] == "invalid assertion"
    assert _jwt(emu, other_keys, key)[0] == 200
    settings = _retrieve(
        emu, f"<types><members>{NAME}_glbloauth</members><name>ExtlClntAppGlobalOauthSettings</name></types>"
    )
    assert (
        other_keys.cert_pem.strip().splitlines()[1]
        in unzip(settings["zipFile"])[f"unpackaged/extlClntAppGlobalOauthSets/{NAME}_glbloauth.ecaGlblOauth"]
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"app": "NoSuchApp", "certificate": "PEM"}, "certificate: no PEM block found"),
        ({"app": DEMO_CONSUMER_KEY, "certificate": "not a certificate"}, "certificate: no PEM block found"),
        ({"app": DEMO_CONSUMER_KEY}, "expected app"),
        ({"app": DEMO_CONSUMER_KEY, "certificate": "x", "extra": 1}, "expected app"),
    ],
    ids=["unknown-app-bad-pem", "bad-pem", "missing-certificate", "unknown-key"],
)
def test_certificate_upload_errors(start_emulator: Start, keys: KeyPair, body: dict[str, Any], error: str) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_json(f"{emu.url}/__emulator/certificate", body)
    assert resp.status == 400 and resp.json()["error"].startswith(error)


def test_certificate_upload_to_an_unknown_app(start_emulator: Start, keys: KeyPair, other_keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = post_json(f"{emu.url}/__emulator/certificate", {"app": "NoSuchApp", "certificate": other_keys.cert_pem})
    assert resp.status == 400 and resp.json()["error"] == "no app 'NoSuchApp' in the emulated org"
    # A configured app takes a new certificate too (rotation of an app made in Setup).
    assert emu.set_certificate(DEMO_CONSUMER_KEY, other_keys.cert_pem).certificate_pem == other_keys.cert_pem
    assert _jwt(emu, other_keys, DEMO_CONSUMER_KEY, "dev@example.com")[0] == 200


def test_python_deploy_helper_matches_the_soap_one(start_emulator: Start, keys: KeyPair, tmp_path: Any) -> None:
    from tests.integration.emulator.metadata_kit import write_dir

    emu = start_emulator(_org())
    outcome = emu.deploy(write_dir(tmp_path / "md", eca_files(keys.cert_pem)))
    assert outcome.status == "Succeeded" and emu.find_app(NAME) is not None
    again = emu.deploy(write_dir(tmp_path / "md2", permission_set_files("Another_Set")))
    assert again.status == "Succeeded" and "Another_Set" in [p["name"] for p in emu.state()["permission_sets"]]
    clash = emu.deploy(tmp_path / "md")
    assert clash.status == "Failed" and clash.failures[0].problem.startswith("duplicate value found")  # type: ignore[union-attr]


def test_a_retrieved_settings_file_redeploys_with_a_new_certificate(
    start_emulator: Start, keys: KeyPair, other_keys: KeyPair
) -> None:
    """Rotation by metadata: retrieve the global OAuth settings, swap the certificate, deploy that one
    component back. Its consumerKey is the org's own, so even an org that refuses chosen keys takes it."""
    emu = start_emulator(_org())
    emu.set_switches(consumer_key_refused=True)
    deploy_and_wait(
        emu.url,
        emu.admin_token,
        eca_files(
            keys.cert_pem,
            permset=None,
            policy={"commaSeparatedPermissionSet": None, "commaSeparatedProfile": "Standard User"},
        ),
    )
    key = emu.find_app(NAME).consumer_key  # type: ignore[union-attr]
    members = f"<types><members>{NAME}_glbloauth</members><name>ExtlClntAppGlobalOauthSettings</name></types>"
    path = f"extlClntAppGlobalOauthSets/{NAME}_glbloauth.ecaGlblOauth"
    settings = unzip(_retrieve(emu, members, single=True)["zipFile"])[path]
    rotated = settings.replace(keys.cert_pem.strip(), other_keys.cert_pem.strip())
    assert rotated != settings
    files = {path: rotated, "package.xml": package_xml({"ExtlClntAppGlobalOauthSettings": [f"{NAME}_glbloauth"]})}
    result = deploy_and_wait(emu.url, emu.admin_token, files)
    assert result["status"] == "Succeeded", problems(result)
    assert emu.find_app(NAME).consumer_key == key  # type: ignore[union-attr]
    assert _jwt(emu, keys, key)[1]["error_description"] == "invalid assertion"
    assert _jwt(emu, other_keys, key)[0] == 200
    # Another key on the same settings is refused: the org's key cannot be changed by a deploy.
    changed = rotated.replace(f"<consumerKey>{key}</consumerKey>", "<consumerKey>AnotherKey0123456789xyz</consumerKey>")
    refused = deploy_and_wait(emu.url, emu.admin_token, {**files, path: changed})
    assert ("ExtlClntAppGlobalOauthSettings", "You cannot provide a Consumer Key") in problems(refused)


def test_what_the_org_gives_back_validates_against_salesforces_schema(start_emulator: Start, keys: KeyPair) -> None:
    """A retrieve's files are what rotate redeploys: the org's own additions (the generated consumer key,
    orgScopedExternalApp, the default policy it makes when a deploy brings none) keep the schema's order."""
    from sfjwt_orch.emulator.deploy import registry, schema

    emu = start_emulator(_org())
    files = eca_files(keys.cert_pem)
    policy = next(p for p in files if p.startswith("extlClntAppOauthPolicies/"))
    del files[policy]
    files["package.xml"] = files["package.xml"].replace(
        f"<types><members>{NAME}_oauth_defaultPolicy</members><name>ExtlClntAppOauthConfigurablePolicies</name></types>",
        "",
    )
    assert deploy_and_wait(emu.url, emu.admin_token, files)["status"] == "Succeeded"
    members = "".join(f"<types><members>*</members><name>{t}</name></types>" for t in registry.ECA_TYPES)
    got = unzip(_retrieve(emu, members, True)["zipFile"])
    checked = 0
    for path, text in got.items():
        type_name = next((t.name for t in registry.TYPES.values() if path.startswith(f"{t.folder}/")), None)
        if type_name is not None:
            assert schema.validate(type_name, text.encode(), 62.0) is None, (path, text)
            checked += 1
    assert checked == 5 and f"extlClntAppOauthPolicies/{NAME}_oauth_defaultPolicy.ecaOauthPlcy" in got
