"""Did you mean …? for aliases: close names are offered, unrelated ones and the name itself are not."""

from __future__ import annotations

import pytest

from sfjwt_orch.store.suggest import closest


@pytest.mark.parametrize(
    ("typed", "known", "offered"),
    [
        ("hbu", ["hub", "ci"], "hub"),
        ("my_hub", ["my-hub", "prod"], "my-hub"),
        ("prod-sandbx", ["prod", "prod-sandbox"], "prod-sandbox"),
        ("zzz", ["hub", "ci"], None),
        ("hub", ["hub"], None),  # saved already: nothing to suggest
        ("hub", [], None),
    ],
)
def test_closest(typed: str, known: list[str], offered: str | None) -> None:
    assert closest(typed, known) == offered
