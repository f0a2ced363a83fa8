"""The emulator is a part apart (issue 21 item 9): it imports nothing of the product but one declared
module, through one file; the product reaches the emulator only through its package interface.

Every import statement is walked (module level and inside functions, TYPE_CHECKING blocks included),
with relative imports resolved, so a late or lazy import cannot slip past."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import sfjwt_orch
from sfjwt_orch.emulator import product

PACKAGE = Path(sfjwt_orch.__file__).resolve().parent
EMULATOR = PACKAGE / "emulator"
DOOR = EMULATOR / "product.py"


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, text: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in the file (or in ``text``, as if it were that file)."""
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text)
    package = _module_of(path) if path.name == "__init__.py" else _module_of(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from pkg import sub` may import a submodule: count each name too.
            yield node.lineno, module
            yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)


def _is_product(module: str) -> bool:
    # The bare package is the parent of every `from sfjwt_orch import x`; x itself is what is checked.
    return module.startswith("sfjwt_orch.") and not module.startswith("sfjwt_orch.emulator")


def _known(module: str) -> bool:
    """Whether ``module`` names a real module or package (not a function imported from one)."""
    relative = Path(*module.split("."))
    return (PACKAGE.parent / relative).with_suffix(".py").is_file() or (PACKAGE.parent / relative).is_dir()


def test_the_emulator_imports_only_its_declared_product_module_through_one_file() -> None:
    reached: dict[str, list[str]] = {}
    for path in sorted(EMULATOR.rglob("*.py")):
        for line, module in _imports(path):
            if _is_product(module) and _known(module):
                reached.setdefault(module, []).append(f"{path.relative_to(PACKAGE)}:{line}")
    assert set(reached) == {product.PRODUCT_MODULE}, reached
    assert {where.split(":")[0] for where in reached[product.PRODUCT_MODULE]} == {"emulator/product.py"}


def test_the_product_uses_the_emulator_through_its_interface_only() -> None:
    reached = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if EMULATOR in path.parents:
            continue
        for line, module in _imports(path):
            if module.startswith("sfjwt_orch.emulator.") and _known(module):
                reached.append(f"{path.relative_to(PACKAGE)}:{line} {module}")
    assert reached == []


def test_the_walk_sees_relative_late_and_type_checking_imports() -> None:
    """The checker itself: each way of reaching the product is found (a check that cannot fail is no check)."""
    text = (
        "from typing import TYPE_CHECKING\n"
        "from ...salesforce import metadata\n"
        "if TYPE_CHECKING:\n    from sfjwt_orch.flows import login\n"
        "def late():\n    import sfjwt_orch.store.state\n    from ..model import Switches\n"
    )
    modules = {m for _, m in _imports(EMULATOR / "deploy" / "probe.py", text)}
    product_modules = {m for m in modules if _is_product(m) and _known(m)}
    assert product_modules == {
        "sfjwt_orch.salesforce",
        "sfjwt_orch.salesforce.metadata",
        "sfjwt_orch.flows",
        "sfjwt_orch.flows.login",
        "sfjwt_orch.store.state",
    }
    assert "sfjwt_orch.emulator.model" in modules and not _is_product("sfjwt_orch.emulator.model")
