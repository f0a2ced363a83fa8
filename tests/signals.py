"""Signals in the processes tests start."""

from __future__ import annotations

import signal


def as_foreground_job() -> None:
    """preexec_fn: Ctrl-C (SIGINT) as a terminal's foreground job has it.

    A test run started in the background (`scripts/test &`, nohup, some CI agents) hands its children
    SIGINT ignored, and Python then never raises KeyboardInterrupt: every Ctrl-C test would hang.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
