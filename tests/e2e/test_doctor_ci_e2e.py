"""`doctor`, `profiles` and `logout` with real openssl and the real sf against the emulator."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_ORG_ID, DEMO_USERNAME, Emulator, User, demo_config
from tests.e2e.conftest import E2E, KeyPair, demo_login, login_args
from tests.keypairs import expired_cert_for

HEALTHY = [
    "sf",
    "sf's files",
    "openssl",
    "profile",
    "key permissions",
    "key",
    "key matches certificate",
    "certificate expiry",
    "instance URL",
    "sf login",
]


def profile_file(e2e: E2E, alias: str) -> Path:
    return Path(e2e.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles" / f"{alias}.toml"


def doctor(e2e: E2E, alias: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    result = e2e.cli("doctor", "--alias", alias, "--json")
    doc = json.loads(result.stdout)
    assert doc["ok"] is (result.returncode == 0), result.stderr
    return result.returncode, {c["name"]: c for c in doc["checks"]}, result.stderr


def test_doctor_healthy_then_key_0644_then_mismatched_then_expired_certificate(
    e2e: E2E, other_keypair: KeyPair
) -> None:
    # As a user does: keygen (a 365-day certificate), upload the certificate, log in.
    made = e2e.cli("keygen", "--alias", "doc", "--json")
    assert made.returncode == 0, made.stderr
    key, cert = Path(json.loads(made.stdout)["key_file"]), Path(json.loads(made.stdout)["cert_file"])
    emu = e2e.emulator(cert_pem=cert.read_text())
    login = e2e.cli(
        *demo_login(emu, "doc"),
        "--json",
    )
    assert login.returncode == 0, login.stderr

    rc, checks, stderr = doctor(e2e, "doc")
    assert rc == 0, stderr
    assert list(checks) == HEALTHY
    assert {name: c["result"] for name, c in checks.items()} == dict.fromkeys(HEALTHY, "pass")
    assert DEMO_ORG_ID in checks["sf login"]["detail"] and "2048 bits" in checks["key"]["detail"]
    assert "pass" in stderr and "sf login" in stderr  # the table, for people

    key.chmod(0o644)
    rc, checks, stderr = doctor(e2e, "doc")
    assert rc == 6  # CHECK_FAILED
    assert checks["key permissions"]["result"] == "fail" and "644" in checks["key permissions"]["detail"]
    assert checks["key permissions"]["fix"] == f"chmod 600 {key}"
    assert checks["key matches certificate"]["result"] == "pass" and checks["sf login"]["result"] == "pass"
    key.chmod(0o600)

    shutil.copy(other_keypair.cert, cert)  # a certificate made with another key
    rc, checks, _ = doctor(e2e, "doc")
    assert rc == 6
    assert checks["key permissions"]["result"] == "pass"
    assert checks["key matches certificate"]["result"] == "fail"
    assert "does not belong to" in checks["key matches certificate"]["detail"]
    assert "certificate expiry" not in checks  # cannot judge a certificate of another key

    cert.unlink()
    expired_cert_for(key, cert, cert.parent)
    # An expired certificate is a warning, as in bootstrap: Salesforce keeps accepting JWTs signed
    # for it, so the login works (the sf login check still passes). Until 0.2 doctor failed here.
    rc, checks, _ = doctor(e2e, "doc")
    assert rc == 0
    assert checks["key matches certificate"]["result"] == "pass"
    assert checks["certificate expiry"]["result"] == "warn"
    assert checks["certificate expiry"]["detail"] == "expired on 2020-01-02"
    assert "still accepts" in checks["certificate expiry"]["fix"]
    assert "sfjwt-orch rotate --alias doc" in checks["certificate expiry"]["fix"]  # rotate is the fix now
    assert checks["sf login"]["result"] == "pass"


def sf_aliases(e2e: E2E) -> set[str]:
    return {entry["alias"] for entry in e2e.sf_json("alias", "list")["result"]}


def test_profiles_list_show_remove_never_deletes_a_key_another_profile_uses(e2e: E2E) -> None:
    # Two users of one org (sf keeps one login per username, so one alias each), one shared key file.
    config = demo_config(e2e.keypair.cert_pem)
    config = dataclasses.replace(
        config, users=(*config.users, User("ops@example.com", "005000000000002AAA", preauthorized=True))
    )
    emu = Emulator(config).start()
    e2e.emulators.append(emu)
    key = e2e.keypair.key
    users = {"one": DEMO_USERNAME, "two": "ops@example.com"}
    for alias, username in users.items():
        result = e2e.cli(*login_args(emu, key, alias, username))
        assert result.returncode == 0, result.stderr

    listed = e2e.cli("profiles", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows == [[a, u, emu.url, DEMO_ORG_ID] for a, u in users.items()]
    as_json = json.loads(e2e.cli("profiles", "list", "--json").stdout)
    assert [p["alias"] for p in as_json["profiles"]] == ["one", "two"]

    shown = e2e.cli("profiles", "show", "one", "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["profile"]["client_id"] == DEMO_CONSUMER_KEY and doc["profile"]["key_file"] == str(key)
    assert doc["file"] == str(profile_file(e2e, "one"))
    human = e2e.cli("profiles", "show", "one")
    assert f"key_file      {key}" in human.stdout and "PRIVATE KEY" not in human.stdout + shown.stdout
    missing = e2e.cli("profiles", "show", "nobody", "--json")
    assert missing.returncode == 2 and json.loads(missing.stdout)["error"]["code"] == "PROFILE_NOT_FOUND"

    # "one": profile gone, the shared key kept, sf keeps its login (--no-logout).
    removed = e2e.cli("profiles", "remove", "one", "--delete-key", "--no-logout", "--json")
    assert removed.returncode == 0, removed.stderr
    doc = json.loads(removed.stdout)
    assert doc["deleted"] == [] and doc["logged_out"] is False
    assert f"kept {key}: another profile uses it" in removed.stderr
    assert key.is_file() and not profile_file(e2e, "one").exists()
    assert {"one", "two"} <= sf_aliases(e2e)

    # "two": the last user of the key; --logout logs out, but --delete-key leaves a key the user
    # brought from outside sfjwt-orch's key folder where it is, and says so (issue 16, Low).
    removed = e2e.cli("profiles", "remove", "two", "--delete-key", "--logout", "--json")
    assert removed.returncode == 0, removed.stderr
    doc = json.loads(removed.stdout)
    assert doc["deleted"] == [] and doc["logged_out"] is True
    assert f"kept {key}: it is outside sfjwt-orch's key folder" in removed.stderr
    assert key.is_file() and not profile_file(e2e, "two").exists()
    aliases = sf_aliases(e2e)
    assert "two" not in aliases and "one" in aliases
    empty = e2e.cli("profiles", "list")
    assert empty.stdout == "" and "No profiles yet" in empty.stderr
