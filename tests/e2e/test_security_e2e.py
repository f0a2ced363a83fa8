"""The one URL parser with the real sf (issue 16 item 1): what we hand sf is the URL rebuilt from the
WHATWG parse, which sf's Node reads the same way; what two parsers could read apart never reaches sf."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.e2e


def _login(e2e: E2E, url: str) -> list[str]:
    return ["login", "--alias", "sec", "--client-id", DEMO_CONSUMER_KEY, "--username", DEMO_USERNAME,
            "--key-file", str(e2e.keypair.key), "--instance-url", url, "--json"]  # fmt: skip


def test_a_loopback_url_in_another_spelling_is_handed_to_sf_rebuilt(e2e: E2E) -> None:
    emu = e2e.emulator(policy="admin-approved")
    port = urlsplit(emu.url).port
    result = e2e.cli(*_login(e2e, f"http://2130706433:{port}"))  # 127.0.0.1 as one decimal number
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["instance_url"].startswith(f"http://127.0.0.1:{port}")
    assert len(emu.token_requests) >= 1  # sf logged in at the host the parser named
    shown = e2e.sf_json("org", "display", "--target-org", "sec")
    assert shown["result"]["instanceUrl"].startswith(f"http://127.0.0.1:{port}")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}\\@login.salesforce.com",  # urlsplit: login.salesforce.com; Node: 127.0.0.1
        "http://ci:S3cr3t@127.0.0.1:{port}",
        "http://127.0.0.1:{port}%2F.evil.example",
    ],
)
def test_a_url_read_two_ways_never_reaches_sf(e2e: E2E, url: str) -> None:
    emu = e2e.emulator(policy="admin-approved")
    result = e2e.cli(*_login(e2e, url.format(port=urlsplit(emu.url).port)))
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "URL_REFUSED"
    assert "S3cr3t" not in result.stdout + result.stderr
    assert emu.token_requests == ()  # sf never posted an assertion anywhere
