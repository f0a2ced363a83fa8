"""bootstrap keeps only confirmed answers (issue 14, item 2) and lets a person re-enter a consumer
key the org does not know (item 1): the flow with a scripted person and a strict fake runner."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from sfjwt_orch.errors import Code
from sfjwt_orch.flows import bootstrap, login_request
from sfjwt_orch.store import profiles, state
from tests.cli.conftest import World, failed, sf_output
from tests.cli.test_commands import DISPLAY, VERSION

CID = "3MVG9CLIENTID1234567"
OTHER_CID = "3MVG9OTHERCLIENT7654321"
USER = "user@example.com"
URL = "https://acme.my.salesforce.com"
SUCCESS = sf_output("success.login.stdout")
CLIENT_ID = sf_output("err_client_id.json.stdout")
ASSERTION = sf_output("err_invalid_assertion.json.stdout")


@dataclass
class Person:
    """Answers questions in order: (a part of the question, the answer or KeyboardInterrupt)."""

    script: list[tuple[str, str | type[KeyboardInterrupt]]]
    asked: list[str] = field(default_factory=list)

    def ask(self, question: str, check: Callable[[str], str], default: str = "", shown: str = "") -> str:
        self.asked.append(f"{question} [{shown or default}]")
        expected, answer = self.script.pop(0)
        assert expected in question, (expected, question)
        if answer is KeyboardInterrupt:
            raise KeyboardInterrupt
        assert isinstance(answer, str)
        return check(answer or default)


def request(
    world: World,
    *,
    username: str = "",
    wait: login_request.Wait = login_request.Wait(),
    can_prompt: bool = True,
    ask_all: bool = False,
) -> bootstrap.BootstrapRequest:
    given = profiles.Profile(
        "hub", username=username, key_file=str(world.keypair.key), cert_file=str(world.keypair.cert)
    )
    return bootstrap.BootstrapRequest(login_request.LoginRequest(given, wait), can_prompt=can_prompt, ask_all=ask_all)


def test_ctrl_c_at_the_login_url_then_a_rerun_offers_the_answers_and_asks_the_url_again(world: World) -> None:
    world.expect_sf("--version", stdout=VERSION)
    person = Person([("Admin alias", ""), ("Consumer key", CID), ("Username", USER), ("Login URL", KeyboardInterrupt)])
    with pytest.raises(KeyboardInterrupt):
        bootstrap.bootstrap(request(world), world.ctx, person)
    saved = profiles.load_or_new(world.paths, "hub")
    assert (saved.client_id, saved.username, saved.instance_url) == ("", "", ""), "nothing confirmed, nothing saved"
    assert state.unconfirmed(state.load(world.paths, "hub")) == {"client_id": CID, "username": USER}

    # The rerun: the unconfirmed answers are the defaults (the key masked), the URL is asked again.
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=DISPLAY)
    person = Person([("Consumer key", ""), ("Username", ""), ("Login URL", URL)])
    bootstrap.bootstrap(request(world), world.ctx, person)
    world.done()
    assert person.asked[0] == "Consumer key [3MVG9C…4567 (20 characters)]"
    assert person.asked[1] == f"Username to log in as (e.g. ci-bot@acme.com) [{USER}]"
    assert person.asked[2].endswith("[1]")
    saved = profiles.load_or_new(world.paths, "hub")
    assert (saved.client_id, saved.username, saved.instance_url) == (CID, USER, URL)
    assert state.unconfirmed(state.load(world.paths, "hub")) == {}, "confirmed answers are not kept twice"


def test_a_failed_login_with_another_username_keeps_the_saved_one(world: World) -> None:
    profiles.save(
        world.paths,
        dataclasses.replace(profiles.load_or_new(world.paths, "hub"), client_id=CID, username=USER, instance_url=URL),
    )
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)
    report = bootstrap.bootstrap(request(world, username="other@example.com", can_prompt=False), world.ctx, Person([]))
    err = failed(report)
    world.done()
    assert err.code is Code.INVALID_ASSERTION
    assert profiles.load_or_new(world.paths, "hub").username == USER
    assert "other@example.com" not in world.paths.profile_file("hub").read_text()
    assert state.unconfirmed(state.load(world.paths, "hub")) == {"username": "other@example.com"}


def test_ask_asks_every_question_with_the_saved_answers_as_defaults(world: World) -> None:
    profiles.save(
        world.paths,
        dataclasses.replace(profiles.load_or_new(world.paths, "hub"), client_id=CID, username=USER, instance_url=URL),
    )
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=DISPLAY)
    person = Person([("Consumer key", ""), ("Username", "new@example.com"), ("Login URL", "")])
    bootstrap.bootstrap(request(world, ask_all=True), world.ctx, person)
    world.done()
    assert person.asked[2].endswith(f"[{URL}]")
    # A step with nothing to do is one line, with a symbol; not the step's line and then "(skipped)".
    err = world.stderr.getvalue()
    assert "– Key and certificate: reusing" in err and "(nothing to do)" in err
    assert "→ Key and certificate" not in err and "(skipped)" not in err
    saved = profiles.load_or_new(world.paths, "hub")
    assert (saved.client_id, saved.username, saved.instance_url) == (CID, "new@example.com", URL)


def test_an_unknown_consumer_key_can_be_pasted_again(world: World) -> None:
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=CLIENT_ID, rc=1)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=DISPLAY)
    person = Person(
        [
            ("Admin alias", ""),
            ("Consumer key", CID),
            ("Username", USER),
            ("Login URL", URL),
            ("paste it again", OTHER_CID),
        ]
    )
    report = bootstrap.bootstrap(request(world), world.ctx, person)
    world.done()
    assert world.ctx.clock() == 1000.0, "a typo is not waited for"
    assert "Enter keeps 3MVG9C…4567 (20 characters)" in person.asked[-1]
    assert profiles.load_or_new(world.paths, "hub").client_id == OTHER_CID
    assert report.login is not None and report.login.attempts == 2


def test_keeping_an_unknown_consumer_key_waits_for_the_new_app(world: World) -> None:
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=CLIENT_ID, rc=1)
    world.expect_sf("org", "login", "jwt", stdout=CLIENT_ID, rc=1)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=DISPLAY)
    person = Person([("Admin alias", ""), ("Consumer key", CID), ("Username", USER), ("Login URL", URL), ("paste", "")])
    bootstrap.bootstrap(request(world, wait=login_request.Wait(timeout=600.0)), world.ctx, person)
    world.done()
    assert world.ctx.clock() > 1000.0, "the kept key's app is waited for"
    assert profiles.load_or_new(world.paths, "hub").client_id == CID


def test_at_a_terminal_the_login_waits_for_the_certificate_upload(world: World) -> None:
    # Issue 24 item 7: after the checklist the person creates the app in Setup; the certificate may not
    # be uploaded (or not propagated) yet. The login waits through INVALID_ASSERTION, as rotate does.
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "display", stdout=DISPLAY)
    person = Person([("Admin alias", ""), ("Consumer key", CID), ("Username", USER), ("Login URL", URL)])
    report = bootstrap.bootstrap(request(world, wait=login_request.Wait(timeout=600.0)), world.ctx, person)
    world.done()
    assert world.ctx.clock() > 1000.0, "the upload was waited for"
    assert report.login is not None and report.login.attempts == 3
    said = world.stderr.getvalue()
    assert said.index("Create the app in Salesforce") < said.index("The login waits (up to 600 s)")
    assert str(world.keypair.cert) in said[said.index("The login waits") :]


def test_a_key_a_login_confirmed_is_not_waited_for_when_the_app_refuses_it(world: World) -> None:
    # The counterpart: a consumer key that logged in before (saved in the profile) and now gets
    # INVALID_ASSERTION has a wrong key or certificate; no upload is pending, so no wait.
    profiles.save(
        world.paths,
        dataclasses.replace(profiles.load_or_new(world.paths, "hub"), client_id=CID, username=USER, instance_url=URL),
    )
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)
    report = bootstrap.bootstrap(request(world, wait=login_request.Wait(timeout=600.0)), world.ctx, Person([]))
    err = failed(report)
    world.done()
    assert err.code is Code.INVALID_ASSERTION and world.ctx.clock() == 1000.0


def test_with_no_one_to_ask_the_checklist_comes_before_the_error(world: World) -> None:
    # Issue 24 item 7: a CI log (no terminal, no answers) shows what to do in Setup, then the flags.
    world.expect_sf("--version", stdout=VERSION)
    report = bootstrap.bootstrap(request(world, can_prompt=False), world.ctx, Person([]))
    err = failed(report)
    world.done()
    assert err.code is Code.USAGE and "no one to ask" in err.message
    said = world.stderr.getvalue()
    assert "Create the app in Salesforce" in said and f"Upload Files: {world.keypair.cert}" in said
