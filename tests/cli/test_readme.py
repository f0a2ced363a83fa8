"""The README (and the docs/ pages it links) is a contract: every sfjwt-orch command and flag it shows must exist as written."""

from __future__ import annotations

import re
import shlex

import pytest

from sfjwt_orch.cli import main
from tests import documents

README = documents.all_text()


def _examples() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("sfjwt-orch ")]


EXAMPLES = _examples()


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("argv", EXAMPLES, ids=[" ".join(a[:2]) for a in EXAMPLES])
def test_readme_example_names_real_commands_and_flags(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    words = [w for w in argv if not w.startswith("-")]
    # The command path is the leading words that are commands (the rest are values or arguments).
    path: list[str] = []
    for word in words:
        assert main([*path, word, "--help"]) in (0, 2)
        out = capsys.readouterr().out
        if not out.startswith("Usage:"):
            break
        path.append(word)
        if "Commands:" not in out:
            break
    assert main([*path, "--help"]) == 0
    help_text = capsys.readouterr().out
    for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
        assert re.search(rf"(^|[\s,/]){re.escape(flag)}\b", help_text), f"{flag} is not an option of {path}"
