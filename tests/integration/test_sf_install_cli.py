"""`sfjwt-orch sf install` when it cannot finish: the real Node from PyPI and the real npm, offline
with an empty cache, so npm fails as it would without the registry. Nothing is half-installed: the
temporary folder goes, and the sf installed before keeps working, unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import Cli


def test_a_failed_install_leaves_the_previous_sf_as_it_was(cli: Cli, tmp_path: Path) -> None:
    home = Path(cli.env["SFJWT_ORCH_DATA_DIR"]) / "sf"
    launcher = home / "bin" / "sf"
    launcher.parent.mkdir(parents=True)
    before = "#!/bin/sh\necho '@salesforce/cli/2.150.6 linux-x64 node-v24.19.0'\n"
    launcher.write_text(before)
    launcher.chmod(0o755)
    offline = {"npm_config_cache": str(tmp_path / "empty-npm-cache"), "npm_config_offline": "true",
               "npm_config_logs_dir": str(tmp_path / "npm-logs")}  # fmt: skip
    result = cli.run("sf", "install", "--version", "2.99.0", "--json", timeout=300, **offline)
    doc = json.loads(result.stdout)
    assert result.returncode == 5 and doc["error"]["code"] == "SF_FAILED", result.stderr
    assert doc["error"]["message"].startswith("npm could not install @salesforce/cli@2.99.0")
    assert "npm view @salesforce/cli versions" in doc["error"]["fix"]
    assert launcher.read_text() == before
    assert sorted(p.name for p in home.iterdir()) == [".lock", "bin"]  # no .install-*, no versions/2.99.0
    status = cli.run("sf", "status", "--json", PATH="/usr/bin:/bin")
    assert json.loads(status.stdout)["sf"]["path"] == str(launcher)


def test_a_version_that_is_not_exact_is_refused_before_anything_is_written(cli: Cli) -> None:
    result = cli.run("sf", "install", "--version", "2.150", "--json")
    doc = json.loads(result.stdout)
    assert result.returncode == 2 and doc["error"]["code"] == "USAGE" and "2.150.6" in doc["error"]["fix"]
    assert not (Path(cli.env["SFJWT_ORCH_DATA_DIR"]) / "sf").exists()


def test_uninstall_with_nothing_installed_says_so(cli: Cli) -> None:
    result = cli.run("sf", "uninstall", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["removed"] is False, result.stderr
