"""`sandbox add` in-process with a strict fake runner: the values derived from production reach
`sf org login jwt`, and a sandbox without the app says so with the fix."""

from __future__ import annotations

import dataclasses

from sfjwt_orch.store import profiles
from tests.cli.conftest import World, sf_output
from tests.fakes import FakeClock

CID = "3MVG9CLIENTID1234567"
SUCCESS = sf_output("success.login.stdout")
NOT_APPROVED = sf_output("notapproved.json.stdout")
# The sandbox's answer when the (local) External Client App was not copied into it.
APP_MISSING = sf_output("err_client_id.json.stdout").replace(
    "client identifier invalid", "External client app is not installed in this org"
)


def _production(world: World) -> None:
    profile = profiles.Profile("prod", CID, "ci@acme.com", "https://acme.my.salesforce.com")
    profiles.save(world.paths, dataclasses.replace(profile, key_file=str(world.keypair.key)))


def _value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_sandbox_add_derives_the_values_and_saves_the_sandbox_profile(world: World) -> None:
    _production(world)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke("sandbox", "add", "--from", "prod", "--name", "UAT", "--json")
    world.done()
    assert result.code == 0, result.stderr
    argv = list(world.runner.calls[0])
    assert _value(argv, "--username") == "ci@acme.com.uat"
    assert _value(argv, "--instance-url") == "https://acme--uat.sandbox.my.salesforce.com"
    assert (_value(argv, "--client-id"), _value(argv, "--jwt-key-file")) == (CID, str(world.keypair.key))
    assert _value(argv, "--alias") == "prod-uat"
    doc = result.doc
    assert doc["ok"] is True and doc["alias"] == "prod-uat" and doc["from_alias"] == "prod"
    saved = profiles.load(world.paths, "prod-uat")
    assert saved is not None and saved.instance_url == "https://acme--uat.sandbox.my.salesforce.com"


def test_sandbox_add_flags_override_the_derived_values(world: World) -> None:
    _production(world)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    args = (
        "--alias",
        "qa",
        "--username",
        "bot@acme.com.qa",
        "--instance-url",
        "https://acme--qa.sandbox.my.salesforce.com",
    )
    assert world.invoke("sandbox", "add", "--from", "prod", "--name", "qa", *args).code == 0
    world.done()
    argv = list(world.runner.calls[0])
    assert (_value(argv, "--alias"), _value(argv, "--username")) == ("qa", "bot@acme.com.qa")


def test_a_sandbox_without_the_app_names_app_create_as_the_fix(world: World) -> None:
    _production(world)
    world.expect_sf("org", "login", "jwt", stdout=APP_MISSING, rc=1)
    result = world.invoke("sandbox", "add", "--from", "prod", "--name", "uat", "--timeout", "0", "--json")
    world.done()
    assert result.code == 3
    error = result.doc["error"]
    assert error["code"] == "APP_NOT_INSTALLED" and "not installed in this org" in error["message"]
    assert "sfjwt-orch app create --alias prod-uat --target-org" in error["fix"] and "ci@acme.com.uat" in error["fix"]
    assert profiles.load(world.paths, "prod-uat") is None, "nothing is saved until a login works"


def test_an_unknown_production_alias_is_profile_not_found(world: World) -> None:
    result = world.invoke("sandbox", "add", "--from", "nope", "--name", "uat", "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "PROFILE_NOT_FOUND"
    assert result.doc["alias"] == "nope-uat" and result.doc["sandbox_name"] == "uat"


def test_a_sandbox_without_the_app_is_not_waited_for_even_with_a_timeout(world: World) -> None:
    _production(world)
    world.expect_sf("org", "login", "jwt", stdout=APP_MISSING, rc=1)
    result = world.invoke("sandbox", "add", "--from", "prod", "--name", "uat", "--timeout", "60", "--json")
    world.done()  # one sf run: no 2-10 minute wait for an app that is not coming
    assert result.code == 3 and result.doc["error"]["code"] == "APP_NOT_INSTALLED"
    clock = world.ctx.clock
    assert isinstance(clock, FakeClock) and clock.sleeps == []


def test_a_missing_approval_is_then_waited_for_as_login_does(world: World) -> None:
    _production(world)
    world.expect_sf("org", "login", "jwt", stdout=NOT_APPROVED, rc=1)  # then waited for, as login does
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke("sandbox", "add", "--from", "prod", "--name", "uat", "--timeout", "60", "--json")
    world.done()
    assert result.code == 0, result.stderr
    assert result.doc["ok"] is True and result.doc["attempts"] == 2


def test_an_overriding_non_salesforce_host_needs_the_opt_in_here_too(world: World) -> None:
    _production(world)
    proxy = ("--instance-url", "https://sf-proxy.acme.example")
    refused = world.invoke("sandbox", "add", "--from", "prod", "--name", "uat", *proxy, "--json")
    assert refused.code == 2 and refused.doc["error"]["code"] == "URL_REFUSED"
    assert "--allow-non-salesforce-host" in refused.doc["error"]["fix"]
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    args = ("sandbox", "add", "--from", "prod", "--name", "uat", *proxy, "--allow-non-salesforce-host")
    result = world.invoke(*args, "--attempt-timeout", "30", "--json")
    world.done()
    assert result.code == 0, result.stderr
    assert _value(list(world.runner.calls[0]), "--instance-url") == "https://sf-proxy.acme.example"
    saved = profiles.load(world.paths, "prod-uat")
    assert saved is not None and saved.allow_non_salesforce_host is True
