"""What `emulator serve --log` writes for one request: the facts, never a credential."""

from __future__ import annotations

import json
from types import MappingProxyType

from sfjwt_orch.emulator.http import Reply, Request
from sfjwt_orch.emulator.requestlog import log_entry

ASSERTION = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_a_token_request_is_logged_without_its_assertion_or_token() -> None:
    request = Request(
        "POST",
        "/services/oauth2/token",
        {"code": "secret-code"},
        {"authorization": "Bearer 00Dx!secret"},
        f"grant_type=jwt&assertion={ASSERTION}".encode(),
        "127.0.0.1",
    )
    reply = Reply(
        status=200,
        body=b'{"access_token": "00Dx!token"}',
        params={"grant_type": "jwt", "assertion": "<JWT, 50 characters>"},
        claims=MappingProxyType({"sub": "dev@example.com", "aud": ["x"], "iss": "3MVG9key"}),
    )
    entry = log_entry(request, reply, 0.0)
    assert entry == {
        "at": "1970-01-01T00:00:00.000+00:00",
        "client": "127.0.0.1",
        "method": "POST",
        "path": "/services/oauth2/token",
        "status": 200,
        "outcome": "ok",
        "grant_type": "jwt",
        "username": "dev@example.com",
        "audience": "<not a string>",  # whatever the client signed is not copied whole
        "error": None,
        "error_description": None,
    }
    text = json.dumps(entry)
    for secret in (ASSERTION, "secret-code", "00Dx!", "3MVG9key"):
        assert secret not in text
