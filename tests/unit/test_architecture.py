"""The package's shape, checked: what sits at the top level, and no import cycles between modules.

Issue 21 item 4: the top level holds the entry, the boundary, the context and the catalogue; the
rest sits in folders named for their jobs; no module imports, at module level (TYPE_CHECKING
blocks included), a module that imports it back. A function-level import that closes a cycle is
allowed only to load lazily, and says so in a comment on its line or the line above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sfjwt_orch"
TOP_LEVEL = {"__init__", "__main__", "cli", "context", "errors", "crashlog"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, Path], here: str) -> set[str]:
    found: set[str] = set()
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = (
                here if (PACKAGE.parent / here.replace(".", "/") / "__init__.py").exists() else here.rpartition(".")[0]
            )
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        names = [f"{base}.{a.name}" for a in node.names] + [base]
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != here and name.startswith("sfjwt_orch"):
            found.add(name)
    return found


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads, and those under `if TYPE_CHECKING:` (a cycle there is one
    a reader and the type checker still have to untangle)."""
    out: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        elif isinstance(node, ast.If | ast.Try):
            stack.extend(node.body)
            stack.extend(getattr(node, "orelse", []))
            stack.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                stack.extend(handler.body)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        edges: set[str] = set()
        for node in _module_level_imports(tree):
            edges |= _targets(node, modules, name)
        # A package's __init__ is loaded before its modules: importing `a.b` loads `a` too.
        graph[name] = {e for e in edges if not name.startswith(e + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_at_module_level() -> None:
    assert _cycles(_graph()) == []


def test_the_top_level_holds_only_the_entry_the_boundary_the_context_and_the_catalogue() -> None:
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= TOP_LEVEL, f"move these into a folder named for their job: {sorted(top - TOP_LEVEL)}"
    assert len(top) <= 8


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The check above could pass by finding nothing at all: prove it sees a cycle when there is one.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", ["sfjwt_orch.cli", "sfjwt_orch.flows.login"])
def test_the_graph_sees_real_imports(name: str) -> None:
    assert _graph()[name], f"{name} imports nothing? the import walker is broken"


def test_the_readmes_code_map_names_every_folder_and_top_level_module() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    code_map = readme.split("The code, by job:", 1)[1].split("```", 2)[1]
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    missing = [f"{name}/" for name in sorted(folders) if f"  {name}/" not in code_map]
    missing += [f"{m}.py" for m in sorted(TOP_LEVEL - {"__init__"}) if f"{m}.py" not in code_map]
    assert missing == [], f"README's code map lacks {missing}"


# --- lazy imports (issue 21 item 5): only where they pay ---

# What `sfjwt-orch --help` loads of the package besides the command modules: it imports every
# commands/ module to list them, so those import at their top only what every run loads anyway, and
# their flow (and its collaborators) inside the command. ruff's TID253 (pyproject's
# banned-module-level-imports) keeps the heavy libraries out of every module's top.
HELP_LOADS = {
    "sfjwt_orch",
    "sfjwt_orch.cli",
    "sfjwt_orch.commands",
    "sfjwt_orch.errors",
    # The CI providers' Enum, the type of `emulator run --ci` (an option's type is needed to build
    # --help); the spec module is declarations only (json, re, dataclasses).
    "sfjwt_orch.keyless",
    "sfjwt_orch.keyless.spec",
    "sfjwt_orch.salesforce",
    "sfjwt_orch.salesforce.advice",
    "sfjwt_orch.salesforce.validate",
    "sfjwt_orch.tools",
    "sfjwt_orch.tools.openssl",
    "sfjwt_orch.tools.runner",
    "sfjwt_orch.ui",
    "sfjwt_orch.ui.console",
    "sfjwt_orch.ui.redact",
}
HEAVY = ("cryptography", "rich", "tomlkit", "tomllib", "ruamel", "lxml", "defusedxml", "http.server", "urllib.request")


def test_help_loads_every_command_module_but_no_flow_and_no_heavy_library() -> None:
    import subprocess
    import sys

    listed = (
        "import sys\nfrom sfjwt_orch.cli import build_app\nbuild_app(['--help'])\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", listed], capture_output=True, text=True, check=True).stdout.split()
    )
    commands = {m for m in loaded if m.startswith("sfjwt_orch.commands.")}
    assert {"sfjwt_orch.commands.login", "sfjwt_orch.commands.options"} <= commands  # it did list them
    ours = {m for m in loaded if m.startswith("sfjwt_orch")} - commands
    assert ours <= HELP_LOADS, f"--help loads {sorted(ours - HELP_LOADS)}: import it inside the command"
    heavy = sorted(m for m in loaded if m.startswith(HEAVY))
    assert heavy == [], f"--help loads {heavy}"
