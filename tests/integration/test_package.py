"""What a release publishes, checked as a user would get it (issue 25): `python -m build` makes an
sdist and a wheel (the wheel built from the sdist, so a file missing from the sdist shows), both
pass `twine check`, and the wheel installs into a fresh venv with no index (the dependencies come
from the wheelhouse scripts/setup filled from requirements/runtime.lock), where `--version`,
`--help` and `emulator serve` (which needs the package data: the loopback guard) work, and `sf install`
names the [sf] extra it was installed without. No network:
the builder runs --no-isolation and every program gets a proxy on a closed loopback port."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sfjwt_orch import __version__

ROOT = Path(__file__).parents[2]
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
           "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
_SKIP = shutil.ignore_patterns(".git", ".venv", ".tools", "build", "dist", "*.egg-info", "__pycache__",
                               ".*_cache", "test-artifacts", ".hypothesis")  # fmt: skip


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **OFFLINE}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built from a copy of the source tree (the build writes egg-info)."""
    src = tmp_path_factory.mktemp("src") / "sfjwt-orch"
    shutil.copytree(ROOT, src, ignore=_SKIP)
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


def test_the_sdist_and_wheel_carry_one_version_and_pass_twine_check(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == [f"sfjwt_orch-{__version__}-py3-none-any.whl", f"sfjwt_orch-{__version__}.tar.gz"]
    checked = _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2, checked.stdout


def test_the_wheel_installs_offline_and_runs(dist: Path, tmp_path: Path) -> None:
    if not (WHEELHOUSE / ".done").exists():
        pytest.fail(f"no wheelhouse at {WHEELHOUSE}: run scripts/setup (it fetches the dependencies' wheels)")
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    wheel = next(dist.glob("*.whl"))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--find-links", str(WHEELHOUSE)]
    installed = _run([*pip, str(wheel)])
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    exe = str(venv / "bin" / "sfjwt-orch")

    version = _run([exe, "--version"])
    assert version.returncode == 0 and version.stdout.strip() == f"sfjwt-orch {__version__}", version
    shown = _run([exe, "--help"])
    assert shown.returncode == 0 and "sf " in shown.stdout and "emulator" in shown.stdout, shown

    # Installed without the [sf] extra there is no Node from PyPI: sf install says how to get it.
    no_node = _run([exe, "sf", "install", "--json"])
    error = json.loads(no_node.stdout)["error"]
    assert no_node.returncode == 5 and error["code"] == "SF_NOT_FOUND", no_node
    assert "'sfjwt-orch[sf]'" in error["fix"] and "uv tool install" in error["fix"]

    serve = subprocess.Popen([exe, "emulator", "serve", "--port", "0", "--json"], env={**os.environ, **OFFLINE},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        assert serve.stdout is not None
        first = json.loads(serve.stdout.readline())
    finally:
        serve.send_signal(signal.SIGINT)
        _, err = serve.communicate(timeout=60)
    assert first["ok"] and first["url"].startswith("http://127.0.0.1:"), first
    # The package data, where the installed package looks for it: the loopback guard (its path is what
    # `emulator run` puts in NODE_OPTIONS; serve no longer prints it since issue 24 item 12), the
    # fleet's Node helper and Salesforce's Metadata API schema the emulator validates deploys with.
    guard = _run([str(venv / "bin" / "python"), "-I", "-c", "import sfjwt_orch.emulator as e; print(e.guard_path())"])
    assert guard.returncode == 0 and guard.stdout.strip().startswith(str(venv)), guard
    package = Path(guard.stdout.strip()).parents[1]
    assert Path(guard.stdout.strip()).is_file(), guard
    assert (package / "tools" / "sf" / "fleet_login.cjs").is_file()
    assert sorted(p.name for p in (package / "emulator" / "deploy" / "schema").glob("metadata-*.xsd")), package
    assert "Traceback" not in err, err
