"""No module of the product imports another module's private (underscore) name: what one module
needs from another is a public function of it (issue 23: flows/trust.py took tools/sf/local.py's
`_load`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "sfjwt_orch"


def test_no_module_imports_another_modules_private_name() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # Absolute imports of the package, and relative ones (the emulator's).
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("sfjwt_orch")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                found += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.module}.{n}" for n in private]
    assert found == []
