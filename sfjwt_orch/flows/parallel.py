"""A small bounded parallel runner: one job per item, at most `limit` at a time, results in the
items' order. The jobs are sf runs (a second or more each, mostly waiting on a child process), so
threads are enough; each job gets its own sf process and touches only its own alias's files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_limit() -> int:
    return max(2, os.cpu_count() or 2)


def run_all(items: Sequence[T], job: Callable[[T], R], limit: int | None = None) -> list[R]:
    if not items:
        return []
    workers = max(1, min(limit or default_limit(), len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sfjwt-orch") as pool:
        return list(pool.map(job, items))
