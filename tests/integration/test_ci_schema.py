"""The CI files `ci export` writes, checked by the real validator (check-jsonschema) against the
published GitHub workflow and GitLab CI schemas it ships (vendored: no download). Both programs run as
processes; a proxy on a closed loopback port makes sure neither could reach the network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sfjwt_orch import config
from sfjwt_orch.paths import Paths
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
        config.save(paths, config.Profile(alias, "3MVG9CLIENTID1234567", f"ci@acme.com.{alias}",
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
