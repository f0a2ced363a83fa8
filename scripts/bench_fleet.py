"""scripts/bench, the fleet rows: `login --all` over 20 aliases, each its own emulated org.

| what                                 | compared with                                   | target    |
| `login --all` wall time (Node helper)| the sum of the 20 single `login --alias` runs   | <= 0.25x  |
| ... one sf per alias (the fallback)  | the same sum                                    | <= 0.6x   |
| peak summed RSS, Node helper         | one bare sf login's peak + 100 MB               | <=        |
| peak summed RSS, one sf per alias    | --parallel x one bare sf login's peak, with a   | <=        |
|                                      | compile cache as sfjwt-orch gives sf, + 50 MB   |           |

Time: each run logs the 20 aliases in one by one (20 processes, timed each, summed), then all at
once through the Node helper (tools/sf/fleet_node.py), then all at once one sf per alias
(SFJWT_ORCH_FLEET_HELPER=off, the fallback), then, for reference, as 20 bare sf runs `--parallel`
at a time (the floor that parallel sf runs give on this machine), so all of them meet the same
machine. Memory is measured in separate runs
(sampling /proc costs CPU that would skew the times): the whole tree's RSS (sfjwt-orch and every sf
with its Node children), sampled every 50 ms; the peak is what the machine must have free.
"""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, Emulator, demo_config

ALIASES = 20
MB = 1024 * 1024
FALLBACK = {"SFJWT_ORCH_FLEET_HELPER": "off"}


def _rss_of_tree(root: int) -> dict[int, int]:
    """Bytes of resident memory of `root` and of each of its descendants, by pid, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        tree.update(children)
        frontier.extend(children)
    rss = {}
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss[pid] = int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss


def _programs(rss: dict[int, int]) -> str:
    """`rss`'s processes, biggest first: each one's MB and the names of its first two arguments."""
    parts = []
    for pid, size in sorted(rss.items(), key=lambda kv: -kv[1]):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:3]
        except OSError:
            argv = [b"?"]
        parts.append(f"{size // MB} MB " + " ".join(Path(a.decode(errors="replace")).name for a in argv if a))
    return "; ".join(parts)


@dataclass
class Peak:
    """The highest summed RSS of a process tree seen, and what it is made of: the highest RSS of
    its root alone (sfjwt-orch's Python), and of any one process below it (one sf, or the helper)."""

    tree: int = 0
    root: int = 0
    child: int = 0
    what: str = ""  # the processes at the tree's peak: each one's MB and program (to read a miss)


def peak_rss(argv: list[str], env: dict[str, str]) -> Peak:
    """Run `argv` to the end; its tree's peaks seen (sampled every 50 ms)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = Peak()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = _rss_of_tree(proc.pid)
            if sum(rss.values()) > peak.tree:
                peak.tree, peak.what = sum(rss.values()), _programs(rss)
            peak.root = max(peak.root, rss.get(proc.pid, 0))
            peak.child = max([peak.child, *(v for pid, v in rss.items() if pid != proc.pid)])
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = proc.wait()
    done.set()
    sampler.join()
    if rc != 0:
        raise SystemExit(f"bench: {' '.join(argv[:4])} failed ({rc})")
    return peak


@dataclass
class MemoryRow:
    what: str
    peak: int  # bytes, the fleet's highest
    one_sf: int  # bytes, one bare sf login's highest (run as `basis` says)
    times: int  # the limit: `times` x one_sf + slack
    slack: int  # bytes
    parts: Peak  # the run that gave `peak`: sfjwt-orch's own share, and its largest child's
    basis: str = "one sf"

    @property
    def limit(self) -> int:
        return self.times * self.one_sf + self.slack

    @property
    def ok(self) -> bool:
        return self.peak <= self.limit

    def line(self) -> str:
        return (
            f"{self.what:28} {self.peak / MB:7.0f}MB {self.limit / MB:7.0f}MB  "
            f"({self.times} x {self.one_sf / MB:.0f} MB {self.basis} + {self.slack // MB} MB)  "
            f"{'ok' if self.ok else 'MISSED'}\n{'':28} of which sfjwt-orch's Python {self.parts.root / MB:.0f} MB, "
            f"its largest child {self.parts.child / MB:.0f} MB"
            + ("" if self.ok else f"\n{'':28} at the peak: {self.parts.what}")
        )


@dataclass
class FleetRuns:
    helper: list[float]  # walls of `login --all` through the Node helper
    fallback: list[float]  # walls of `login --all`, one sf per alias
    sums: list[float]  # sums of the 20 single logins
    floor: list[float]  # walls of 20 bare sf, `parallel` at a time
    memory: list[MemoryRow]


def fleet(
    orch: list[str],
    sf: str,
    env: dict[str, str],
    key: Path,
    cert: str,
    runs: int,
    timed: Callable[[list[str], dict[str, str]], float],
) -> FleetRuns:
    import os

    parallel = max(2, os.cpu_count() or 2)
    emulators = [Emulator(demo_config(cert, username=f"bot{n}@example.com")).start() for n in range(ALIASES)]
    try:
        # Saves the 20 profiles (and sf's first run in this HOME sets up its keychain).
        for n, emu in enumerate(emulators):
            argv = [*orch, "login", "--alias", f"fleet{n}", "--client-id", DEMO_CONSUMER_KEY]
            timed([*argv, "--username", f"bot{n}@example.com", "--key-file", str(key), "--instance-url", emu.url], env)

        def bare(n: int) -> list[str]:
            argv = [sf, "org", "login", "jwt", "--client-id", DEMO_CONSUMER_KEY, "--username", f"bot{n}@example.com"]
            argv += ["--jwt-key-file", str(key), "--instance-url", emulators[n].url]
            return [*argv, "--alias", f"bare{n}", "--json"]

        def bare_once_more(n: int) -> None:
            # Bare sf runs at once in one HOME can read one another's half-written alias.json (the
            # race flows/fleet.py retries too; seen here under load): such a run is tried once more.
            try:
                timed(bare(n), env)
            except SystemExit:
                timed(bare(n), env)

        def bare_parallel() -> float:
            # The floor on this machine: the same 20 logins as bare sf runs, `parallel` at a time.
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                list(pool.map(bare_once_more, range(ALIASES)))
            return time.perf_counter() - start

        out = FleetRuns([], [], [], [], [])
        every = [*orch, "login", "--all", "--json"]
        for _ in range(runs):
            out.sums.append(sum(timed([*orch, "login", "--alias", f"fleet{n}", "--json"], env) for n in range(ALIASES)))
            out.helper.append(timed(every, env))
            out.fallback.append(timed(every, {**env, **FALLBACK}))
            out.floor.append(bare_parallel())
        one_sf = int(statistics.median(peak_rss(bare(0), env).tree for _ in range(3)))
        # The fallback runs sf as sfjwt-orch runs it: with Node's compile cache (tools/sf/env.py),
        # which costs each sf 7-16 MB more (measured); so its basis is a bare sf with a cache too.
        cached = {**env, "NODE_COMPILE_CACHE": str(Path(env["HOME"]) / "bench-fleet-node-compile-cache")}
        timed(bare(0), cached)  # fills the cache
        one_cached_sf = int(statistics.median(peak_rss(bare(0), cached).tree for _ in range(3)))
        peak = max((peak_rss(every, env) for _ in range(2)), key=lambda p: p.tree)
        out.memory.append(MemoryRow(f"login --all ({ALIASES}) helper", peak.tree, one_sf, 1, 100 * MB, peak))
        peak = max((peak_rss(every, {**env, **FALLBACK}) for _ in range(2)), key=lambda p: p.tree)
        row = MemoryRow(f"... one sf per alias ({ALIASES})", peak.tree, one_cached_sf, parallel, 50 * MB, peak)
        out.memory.append(dataclasses.replace(row, basis="one sf with a compile cache"))
    finally:
        for emu in emulators:
            emu.stop()
    return out
