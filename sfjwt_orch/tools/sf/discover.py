"""Which sf every command runs, in one order:

1. `SFJWT_ORCH_SF`, as given: the user chose it, working or not (doctor says when it does not);
2. an sf on PATH that works: its Node meets what sf's HTTP client declares (node.py); one that
   does not is skipped, with a note saying why;
3. the one `sfjwt-orch sf install` put in sfjwt-orch's data folder (flows/sf_manage.py).
When none works, the error names `sfjwt-orch sf install`.

Checking a PATH sf costs one `node --version` (tens of milliseconds), never an sf run (a second).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sfjwt_orch.errors import Code
from sfjwt_orch.tools.runner import ProgramNotFound, Runner, find_program
from sfjwt_orch.tools.sf import SfFailed
from sfjwt_orch.tools.sf import node as nodes
from sfjwt_orch.tools.sf.catalog import Diagnosis

Source = Literal["SFJWT_ORCH_SF", "PATH", "managed"]
INSTALL = "sfjwt-orch sf install"
_FIX = (
    f"run `{INSTALL}` (sf on its own Node, from PyPI and npm), or install sf yourself "
    "(npm install -g @salesforce/cli, on Node 22.19 or newer), or set SFJWT_ORCH_SF to its path"
)
NODE_VERSION_TIMEOUT = 20.0


@dataclass(frozen=True)
class Found:
    exe: str
    source: Source
    why: str  # one line for `sf status` and doctor
    skipped: tuple[str, ...] = ()  # the notes on the sfs passed over (a PATH sf on a Node too old)

    def to_json(self) -> dict[str, object]:
        return {"path": self.exe, "source": self.source, "why": self.why, "skipped": list(self.skipped)}


def not_found(reason: str) -> SfFailed:
    return SfFailed(Diagnosis(Code.SF_NOT_FOUND, f"the Salesforce CLI (sf) cannot be used: {reason}", _FIX))


def discover(env: Mapping[str, str], runner: Runner, managed: Path | None) -> Found:
    """The sf to run (see the module's docstring); SF_NOT_FOUND naming `sf install` when none works."""
    if env.get("SFJWT_ORCH_SF"):
        try:
            exe = find_program("sf", "SFJWT_ORCH_SF", env)
        except ProgramNotFound as exc:
            raise not_found(exc.reason) from None
        return Found(exe, "SFJWT_ORCH_SF", "SFJWT_ORCH_SF names it")
    skipped: tuple[str, ...] = ()
    try:
        on_path: str | None = find_program("sf", "", env)
    except ProgramNotFound:
        on_path = None
    problem = path_sf_problem(on_path, env, runner) if on_path is not None else None
    if on_path is not None and problem is None:
        return Found(on_path, "PATH", "the first sf on PATH, and no sign that its Node is too old for it")
    if problem is not None:
        skipped = (f"skipped the sf on PATH ({on_path}): {problem[0]}",)
    if managed is not None and _runnable(managed):
        return Found(str(managed), "managed", f"installed by `{INSTALL}`", skipped)
    if problem is not None:
        # Found, and known not to work: the crash it would end in is told before it happens.
        raise SfFailed(Diagnosis(Code.SF_FAILED, f"the sf on PATH ({on_path}) cannot work: {problem[0]}", problem[1]))
    raise not_found(f"not found on PATH, and not installed by `{INSTALL}`")


def path_sf_problem(exe: str, env: Mapping[str, str], runner: Runner) -> tuple[str, str] | None:
    """Why the sf at `exe` would not work on the Node it runs on, and the fix; None when it would,
    or when that cannot be told without running it (it then gets the benefit of the doubt)."""
    install = nodes.locate(exe, env)
    if install.root is None or install.node is None:
        return None
    need = nodes.client_need(install.root)
    if need is None:
        return None
    try:
        result = runner.run([install.node, "--version"], timeout=NODE_VERSION_TIMEOUT, env=env)
    except ProgramNotFound as exc:
        return f"its Node ({install.node}) cannot be started: {exc.reason}", need.fix()
    version = nodes.parse_version(result.stdout) if result.returncode == 0 else None
    if version is None:
        return f"its Node ({install.node}) did not say its version (exit {result.returncode})", need.fix()
    problem = need.problem(version)
    return (problem, need.fix()) if problem else None


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
