"""The security review's findings through the commands (issue 16; issue 15 items 5 and 6): URLs refused
before sf runs, the opt-in for another host, a key passed by value, hostile text on the terminal,
commands printed for pasting."""

from __future__ import annotations

import base64
import json
import os
from typing import Any, cast

import pytest

from sfjwt_orch.store import profiles
from tests.cli.conftest import World, sf_output
from tests.fakesecrets import pem_block, random_body

CID = "3MVG9CLIENTID1234567"
USER = "user@example.com"
SUCCESS = sf_output("success.login.stdout")
NOT_APPROVED = sf_output("notapproved.json.stdout")


def login(world: World, *extra: str) -> tuple[str, ...]:
    return ("login", "--alias", "hub", "--client-id", CID, "--username", USER, "--key-file", str(world.keypair.key),
            *extra)  # fmt: skip


def sf_argv_value(world: World, flag: str) -> str:
    argv = list(world.runner.calls[-1])
    return argv[argv.index(flag) + 1]


# --- one URL parser (issue 16 item 1, issue 15 item 5) ---


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@login.salesforce.com",
        "https://login.salesforce.com%2F.evil.example",
        "https://evil.example@login.salesforce.com",
        "https://login.salesforce.com.evil.example",
    ],
)
def test_a_url_two_parsers_could_read_apart_never_reaches_sf(world: World, url: str) -> None:
    for command in (login(world, "--instance-url", url), ("authorize-url", "--client-id", CID, "--instance-url", url)):
        result = world.invoke(*command, "--json")
        assert result.code == 2, result.stderr
        assert result.doc["error"]["code"] == "URL_REFUSED"
        assert "evil.example" not in (result.doc.get("approval_url") or result.doc.get("url") or "")
    world.done()  # the strict runner: sf never ran
    assert profiles.load(world.paths, "hub") is None


def test_credentials_in_the_url_are_refused_and_never_shown(world: World) -> None:
    result = world.invoke(*login(world, "--instance-url", "https://ci:Pa55w0rd@acme.my.salesforce.com"), "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "URL_REFUSED"
    assert "Pa55w0rd" not in result.stdout + result.stderr
    world.done()


def test_another_host_only_with_the_opt_in_which_the_profile_keeps(world: World) -> None:
    proxy = "https://SF-Proxy.acme.example:8443/"
    refused = world.invoke(*login(world, "--instance-url", proxy), "--json")
    assert refused.code == 2 and refused.doc["error"]["code"] == "URL_REFUSED"
    assert "--allow-non-salesforce-host" in refused.doc["error"]["fix"]

    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke(*login(world, "--instance-url", proxy, "--allow-non-salesforce-host"), "--json")
    assert result.code == 0, result.stderr
    assert sf_argv_value(world, "--instance-url") == "https://sf-proxy.acme.example:8443"  # rebuilt, not as typed
    saved = profiles.load(world.paths, "hub")
    assert saved is not None and saved.allow_non_salesforce_host is True
    assert "allow_non_salesforce_host = true" in world.paths.profile_file("hub").read_text()

    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke("login", "--alias", "hub").code == 0  # the saved opt-in is enough next time
    world.done()


def test_loopback_forms_are_handed_to_sf_as_the_parser_normalised_them(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke(*login(world, "--instance-url", "http://2130706433:8555")).code == 0
    assert sf_argv_value(world, "--instance-url") == "http://127.0.0.1:8555"
    world.done()


def test_a_reported_instance_url_off_salesforce_is_neither_shown_nor_saved(world: World) -> None:
    doc = json.loads(SUCCESS)
    doc["result"]["instanceUrl"] = "https://attacker.example"
    world.expect_sf("org", "login", "jwt", stdout=json.dumps(doc))
    result = world.invoke(*login(world, "--instance-url", "https://acme.my.salesforce.com"), "--json")
    assert result.code == 0 and result.doc["instance_url"] is None
    assert "attacker.example" not in result.stdout + result.stderr
    world.done()


# --- a key passed by value (issue 16 item 3) ---


def _key_like_values() -> list[str]:
    pem = pem_block("PRIVATE KEY", random_body(8))
    return [pem, base64.b64encode(pem.encode()).decode(), "".join(random_body(2)).replace("+", "A")]


@pytest.mark.parametrize("value", _key_like_values(), ids=["pem", "base64-of-pem", "long-base64"])
def test_key_env_given_a_value_refuses_without_echoing_it(world: World, value: str) -> None:
    for command in (("login",), ("bootstrap", "--no-input")):
        result = world.invoke(*command, "--alias", "hub", "--key-env", value, "--json")
        assert result.code == 2, result.stderr
        assert result.doc["error"]["code"] == "USAGE" and "name" in result.doc["error"]["message"]
        for line in value.splitlines():
            if len(line) > 12:
                assert line not in result.stdout and line not in result.stderr
    world.done()


def test_key_env_leaves_our_own_environment_too(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A browser started through webbrowser inherits os.environ, not the environment we hand sf."""
    pem = world.keypair.key.read_text()
    monkeypatch.setenv("CI_KEY", pem)
    world.ctx.env = {**world.ctx.env, "CI_KEY": pem}
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke("login", "--alias", "ci", "--client-id", CID, "--username", USER, "--key-env", "CI_KEY",
                          "--instance-url", "https://acme.my.salesforce.com")  # fmt: skip
    assert result.code == 0, result.stderr
    assert "CI_KEY" not in os.environ and "CI_KEY" not in world.ctx.env
    world.done()


# --- what reaches the terminal (issue 16, low) and what we print for pasting (issue 15 item 6) ---

HOSTILE = (
    "\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2K\r\u2713 Logged in [link=https://evil.example]click[/link] "
    "[/] \u202eevil"
)


def test_a_hostile_error_description_reaches_the_terminal_as_inert_text(world: World) -> None:
    doc = json.loads(NOT_APPROVED)
    doc["message"] = f"Error authenticating with JWT.\nErrors encountered:\n{HOSTILE}"
    world.expect_sf("org", "login", "jwt", stdout=json.dumps(doc), rc=1)
    result = world.invoke(*login(world, "--instance-url", "https://acme.my.salesforce.com"), "--json")
    assert result.code == 3, result.stderr
    assert "sf said:" in result.stderr and "Logged in" in result.stderr  # shown, as text
    for control in ("\x1b", "\x07", "\r", "\u202e"):
        assert control not in result.stderr
    assert json.loads(result.stdout)["error"]["code"]  # the JSON stays one valid document
    world.done()


def test_the_then_run_command_quotes_every_value_for_the_shell(world: World) -> None:
    user = "o'brien$(x)`id`@acme.com".replace("(x)", "")  # ( ) are refused; ' $ ` are legal and quoted
    world.expect_sf("org", "login", "jwt", stdout=NOT_APPROVED, rc=1)
    args = ("login", "--alias", "hub", "--client-id", CID, "--username", user, "--key-file", str(world.keypair.key),
            "--instance-url", "https://acme.my.salesforce.com", "--timeout", "0", "--json")  # fmt: skip
    result = world.invoke(*args)
    assert result.code == 4, result.stderr
    fix = result.doc["error"]["fix"]
    # Nothing is saved until a login works, so the command to run again is the one in the shell's
    # history: no value is repeated (a consumer key is never shown whole), so none can break the paste.
    command = fix.split("then run ", 1)[1]
    assert command == "the same command again with --timeout 600", fix
    assert "brien" not in command
    world.done()


def test_bootstrap_takes_the_opt_in_too_and_saves_it(world: World) -> None:
    args = ("bootstrap", "--alias", "hub", "--client-id", CID, "--username", USER, "--key-file",
            str(world.keypair.key), "--cert-file", str(world.keypair.cert), "--instance-url",
            "https://sf-proxy.acme.example", "--no-input", "--json")  # fmt: skip
    refused = world.invoke(*args)
    assert refused.code == 2 and refused.doc["error"]["code"] == "URL_REFUSED"
    world.expect_sf("--version", stdout="@salesforce/cli/2.150.6 linux-x64 node-v24.19.0\n")
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=json.dumps({"status": 0, "result": {"connectedStatus": "Connected"}}))
    result = world.invoke(*args, "--allow-non-salesforce-host")
    assert result.code == 0, result.stderr
    saved = profiles.load(world.paths, "hub")
    assert (
        saved is not None and saved.allow_non_salesforce_host and saved.instance_url == "https://sf-proxy.acme.example"
    )
    world.done()


def test_ci_export_carries_the_opt_in_the_pipeline_has_no_profile_for(world: World) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    proxy = ("--instance-url", "https://sf-proxy.acme.example", "--allow-non-salesforce-host")
    assert world.invoke(*login(world, *proxy)).code == 0
    result = world.invoke("ci", "export", "hub", "--pip-spec", "sfjwt-orch==0.2.0", "--json")
    assert result.code == 0, result.doc
    assert "--key-env SF_JWT_KEY --allow-non-salesforce-host" in result.doc["snippet"]
    world.done()


def test_a_hostile_callback_error_reaches_the_terminal_as_inert_text(world: World) -> None:
    from sfjwt_orch.approval.listener import Callback
    from tests.fakes import FakeClock, FakeListener

    assert isinstance(world.ctx.clock, FakeClock)
    hit = Callback(approved=False, error="access_denied\x1b]0;pwned\x07", description=HOSTILE)
    listener = cast(Any, FakeListener(world.ctx.clock, {1: hit}))
    world.ctx.listen = lambda url, state, about=None: listener
    world.expect_sf("org", "login", "jwt", stdout=NOT_APPROVED, rc=1)
    result = world.invoke(
        *login(world, "--instance-url", "https://acme.my.salesforce.com", "--timeout", "60"), "--json"
    )
    assert result.code == 4, result.stderr
    assert "you denied access in the browser: access_denied]0;pwned" in result.stderr
    for control in ("\x1b", "\x07", "\r", "\u202e"):
        assert control not in result.stderr
    world.done()
