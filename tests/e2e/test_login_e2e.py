"""`sfjwt-orch login` with the real sf against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_sf_keeps_its_compiled_code_in_sfjwt_orchs_private_cache_folder(e2e: E2E) -> None:
    """Without a NODE_COMPILE_CACHE of the user's, sf runs with one in sfjwt-orch's cache folder
    (0700: what Node loads from it becomes code), and Node really fills it."""
    e2e.env.pop("NODE_COMPILE_CACHE")
    emu = e2e.emulator()
    result = e2e.cli(*login_args(emu, e2e.keypair.key))
    assert result.returncode == 0, result.stderr
    folder = Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "cache" / "node-compile-cache"
    assert folder.stat().st_mode & 0o777 == 0o700
    # One entry per compiled module, under a folder named for the Node version (e.g. v24.19.0-x64-…).
    entries = [p for p in folder.rglob("*") if p.is_file()]
    assert len(entries) > 100, sorted(p.name for p in folder.iterdir())
    assert all(p.parent.name.startswith("v") for p in entries)
