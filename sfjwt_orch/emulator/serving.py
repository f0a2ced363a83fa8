"""``serve_forever``: run an ``Emulator`` until SIGINT/SIGTERM, for ``sfjwt-orch emulator serve``."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from .model import EmulatorConfig, RecordedRequest
from .server import Emulator
from .state import Clock


def serve_forever(
    config: EmulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[Emulator], None] | None = None,
    *,
    allow_non_loopback: bool = False,
    expose_tokens: bool = False,
    on_request: Callable[[RecordedRequest], None] | None = None,
    on_answer: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
    clock: Clock = time.time,
) -> None:
    """Run the emulator until SIGINT/SIGTERM (or ``stop`` is set), then shut it down cleanly.

    ``on_ready`` gets the running emulator (to print its URL). Signal handlers are installed only
    when called from the main thread, and the previous ones are restored on the way out.
    """
    stop = stop or threading.Event()
    emulator = Emulator(config, clock=clock, expose_tokens=expose_tokens, on_request=on_request, on_answer=on_answer)
    previous: dict[signal.Signals, Any] = {}

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _on_signal)
    try:
        emulator.start(host, port, allow_non_loopback=allow_non_loopback)
        try:
            if on_ready is not None:
                on_ready(emulator)
            # A timed wait keeps the main thread responsive to signals on every platform.
            while not stop.wait(0.2):
                pass
        finally:
            emulator.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
