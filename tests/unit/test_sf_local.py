"""tools/sf/local.py: what sf keeps on this machine, read without starting sf."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfjwt_orch.tools.sf import local


@pytest.mark.parametrize(
    ("alias_json", "given", "expected"),
    [
        ({"orgs": {"admin": "admin@example.com"}}, "admin", "admin@example.com"),
        ({"orgs": {"admin": "admin@example.com"}}, "other", "other"),  # an alias sf does not know
        ({"orgs": {"admin": "admin@example.com"}}, "admin@example.com", "admin@example.com"),  # a username
        ({"orgs": {"admin": 7}}, "admin", "admin"),  # a value that is not a username
        ({"orgs": ["admin"]}, "admin", "admin"),
        (None, "admin", "admin"),  # no alias file
        ("{not json", "admin", "admin"),  # a broken one
    ],
)
def test_username_of_reads_sfs_alias_file(tmp_path: Path, alias_json: object, given: str, expected: str) -> None:
    folder = tmp_path / ".sfdx"
    folder.mkdir()
    if alias_json is not None:
        text = alias_json if isinstance(alias_json, str) else json.dumps(alias_json)
        (folder / "alias.json").write_text(text)
    assert local.username_of(given, {"HOME": str(tmp_path)}) == expected
