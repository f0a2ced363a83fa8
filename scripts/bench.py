"""scripts/bench: sfjwt-orch's speed against the bare tools it drives, in one run, on this machine.

| what                                   | compared with                          | target        |
| `--version` / `--help` start-up        | `python -c "import typer"`, same venv  | <= 1.3x       |
| `login` on the success path            | a bare `sf org login jwt`, same org    | <= 1.10x      |
| approval (callback hit) -> logged in   | one bare `sf org login jwt`            | <= 1.0x + 0.5s|
| `keygen`                               | the three raw openssl commands         | <= 1.2x       |

Everything runs against the emulator on 127.0.0.1 with the real sf and openssl; no network.
Timings are medians of wall-clock runs, both sides interleaved so drift hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox import free_port, isolated_env

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME, Emulator, demo_config


@dataclass
class Row:
    what: str
    ours: float
    theirs: float
    limit: float  # the most `ours` may take
    target: str

    @property
    def ok(self) -> bool:
        return self.ours <= self.limit


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed ({result.returncode}): {result.stderr.strip()[-300:]}")
    return elapsed


def medians(runs: int, ours: Callable[[int], float], theirs: Callable[[int], float]) -> tuple[float, float]:
    a, b = [], []
    for i in range(runs):
        b.append(theirs(i))
        a.append(ours(i))
    return statistics.median(a), statistics.median(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="runs per measurement (at least 3 for the sf ones)")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON on stdout")
    args = parser.parse_args()
    runs, sf_runs = max(1, args.runs), max(3, args.runs)
    sf = shutil.which("sf")
    openssl = shutil.which("openssl")
    if sf is None or openssl is None:
        raise SystemExit("bench: sf and openssl must be on PATH (scripts/bench sets that up)")
    work = Path(tempfile.mkdtemp(prefix="sfjwt-orch-bench-"))
    env = isolated_env(work)
    # Measure what an installed copy does: from cached bytecode, as pip leaves it (this workplace
    # sets PYTHONDONTWRITEBYTECODE, which would recompile every module on every start).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(__file__).parents[1] / "sfjwt_orch")], check=True, env=env
    )
    orch = [sys.executable, "-m", "sfjwt_orch"] if shutil.which("sfjwt-orch") is None else ["sfjwt-orch"]
    rows: list[Row] = []
    try:
        # 1. Start-up.
        for flag in ("--version", "--help"):
            ours, theirs = medians(
                runs,
                lambda i, f=flag: timed([*orch, f], env),
                lambda i: timed([sys.executable, "-c", "import typer"], env),
            )
            rows.append(Row(f"sfjwt-orch {flag}", ours, theirs, 1.3 * theirs, "<= 1.3x"))

        # 2. keygen against the manual genrsa / req / x509 steps.
        def raw_keygen(i: int) -> float:
            d = work / f"raw{i}"
            d.mkdir()
            steps = [
                [openssl, "genrsa", "-out", "server.key", "2048"],
                [openssl, "req", "-new", "-key", "server.key", "-subj", "/CN=bench", "-out", "server.csr"],
                [
                    openssl,
                    "x509",
                    "-req",
                    "-sha256",
                    "-days",
                    "365",
                    "-in",
                    "server.csr",
                    "-signkey",
                    "server.key",
                    "-out",
                    "server.crt",
                ],
            ]
            return sum(timed(step, env, cwd=d) for step in steps)

        ours, theirs = medians(runs, lambda i: timed([*orch, "keygen", "--alias", f"k{i}"], env), raw_keygen)
        rows.append(Row("sfjwt-orch keygen", ours, theirs, 1.2 * theirs, "<= 1.2x"))

        # 3. login on the success path, against a bare sf login to the same pre-authorized org.
        timed([*orch, "keygen", "--alias", "bench"], env)
        key = work / "data" / "keys" / "bench" / "server.key"
        cert = (key.parent / "server.crt").read_text()
        who = ["--client-id", DEMO_CONSUMER_KEY, "--username", DEMO_USERNAME]
        with Emulator(demo_config(cert)).start() as org:
            # A new alias on every run, on both sides: that is what approval -> login (row 4) does too.
            def bare(i: int) -> float:
                argv = [sf, "org", "login", "jwt", *who, "--jwt-key-file", str(key), "--instance-url", org.url]
                return timed([*argv, "--alias", f"bare{i}", "--json"], env)

            def login(i: int) -> float:
                argv = [*orch, "login", "--alias", f"bench{i}", *who, "--key-file", str(key)]
                return timed([*argv, "--instance-url", org.url, "--json"], env)

            # 4. From the approval (the browser's callback) to a finished login.
            def approval_to_login(i: int) -> float:
                callback = f"http://localhost:{free_port()}/OauthRedirect"
                config = demo_config(cert, policy="self-authorize", callback_urls=(callback,))
                visitor = f"{sys.executable} -m sfjwt_orch.emulator.visitor --delay 0.5"
                with Emulator(config).start() as emu:
                    argv = [*orch, "login", "--alias", f"approve{i}", *who, "--key-file", str(key)]
                    argv += ["--instance-url", emu.url, "--callback-url", callback, "--browser", "--timeout", "60"]
                    subprocess.run(
                        [*argv, "--interval", "30", "--json"],
                        env={**env, "BROWSER": visitor},
                        check=True,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    done = time.time()
                    decided = [r.at for r in emu.requests if r.method == "POST" and "authorize" in r.path]
                if not decided:
                    raise SystemExit("bench: the visitor never submitted the approval")
                return done - decided[0]

            bare(-1), login(-1)  # warm-up: sf's first run in a new HOME sets up its keychain and config
            ours, bare_login = medians(sf_runs, login, bare)
            rows.append(Row("sfjwt-orch login (success)", ours, bare_login, 1.10 * bare_login, "<= 1.10x"))
            ours, bare_login = medians(sf_runs, approval_to_login, lambda i: bare(100 + i))
            rows.append(Row("approval -> logged in", ours, bare_login, bare_login + 0.5, "<= 1.0x + 0.5 s"))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    sf_version = subprocess.run([sf, "--version"], capture_output=True, text=True, env=env).stdout.split()[0]
    ssl_version = " ".join(subprocess.run([openssl, "version"], capture_output=True, text=True).stdout.split()[:2])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {sf_version}; {ssl_version}; {runs} runs ({sf_runs} for sf)"
    )
    print(f"{'what':32} {'ours':>8} {'bare':>8} {'ratio':>7}  {'target':16} result")
    for r in rows:
        print(
            f"{r.what:32} {r.ours:7.3f}s {r.theirs:7.3f}s {r.ours / r.theirs:6.2f}x  {r.target:16} "
            f"{'ok' if r.ok else 'MISSED'}"
        )
    if args.json:
        print(json.dumps([{**r.__dict__, "ok": r.ok} for r in rows]))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
