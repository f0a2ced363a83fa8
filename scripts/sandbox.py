"""A throw-away world for the demo and the benchmark: its own HOME (sf keeps its logins under
$HOME/.sfdx, so your real ones are untouched), its own sfjwt-orch dirs, and every sf run kept on
this machine by the loopback guard."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sfjwt_orch.emulator import guard_path


def isolated_env(work: Path, *, platform_dirs: bool = False) -> dict[str, str]:
    """With `platform_dirs`, sfjwt-orch finds its folders as on a user's machine (under this HOME)
    instead of through SFJWT_ORCH_CONFIG_DIR / SFJWT_ORCH_DATA_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFDX_", "SFJWT_ORCH_", "XDG_"))}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "BROWSER"):
        env.pop(name, None)
    env.update(
        HOME=str(work / "home"),
        SF_USE_GENERIC_UNIX_KEYCHAIN="true",
        SF_DISABLE_TELEMETRY="true",
        SF_DISABLE_AUTOUPDATE="true",
        SF_AUTOUPDATE_DISABLE="true",
        SF_SKIP_NEW_VERSION_CHECK="true",
        SF_DISABLE_LOG_FILE="true",  # as sfjwt-orch runs sf: the bench compares like with like
        NODE_OPTIONS=f"--require {guard_path()}",
    )
    if not platform_dirs:
        env.update(SFJWT_ORCH_CONFIG_DIR=str(work / "config"), SFJWT_ORCH_DATA_DIR=str(work / "data"))
    (work / "home").mkdir(parents=True, exist_ok=True)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
