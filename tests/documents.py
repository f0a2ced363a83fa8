"""The README and the docs/ pages it links: together they are the user's documentation, and its promises."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def readme_pages() -> dict[str, str]:
    """README.md and every docs/ page it links, by path relative to the project root."""
    readme = (ROOT / "README.md").read_text()
    pages = {"README.md": readme}
    for link in re.findall(r"\]\((docs/[^)#]+\.md)(?:#[^)]*)?\)", readme):
        pages[link] = (ROOT / link).read_text()
    return pages


def all_text() -> str:
    return "\n\n".join(readme_pages().values())
