"""scripts/bench, the fleet rows: `login --all` over 20 aliases, each its own emulated org.

| what                                 | compared with                                   | target    |
| `login --all` wall time (Node helper)| the sum of the 20 single `login --alias` runs   | <= 0.25x  |
| ... one sf per alias (the fallback)  | the same sum                                    | <= 0.6x   |
| peak summed RSS, Node helper         | one bare sf login's peak + 100 MB               | <=        |
| peak summed RSS, one sf per alias    | --parallel x one bare sf login's peak + 50 MB   | <=        |

Time: each run logs the 20 aliases in one by one (20 processes, timed each, summed), then all at
once through the Node helper (tools/sf/fleet_node.py), then all at once one sf per alias
(SFJWT_ORCH_FLEET_HELPER=off, the fallback), then, for reference, as 20 bare sf runs `--parallel`
at a time (the floor that parallel sf runs give on this machine), so all of them meet the same
machine. Memory is measured in separate runs
(sampling /proc costs CPU that would skew the times): the whole tree's RSS (sfjwt-orch and every sf
with its Node children), sampled every 50 ms; the peak is what the machine must have free.
"""

from __future__ import annotations

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


def _rss_of_tree(root: int) -> int:
    """Bytes of resident memory of `root` and all its descendants, from /proc."""
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
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def peak_rss(argv: list[str], env: dict[str, str]) -> int:
    """Run `argv` to the end; the highest summed RSS of its process tree seen (sampled every 50 ms)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_of_tree(proc.pid))
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
    one_sf: int  # bytes, one bare sf login's highest
    times: int  # the limit: `times` x one_sf + slack
    slack: int  # bytes

    @property
    def limit(self) -> int:
        return self.times * self.one_sf + self.slack

    @property
    def ok(self) -> bool:
        return self.peak <= self.limit

    def line(self) -> str:
        return (
            f"{self.what:28} {self.peak / MB:7.0f}MB {self.limit / MB:7.0f}MB  "
            f"({self.times} x {self.one_sf / MB:.0f} MB one sf + {self.slack // MB} MB)  "
            f"{'ok' if self.ok else 'MISSED'}"
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
        one_sf = int(statistics.median(peak_rss(bare(0), env) for _ in range(3)))
        peak = max(peak_rss(every, env) for _ in range(2))
        out.memory.append(MemoryRow(f"login --all ({ALIASES}) helper", peak, one_sf, 1, 100 * MB))
        peak = max(peak_rss(every, {**env, **FALLBACK}) for _ in range(2))
        out.memory.append(MemoryRow(f"... one sf per alias ({ALIASES})", peak, one_sf, parallel, 50 * MB))
    finally:
        for emu in emulators:
            emu.stop()
    return out
