"""How tests/conftest.py deals a parallel run to its workers: the slowest tier at the head of every
worker's share (pytest-xdist's worksteal starts each worker at the head of a contiguous share)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import conftest

HERE = Path(conftest.__file__).parent


def _items(spec: str) -> list[Any]:
    """'e2e:3 unit:5' -> items in tests/e2e/t.py (3) and tests/unit/t.py (5), in that order."""
    items = []
    for part in spec.split():
        tier, n = part.split(":")
        items += [SimpleNamespace(path=HERE / tier / "t.py", name=f"{tier}{i}") for i in range(int(n))]
    return items


def test_each_workers_share_starts_with_its_part_of_the_slowest_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    items = _items("unit:8 cli:4 e2e:4 integration:4")
    conftest._deal_slow_tiers_first(items)
    shares = [items[i * 5 : (i + 1) * 5] for i in range(4)]  # worksteal's first split: equal and contiguous
    assert [share[0].name for share in shares] == ["e2e0", "e2e1", "e2e2", "e2e3"]
    assert [item.name for item in shares[0]] == ["e2e0", "integration0", "cli0", "unit0", "unit4"]
    assert sorted(item.name for item in items) == sorted(
        item.name for item in _items("unit:8 cli:4 e2e:4 integration:4")
    )


def test_a_run_in_one_process_keeps_the_folder_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    items = _items("unit:2 e2e:2")
    conftest._deal_slow_tiers_first(items)
    assert [item.name for item in items] == ["unit0", "unit1", "e2e0", "e2e1"]
