"""Reusing an alias with other flags (issue 24 item 5): a login says which saved answers it replaced
(stderr and `changed` in --json), never leaves the profile naming a certificate that is not its
key's, and doctor's fix for a key and certificate that are not a pair never says `keygen --force`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sfjwt_orch.store import profiles
from tests.cli.conftest import World, sf_output
from tests.cli.test_commands import DISPLAY, USER, VERSION, login_args
from tests.keypairs import KeyPair, make_keypair

SUCCESS = sf_output("success.login.stdout")


@pytest.fixture
def saved(world: World) -> profiles.Profile:
    """The alias logged in once, its profile naming the key and its certificate."""
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke(*login_args(world)).code == 0
    profile = profiles.load_or_new(world.paths, "hub")
    profiles.save(world.paths, dataclasses.replace(profile, cert_file=str(world.keypair.cert)))
    return profiles.load_or_new(world.paths, "hub")


def _new_pair(tmp_path: Path) -> KeyPair:
    return make_keypair(tmp_path / "other-keys")


def test_a_login_with_other_flags_says_what_it_replaced(world: World, saved: profiles.Profile, tmp_path: Path) -> None:
    new = _new_pair(tmp_path)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke(
        "login", "--alias", "hub", "--username", "ci@example.com.dev", "--key-file", str(new.key), "--json"
    )
    assert result.code == 0, result.stderr
    world.done()
    changed = result.doc["changed"]
    assert changed["username"] == {"old": USER, "new": "ci@example.com.dev"}
    assert changed["key_file"] == {"old": str(world.keypair.key), "new": str(new.key)}
    # The saved certificate is the old key's: the one beside the new key (it pairs with it) replaces it.
    assert changed["cert_file"] == {"old": str(world.keypair.cert), "new": str(new.cert)}
    assert set(changed) == {"username", "key_file", "cert_file"}
    line = next(line for line in result.stderr.splitlines() if "The profile of hub changed" in line)
    assert f"username {USER} → ci@example.com.dev" in line and f"key file {world.keypair.key} → {new.key}" in line
    after = profiles.load_or_new(world.paths, "hub")
    assert (after.username, after.key_file, after.cert_file) == ("ci@example.com.dev", str(new.key), str(new.cert))


def test_a_new_key_without_its_certificate_drops_the_old_certificate(
    world: World, saved: profiles.Profile, tmp_path: Path
) -> None:
    new = _new_pair(tmp_path)
    new.cert.unlink()  # only the key (a vault's copy): no certificate beside it
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke("login", "--alias", "hub", "--key-file", str(new.key), "--json")
    assert result.code == 0, result.stderr
    assert result.doc["changed"]["cert_file"] == {"old": str(world.keypair.cert), "new": None}
    assert f"certificate {world.keypair.cert} → (none)" in result.stderr
    assert profiles.load_or_new(world.paths, "hub").cert_file == ""
    assert world.keypair.cert.exists(), "the file stays: only the profile stops naming it"


def test_the_same_flags_again_change_nothing_and_say_nothing(world: World, saved: profiles.Profile) -> None:
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke(*login_args(world), "--json")
    assert result.code == 0, result.stderr
    assert result.doc["changed"] == {} and "changed:" not in result.stderr
    assert profiles.load_or_new(world.paths, "hub").cert_file == str(world.keypair.cert)


def test_doctor_catches_a_key_that_is_not_the_certificates_without_sending_to_keygen_force(
    world: World, saved: profiles.Profile, tmp_path: Path
) -> None:
    # A profile left unpaired (a hand edit, or a profile written before 0.1): found locally, and the fix
    # settles which pair the app holds by a login, never by replacing the key.
    new = _new_pair(tmp_path)
    profiles.save(world.paths, dataclasses.replace(saved, key_file=str(new.key)))
    world.expect_sf("--version", stdout=VERSION)
    world.expect_sf("org", "display", "--target-org", "hub", stdout=DISPLAY)
    result = world.invoke("doctor", "--alias", "hub", "--json")
    world.done()
    assert result.code == 6
    check = next(c for c in result.doc["checks"] if c["name"] == "key matches certificate")
    assert check["result"] == "fail" and "does not belong to" in check["detail"]
    assert "keygen --force" not in check["fix"].replace("do not replace the key with keygen --force", "")
    assert "sfjwt-orch login --alias hub" in check["fix"] and "--cert-file" in check["fix"]
