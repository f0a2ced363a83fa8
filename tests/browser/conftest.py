"""The browser tier: Playwright driving Debian's chromium through the pages a person sees.

Runs in the normal suite. Where chromium or Playwright is missing the tier is skipped with the
reason; in CI (CI=true, where scripts/setup installs chromium with apt as root) a skip here is a
failure: the tier must run there. Playwright's own browser downloads are never used.
Screenshots are kept in test-artifacts/browser/ (gitignored) for a person or CI to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Read at import, before the autouse fixture clears every CI marker for the test itself.
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "browser"


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the browser tier must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        _missing("no chromium: install Debian's (apt-get install chromium; scripts/setup does it when CI=true as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as pw:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (kept after the run, as test artifacts)."""
    folder = ARTIFACTS / request.node.name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
