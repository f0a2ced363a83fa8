"""The Node check of sf (tools/sf/node.py): npm ranges as `engines` fields write them, the client sf's
folder resolves, where an sf executable's package and Node are, and a crash as sf starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfjwt_orch.errors import Code
from sfjwt_orch.tools.runner import CommandResult
from sfjwt_orch.tools.sf import node as nodes
from sfjwt_orch.tools.sf.parse import parse_login
from tests.conftest import DATA


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ((20, 20, 2), ">=22.19.0", False),  # sf 2.146.3's undici on Debian 13's Node
        ((22, 19, 0), ">=22.19.0", True),
        ((24, 19, 0), ">=22.19.0", True),
        ((20, 18, 1), ">=20.18.1", True),
        ((20, 18, 0), ">=20.18.1", False),
        ((18, 17, 0), ">=18.17", True),
        ((18, 20, 0), "^18.17.0 || >=20.5.0", True),
        ((19, 0, 0), "^18.17.0 || >=20.5.0", False),
        ((20, 5, 0), "^18.17.0 || >=20.5.0", True),
        ((22, 5, 1), "22.x", True),
        ((23, 0, 0), "22.x", False),
        ((22, 1, 9), "~22.1", True),
        ((22, 2, 0), "~22.1", False),
        ((21, 0, 0), ">=18 <21", False),
        ((20, 9, 9), ">=18 <21", True),
        ((20, 0, 0), "18 - 20", True),
        ((21, 0, 0), ">20", True),
        ((20, 9, 0), ">20", False),
        ((0, 0, 1), "*", True),
    ],
)
def test_satisfies_reads_npm_ranges(version: tuple[int, int, int], spec: str, ok: bool) -> None:
    assert nodes.satisfies(version, spec) is ok


def test_a_range_it_does_not_understand_gives_no_verdict() -> None:
    assert nodes.satisfies((24, 0, 0), "latest") is None
    need = nodes.Need("undici 9.0.0", "node-lts", Path("/x"))
    assert need.problem((12, 0, 0)) is None  # no verdict: the sf is not skipped over a guess


def test_lowest_is_the_version_to_install() -> None:
    assert nodes.lowest(">=22.19.0") == (22, 19, 0)
    assert nodes.lowest("^18.17.0 || >=20.5.0") == (20, 5, 0)


def _package(folder: Path, name: str, **fields: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": name, **fields}))
    return folder


def test_the_client_is_the_one_node_resolves_from_sfs_folder(tmp_path: Path) -> None:
    # A prefix install hoists undici beside sf (scripts/setup, sf install); a global one nests it.
    root = _package(tmp_path / "a" / "node_modules" / "@salesforce" / "cli", "@salesforce/cli")
    _package(tmp_path / "a" / "node_modules" / "undici", "undici", version="8.14.0", engines={"node": ">=22.19.0"})
    need = nodes.client_need(root)
    assert need is not None and need.package == "undici 8.14.0" and need.node_range == ">=22.19.0"
    assert (
        need.problem((20, 20, 2))
        == "sf runs on Node v20.20.2, but its HTTP client (undici 8.14.0) needs Node >=22.19.0"
    )
    assert need.fix().startswith("install Node 22.19.0 or newer") and "sfjwt-orch sf install" in need.fix()
    _package(root / "node_modules" / "undici", "undici", version="7.0.0", engines={"node": ">=20.18.1"})
    nested = nodes.client_need(root)
    assert nested is not None and nested.package == "undici 7.0.0"  # the nearer copy wins, as in Node
    assert nodes.client_need(tmp_path / "b" / "cli") is None  # none in its folder nor above it


def test_locate_reads_npm_links_wrappers_and_installer_layouts(tmp_path: Path) -> None:
    root = _package(tmp_path / "lib" / "node_modules" / "@salesforce" / "cli", "@salesforce/cli")
    (root / "bin").mkdir()
    run = root / "bin" / "run.js"
    run.write_text("#!/usr/bin/env node\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "node").write_text("")
    (tmp_path / "bin" / "node").chmod(0o755)
    link = tmp_path / "bin" / "sf"
    link.symlink_to(run)
    found = nodes.locate(str(link), {"PATH": str(tmp_path / "bin")})
    assert found == nodes.Install(root, str(tmp_path / "bin" / "node"))  # the node on PATH runs it

    wrapper = tmp_path / "wrapper"
    wrapper.write_text(f'#!/bin/sh\n# made by sfjwt-orch sf install\nexec "/opt/n o/node" "{run}" "$@"\n')
    assert nodes.locate(str(wrapper), {}) == nodes.Install(root, "/opt/n o/node")

    installer = _package(tmp_path / "sf", "@salesforce/cli")
    (installer / "bin").mkdir()
    (installer / "bin" / "sf").write_text('#!/usr/bin/env bash\nDIR=$(dirname "$0")\n"$DIR/node" "$DIR/run" "$@"\n')
    (installer / "bin" / "node").write_text("")
    assert nodes.locate(str(installer / "bin" / "sf"), {}) == nodes.Install(installer, str(installer / "bin" / "node"))

    unknown = tmp_path / "fake-sf"
    unknown.write_text("#!/usr/bin/env python3\nprint('hi')\n")
    assert nodes.locate(str(unknown), {}) == nodes.Install(None, None)


def test_a_crash_at_start_is_sf_failed_with_the_node_to_install(tmp_path: Path) -> None:
    """Measured: sf 2.146.3 on Node v20.20.2 (tests/data/sf-outputs/crash_at_start_node20.*)."""
    install = tmp_path / "sf-install"
    _package(install / "node_modules" / "undici", "undici", version="8.14.0", engines={"node": ">=22.19.0"})
    stderr = (DATA / "sf-outputs" / "crash_at_start_node20.human.stderr").read_text()
    result = CommandResult(("sf",), 1, "", stderr.replace("<sf-install>", str(install)), 0.7)
    outcome = parse_login(result)
    assert not hasattr(outcome, "org_id")
    assert outcome.code is Code.SF_FAILED
    assert outcome.message == (
        "sf org login jwt crashed as it started, on Node v20.20.2: TypeError: Cannot read properties of undefined "
        "(reading 'bind') in undici/lib/interceptor/decompress.js"
    )
    assert outcome.fix.startswith("install Node 22.19.0 or newer for sf") and "sfjwt-orch sf install" in outcome.fix
    assert "reinstall" not in outcome.fix
    # Without sf's folder to read, the fix still names doctor and sf install, never "reinstall".
    elsewhere = parse_login(CommandResult(("sf",), 1, "", stderr, 0.7))
    assert elsewhere.code is Code.SF_FAILED and "sfjwt-orch sf install" in elsewhere.fix
    assert "reinstall" not in elsewhere.fix


def test_only_nodes_own_report_counts_as_a_crash() -> None:
    assert nodes.crash_at_start("Error: something\n    at x (/a/b.js:1:2)\n") is None
    assert nodes.crash_at_start("") is None
