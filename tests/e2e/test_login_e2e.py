"""`sfjwt-orch login` with the real sf against the emulator."""

from __future__ import annotations

import json

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_ORG_ID
from tests.e2e.conftest import E2E, login_args


def test_preauthorized_login_and_org_display_connected(e2e: E2E) -> None:
    emu = e2e.emulator()
    result = e2e.cli(*login_args(emu, e2e.keypair.key))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["org_id"] == DEMO_ORG_ID and doc["attempts"] == 1 and doc["approval_url"] is None
    # What the emulator saw: one good token request whose JWT is what sf should have signed.
    token = emu.token_requests[0]
    assert token.outcome == "ok"
    claims = token.claims
    assert claims["iss"] == DEMO_CONSUMER_KEY and claims["sub"] == "dev@example.com"
    assert claims["aud"] == emu.url + "/"
    display = e2e.sf_json("org", "display", "--target-org", "e2e")
    assert display["result"]["connectedStatus"] == "Connected"
    assert display["result"]["id"] == DEMO_ORG_ID
