"""The fleet's pure parts: which failure decides the exit code, and the summary."""

from __future__ import annotations

import pytest

from sfjwt_orch.flows.fleet import document, most_severe, summary


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], 0),
        ([0, 0], 0),
        ([4], 4),
        ([0, 4, 3], 3),
        ([3, 2], 2),
        ([2, 5, 3], 5),
        ([4, 5, 1], 1),
        ([1, 130, 5], 130),
        ([4, 3, 2, 5, 1, 130], 130),
    ],
)
def test_the_most_severe_exit_code_wins_in_the_documented_order(codes: list[int], expected: int) -> None:
    assert most_severe(codes) == expected


def _doc(ok: bool, code: str | None = None) -> dict[str, object]:
    return {"ok": ok, "error": {"code": code} if code else None}


def test_summary_counts_successes_failures_and_codes() -> None:
    docs = [_doc(True), _doc(False, "NOT_APPROVED"), _doc(False, "INVALID_ASSERTION"), _doc(False, "NOT_APPROVED")]
    assert summary(docs) == {
        "succeeded": 1,
        "failed": 3,
        "by_code": {"INVALID_ASSERTION": 1, "NOT_APPROVED": 2},
    }


def test_the_document_is_ok_only_when_every_alias_is() -> None:
    assert document([_doc(True), _doc(True)])["ok"] is True
    assert document([_doc(True), _doc(False, "NETWORK")])["ok"] is False
    assert document([]) == {"ok": False, "results": [], "summary": {"succeeded": 0, "failed": 0, "by_code": {}}}
