"""rotate through cli.main with a strict fake runner: the sf commands of each path, in order, and
what is on disk after each (the new pair beside the old, promotion, the previous pair kept)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sfjwt_orch.keys import certs
from sfjwt_orch.store import profiles, state
from tests.cli.conftest import World, sf_output

SUCCESS = sf_output("success.login.stdout")
ASSERTION = sf_output("err_invalid_assertion.json.stdout")
DEPLOYED = json.dumps({"status": 0, "result": {"status": "Succeeded", "success": True, "files": []}})
RETRIEVED = json.dumps({"status": 0, "result": {"files": []}})
APP = "SfjwtOrch_ci"
SETTINGS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">'
    "<callbackUrl>http://localhost:1717/OauthRedirect</callbackUrl><certificate>OLD</certificate>"
    f"<consumerKey>KEY</consumerKey><externalClientApplication>{APP}</externalClientApplication>"
    "</ExtlClntAppGlobalOauthSettings>\n"
)


def _logged_in(world: World) -> tuple[Path, Path]:
    """An alias whose app sfjwt-orch created with the admin alias `admin`, logged in once."""
    assert world.invoke("keygen", "--alias", "ci").code == 0
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    args = ("--client-id", "3MVG9CLIENTID1234567", "--username", "user@example.com")
    assert world.invoke("login", "--alias", "ci", *args, "--instance-url", "https://acme.my.salesforce.com").code == 0
    state.save(world.paths, state.load(world.paths, "ci").with_(app_name=APP, app_kind="eca", admin_org="admin"))
    profile = profiles.load(world.paths, "ci")
    assert profile is not None
    return Path(profile.key_file), Path(profile.cert_file)


def _retrieve_settings(argv: Sequence[str]) -> None:
    folder = Path(argv[list(argv).index("--target-metadata-dir") + 1])
    path = folder / "unpackaged" / "extlClntAppGlobalOauthSets" / f"{APP}_glbloauth.ecaGlblOauth"
    path.parent.mkdir(parents=True)
    path.write_text(SETTINGS)


def test_rotate_with_the_admin_org_deploys_proves_and_promotes(world: World) -> None:
    key, cert = _logged_in(world)
    old_key, old_fp = key.read_bytes(), certs.read_cert(cert).fingerprint_sha256
    deployed: list[str] = []

    def keep(argv: Sequence[str]) -> None:
        folder = Path(argv[list(argv).index("--metadata-dir") + 1])
        deployed.extend(p.read_text() for p in sorted(folder.rglob("*.ecaGlblOauth")))

    proof_keys: list[str] = []

    def proof(argv: Sequence[str]) -> None:
        proof_keys.append(argv[list(argv).index("--jwt-key-file") + 1])

    world.expect_sf("project", "retrieve", "start", "--metadata", f"ExtlClntAppGlobalOauthSettings:{APP}_glbloauth",
                    stdout=RETRIEVED, effect=_retrieve_settings)  # fmt: skip
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED, effect=keep)
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1, effect=proof)  # not propagated yet: waited out
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS, effect=proof)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS, effect=proof)  # again, from the durable path
    result = world.invoke("rotate", "--alias", "ci", "--json")
    assert result.code == 0, result.stderr
    doc = result.doc
    assert doc["ok"] is True and doc["app_updated"] is True and doc["old_fingerprint"] == old_fp
    assert doc["new_fingerprint"] == certs.read_cert(cert).fingerprint_sha256 != old_fp
    assert doc["previous_key_kept_until"] and doc["window_s"] is not None
    # Only the certificate changed in the deployed settings; the consumer key and the rest stayed.
    assert len(deployed) == 1 and "<certificate>OLD</certificate>" not in deployed[0]
    assert (
        deployed[0].replace(
            deployed[0][deployed[0].index("<certificate>") : deployed[0].index("</certificate>")], "<certificate>OLD"
        )
        == SETTINGS
    )
    next_key = str(world.paths.key_dir("ci") / "next" / "server.key")
    assert proof_keys == [next_key, next_key, str(key)]
    assert key.read_bytes() != old_key and key.stat().st_mode & 0o777 == 0o600
    previous = world.paths.key_dir("ci") / "previous" / "server.key"
    assert previous.read_bytes() == old_key and previous.stat().st_mode & 0o777 == 0o600
    assert not (world.paths.key_dir("ci") / "next").exists()
    assert state.load(world.paths, "ci").rotation_phase == "promoted"
    world.done()

    # --finish drops the previous key; --rollback then has nothing to undo.
    finished = world.invoke("rotate", "--alias", "ci", "--finish", "--json")
    assert finished.code == 0 and not previous.exists() and state.load(world.paths, "ci").rotation_phase == ""
    assert world.invoke("rotate", "--alias", "ci", "--rollback", "--json").doc["error"]["code"] == "USAGE"


def test_a_new_key_that_never_logs_in_puts_the_old_certificate_back(world: World) -> None:
    key, _ = _logged_in(world)
    old_key = key.read_bytes()
    world.expect_sf("project", "retrieve", "start", stdout=RETRIEVED, effect=_retrieve_settings)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)
    world.expect_sf(
        "org", "login", "jwt", stdout=sf_output("err_not_admin_approved.json.stdout"), rc=1
    )  # not waited for
    world.expect_sf("project", "retrieve", "start", stdout=RETRIEVED, effect=_retrieve_settings)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)  # the old certificate, back on the app
    result = world.invoke("rotate", "--alias", "ci", "--timeout", "1", "--json")
    assert result.code == 3 and result.doc["error"]["code"] == "NOT_ADMIN_APPROVED"
    assert result.doc["app_updated"] is False
    assert key.read_bytes() == old_key and not (world.paths.key_dir("ci") / "previous").exists()
    world.done()


def test_rotate_without_an_admin_org_waits_for_the_upload_in_setup(world: World) -> None:
    _logged_in(world)
    state.save(world.paths, state.load(world.paths, "ci").with_(admin_org="", app_name=""))
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)  # the person has not uploaded it yet
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke("rotate", "--alias", "ci", "--json")
    assert result.code == 0, result.stderr
    assert result.doc["app_updated"] is False and "Upload the new certificate" in result.stderr
    assert str(world.paths.key_dir("ci") / "next" / "server.crt") in result.stderr
    world.done()


def test_rollback_after_promotion_restores_the_previous_pair_on_disk_and_on_the_app(world: World) -> None:
    key, _ = _logged_in(world)
    old_key = key.read_bytes()
    world.expect_sf("project", "retrieve", "start", stdout=RETRIEVED, effect=_retrieve_settings)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke("rotate", "--alias", "ci").code == 0
    new_key = key.read_bytes()
    previous = world.paths.key_dir("ci") / "previous" / "server.key"
    proof_keys: list[str] = []

    def proof(argv: Sequence[str]) -> None:
        proof_keys.append(argv[list(argv).index("--jwt-key-file") + 1])
        # Nothing on disk changes before a login with the old key has proven the app holds it again.
        assert len(proof_keys) > 1 or key.read_bytes() == new_key

    world.expect_sf("project", "retrieve", "start", stdout=RETRIEVED, effect=_retrieve_settings)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS, effect=proof)  # the old key, where it is kept
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS, effect=proof)  # again from the profile's path
    result = world.invoke("rotate", "--alias", "ci", "--rollback", "--json")
    assert result.code == 0, result.stderr
    assert proof_keys == [str(previous), str(key)]
    assert key.read_bytes() == old_key and result.doc["app_updated"] is True
    assert not previous.parent.exists() and state.load(world.paths, "ci").rotation_phase == ""
    assert "finished" not in result.stderr and "new key" not in result.stderr
    world.done()


def _rotated_by_hand(world: World) -> tuple[Path, bytes, bytes]:
    """A rotation promoted after the new certificate was uploaded in Setup (no admin org known)."""
    key, _ = _logged_in(world)
    old_key = key.read_bytes()
    state.save(world.paths, state.load(world.paths, "ci").with_(admin_org="", app_name=""))
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    assert world.invoke("rotate", "--alias", "ci").code == 0
    return key, old_key, key.read_bytes()


def test_rollback_without_an_admin_org_asks_for_the_previous_certificate_and_waits(world: World) -> None:
    key, old_key, _ = _rotated_by_hand(world)
    previous = world.paths.key_dir("ci") / "previous"
    fingerprint = certs.read_cert(previous / "server.crt").fingerprint_sha256
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)  # the person has not uploaded it yet
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke("rotate", "--alias", "ci", "--rollback", "--interval", "1", "--json")
    assert result.code == 0, result.stderr
    assert "Upload the previous certificate" in result.stderr and fingerprint in result.stderr
    assert str(previous / "server.crt") in result.stderr
    assert "finished" not in result.stderr and "the new key" not in result.stderr
    assert key.read_bytes() == old_key and not previous.exists()
    assert result.doc["new_fingerprint"] == fingerprint and result.doc["app_updated"] is False
    world.done()


def test_a_rollback_that_times_out_keeps_both_pairs_and_its_record(world: World) -> None:
    key, old_key, new_key = _rotated_by_hand(world)
    previous = world.paths.key_dir("ci") / "previous" / "server.key"
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)  # the app still holds the new certificate
    result = world.invoke("rotate", "--alias", "ci", "--rollback", "--timeout", "0", "--json")
    assert result.code == 3 and result.doc["error"]["code"] == "INVALID_ASSERTION"
    assert "--rollback continues" in result.doc["error"]["fix"]
    assert key.read_bytes() == new_key and previous.read_bytes() == old_key
    assert state.load(world.paths, "ci").rotation_phase == "rollback-previous"
    # Neither direction can drop a key while the rollback is under way.
    for other in (("--finish",), ()):
        refused = world.invoke("rotate", "--alias", "ci", *other, "--json")
        assert refused.code == 2 and "--rollback" in refused.doc["error"]["fix"]
    assert previous.read_bytes() == old_key
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)  # uploaded now: the rerun continues
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    again = world.invoke("rotate", "--alias", "ci", "--rollback", "--json")
    assert again.code == 0, again.stderr
    assert key.read_bytes() == old_key and state.load(world.paths, "ci").rotation_phase == ""
    world.done()


def test_a_rotation_that_times_out_without_an_admin_org_keeps_both_pairs_and_finish_refuses(world: World) -> None:
    key, _ = _logged_in(world)
    old_key = key.read_bytes()
    state.save(world.paths, state.load(world.paths, "ci").with_(admin_org="", app_name=""))
    world.expect_sf("org", "login", "jwt", stdout=ASSERTION, rc=1)
    result = world.invoke("rotate", "--alias", "ci", "--timeout", "0", "--json")
    assert result.code == 3 and "continues" in result.doc["error"]["fix"]
    nxt = world.paths.key_dir("ci") / "next" / "server.key"
    assert key.read_bytes() == old_key and nxt.exists() and state.load(world.paths, "ci").rotation_phase == "made"
    finished = world.invoke("rotate", "--alias", "ci", "--finish", "--json")
    assert finished.code == 2 and nxt.exists() and state.load(world.paths, "ci").rotation_phase == "made"
    world.done()


def test_rotate_without_a_profile_is_profile_not_found(world: World) -> None:
    result = world.invoke("rotate", "--alias", "nobody", "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "PROFILE_NOT_FOUND"
    assert set(result.doc) >= {"old_fingerprint", "new_fingerprint", "window_s", "previous_key_kept_until"}


def test_a_rotation_stopped_mid_promotion_continues_and_keeps_the_true_previous_key(world: World) -> None:
    key, cert = _logged_in(world)
    old_key = key.read_bytes()
    # A first run that got as far as promoting: the pair kept, the key replaced, then it stopped.
    assert world.invoke("keygen", "--alias", "ci-next", "--out-dir", str(world.paths.key_dir("ci") / "next")).code == 0
    new_key = (world.paths.key_dir("ci") / "next" / "server.key").read_bytes()
    previous = world.paths.key_dir("ci") / "previous"
    previous.mkdir(mode=0o700)
    (previous / "server.key").write_bytes(old_key)
    (previous / "server.crt").write_bytes(cert.read_bytes())
    key.write_bytes(new_key)
    state.save(world.paths, state.load(world.paths, "ci").with_(rotation_phase="promoting"))
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)  # the proof again, then the final login
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    result = world.invoke("rotate", "--alias", "ci", "--json")
    assert result.code == 0, result.stderr
    assert key.read_bytes() == new_key and (previous / "server.key").read_bytes() == old_key
    assert state.load(world.paths, "ci").rotation_phase == "promoted"
    world.done()


def test_ctrl_c_before_the_deploy_then_a_rerun_deploys_the_same_new_pair(world: World) -> None:
    key, _ = _logged_in(world)
    old_key = key.read_bytes()

    def interrupted(argv: Sequence[str]) -> None:
        raise KeyboardInterrupt

    world.expect_sf("project", "retrieve", "start", stdout=RETRIEVED, effect=interrupted)
    result = world.invoke("rotate", "--alias", "ci", "--json")
    assert result.code == 130 and result.doc["error"]["code"] == "INTERRUPTED"
    new_key = (world.paths.key_dir("ci") / "next" / "server.key").read_bytes()
    assert key.read_bytes() == old_key and state.load(world.paths, "ci").rotation_phase == "made"
    world.expect_sf("project", "retrieve", "start", stdout=RETRIEVED, effect=_retrieve_settings)
    world.expect_sf("project", "deploy", "start", stdout=DEPLOYED)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    world.expect_sf("org", "login", "jwt", stdout=SUCCESS)
    again = world.invoke("rotate", "--alias", "ci", "--json")
    assert again.code == 0, again.stderr
    assert key.read_bytes() == new_key, "the rerun continued with the pair the first run made"
    world.done()
