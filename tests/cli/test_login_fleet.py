"""`login --all` / `--aliases` in-process with a strict fake runner: the aliases log in in parallel,
one's failure never stops the others, and the summary and exit code say what happened."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from sfjwt_orch.store import profiles, state
from tests.cli.conftest import World, sf_output
from tests.cli.test_commands import DISPLAY

CID = "3MVG9CLIENTID1234567"
SUCCESS = sf_output("success.login.stdout")
NOT_APPROVED = sf_output("notapproved.json.stdout")
BAD_KEY = sf_output("err_invalid_assertion.json.stdout")


def _profiles(world: World, *aliases: str) -> None:
    for alias in aliases:
        profile = profiles.Profile(alias, CID, f"ci@{alias}.example.com", "https://acme.my.salesforce.com")
        profiles.save(world.paths, dataclasses.replace(profile, key_file=str(world.keypair.key)))


def _login_of(alias: str) -> object:
    def match(argv: Sequence[str]) -> bool:
        return list(argv[1:4]) == ["org", "login", "jwt"] and argv[argv.index("--alias") + 1] == alias

    return match


def _expect(world: World, alias: str, stdout: str, rc: int = 0) -> None:
    world.runner.expect(_login_of(alias), stdout, rc)  # type: ignore[arg-type]


def test_a_fleet_with_one_failure_logs_the_others_in_and_exits_with_its_code(world: World) -> None:
    _profiles(world, "a", "b", "c", "d")
    world.runner.ordered = False  # the aliases log in at once, in any order
    for alias in ("a", "c", "d"):
        _expect(world, alias, SUCCESS)
    _expect(world, "b", BAD_KEY, rc=1)
    result = world.invoke("login", "--all", "--parallel", "3", "--json")
    world.done()
    assert result.code == 3, result.stderr
    doc = result.doc
    assert doc["ok"] is False and doc["error"]["code"] == "INVALID_ASSERTION"
    assert doc["summary"] == {"succeeded": 3, "failed": 1, "by_code": {"INVALID_ASSERTION": 1}}
    assert [r["alias"] for r in doc["results"]] == ["a", "b", "c", "d"]
    assert [r["ok"] for r in doc["results"]] == [True, False, True, True]
    assert state.load(world.paths, "a").org_id == "00D000000000001AAA" and state.load(world.paths, "b").org_id == ""
    # Not a terminal: one line per finished alias, and the failure's fix.
    assert "b: failed: INVALID_ASSERTION" in result.stderr and "a: logged in to org" in result.stderr


def test_sf_reading_its_own_half_written_file_is_tried_again_alone(world: World) -> None:
    # sf rewrites ~/.sfdx/alias.json in place: a parallel sf may read half of it. Tried again after
    # the others, alone, the alias logs in; a file broken for real would fail the same way again.
    _profiles(world, "a", "b")
    world.runner.ordered = False
    _expect(world, "a", SUCCESS)
    _expect(world, "b", sf_output("state_alias_garbage.login.json.stdout"), rc=1)
    _expect(world, "b", SUCCESS)
    result = world.invoke("login", "--all", "--json")
    world.done()
    assert result.code == 0, result.stderr
    assert result.doc["summary"] == {"succeeded": 2, "failed": 0, "by_code": {}}


def test_the_most_severe_failure_decides_and_approvals_are_listed_at_the_end(world: World) -> None:
    _profiles(world, "a", "b", "c")
    world.runner.ordered = False
    _expect(world, "a", NOT_APPROVED, rc=1)
    _expect(world, "b", BAD_KEY, rc=1)
    _expect(world, "c", SUCCESS)
    result = world.invoke("login", "--aliases", "a,b,c", "--json")
    world.done()
    assert result.code == 3, "a refusal (3) is more severe than a missing approval (4)"
    doc = result.doc
    assert doc["summary"]["by_code"] == {"INVALID_ASSERTION": 1, "NOT_APPROVED": 1}
    url = doc["results"][0]["approval_url"]
    assert url.startswith("https://acme.my.salesforce.com/services/oauth2/authorize?")
    tail = result.stderr[result.stderr.index("need a person's approval") :]
    assert "a (ci@a.example.com):" in tail and url in tail and "login --aliases a" in tail
    assert world.runner.opened == [], "no browser is opened from a parallel login"


def test_all_succeeded_is_exit_0_with_the_document(world: World) -> None:
    _profiles(world, "a", "b")
    world.runner.ordered = False
    _expect(world, "a", SUCCESS)
    _expect(world, "b", SUCCESS)
    result = world.invoke("login", "--aliases", "b,a", "--json")
    world.done()
    assert result.code == 0, result.stderr
    assert result.doc["ok"] is True and result.doc["error"] is None
    assert result.doc["summary"] == {"succeeded": 2, "failed": 0, "by_code": {}}
    assert [r["alias"] for r in result.doc["results"]] == ["b", "a"]


def test_an_unknown_alias_is_a_usage_error_before_anything_runs(world: World) -> None:
    _profiles(world, "a")
    result = world.invoke("login", "--aliases", "a,nope", "--json")
    world.done()  # no sf run at all
    assert result.code == 2 and result.doc["error"]["code"] == "USAGE" and "'nope'" in result.doc["error"]["message"]
    assert result.doc["results"] == [] and result.doc["summary"]["succeeded"] == 0


def test_single_alias_flags_are_refused_with_a_fleet(world: World) -> None:
    result = world.invoke("login", "--all", "--client-id", CID, "--json")
    assert result.code == 2 and "--client-id" in result.doc["error"]["message"]
    assert world.invoke("login", "--json").doc["error"]["message"] == "--alias is missing"
    assert world.invoke("login", "--all", "--parallel", "0").code == 2
    for flag in (["--new-app"], ["--allow-non-salesforce-host"], ["--attempt-timeout", "30"]):
        refused = world.invoke("login", "--aliases", "hub", *flag, "--json")
        assert refused.code == 2 and flag[0] in refused.doc["error"]["message"], refused.doc
    # --parallel with one alias: the missing --all/--aliases is named, not the --alias the user meant
    alone = world.invoke("login", "--alias", "hub", "--parallel", "2", "--json")
    assert alone.code == 2 and alone.doc["error"]["message"] == "--parallel needs --all or --aliases", alone.doc


def test_a_refreshed_sandbox_is_noticed_and_not_an_error(world: World) -> None:
    _profiles(world, "uat")
    state.save(world.paths, state.State("uat", org_id="00D0000000000OLDAAA"))
    _expect(world, "uat", SUCCESS)
    result = world.invoke("login", "--alias", "uat", "--json")
    world.done()
    assert result.code == 0 and result.doc["org_changed_from"] == "00D0000000000OLDAAA"
    assert "was refreshed" in result.stderr
    known = state.load(world.paths, "uat")
    assert known.previous_org_id == "00D0000000000OLDAAA" and known.org_id == "00D000000000001AAA"
    # status says so too (not as a problem), until the next refresh.
    world.expect_sf("org", "display", "--target-org", "uat", stdout=DISPLAY)
    row = world.invoke("status", "--json").doc["profiles"][0]
    world.done()
    assert row["org_changed_from"] == "00D0000000000OLDAAA" and row["org_id"] == "00D000000000001AAA"
    assert not any("refresh" in p for p in row["problems"])


def test_a_fleet_looks_for_sf_once_not_once_per_alias(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Looking for sf checks a PATH sf's Node (a `node --version` run): once for the fleet, and
    # every alias's adapter starts from what was found.
    from sfjwt_orch.tools.sf import discover

    looked: list[object] = []
    real = discover.discover

    def counted(*args: Any, **kwargs: Any) -> discover.Found:
        looked.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(discover, "discover", counted)
    _profiles(world, "a", "b", "c")
    world.runner.ordered = False
    for alias in ("a", "b", "c"):
        _expect(world, alias, SUCCESS)
    result = world.invoke("login", "--all", "--json")
    world.done()
    assert result.code == 0, result.stderr
    assert len(looked) == 1
