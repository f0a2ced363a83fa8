"""Small shapes of what people read (issue 14, smaller things): profiles list's columns, the
"Next:" block's comments."""

from __future__ import annotations

from sfjwt_orch.commands.profiles import table
from sfjwt_orch.flows.bootstrap import next_steps

ROWS = [["my-hub", "me@acme.com", "https://login.salesforce.com", "00D000000000001AAA"], ["ci", "-", "-", "-"]]
HEADERS = ["ALIAS", "USERNAME", "LOGIN URL", "ORG ID"]


def test_profiles_list_has_headers_and_aligned_columns_for_people() -> None:
    lines = table(HEADERS, ROWS, for_people=True).splitlines()
    assert lines[0].split() == ["ALIAS", "USERNAME", "LOGIN", "URL", "ORG", "ID"]
    starts = [
        line.index("ORG ID") if i == 0 else line.rindex(row[-1])
        for i, (line, row) in enumerate(zip(lines, [HEADERS, *ROWS], strict=True))
    ]
    assert len(set(starts)) == 1, lines  # the last column starts at the same place on every line


def test_profiles_list_for_a_pipe_is_tab_separated_without_headers() -> None:
    assert table(HEADERS, ROWS, for_people=False) == "".join("\t".join(r) + "\n" for r in ROWS)


def test_next_steps_comments_are_aligned() -> None:
    lines = next_steps("a-rather-long-alias-name").splitlines()[1:4]  # the commands; the last line is words
    assert len(lines) == 3 and len({line.index("  # ") for line in lines}) == 1
