"""The "Allow Access?" page, driven as a person would: GET the page, read the form, press a button."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sfjwt_orch.emulator import (
    DEFAULT_CALLBACK_URL,
    DEMO_CONSUMER_KEY,
    DEMO_USERNAME,
    Emulator,
    EmulatorConfig,
    User,
    demo_config,
    with_switches,
)
from tests.integration.emulator.emulator_testkit import (
    KeyPair,
    Response,
    get,
    parse_form,
    post_form,
    sf_claims,
    sign_jwt,
    submit,
    token_request,
)

Start = Callable[..., Emulator]
SECOND = User("second@example.com", "005000000000002AAA")


def _config(keys: KeyPair) -> EmulatorConfig:
    config = demo_config(keys.cert_pem, policy="self-authorize", preauthorized=False)
    return replace(config, users=(*config.users, SECOND))


def _authorize(emu: Emulator, **params: str) -> Response:
    query = {"response_type": "code", "client_id": DEMO_CONSUMER_KEY, "redirect_uri": DEFAULT_CALLBACK_URL}
    query.update(params)
    return get(f"{emu.url}/services/oauth2/authorize?{urlencode(query)}")


def _login_status(emu: Emulator, keys: KeyPair, username: str = DEMO_USERNAME) -> int:
    claims = sf_claims(DEMO_CONSUMER_KEY, username, emu.url + "/")
    return token_request(emu.url, sign_jwt(keys.key, claims)).status


def _location(resp: Response) -> tuple[str, dict[str, list[str]]]:
    assert resp.status == 302, resp.text
    parts = urlsplit(resp.headers["location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def test_allow_records_the_approval_and_redirects_with_a_code(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    assert _login_status(emu, keys) == 400  # not approved yet

    page = _authorize(emu, state="xyz")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "Allow Access?" in page.text and "sfjwt-orch demo" in page.text
    form = parse_form(page.text)
    assert form.inputs is not None and form.buttons is not None
    assert form.inputs["username"] == DEMO_USERNAME  # prefilled with the org's first user
    assert {value for _, value in form.buttons} == {"allow", "deny"}

    target, params = _location(submit(emu.url, form, "allow"))
    assert target == DEFAULT_CALLBACK_URL
    assert params["state"] == ["xyz"] and len(params["code"][0]) >= 20
    assert [(a.client_id, a.username) for a in emu.approvals] == [(DEMO_CONSUMER_KEY, DEMO_USERNAME)]
    assert _login_status(emu, keys) == 200
    assert _login_status(emu, keys, SECOND.username) == 400  # the approval is per user


def test_approving_as_another_user_via_the_form(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    form = parse_form(_authorize(emu, login_hint=SECOND.username).text)
    assert form.inputs is not None and form.inputs["username"] == SECOND.username
    _location(submit(emu.url, form, "allow"))
    assert _login_status(emu, keys, SECOND.username) == 200
    assert _login_status(emu, keys) == 400


def test_deny_redirects_with_access_denied(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    form = parse_form(_authorize(emu, state="s1").text)
    target, params = _location(submit(emu.url, form, "deny"))
    assert target == DEFAULT_CALLBACK_URL
    assert params == {
        "error": ["access_denied"],
        "error_description": ["end-user denied authorization"],
        "state": ["s1"],
    }
    assert emu.approvals == ()
    assert _login_status(emu, keys) == 400


def test_redirect_uri_mismatch_never_redirects(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    resp = _authorize(emu, redirect_uri="https://evil.example/steal")
    assert resp.status == 400 and "location" not in resp.headers
    assert "error=redirect_uri_mismatch&amp;error_description=redirect_uri must match configuration" in resp.text


@pytest.mark.parametrize(
    ("client_id", "words"),
    [
        (
            "3MVG9unknownConsumerKey0000",
            "error=invalid_client_id&amp;error_description=client identifier invalid",
        ),
        ("", "client identifier invalid"),
    ],
)
def test_unknown_client_id_is_an_error_page(start_emulator: Start, keys: KeyPair, client_id: str, words: str) -> None:
    emu = start_emulator(_config(keys))
    resp = _authorize(emu, client_id=client_id)
    assert resp.status == 400 and "location" not in resp.headers
    assert words in resp.text


def test_unsupported_response_type_redirects_with_error(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    _, params = _location(_authorize(emu, response_type="token"))
    assert params["error"] == ["unsupported_response_type"]


@pytest.mark.parametrize(
    ("preauthorized", "expect_code"),
    [(True, True), (False, False)],
    ids=["pre-authorized", "not-pre-authorized"],
)
def test_admin_approved_app_in_the_browser(
    start_emulator: Start, keys: KeyPair, preauthorized: bool, expect_code: bool
) -> None:
    emu = start_emulator(demo_config(keys.cert_pem, policy="admin-approved", preauthorized=preauthorized))
    _, params = _location(submit(emu.url, parse_form(_authorize(emu).text), "allow"))
    if expect_code:
        assert "code" in params
    else:
        assert params["error"] == ["OAUTH_APP_ACCESS_DENIED"]
        assert params["error_description"] == ["user is not admin approved to access this app"]
    # Clicking Allow never pre-authorizes: JWT follows the admin's assignment only.
    assert _login_status(emu, keys) == (200 if preauthorized else 400)


def test_auto_approve_skips_the_page(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(with_switches(_config(keys), auto_approve=True))
    target, params = _location(_authorize(emu, state="auto", login_hint=SECOND.username))
    assert target == DEFAULT_CALLBACK_URL and params["state"] == ["auto"] and "code" in params
    assert _login_status(emu, keys, SECOND.username) == 200


def test_a_consent_page_answers_once(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    form = parse_form(_authorize(emu).text)
    assert submit(emu.url, form, "allow").status == 302
    again = submit(emu.url, form, "allow")
    assert again.status == 400 and "already answered" in again.text


def test_forged_decision_without_a_page_is_refused(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    resp = post_form(
        f"{emu.url}/services/oauth2/authorize/decision",
        {"request_id": "made-up", "username": DEMO_USERNAME, "decision": "allow"},
    )
    assert resp.status == 400
    assert emu.approvals == ()


def test_unknown_username_shows_the_page_again(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    form = parse_form(_authorize(emu).text)
    resp = submit(emu.url, form, "allow", username="nobody@example.com")
    assert resp.status == 400 and "Unknown username" in resp.text
    # The same page can still be answered with a real user.
    assert submit(emu.url, parse_form(resp.text), "allow", username=DEMO_USERNAME).status == 302
    assert _login_status(emu, keys) == 200


def test_scope_without_refresh_token_does_not_satisfy_jwt(start_emulator: Start, keys: KeyPair) -> None:
    # Salesforce: the JWT grant only counts earlier approvals that included refresh_token.
    emu = start_emulator(_config(keys))
    _location(submit(emu.url, parse_form(_authorize(emu, scope="api web").text), "allow"))
    assert [a.refresh_token for a in emu.approvals] == [False]
    assert _login_status(emu, keys) == 400
    _location(submit(emu.url, parse_form(_authorize(emu, scope="api refresh_token").text), "allow"))
    assert _login_status(emu, keys) == 200


def test_authorize_requests_are_recorded(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(_config(keys))
    form = parse_form(_authorize(emu).text)
    submit(emu.url, form, "deny")
    outcomes = [(r.path, r.outcome) for r in emu.requests]
    assert outcomes == [
        ("/services/oauth2/authorize", "consent_page"),
        ("/services/oauth2/authorize/decision", "access_denied"),
    ]
    assert emu.requests[1].params == {"username": DEMO_USERNAME, "decision": "deny"}


def test_the_allow_access_page_is_safe_for_a_person(start_emulator: Start, keys: KeyPair) -> None:
    """What a person meets in a real browser (issue 14, item 9): Enter in the Username field submits
    the form's first button, which must be Allow; a viewport for phones; never framed."""
    import re

    emu = start_emulator(_config(keys))
    page = _authorize(emu)
    assert page.status == 200
    buttons = re.findall(r'<button type="submit" name="decision" value="(\w+)"', page.text)
    assert buttons == ["allow", "deny"], "the first submit button is what Enter presses"
    assert '<meta name="viewport"' in page.text and '<html lang="en">' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert ".error{" in page.text  # the error line is styled as an error, not as body text
