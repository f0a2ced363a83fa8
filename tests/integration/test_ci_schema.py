"""The CI files `ci export` writes, checked by the real validator (check-jsonschema) against the
published GitHub workflow and GitLab CI schemas it ships (vendored: no download). Both programs run as
processes; a proxy on a closed loopback port makes sure neither could reach the network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sfjwt_orch.store import profiles
from sfjwt_orch.store.paths import Paths
from tests.integration.conftest import Cli

SPEC = "https://files.acme.com/sfjwt_orch-0.1.0-py3-none-any.whl"
SCHEMAS = {
    "github": ["vendor.github-workflows", "custom.github-workflows-require-timeout"],
    "gitlab": ["vendor.gitlab-ci"],
}
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def save_profiles(cli: Cli, aliases: list[str]) -> None:
    paths = Paths.from_env(cli.env)
    for alias in aliases:
        profiles.save(paths, profiles.Profile(alias, "3MVG9CLIENTID1234567", f"ci@acme.com.{alias}",
                                          "https://acme--uat.sandbox.my.salesforce.com"))  # fmt: skip


def validate(path: Path, fmt: str) -> None:
    for schema in SCHEMAS[fmt]:
        checked = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
            capture_output=True, text=True, timeout=120, env={**OFFLINE, "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        assert checked.returncode == 0, f"{schema}: {checked.stdout}{checked.stderr}"


@pytest.mark.parametrize("fmt", ["github", "gitlab"])
@pytest.mark.parametrize(
    ("which", "count", "jobs"),
    [(["one"], 1, 1), (["--aliases", "a-1,b.2,c_3"], 3, 1), (["--all"], 257, 2)],
    ids=["single", "fleet", "split"],
)
def test_exported_files_pass_the_published_schema(cli: Cli, tmp_path: Path, fmt: str, which: list[str], count: int,
                                                 jobs: int) -> None:  # fmt: skip
    save_profiles(
        cli, ["one"] if which == ["one"] else ["a-1", "b.2", "c_3"] if count == 3 else [f"org{n}" for n in range(count)]
    )
    out = tmp_path / "ci" / f"{fmt}.yml"
    result = cli.run("ci", "export", *which, "--format", fmt, "--pip-spec", SPEC, "--output", str(out), "--json")
    assert result.returncode == 0, result.stderr
    written = out.read_text()
    assert written.count("sfjwt-orch login ") == jobs  # one login command per job
    validate(out, fmt)


def test_a_broken_file_fails_the_validator(tmp_path: Path) -> None:
    """The check above can fail: a workflow without `runs-on` is refused."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    steps:\n      - run: echo\n")
    with pytest.raises(AssertionError, match="runs-on"):
        validate(bad, "github")


@pytest.mark.parametrize("fmt", ["github", "gitlab"])
def test_keyless_jobs_pass_the_published_schema_and_hold_no_secret(cli: Cli, tmp_path: Path, fmt: str) -> None:
    """ci export --oidc (issue 23): the identity-token permission or id_tokens entry, the bound
    environment as the job's, login --oidc with the flags it needs, and no secret reference at all."""
    paths = Paths.from_env(cli.env)
    profiles.save(paths, profiles.Profile("ci", "3MVG9CLIENTID1234567", "ci@acme.com", "https://acme.my.salesforce.com",
                                      oidc_provider=fmt, oidc_issuer="https://issuer.example.com"))  # fmt: skip
    record = paths.data_dir / "trust" / "ci.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"bindings": [{"environment": "production", "repository": "acme/app"}]}')
    out = tmp_path / "ci" / f"{fmt}.yml"
    result = cli.run(
        "ci", "export", "ci", "--oidc", "--format", fmt, "--pip-spec", SPEC, "--output", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    written = out.read_text()
    validate(out, fmt)
    assert f"--oidc {fmt} --client-id" in written and "environment: production" in written
    assert ("id-token: write" in written) if fmt == "github" else ("aud: https://acme.my.salesforce.com" in written)
    assert "secrets." not in written and "SF_JWT_KEY" not in written and "--key-env" not in written
    other = "gitlab" if fmt == "github" else "github"
    refused = cli.run("ci", "export", "ci", "--oidc", "--format", other, "--pip-spec", SPEC, "--json")
    assert refused.returncode == 2 and f"pass --format {fmt}" in refused.stdout
