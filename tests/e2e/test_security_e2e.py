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


def test_keyless_commands_print_no_token_even_verbose_and_sf_never_sees_it_on_argv(e2e: E2E) -> None:
    """trust and login --oidc (issue 23), --verbose shows every program run with its argv: neither the
    job's identity token, nor the request token, nor the access token the exchange returns appears."""
    from tests.e2e.test_keyless_e2e import REPO, Job, claims, org, trust

    emu = org(e2e)
    rc, doc, trusted = trust(e2e, emu, "--repo", REPO, "--verbose")
    assert rc == 0, trusted
    job = Job(e2e, e2e.tmp / "job", emu.ci_job("github", claims()))
    shown = job.run("login", "--alias", "ci", "--oidc", "github", "--client-id", doc["client_id"],
                    "--instance-url", doc["login_url"], "--verbose", "--json")  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "org login access-token" in shown.stderr  # the verbose trace shows sf's argv
    secrets = [*emu.issued_tokens, *emu.ci.minted, job.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]]
    assert len(emu.ci.minted) == 1
    for text in (trusted, shown.stdout, shown.stderr):
        assert not [s for s in secrets if s in text]
    assert not [r for r in emu.requests if "subject_token" in r.params and "<JWT" not in r.params["subject_token"]]
