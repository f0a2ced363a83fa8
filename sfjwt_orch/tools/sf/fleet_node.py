"""A fleet's logins from one Node process: the helper fleet_login.cjs runs sf's own @salesforce/core.

`login --all` used to start one `sf org login jwt` per alias, each paying a whole Node start of sf
(~1 s of CPU; docs/performance.md). Here one Node process, the Node that sf runs on, loads the
@salesforce/core that sf's `org login jwt` itself loads (plugin-auth's, resolved from sf's own
package folder: npm may hoist it, it is never a second copy) and logs every alias in. Its answer for
each alias is the document `sf org login jwt --json` prints, so parse.parse_login classifies it
as it classifies sf: the same codes, fixes and exit codes.

The flow keeps its shape: each worker still runs the single-alias login (its key check, its lock,
its approval URL, what it saves); only the adapter's `login_jwt` goes to the shared helper
(`NodeSf`). When the helper cannot be used (sf's package not found, an sf version outside
TESTED_SF, a helper that does not start or dies), each login falls back to `sf org login jwt`,
and `--verbose` says which path ran and why.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfjwt_orch.tools.runner import CommandResult, Conversation, ProgramNotFound, Runner
from sfjwt_orch.tools.sf import JwtLogin, Sf
from sfjwt_orch.tools.sf.catalog import Diagnosis
from sfjwt_orch.tools.sf.env import run_timeout, sf_env
from sfjwt_orch.tools.sf.parse import LoginSuccess, classify, parse_login

if TYPE_CHECKING:
    from sfjwt_orch.tools.sf.discover import Found

# The @salesforce/cli versions this path is tested with (from, to): tests/e2e and the bench ran it
# with 2.150.6 (@salesforce/core 9.4.0, plugin-auth 5.0.6). Outside them sf runs per alias: a new
# sf may change what its `org login jwt` does, and the helper would then no longer do the same.
TESTED_SF = ((2, 150, 0), (2, 151, 0))
HELPER = Path(__file__).with_name("fleet_login.cjs")
OFF_VAR = "SFJWT_ORCH_FLEET_HELPER"  # "off": always one sf per alias (an escape hatch, and the tests' switch)
_CLOSE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Place:
    """Where the helper runs: sf's Node and sf's package folder (node_modules/@salesforce/cli)."""

    node: str
    cli_dir: Path
    version: str


def _version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(g) for g in match.groups()) if match else None


def _cli_package(cli_dir: Path) -> str | None:
    """The @salesforce/cli version of `cli_dir`, or None when it is not that package."""
    try:
        doc = json.loads((cli_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("name") != "@salesforce/cli":
        return None
    version = doc.get("version")
    return version if isinstance(version, str) else None


_RUN_JS = re.compile(r"""["']?([^\s"']*/@salesforce/cli/bin/run\.js)["']?""")
_NODE = re.compile(r"""exec\s+["']?([^\s"']*/node)["']?\s""")


def locate(sf_exe: str, env: Mapping[str, str]) -> Place | str:
    """sf's Node and package folder, or why they cannot be told. Two layouts are known: sf is (a
    link to) @salesforce/cli's bin/run.js, run by the `node` on PATH (npm install -g); or a small
    shell script that execs a named node on a named run.js (scripts/setup's wrapper). sf's
    standalone installers use variables in their script: those run per alias."""
    path = Path(sf_exe)
    real = path.resolve()
    node: str | None = None
    if real.name == "run.js" and real.parent.name == "bin":
        cli_dir = real.parent.parent
    else:
        try:
            text = real.read_text(encoding="utf-8")[:65536] if real.stat().st_size < 65536 else ""
        except (OSError, UnicodeDecodeError):
            text = ""
        found = _RUN_JS.search(text)
        if found is None:
            return f"cannot tell sf's package folder from {sf_exe}"
        cli_dir = Path(found.group(1)).parent.parent
        named = _NODE.search(text)
        node = named.group(1) if named else None
    version = _cli_package(cli_dir)
    if version is None:
        return f"{cli_dir} is not @salesforce/cli's package folder"
    parsed = _version(version)
    low, high = TESTED_SF
    if parsed is None or not low <= parsed < high:
        tested = f"{'.'.join(map(str, low))} to below {'.'.join(map(str, high))}"
        return f"sf {version} is outside the versions this path is tested with ({tested})"
    node = node or shutil.which("node", path=env.get("PATH"))
    if node is None:
        return "no node on PATH to run sf's package with"
    return Place(node, cli_dir, version)


@dataclass
class _Slot:
    done: threading.Event = field(default_factory=threading.Event)
    answer: dict[str, Any] | None = None


def _names(doc: Mapping[str, Any], username: str) -> bool:
    """Whether a success document names an org id and `username` (Salesforce usernames ignore case)."""
    result = doc.get("result")
    if not isinstance(result, dict):
        return False
    org_id, named = result.get("orgId"), result.get("username")
    return isinstance(org_id, str) and bool(org_id) and isinstance(named, str) and named.lower() == username.lower()


class NodeLogins:
    """The one helper process of a fleet, shared by its workers; thread-safe."""

    def __init__(self, conversation: Conversation, place: Place, env: Mapping[str, str], say: Callable[[str], None]):
        self._talk, self._place, self._env, self._say = conversation, place, env, say
        self._lock = threading.Lock()
        self._slots: dict[int, _Slot] = {}
        self._next = 0
        self._closing = False
        self.broken: str | None = None  # why the helper cannot be used (any more), once it cannot
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="sfjwt-fleet-helper", daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls, runner: Runner, env: Mapping[str, str], sf_exe: str, parallel: int, say: Callable[[str], None]
    ) -> NodeLogins | str:
        """The helper, started and told sf's package folder; or why it runs per alias instead."""
        if env.get(OFF_VAR, "").strip().lower() in ("off", "0", "false", "no"):
            return f"{OFF_VAR}={env[OFF_VAR]}"
        place = locate(sf_exe, env)
        if isinstance(place, str):
            return place
        helper_env = sf_env(env)
        try:
            talk = runner.converse([place.node, str(HELPER)], env=helper_env)
        except ProgramNotFound as exc:
            return f"cannot start {place.node}: {exc.reason}"
        if not talk.send(json.dumps({"cli_dir": str(place.cli_dir), "parallel": parallel})):
            talk.kill()
            return f"{place.node} ended at once: {talk.stderr_tail or 'no output'}"
        return cls(talk, place, env, say)

    def _read(self) -> None:
        for line in self._talk.lines():
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # a stray line (a Node warning printed to stdout by a plugin): not ours
            if not isinstance(msg, dict):
                continue
            if "ready" in msg:
                if msg["ready"] is True:
                    self._say(
                        f"fleet: logging in from one Node process with sf {self._place.version}'s @salesforce/core "
                        f"{msg.get('core')} ({self._place.cli_dir})"
                    )
                else:
                    self._give_up(f"the helper could not load sf's @salesforce/core: {msg.get('error')}")
                self.ready.set()
                continue
            with self._lock:
                slot = self._slots.pop(msg.get("id", -1), None) if isinstance(msg.get("id"), int) else None
            if slot is not None:
                slot.answer = msg
                slot.done.set()
        if not (self._talk.killed or self._closing):
            last = (self._talk.stderr_tail.splitlines() or ["no output"])[-1]
            self._give_up(f"the helper ended early: {last}")
        self._give_up(self.broken or "the helper was stopped")

    def _give_up(self, why: str) -> None:
        with self._lock:
            if self.broken is None:
                self.broken = why
                if not (self._talk.killed or self._closing):
                    self._say(f"fleet: one `sf org login jwt` per alias from now on: {why}")
            slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            slot.done.set()  # no answer: the caller falls back (or stops, after Ctrl-C)
        self.ready.set()

    def login(self, args: JwtLogin) -> LoginSuccess | Diagnosis | None:
        """The helper's answer for one login, as sf's parser reads it; None when the helper cannot
        be used (log in with sf instead). KeyboardInterrupt once the fleet was stopped."""
        limit = args.attempt_timeout or run_timeout(self._env)
        with self._lock:
            if self.broken is not None:
                self._raise_if_stopped()
                return None
            self._next += 1
            ident, slot = self._next, _Slot()
            self._slots[ident] = slot
        request = {
            "id": ident,
            "alias": args.alias,
            "username": args.username,
            "client_id": args.client_id,
            "key_file": str(args.key_file),  # the key's path; the key itself never leaves its file
            "instance_url": args.instance_url,
            "set_default": args.set_default,
            "set_default_dev_hub": args.set_default_dev_hub,
        }
        started = time.monotonic()
        # A helper that stopped reading has ended or is ending: its reader then gives up with the
        # reason the helper gave (e.g. ready: false), which a broken pipe here would hide.
        self._talk.send(json.dumps(request))
        finished = slot.done.wait(limit)
        answer, took = slot.answer, time.monotonic() - started
        if self._talk.killed:
            raise KeyboardInterrupt  # Ctrl-C killed the helper: the login flow reports INTERRUPTED
        argv = ("fleet_login.cjs", args.alias)
        if not finished:
            with self._lock:
                self._slots.pop(ident, None)
            return classify(CommandResult(argv, -9, "", "", took, timed_out=True), parse_login)
        if answer is None:
            self._raise_if_stopped()
            return None
        fallback = answer.get("fallback")
        if isinstance(fallback, str):  # the helper could not vouch for its own answer (fleet_login.cjs)
            self._say(f"fleet: {args.alias}: the helper {fallback}; logging in with sf instead")
            return None
        doc = answer.get("doc")
        exit_code = answer.get("exit")
        if not isinstance(doc, dict) or not isinstance(exit_code, int):
            return classify(
                CommandResult(argv, 1, "", f"the fleet helper answered oddly: {answer!r:.200}", took), parse_login
            )
        if exit_code == 0 and not _names(doc, args.username):
            # Unlike sf's own run, whose answer is for its one login, the helper's shares one process
            # with the fleet's other logins: a success that is not this login's goes to sf.
            self._say(
                f"fleet: {args.alias}: the helper's success names no org id or another user; logging in with sf instead"
            )
            return None
        return classify(CommandResult(argv, exit_code, json.dumps(doc), "", took), parse_login)

    def _raise_if_stopped(self) -> None:
        if self._talk.killed:
            raise KeyboardInterrupt

    def close(self) -> None:
        """Tell the helper to end (its stdin closes) and wait for it; idempotent."""
        if self._talk.killed or self._closing:
            return
        self._closing = True
        self._talk.close(_CLOSE_TIMEOUT)
        self._reader.join(timeout=_CLOSE_TIMEOUT)

    def kill(self) -> None:
        self._talk.kill()


class NodeSf(Sf):
    """The sf adapter of one fleet worker: its logins go to the shared helper, and to sf itself
    when the helper cannot be used; every other sf command runs sf as always."""

    def __init__(
        self,
        logins: NodeLogins,
        runner: Runner,
        env: Mapping[str, str],
        compile_cache: Path | None = None,
        found: Found | None = None,
    ) -> None:
        super().__init__(runner, env, compile_cache, found=found)
        self._logins = logins

    def login_jwt(self, login: JwtLogin) -> LoginSuccess:
        outcome = self._logins.login(login)
        if outcome is None:
            return super().login_jwt(login)
        return self._settle(outcome)
