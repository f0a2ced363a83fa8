"""Does the Node that sf runs on suit sf? Asked of sf's HTTP client, not of sf.

sf's own `engines` field says too little: sf 2.146.3 declares `node >=18.6.0`, yet the undici it
bundles (8.x) declares `node >=22.19.0` and on Node 20 crashes as it loads, at the first request
(`createZstdDecompress` undefined: a TypeError, exit 1, nothing on stdout even with --json;
measured with sf 2.146.3 on Node v20.20.2, issue 22). So the check reads the `engines` of the
undici that Node resolves from sf's install folder, the way `require("undici")` would.

Everything here reads files or text; nothing runs a program (the callers run `node --version`
or `sf --version` through the runner).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

Version = tuple[int, int, int]
CLIENT = "undici"
SF_PACKAGE = "@salesforce/cli"
_INSTALL = "let sfjwt-orch install sf on its own Node from PyPI: sfjwt-orch sf install"


def parse_version(text: str) -> Version | None:
    """`v20.20.2`, `node-v24.19.0` or `22.19.0` -> (major, minor, patch)."""
    m = re.search(r"(?<![\d.])v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def shown(version: Version) -> str:
    return ".".join(map(str, version))


# --- npm's range syntax (node-semver), the part `engines` fields use -----------------------------


def _bounds(comparator: str) -> list[tuple[str, Version]] | None:
    """One comparator as (operator, version) bounds; None when it is not understood."""
    m = re.fullmatch(r"(>=|<=|>|<|=|\^|~)?\s*v?([\dxX*]+(?:\.[\dxX*]+){0,2})", comparator)
    if not m:
        return None
    op, text = m.group(1) or "=", m.group(2)
    parts = text.split(".")
    # `22` or `22.19` is a partial version: the missing parts are wildcards, as an `x` is.
    wild = next((i for i, p in enumerate(parts) if p in ("x", "X", "*")), len(parts))
    nums = [int(p) for p in parts[:wild]]
    if not nums:
        return [] if op in ("=", ">=", "^", "~") else None
    low = (*nums, *([0] * (3 - len(nums))))
    low_v: Version = (low[0], low[1], low[2])
    if op in (">=", ">", "<", "<="):
        if wild < 3 and op in (">", "<="):  # >22 means >=23; <=22.19 means <22.20
            up = _bump(low_v, wild)
            return [(">=" if op == ">" else "<", up)]
        return [(op, low_v)]
    if op == "^":
        first = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        return [(">=", low_v), ("<", _bump(low_v, first + 1))]
    if op == "~":
        return [(">=", low_v), ("<", _bump(low_v, 2 if len(nums) >= 2 else 1))]
    if wild < 3:  # `=22.x`, `22`: a range over the missing parts
        return [(">=", low_v), ("<", _bump(low_v, wild))]
    return [("=", low_v)]


def _bump(v: Version, keep: int) -> Version:
    """The first version past every one that shares v's first `keep` parts."""
    parts = list(v[:keep]) + [0] * (3 - keep)
    parts[keep - 1] += 1
    return (parts[0], parts[1], parts[2])


def _alternatives(spec: str) -> list[list[tuple[str, Version]]] | None:
    out = []
    for alt in spec.split("||"):
        alt = alt.strip()
        hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", alt)
        comparators = [f">={hyphen.group(1)}", f"<={hyphen.group(2)}"] if hyphen else alt.split()
        bounds: list[tuple[str, Version]] = []
        for comparator in comparators or ["*"]:
            found = _bounds(comparator.replace(" ", ""))
            if found is None:
                return None
            bounds += found
        out.append(bounds)
    return out


def _holds(v: Version, op: str, bound: Version) -> bool:
    return {">=": v >= bound, ">": v > bound, "<": v < bound, "<=": v <= bound, "=": v == bound}[op]


def satisfies(version: Version, spec: str) -> bool | None:
    """Does `version` meet the npm range `spec`? None when the range is not understood."""
    alternatives = _alternatives(spec)
    if alternatives is None:
        return None
    return any(all(_holds(version, op, b) for op, b in bounds) for bounds in alternatives)


def lowest(spec: str) -> Version | None:
    """A version from which on every release meets `spec` when it is open-ended (`>=22.19.0`,
    `^18.17 || >=20.5`): the highest lower bound of its alternatives."""
    alternatives = _alternatives(spec)
    if not alternatives:
        return None
    lows = [max((b for op, b in bounds if op in (">=", ">", "=")), default=(0, 0, 0)) for bounds in alternatives]
    return max(lows)


# --- sf's install folder, and the client in it -------------------------------------------------


@dataclass(frozen=True)
class Need:
    """What sf's HTTP client declares it needs: its package.json `engines.node`."""

    package: str  # "undici 8.14.0"
    node_range: str  # ">=22.19.0"
    where: Path

    def problem(self, node: Version) -> str | None:
        """Why `node` does not do, or None when it does (or the range is not understood)."""
        if satisfies(node, self.node_range) is False:
            return f"sf runs on Node v{shown(node)}, but its HTTP client ({self.package}) needs Node {self.node_range}"
        return None

    def fix(self) -> str:
        low = lowest(self.node_range)
        wanted = f"Node {shown(low)} or newer" if low else f"a Node that meets {self.node_range}"
        return f"install {wanted} for sf, or {_INSTALL}"


def package_root(path: Path, name: str = SF_PACKAGE) -> Path | None:
    """The folder of the package `name` that holds `path` (a file of it), looking a few levels up."""
    for folder in list(path.parents)[:4]:
        if _package_name(folder / "package.json") == name:
            return folder
    return None


def _package_name(path: Path) -> str | None:
    doc = _read_json(path)
    return str(doc.get("name")) if doc else None


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        with path.open("rb") as fh:
            doc = json.loads(fh.read(1_000_000))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def client_need(root: Path) -> Need | None:
    """The `engines.node` of the undici Node resolves from sf's folder: `<dir>/node_modules/undici`
    for sf's folder and each folder above it (a global install nests it, a prefix install hoists it)."""
    for folder in (root, *root.parents):
        if folder.name == "node_modules":
            continue
        manifest = folder / "node_modules" / CLIENT / "package.json"
        doc = _read_json(manifest)
        if doc is None:
            continue
        engines = doc.get("engines")
        wanted = engines.get("node") if isinstance(engines, dict) else None
        if not isinstance(wanted, str):
            return None
        return Need(f"{CLIENT} {doc.get('version', '?')}", wanted.strip(), manifest)
    return None


@dataclass(frozen=True)
class Install:
    """Where an sf executable's package lives and which Node runs it, as far as can be read
    without running it (None: not known)."""

    root: Path | None
    node: str | None


def locate(exe: str, env: Mapping[str, str]) -> Install:
    """Read `exe` (after links): a JS entry point run by its shebang's Node (npm installs), a
    wrapper that execs `"<node>" "<root>/bin/run.js"` (scripts/setup, `sfjwt-orch sf install`), or
    the installers' `bin/sf` beside a bundled `bin/node`. Anything else: nothing known."""
    real = Path(os.path.realpath(exe))
    try:
        with real.open("rb") as fh:
            head = fh.read(8192).decode("utf-8", errors="replace")
    except OSError:
        return Install(None, None)
    first = head.splitlines()[0] if head else ""
    if first.startswith("#!"):
        prog = _interpreter(first[2:])
        if prog and Path(prog).name.startswith("node"):
            node = prog if os.path.isabs(prog) else _which(prog, env)
            return Install(package_root(real), node)
    for line in head.splitlines():
        found = _exec_line(line.strip())
        if found is not None:
            return found
    root = package_root(real)
    bundled = real.parent / "node"
    if root is not None and bundled.is_file():
        return Install(root, str(bundled))
    return Install(root, None)


def _interpreter(line: str) -> str | None:
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    if words and Path(words[0]).name == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return words[0] if words else None


def _exec_line(line: str) -> Install | None:
    if not line.startswith("exec "):
        return None
    try:
        words = shlex.split(line)[1:]
    except ValueError:
        return None
    if len(words) < 2 or not all(os.path.isabs(w) for w in words[:2]):
        return None
    node, script = words[0], Path(words[1])
    if not Path(node).name.startswith("node") or script.name not in ("run.js", "run"):
        return None
    return Install(package_root(script), node)


def _which(prog: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(prog, path=env.get("PATH", os.defpath))


# --- a crash as sf starts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Crash:
    """Node's report of an exception nothing caught: sf died before it could print JSON."""

    node: Version
    error: str  # "TypeError: Cannot read properties of undefined (reading 'bind')"
    where: str  # the first file of the stack, e.g. ".../node_modules/undici/lib/interceptor/decompress.js"

    def message(self, what: str) -> str:
        place = f" in {_short(self.where)}" if self.where else ""
        return f"{what} crashed as it started, on Node v{shown(self.node)}: {self.error[:160]}{place}"

    def client_root(self) -> Path | None:
        """sf's folder, when the stack names a file inside it (sf's own or a package beside it)."""
        if not self.where:
            return None
        path = Path(self.where)
        marker = next((p for p in path.parents if p.name == "node_modules"), None)
        return marker.parent if marker is not None else None


def crash_at_start(stderr: str) -> Crash | None:
    """Node ends an uncaught exception's report with `Node.js vX.Y.Z` (Node 18+); the error line
    (`TypeError: …`) and the first stack frame say what broke and where."""
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    if not lines or not (m := re.fullmatch(r"Node\.js (v\d+\.\d+\.\d+)", lines[-1].strip())):
        return None
    node = parse_version(m.group(1))
    if node is None:
        return None
    error = next((line.strip() for line in lines if re.match(r"\s*\w*(Error|Exception)\b.*:", line)), "")
    where = ""
    for line in lines:
        frame = re.search(r"\(?(/[^():]+\.[cm]?js):\d+", line)
        if frame:
            where = frame.group(1)
            break
    return Crash(node, error or lines[0].strip(), where)


def _short(path: str) -> str:
    """`/…/node_modules/undici/lib/x.js` -> `undici/lib/x.js` (the package and the file)."""
    _, sep, tail = path.rpartition("node_modules/")
    return tail if sep else path


def crash_fix(crash: Crash) -> str:
    """The fix for a crash at start: the Node sf's client needs when it can be read, never "reinstall"
    (reinstalling sf on the same Node gives the same crash)."""
    root = crash.client_root()
    need = client_need(root) if root is not None else None
    if need is not None and need.problem(crash.node):
        return need.fix()
    return f"sf does not run on Node v{shown(crash.node)}: check what `sfjwt-orch doctor` says, or {_INSTALL}"
