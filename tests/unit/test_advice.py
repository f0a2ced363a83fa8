"""One piece of Dev Hub advice everywhere (issue 14, item 6): the README, docs/app-create.md,
bootstrap's checklist and `app create --help` quote the same sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfjwt_orch.commands.app import CREATE_HELP
from sfjwt_orch.flows.answers import checklist
from sfjwt_orch.salesforce.advice import DEV_HUB

ROOT = Path(__file__).parents[2]


def words(text: str) -> str:
    return " ".join(text.replace("Note: ", "").split())


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("README.md", (ROOT / "README.md").read_text()),
        ("docs/app-create.md", (ROOT / "docs" / "app-create.md").read_text()),
        ("bootstrap's checklist", checklist("http://localhost:1717/OauthRedirect", Path("server.crt"), "AA:BB")),
        ("app create --help", CREATE_HELP),
    ],
)
def test_the_dev_hub_advice_is_the_same_everywhere(where: str, text: str) -> None:
    assert words(DEV_HUB) in words(text), where
    # and nothing older contradicts it, e.g. a Dev Hub told to use an External Client App
    assert "Dev Hub user" not in text


def test_the_checklist_is_short_enough_to_read_before_a_prompt() -> None:
    text = checklist("http://localhost:1717/OauthRedirect", Path("/k/server.crt"), "AA:BB")
    assert len(text.splitlines()) <= 14
    assert "Upload Files: /k/server.crt" in text
