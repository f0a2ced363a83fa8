"""The --app-config JSON file: a good file loads; every bad one names the file and the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    EmulatorConfigError,
    Switches,
    config_from_mapping,
    config_to_mapping,
    demo_config,
    load_config,
    with_switches,
)
from tests.integration.emulator.emulator_testkit import KeyPair

KEY = "3MVG9configTestKey.0123456789abcdef"


def _good(cert: str = "server.crt") -> dict[str, Any]:
    return {
        "org": {
            "org_id": "00D5g000004ABCDEAA",
            "name": "Acme",
            "instance_name": "NA1",
            "edition": "Enterprise Edition",
            "is_dev_hub": True,
            "is_sandbox": False,
        },
        "users": [
            {"username": "ci@acme.example", "user_id": "0055g00000ABCDEAAA", "preauthorized": True},
            {"username": "dev@acme.example", "user_id": "0055g00000ABCDFAAA", "active": False},
        ],
        "apps": [
            {
                "name": "CI",
                "consumer_key": KEY,
                "certificate": cert,
                "policy": "self-authorize",
                "callback_urls": ["http://localhost:1717/OauthRedirect", "https://example.com/cb"],
                "propagation_seconds": 1.5,
                "eca": True,
            },
        ],
        "accepted_audiences": ["https://login.salesforce.com"],
        "api_version": "61.0",
        "switches": {"slow_token_seconds": 0.5, "rate_limit_after": 3, "fail_next": ["not_approved"]},
    }


def _write(directory: Path, data: Any) -> Path:
    path = directory / "apps.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.fixture
def config_dir(tmp_path: Path, keys: KeyPair) -> Path:
    (tmp_path / "server.crt").write_text(keys.cert_pem)
    return tmp_path


def test_good_file_loads_with_relative_certificate(config_dir: Path, keys: KeyPair) -> None:
    config = load_config(_write(config_dir, _good()))
    assert config.org.org_id == "00D5g000004ABCDEAA" and config.org.is_dev_hub
    assert [u.username for u in config.users] == ["ci@acme.example", "dev@acme.example"]
    assert config.users[1].active is False and config.users[0].preauthorized is True
    app = config.apps[0]
    assert app.certificate_pem == keys.cert_pem  # read from the path, relative to the config file
    assert app.policy == "self-authorize" and app.eca and app.propagation_seconds == 1.5
    assert app.callback_urls == ("http://localhost:1717/OauthRedirect", "https://example.com/cb")
    assert config.audiences() == ("https://login.salesforce.com",)
    assert config.switches == Switches(slow_token_seconds=0.5, rate_limit_after=3, fail_next=("not_approved",))


def test_inline_pem_and_defaults(keys: KeyPair) -> None:
    raw = {
        "org": {},
        "users": [{"username": "a@b.co", "user_id": "005000000000009AAA"}],
        "apps": [{"name": "x", "consumer_key": KEY, "certificate": keys.cert_pem}],
    }
    config = config_from_mapping(raw)
    assert config.apps[0].policy == "admin-approved"
    assert config.apps[0].callback_urls == ("http://localhost:1717/OauthRedirect",)
    assert config.api_version == "62.0"
    assert config.audiences() == ("https://login.salesforce.com",)  # production org default
    sandbox = config_from_mapping({**raw, "org": {"is_sandbox": True}})
    assert sandbox.audiences() == ("https://test.salesforce.com",)
    only_own = config_from_mapping({**raw, "accepted_audiences": []})
    assert only_own.audiences() == ()


def test_round_trip_through_json(keys: KeyPair) -> None:
    config = demo_config(keys.cert_pem, policy="self-authorize", eca=False)
    again = config_from_mapping(json.loads(json.dumps(config_to_mapping(config))))
    assert again == config


def test_demo_config_is_a_working_one_app_one_user_org(keys: KeyPair) -> None:
    config = demo_config(keys.cert_pem)
    assert len(config.apps) == 1 and len(config.users) == 1
    assert config.apps[0].consumer_key == DEMO_CONSUMER_KEY
    assert config.apps[0].policy == "admin-approved" and config.users[0].preauthorized


Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return mutate


_DELETE = object()

BAD_CASES: list[tuple[str, Mutation, str, str]] = [
    # (id, change, field named in the message, words in the message)
    ("unknown-top-key", _set("colour", "red"), "colour", "unknown key"),
    ("unknown-org-key", _set("org.edition_name", "x"), "org.edition_name", "unknown key"),
    ("unknown-app-key", _set("apps.0.secret", "x"), "apps[0].secret", "unknown key"),
    ("unknown-switch", _set("switches.maintenence", True), "switches.maintenence", "unknown key"),
    ("missing-users", _set("users", _DELETE), "users", "is required"),
    ("no-users", _set("users", []), "users", "at least one user"),
    ("missing-cert-key", _set("apps.0.certificate", _DELETE), "apps[0].certificate", "is required"),
    ("missing-cert-file", _set("apps.0.certificate", "nope.crt"), "apps[0].certificate", "does not exist"),
    (
        "cert-is-garbage",
        _set("apps.0.certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
        "apps[0].certificate",
        "DER",
    ),
    ("short-key", _set("apps.0.consumer_key", "FAKEID"), "apps[0].consumer_key", "18+"),
    ("key-with-space", _set("apps.0.consumer_key", KEY + " x"), "apps[0].consumer_key", "without spaces"),
    ("key-not-string", _set("apps.0.consumer_key", 12345678901234567890), "apps[0].consumer_key", "a string"),
    ("bad-username", _set("users.0.username", "ci user"), "users[0].username", "not a Salesforce username"),
    ("dup-username", _set("users.1.username", "CI@acme.example"), "users[1].username", "appears twice"),
    ("bad-user-id", _set("users.0.user_id", "00X5g00000ABCDEAAA"), "users[0].user_id", "starting with 005"),
    ("dup-user-id", _set("users.1.user_id", "0055g00000ABCDEAAA"), "users[1].user_id", "appears twice"),
    ("bad-org-id", _set("org.org_id", "00D123"), "org.org_id", "18-character org id"),
    ("bool-as-string", _set("users.0.active", "true"), "users[0].active", "true or false"),
    ("number-as-bool", _set("apps.0.propagation_seconds", True), "apps[0].propagation_seconds", "a number"),
    ("bad-policy", _set("apps.0.policy", "everyone"), "apps[0].policy", "unknown policy"),
    ("negative-propagation", _set("apps.0.propagation_seconds", -1), "apps[0].propagation_seconds", ">= 0"),
    ("no-callbacks", _set("apps.0.callback_urls", []), "apps[0].callback_urls", "at least one"),
    ("relative-callback", _set("apps.0.callback_urls", ["/cb"]), "apps[0].callback_urls[0]", "absolute URL"),
    ("callback-not-string", _set("apps.0.callback_urls", [1]), "apps[0].callback_urls[0]", "a string"),
    (
        "dup-consumer-key",
        lambda d: d["apps"].append(copy.deepcopy(d["apps"][0])),
        "apps[1].consumer_key",
        "twice",
    ),
    (
        "bad-audience",
        _set("accepted_audiences", ["login.salesforce.com"]),
        "accepted_audiences[0]",
        "http(s) URL",
    ),
    ("old-api-version", _set("api_version", "50.0"), "api_version", "51.0 or later"),
    ("bad-fail-next", _set("switches.fail_next", ["nope"]), "switches.fail_next[0]", "unknown outcome"),
    ("negative-rate-limit", _set("switches.rate_limit_after", -2), "switches.rate_limit_after", ">= 0"),
    ("users-not-list", _set("users", {"username": "x"}), "users", "a list"),
    ("app-not-object", _set("apps", ["x"]), "apps[0]", "a JSON object"),
]


@pytest.mark.parametrize(("change", "field", "words"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_config_names_file_and_field(config_dir: Path, change: Mutation, field: str, words: str) -> None:
    data = _good()
    change(data)
    path = _write(config_dir, data)
    with pytest.raises(EmulatorConfigError) as info:
        load_config(path)
    message = info.value.message
    assert message.startswith(f"{path}: {field}:"), message
    assert words in message
    assert "\n" not in message  # one line, as the CLI prints it
    assert info.value.fix.strip()


@pytest.mark.parametrize(
    ("content", "words"),
    [("{not json", "not valid JSON (line 1"), ("[1, 2]", "top level: must be a JSON object")],
)
def test_unparsable_file(config_dir: Path, content: str, words: str) -> None:
    path = _write(config_dir, content)
    with pytest.raises(EmulatorConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message and words in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EmulatorConfigError) as info:
        load_config(tmp_path / "absent.json")
    assert "absent.json" in info.value.message and "does not exist" in info.value.message
    assert "--app-config" in info.value.fix


def test_with_switches_checks_like_the_file(keys: KeyPair) -> None:
    config = with_switches(demo_config(keys.cert_pem), auto_approve=True, fail_next=["expired"])
    assert config.switches.auto_approve and config.switches.fail_next == ("expired",)
    with pytest.raises(EmulatorConfigError, match=r"switches\.maintenance: must be true or false"):
        with_switches(config, maintenance="yes")
