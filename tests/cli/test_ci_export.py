"""`ci export` in-process through the error boundary: the documents, the refusals (exit 2, nothing
written), the key kept apart, --output's safe write. No program runs: the strict runner has no stub."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from sfjwt_orch.store import profiles
from tests.cli.conftest import Result, World

SPEC = "git+https://github.com/acme/sfjwt-orch@v0.1.0"
CID = "3MVG9CLIENTID1234567"
FAILURE_KEYS = {"ok", "error", "alias", "aliases", "format", "output", "jobs", "variables", "secrets", "skipped",
                "warnings", "snippet"}  # fmt: skip


def profile(world: World, alias: str, **values: str | bool) -> None:
    answers = {"client_id": CID, "username": f"ci@acme.com.{alias}", "instance_url": "https://acme.my.salesforce.com",
               "key_file": str(world.keypair.key), **values}  # fmt: skip
    profiles.save(world.paths, profiles.Profile(alias=alias, **answers))


def own_key(world: World, alias: str) -> str:
    """A key file of the alias's own (the same bytes at another path): aliases sharing one key file
    share one secret, so a test of one secret per alias gives each its own file."""
    path = world.paths.data_dir / "own" / f"{alias}.key"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(world.keypair.key.read_bytes())
    path.chmod(0o600)
    return str(path)


def export(world: World, *args: str) -> Result:
    result = world.invoke("ci", "export", *args)
    world.done()  # ci export never runs sf or openssl
    return result


def key_b64(world: World) -> str:
    return base64.b64encode(world.keypair.key.read_bytes()).decode()


def test_single_github_document_names_the_secret_and_the_values(world: World) -> None:
    profile(world, "hub")
    result = export(world, "hub", "--pip-spec", SPEC, "--json")
    assert result.code == 0, result.stderr
    doc = result.doc
    assert (doc["alias"], doc["aliases"], doc["format"], doc["jobs"]) == (
        "hub",
        ["hub"],
        "github",
        ["salesforce-login"],
    )
    assert doc["variables"] == {"SF_CLIENT_ID": CID, "SF_USERNAME": "ci@acme.com.hub",
                                "SF_INSTANCE_URL": "https://acme.my.salesforce.com"}  # fmt: skip
    assert doc["secrets"] == [{"name": "SF_JWT_KEY", "alias": "hub", "aliases": ["hub"]}] and doc["skipped"] == []
    assert "${{ secrets.SF_JWT_KEY }}" in doc["snippet"] and SPEC in doc["snippet"]


@pytest.mark.parametrize("fmt", ["github", "gitlab"])
def test_without_pip_spec_it_refuses_naming_the_flag_and_writes_nothing(world: World, tmp_path: Path, fmt: str) -> None:
    profile(world, "hub")
    out = tmp_path / "ci" / "job.yml"
    result = export(world, "hub", "--format", fmt, "--output", str(out), "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "USAGE" and set(result.doc) == FAILURE_KEYS
    assert "--pip-spec" in result.doc["error"]["message"] and "--pip-spec" in result.doc["error"]["fix"]
    assert not out.parent.exists()


def test_env_format_needs_no_install_source(world: World) -> None:
    profile(world, "hub")
    result = export(world, "hub", "--format", "env")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"SF_CLIENT_ID={CID}"
    assert result.stdout.splitlines()[3].startswith("SF_JWT_KEY=<base64 of the key")


@pytest.mark.parametrize("fmt", ["github", "gitlab"])
def test_include_key_json_keeps_the_key_out_of_the_snippet(world: World, fmt: str) -> None:
    profile(world, "hub")
    result = export(world, "hub", "--format", fmt, "--pip-spec", SPEC, "--include-key", "--json")
    assert result.code == 0, result.stderr
    key = key_b64(world)
    assert key[:40] not in result.doc["snippet"] and "PRIVATE KEY" not in result.doc["snippet"]
    assert result.doc["variables"]["SF_JWT_KEY"] == key and result.doc["secrets"][0]["value"] == key
    assert "PRIVATE KEY" in result.stderr  # the warning


def test_include_key_human_output_prints_the_key_after_the_file(world: World) -> None:
    profile(world, "hub")
    result = export(world, "hub", "--pip-spec", SPEC, "--include-key")
    assert result.code == 0, result.stderr
    job, _, secret = result.stdout.partition("# ---- the secret values")
    assert key_b64(world)[:40] not in job and f"SF_JWT_KEY={key_b64(world)}" in secret


def test_output_writes_the_file_and_rewrites_its_own(world: World, tmp_path: Path) -> None:
    profile(world, "hub")
    out = tmp_path / ".github" / "workflows" / "salesforce.yml"
    first = export(world, "hub", "--pip-spec", SPEC, "--output", str(out))
    assert first.code == 0, first.stderr
    assert first.stdout == "" and f"Wrote {out}" in first.stderr and "SF_JWT_KEY" in first.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    again = export(world, "hub", "--pip-spec", SPEC, "--sf-version", "2.151.0", "--output", str(out))
    assert again.code == 0, again.stderr
    assert "@salesforce/cli@2.151.0" in out.read_text()
    assert [p.name for p in out.parent.iterdir()] == ["salesforce.yml"]  # no temp file left


def test_output_never_replaces_a_file_it_did_not_write_without_force(world: World, tmp_path: Path) -> None:
    profile(world, "hub")
    out = tmp_path / "ci.yml"
    out.write_text("name: the team's own workflow\n")
    refused = export(world, "hub", "--pip-spec", SPEC, "--output", str(out), "--json")
    assert refused.code == 2 and "--force" in refused.doc["error"]["fix"]
    assert out.read_text() == "name: the team's own workflow\n"
    forced = export(world, "hub", "--pip-spec", SPEC, "--output", str(out), "--force")
    assert forced.code == 0, forced.stderr
    assert out.read_text().startswith("# Written by sfjwt-orch ci export")


def test_fleet_aliases_is_one_matrix_job_listing_each_secret(world: World, tmp_path: Path) -> None:
    for alias in ("hub", "uat-eu", "prod.na"):
        profile(world, alias, key_file=own_key(world, alias))
    out = tmp_path / "fleet.yml"
    result = export(world, "--aliases", "hub,uat-eu", "--pip-spec", SPEC, "--output", str(out), "--json")
    assert result.code == 0, result.stderr
    doc = result.doc
    assert doc["alias"] is None and doc["aliases"] == ["hub", "uat-eu"] and doc["variables"] is None
    assert doc["secrets"] == [{"name": "SF_JWT_KEY_HUB", "alias": "hub", "aliases": ["hub"]},
                              {"name": "SF_JWT_KEY_UAT_EU", "alias": "uat-eu", "aliases": ["uat-eu"]}]  # fmt: skip
    assert out.read_text() == doc["snippet"] and "key_secret: SF_JWT_KEY_UAT_EU" in doc["snippet"]


def test_fleet_all_skips_incomplete_profiles_and_says_why(world: World) -> None:
    profile(world, "hub")
    profile(world, "half", client_id="")
    profile(world, "typo", username="not-an-email")
    result = export(world, "--all", "--format", "gitlab", "--pip-spec", SPEC, "--json")
    assert result.code == 0, result.stderr
    assert result.doc["aliases"] == ["hub"]
    reasons = {s["alias"]: s["reason"] for s in result.doc["skipped"]}
    assert reasons["half"] == "no complete profile for alias 'half' (no consumer key)"
    # A value no login accepts is refused when the profile is read (config.load re-validates it).
    assert "typo.toml" in reasons["typo"] and "'not-an-email' is not a Salesforce username" in reasons["typo"]
    assert set(reasons) == {"half", "typo"}
    assert "skipped half" in result.stderr and "skipped typo" in result.stderr


def test_fleet_include_key_gives_each_secret_its_value_apart(world: World) -> None:
    profile(world, "hub", key_file=own_key(world, "hub"))
    profile(world, "uat", key_file=own_key(world, "uat"))
    result = export(world, "--all", "--pip-spec", SPEC, "--include-key")
    assert result.code == 0, result.stderr
    job, _, secret = result.stdout.partition("# ---- the secret values")
    key = key_b64(world)
    assert key[:40] not in job
    assert secret.splitlines()[1:] == [f"SF_JWT_KEY_HUB={key}", f"SF_JWT_KEY_UAT={key}"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--aliases", "hub,nobody"), "unknown alias 'nobody'"),
        (("--aliases", "my-org,my.org"), "would both read the secret SF_JWT_KEY_MY_ORG"),
        (("--aliases", "hub,,uat"), "empty or repeated"),
        (("--aliases", "hub,hub"), "empty or repeated"),
        (("hub", "--all"), "name one alias, or pass --all or --aliases"),
        ((), "name one alias, or pass --all or --aliases"),
        (("--all", "--format", "env"), "--format env is for one alias"),
        (("hub", "--format", "env", "--include-key"), "would write the key to a file"),
        (("hub", "--pip-spec", "sfjwt-orch"), "not pinned"),
        (("hub", "--sf-version", "latest"), "not an exact version"),
    ],
)
def test_usage_errors_before_anything_is_written(world: World, tmp_path: Path, args: tuple[str, ...],
                                                 said: str) -> None:  # fmt: skip
    for alias in ("hub", "my-org", "my.org"):
        profile(world, alias)
    out = tmp_path / "out.yml"
    result = export(world, *args, *(("--pip-spec", SPEC) if "--pip-spec" not in args else ()),
                    "--output", str(out), "--json")  # fmt: skip
    assert result.code == 2 and said in result.doc["error"]["message"], result.doc
    assert set(result.doc) == FAILURE_KEYS and not out.exists()


def test_an_unknown_format_is_refused_by_its_choices(world: World, tmp_path: Path) -> None:
    # --format is an Enum (issue 21 item 6): Typer refuses other values before the command runs, so
    # the document is the bare envelope (it had the export's fields when the command checked it).
    profile(world, "hub")
    out = tmp_path / "out.yml"
    result = export(world, "hub", "--format", "jenkins", "--pip-spec", SPEC, "--output", str(out), "--json")
    error = result.doc["error"]
    assert result.code == 2 and error["code"] == "USAGE" and "'jenkins' is not one of" in error["message"]
    assert "github" in error["message"] and not out.exists()


def test_an_incomplete_named_alias_is_profile_not_found(world: World) -> None:
    profile(world, "half", username="")
    result = export(world, "half", "--pip-spec", SPEC, "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "PROFILE_NOT_FOUND"
    assert "bootstrap --alias half" in result.doc["error"]["fix"]


def test_include_key_with_a_missing_key_file_fails_before_writing(world: World, tmp_path: Path) -> None:
    profile(world, "hub", key_file=str(tmp_path / "gone.key"))
    out = tmp_path / "out.yml"
    result = export(world, "hub", "--pip-spec", SPEC, "--include-key", "--output", str(out), "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "KEY_NOT_FOUND" and not out.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "ci@acme.com\nrun: curl evil.example"), ("client_id", "3MVG9CLIENTID1234567\n  - run: x"),
     ("instance_url", "https://acme.my.salesforce.com\non: push")],
)  # fmt: skip
def test_a_hand_edited_value_that_would_break_the_file_is_refused(world: World, field: str, value: str) -> None:
    profile(world, "hub", **{field: value})
    result = export(world, "--aliases", "hub", "--pip-spec", SPEC, "--json")
    assert result.code == 2 and result.doc["error"]["code"] == "PROFILE_INVALID", result.doc
    # Refused when the profile is read, naming its file and the line (config.load re-validates values).
    assert "hub.toml" in result.doc["error"]["message"] and "U+000A" in result.doc["error"]["message"]


def test_aliases_that_share_one_key_share_one_secret(world: World) -> None:
    """Issue 24 item 10: a sandbox derived from production logs in with production's key file."""
    profile(world, "prod")
    profile(world, "prod-uat")  # the same key file
    profile(world, "other", key_file=own_key(world, "other"))
    result = export(world, "--all", "--pip-spec", SPEC, "--include-key", "--json")
    assert result.code == 0, result.stderr
    secrets = {s["name"]: s["aliases"] for s in result.doc["secrets"]}
    assert secrets == {"SF_JWT_KEY_OTHER": ["other"], "SF_JWT_KEY_PROD": ["prod", "prod-uat"]}
    assert "SF_JWT_KEY_PROD_UAT" not in result.doc["snippet"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8443", "https://localhost:8443"])
def test_a_loopback_login_url_is_warned_about_and_the_job_still_written(world: World, url: str) -> None:
    profile(world, "hub", instance_url=url, allow_non_salesforce_host=True, key_file=own_key(world, "hub"))
    result = export(world, "hub", "--pip-spec", SPEC, "--json")
    assert result.code == 0, result.stderr
    said = f"hub logs in at {url}: a loopback address no CI runner can reach"
    assert result.doc["warnings"] == [said] and result.doc["snippet"]
    assert f"a pipeline cannot use this as it is: {said}" in result.stderr


def test_a_profile_status_reports_broken_is_warned_about(world: World) -> None:
    profile(world, "hub")  # the session's certificate lasts 30 days: status says rotate
    result = export(world, "hub", "--format", "env", "--json")
    assert result.code == 0, result.stderr
    [warning] = result.doc["warnings"]
    assert re.fullmatch(r"hub: certificate expires in \d+ days \(sfjwt-orch rotate --alias hub\)", warning)


def test_a_healthy_profile_has_no_warnings(world: World) -> None:
    profile(world, "hub", key_file=own_key(world, "hub"))  # no certificate beside it: nothing to check
    result = export(world, "hub", "--pip-spec", SPEC, "--json")
    assert result.code == 0 and result.doc["warnings"] == []
