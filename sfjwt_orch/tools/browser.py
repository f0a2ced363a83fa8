"""Opening the approval URL in a browser, without ever blocking the login for long.

`BROWSER` (an os.pathsep-separated list of commands, `%s` for the URL, as Python's webbrowser
reads it) is run through the runner so that a command that hangs or fails is noticed; otherwise
the standard library picks the platform's opener. The caller has printed the URL already.
"""

from __future__ import annotations

import os
import shlex
import threading
import webbrowser
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfjwt_orch.tools.runner import Runner


def browser_argv(command: str, url: str) -> list[str] | None:
    """One BROWSER entry as argv for `url`, or None when it cannot be parsed."""
    try:
        parts = shlex.split(command)
    except ValueError:
        return None
    if not parts:
        return None
    return [p.replace("%s", url) for p in parts] if "%s" in command else [*parts, url]


def open_url(url: str, env: Mapping[str, str], runner: Runner, *, wait: float = 3.0) -> bool:
    """True when a launch was reported to have worked."""
    browser = env.get("BROWSER", "")
    if browser:
        for command in browser.split(os.pathsep):
            argv = browser_argv(command, url) if command.strip() else None
            if argv and runner.launch(argv, env, wait=wait):
                return True
        return False
    return _stdlib_open(url, wait)


def _stdlib_open(url: str, wait: float) -> bool:
    result: list[bool] = []

    def target() -> None:
        try:
            result.append(webbrowser.open(url, new=2))
        except Exception:  # a broken browser registration must not break the login
            result.append(False)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(wait)
    return bool(result and result[0])
