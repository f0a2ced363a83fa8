"""Shared fixtures: every test runs with its own config/data/home dirs and a clean environment.

No test may touch the real home directory or inherit the developer's sf, CI, browser or proxy
settings [pre-commit `dont_write_to_home_directory`].

Tiers: each test is marked with the folder it lives in (tests/<tier>/...), so a new test file
cannot forget its marker. A bare `pytest` runs the fast tiers (unit, cli); naming a folder or
file runs what it names, and `-m` picks tiers (`-m e2e`); scripts/test runs them all.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sfjwt_orch.ui.interactive import _CI_VARS

_SCRUB_PREFIXES = ("SF_", "SFDX_", "SFJWT_ORCH_")
_SCRUB = {
    *_CI_VARS,  # every CI marker the tool knows: a test never runs "in CI" by accident
    "BROWSER",
    # A CI job's identity-token request (GitHub, with id-token: write): login --oidc must not find it.
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "NODE_OPTIONS",
    "NODE_COMPILE_CACHE",
    "NODE_DISABLE_COMPILE_CACHE",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "NO_COLOR",
    "FORCE_COLOR",
}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    for name in list(os.environ):
        if name in _SCRUB or name.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    dirs = {name: tmp_path / name for name in ("config", "data", "home")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("SFJWT_ORCH_CONFIG_DIR", str(dirs["config"]))
    monkeypatch.setenv("SFJWT_ORCH_DATA_DIR", str(dirs["data"]))
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("COLUMNS", "200")  # keep rich from wrapping messages mid-assertion
    return dirs


HERE = Path(__file__).parent
DATA = HERE / "data"
TIERS = ("unit", "cli", "integration", "e2e", "browser")
FAST = ("unit", "cli")
SLOWEST_FIRST = ("e2e", "browser", "integration", "cli", "unit")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(_tier(item))
    _deal_slow_tiers_first(items)
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS or config.getoption("markexpr"):
        return  # a folder, a file or -m was named: run what was asked for
    fast = [item for item in items if _tier(item) in FAST]
    if len(fast) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if _tier(item) not in FAST])
        items[:] = fast


def _deal_slow_tiers_first(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (scripts/test: --dist worksteal) each worker is first given one contiguous
    share of the run, starts from its head, and idle workers steal from the tail of the busiest.
    Left in folder order, every e2e test fell into one worker's share and ran one after another
    (~8 of the suite's 9 minutes). So the tests are dealt round-robin, slowest tier first, into one
    lane per worker: each share starts with its part of the real-sf tests, and the quick ones fill
    in around them. Every worker collects, and deals the same way, so their collections agree."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if workers < 2:
        return
    ordered = sorted(items, key=lambda item: SLOWEST_FIRST.index(_tier(item)))  # stable: file order within a tier
    items[:] = [item for lane in range(workers) for item in ordered[lane::workers]]


def _tier(item: pytest.Item) -> str:
    try:
        tier = item.path.relative_to(HERE).parts[0]
    except ValueError:
        tier = ""
    if tier not in TIERS:
        raise pytest.UsageError(f"{item.nodeid}: every test lives in a tier folder, tests/<{'|'.join(TIERS)}>/")
    return tier


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.args_source is pytest.Config.ArgsSource.TESTPATHS and not config.getoption("markexpr"):
        return "tiers: unit and cli only (a bare pytest); scripts/test runs every tier, or name one: pytest tests/e2e"
    return None
