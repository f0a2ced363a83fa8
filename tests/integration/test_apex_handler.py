"""The generated Apex is real Apex (issue 23): the handler and its test class, generated from specs
of both providers, parse with @apexdevtools/apex-parser (the Apex Dev Tools ANTLR grammar, run by
sf's own Node from .tools, installed by scripts/setup), and the spec they carry reads back whole."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from sfjwt_orch.keyless import apex
from sfjwt_orch.keyless.spec import Provider, TrustSpec, binding

ROOT = Path(__file__).parents[2]
PARSER_DIR = ROOT / ".tools" / "apex-parser"


@pytest.fixture(scope="module")
def node() -> str:
    """sf's Node (the exec line of .tools/bin/sf), with the parser installed beside sf by scripts/setup."""
    if not (PARSER_DIR / "node_modules" / "@apexdevtools" / "apex-parser").is_dir():
        subprocess.run(["bash", str(ROOT / "scripts" / "setup")], check=True)
    found = re.search(r'^exec "([^"]+)"', (ROOT / ".tools" / "bin" / "sf").read_text(), re.MULTILINE)
    assert found, ".tools/bin/sf is not the wrapper scripts/setup writes"
    return found.group(1)


def parse(node: str, *files: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        [node, str(ROOT / "scripts" / "apex" / "parse.cjs"), *map(str, files)],
        env={"APEX_PARSER_DIR": str(PARSER_DIR), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)["files"]  # type: ignore[no-any-return]


SPECS = {
    "github": TrustSpec(
        Provider.GITHUB,
        "https://token.actions.githubusercontent.com",
        "https://acme.my.salesforce.com",
        "o'brien@acme.com",  # a quote in a value must survive the Apex literal
        (
            binding(Provider.GITHUB, "acme/app", "refs/heads/main", "production"),
            binding(Provider.GITHUB, "acme/b", None, None),
        ),
    ),
    "gitlab": TrustSpec(
        Provider.GITLAB,
        "https://gitlab.example.com",
        "https://acme.my.salesforce.com",
        "ci@acme.com",
        (binding(Provider.GITLAB, "group/sub/project", "main", None),),
    ),
}


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_the_generated_handler_and_its_tests_parse_as_apex(node: str, tmp_path: Path, provider: str) -> None:
    spec = SPECS[provider]
    handler, test = apex.class_names("SfjwtOrch_" + "a_very_long_alias_name" * 3)
    assert len(handler) <= 40 and len(test) <= 40
    (tmp_path / f"{handler}.cls").write_text(apex.handler_class(spec, handler))
    (tmp_path / f"{test}.cls").write_text(apex.test_class(spec, handler, test))
    parsed = parse(node, tmp_path / f"{handler}.cls", tmp_path / f"{test}.cls")
    assert [(f["class"], f["errors"]) for f in parsed] == [(handler, []), (test, [])]
    assert json.loads(apex.extract_spec(apex.handler_class(spec, handler)) or "") == spec.to_json()


def test_the_parser_reports_what_is_not_apex(node: str, tmp_path: Path) -> None:
    """The check can fail: a handler with one character lost is refused, with the line named."""
    spec = SPECS["github"]
    broken = apex.handler_class(spec, "Broken_Tx").replace("return null;", "return null", 1)
    (tmp_path / "Broken_Tx.cls").write_text(broken)
    [found] = parse(node, tmp_path / "Broken_Tx.cls")
    assert found["errors"], found
