"""Which sf every command runs (tools/sf/discover.py), with the real runner and sf installs laid
out as npm lays them, whose `node` is a stand-in that only tells its version: SFJWT_ORCH_SF as
given, a PATH sf whose Node suits its HTTP client, else the managed one; a PATH sf on a Node its
undici does not accept is skipped with a note, and with nothing else the error names `sf install`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.tools.runner import ProcessRunner
from sfjwt_orch.tools.sf.discover import discover
from tests.integration.conftest import Cli


def npm_install(folder: Path, node_says: str, needs: str = ">=22.19.0") -> Path:
    """bin/sf -> lib/node_modules/@salesforce/cli/bin/run.js (`#!/usr/bin/env node`), undici nested
    inside, and bin/node answering `--version` with `node_says`. Returns the bin folder."""
    root = folder / "lib" / "node_modules" / "@salesforce" / "cli"
    (root / "bin").mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "@salesforce/cli", "version": "2.146.3"}))
    run = root / "bin" / "run.js"
    run.write_text("#!/usr/bin/env node\n")
    run.chmod(0o755)
    undici = root / "node_modules" / "undici"
    undici.mkdir(parents=True)
    (undici / "package.json").write_text(
        json.dumps({"name": "undici", "version": "8.14.0", "engines": {"node": needs}})
    )
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "sf").symlink_to(run)
    node = bin_dir / "node"
    node.write_text(f"#!/bin/sh\necho {node_says}\n")
    node.chmod(0o755)
    return bin_dir


def managed(data: Path) -> Path:
    launcher = data / "sf" / "bin" / "sf"
    launcher.parent.mkdir(parents=True)
    launcher.write_text("#!/bin/sh\necho '@salesforce/cli/2.150.6 linux-x64 node-v24.19.0'\n")
    launcher.chmod(0o755)
    return launcher


def env_with(path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{path}{os.pathsep}/usr/bin{os.pathsep}/bin", **extra}


def test_a_path_sf_whose_node_suits_it_is_used(tmp_path: Path) -> None:
    bin_dir = npm_install(tmp_path / "g", "v24.19.0")
    found = discover(env_with(bin_dir), ProcessRunner(), managed(tmp_path / "data"))
    assert (found.exe, found.source, found.skipped) == (str(bin_dir / "sf"), "PATH", ())


def test_a_path_sf_on_a_node_too_old_is_skipped_for_the_managed_one(tmp_path: Path) -> None:
    bin_dir = npm_install(tmp_path / "g", "v20.20.2")
    launcher = managed(tmp_path / "data")
    found = discover(env_with(bin_dir), ProcessRunner(), launcher)
    assert (found.exe, found.source) == (str(launcher), "managed")
    assert found.skipped == (
        f"skipped the sf on PATH ({bin_dir / 'sf'}): sf runs on Node v20.20.2, but its HTTP client "
        "(undici 8.14.0) needs Node >=22.19.0",
    )


def test_with_nothing_else_a_path_sf_too_old_is_sf_failed_with_the_node_to_install(tmp_path: Path) -> None:
    bin_dir = npm_install(tmp_path / "g", "v20.20.2")
    with pytest.raises(SfjwtError) as caught:
        discover(env_with(bin_dir), ProcessRunner(), tmp_path / "data" / "sf" / "bin" / "sf")
    assert caught.value.code is Code.SF_FAILED and "needs Node >=22.19.0" in caught.value.message
    assert caught.value.fix.startswith("install Node 22.19.0 or newer") and "sfjwt-orch sf install" in caught.value.fix


def test_sfjwt_orch_sf_is_used_as_given_even_when_its_node_is_too_old(tmp_path: Path) -> None:
    bin_dir = npm_install(tmp_path / "g", "v20.20.2")
    chosen = str(bin_dir / "sf")
    found = discover(env_with(bin_dir, SFJWT_ORCH_SF=chosen), ProcessRunner(), managed(tmp_path / "data"))
    assert (found.exe, found.source) == (chosen, "SFJWT_ORCH_SF")


def test_no_sf_at_all_names_sf_install(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SfjwtError) as caught:
        discover({"PATH": str(empty)}, ProcessRunner(), tmp_path / "data" / "sf" / "bin" / "sf")
    assert caught.value.code is Code.SF_NOT_FOUND and "sfjwt-orch sf install" in caught.value.fix


def test_sf_status_and_doctor_say_which_sf_and_why(cli: Cli, tmp_path: Path) -> None:
    bin_dir = npm_install(tmp_path / "g", "v20.20.2")
    launcher = managed(Path(cli.env["SFJWT_ORCH_DATA_DIR"]))
    path = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    status = cli.run("sf", "status", "--json", PATH=path)
    doc = json.loads(status.stdout)
    assert status.returncode == 0, status.stderr
    assert doc["ok"] and doc["sf"]["path"] == str(launcher) and doc["sf"]["source"] == "managed"
    assert doc["version"] == "2.150.6 (node v24.19.0)" and doc["managed"]["installed"]
    assert f"skipped the sf on PATH ({bin_dir / 'sf'})" in status.stderr
    plain = cli.run("sf", "status", PATH=path)
    assert plain.stdout == f"{launcher}\n"  # the result alone on stdout: $(sfjwt-orch sf status)

    launcher.unlink()
    failed = cli.run("sf", "status", "--json", PATH=path)
    doc = json.loads(failed.stdout)
    assert failed.returncode == 5 and not doc["ok"] and doc["error"]["code"] == "SF_FAILED"
    assert "sfjwt-orch sf install" in doc["error"]["fix"] and not doc["managed"]["installed"]
