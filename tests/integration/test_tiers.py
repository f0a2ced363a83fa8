"""The tiers a pytest run selects (tests/conftest.py): a bare pytest runs the fast tiers only; a
named folder, file or -m runs what it names; every test carries its tier's marker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def collected(*args: str) -> tuple[list[str], str]:
    """The node ids `pytest --collect-only` lists, run as a person would in the project folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SFJWT_ORCH_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    return ids, result.stdout


def test_a_bare_pytest_runs_the_unit_and_cli_tiers_only() -> None:
    ids, out = collected()
    tiers = {node.split("/")[1] for node in ids}
    assert tiers == {"unit", "cli"}, tiers
    assert "deselected" in out  # the other tiers are there, and said to be left out


def test_a_named_folder_or_marker_runs_that_tier() -> None:
    ids, _ = collected("tests/browser")
    assert ids and {node.split("/")[1] for node in ids} == {"browser"}
    # -m picks by the marker the folder gave (only two folders collected, to keep it quick).
    ids, _ = collected("-m", "integration", "tests/integration/test_tiers.py", "tests/unit/test_urls.py")
    assert ids == [
        "tests/integration/test_tiers.py::test_a_bare_pytest_runs_the_unit_and_cli_tiers_only",
        "tests/integration/test_tiers.py::test_a_named_folder_or_marker_runs_that_tier",
    ]
