"""The runner with real processes: a started program is always reaped, with its whole group."""

from __future__ import annotations

import sys
from pathlib import Path

from sfjwt_orch.tools.runner import ProcessRunner
from tests.integration.procs import alive, wait_until

# A parent that starts a grandchild in its group, says both pids, then waits forever.
FAMILY = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print(child.pid, flush=True)
time.sleep(300)
"""


def test_started_program_hands_over_its_output_when_finished() -> None:
    running = ProcessRunner().start([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    result = running.finish(timeout=30)
    assert (result.returncode, result.stdout, result.stderr, result.timed_out) == (0, "out\n", "err\n", False)
    assert running.finish(timeout=30) is result  # finishing twice gives the same result
    running.cancel()  # and cancelling a finished program does nothing


def test_cancel_stops_the_program_and_its_children_and_can_be_repeated(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = FAMILY.replace("print(child.pid, flush=True)", f"open({str(pidfile)!r}, 'w').write(str(child.pid))")
    running = ProcessRunner().start([sys.executable, "-c", script])
    wait_until(lambda: pidfile.exists() and pidfile.read_text() != "", what="the grandchild to start")
    grandchild = int(pidfile.read_text())
    running.cancel()
    running.cancel()
    wait_until(lambda: not alive(grandchild), what="the grandchild to be gone")  # a guard (15 s)


def test_finish_past_its_timeout_kills_the_group_and_says_so() -> None:
    result = ProcessRunner().start([sys.executable, "-c", FAMILY]).finish(timeout=1)
    assert result.timed_out and result.returncode < 0
    grandchild = int(result.stdout.split()[0])
    wait_until(lambda: not alive(grandchild), what="the grandchild to be gone")  # a guard (15 s)
