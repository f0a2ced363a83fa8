"""The one place that decides the environment `sf` runs in (measured against sf 2.150).

Each variable is set or dropped for a reason given beside it. Nothing here knows about the
emulator: a rehearsal that must not leave the machine hands sf its loopback guard through
NODE_OPTIONS (tests, scripts/demo, the `emulator serve` hint), which is passed through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# One sf run (--attempt-timeout, SFJWT_ORCH_SF_TIMEOUT): well under a minute, so that a hung sf or a
# server that never answers cannot keep a `--timeout 0` run waiting (issue 15, item 8). A login
# takes 2-5 s; sf tries up to 5 (host, aud) pairs only when the first ones fail at once.
RUN_TIMEOUT = 45.0
MAX_RUN_TIMEOUT = 3600.0
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def run_timeout(env: Mapping[str, str]) -> float:
    """Seconds one sf run may take before its process group is killed (SFJWT_ORCH_SF_TIMEOUT)."""
    try:
        value = float(env.get("SFJWT_ORCH_SF_TIMEOUT", RUN_TIMEOUT))
    except ValueError:
        return RUN_TIMEOUT
    return value if 0 < value <= MAX_RUN_TIMEOUT else RUN_TIMEOUT


def users_compile_cache(env: Mapping[str, str]) -> bool:
    """The user chose a Node compile cache of their own, or none (NODE_DISABLE_COMPILE_CACHE)."""
    return any(env.get(name) for name in ("NODE_COMPILE_CACHE", "NODE_DISABLE_COMPILE_CACHE"))


def sf_env(base: Mapping[str, str], timeout: float | None = None, compile_cache: Path | None = None) -> dict[str, str]:
    """sf's environment for a run that may take `timeout` seconds (default: run_timeout(base)), with
    Node's compile cache in `compile_cache`, a private folder that exists (None: without it)."""
    env = dict(base)
    # Telemetry would send a report per run; the updater and version check spawn detached
    # children that reach the network after we are gone (SF_AUTOUPDATE_DISABLE alone is not enough).
    env.update(
        SF_DISABLE_TELEMETRY="true",
        SF_DISABLE_AUTOUPDATE="true",
        SF_AUTOUPDATE_DISABLE="true",
        SF_SKIP_NEW_VERSION_CHECK="true",
        SF_JSON_TO_STDOUT="true",
    )
    # Deploys go over SOAP (sf's default), the API the emulator and every org speak; a user's
    # config could switch them to the REST deployRequest pair.
    env["SF_ORG_METADATA_REST_DEPLOY"] = "false"
    # jsforce waits 300 s on a host that accepts but never answers: bound each request by the run's
    # own limit, so the run ends with our message naming that limit, not sf's later (a user's own
    # HTTP_TIMEOUT is kept).
    env.setdefault("HTTP_TIMEOUT", str(int((timeout or run_timeout(base)) * 1000)))
    # sf writes its log file from a worker thread that it waits for before exiting: measured, ~1 s
    # more in a quarter to nine tenths of runs. Off unless the user set it (=false keeps the file).
    env.setdefault("SF_DISABLE_LOG_FILE", "true")
    # Most of an sf run is Node compiling sf's ~2,000 modules: with Node's compile cache (Node 22.1+;
    # older ones ignore it) a run reuses the code compiled by the last one, measured ~0.25 s (15-20 %)
    # less per run. sf does not turn it on itself. Node checks each entry against the module's
    # source and skips the cache quietly when it cannot read or write it; NODE_DISABLE_COMPILE_CACHE=1
    # turns it off, and a user's own NODE_COMPILE_CACHE wins.
    if compile_cache is not None and not users_compile_cache(base):
        env["NODE_COMPILE_CACHE"] = str(compile_cache)
    # Never let a token be printed unredacted, whatever the user's shell has set.
    env.pop("SF_TEMP_SHOW_SECRETS", None)
    # sf honours proxies but ignores NO_PROXY, so an inherited proxy breaks logins to hosts the
    # proxy cannot reach (a local emulator always). Keep them only when asked.
    if base.get("SFJWT_ORCH_KEEP_PROXY") != "1":
        for name in _PROXY_VARS:
            env.pop(name, None)
    # SF_AUDIENCE_URL silently adds (host, aud) pairs; only our own variable sets it.
    for name in ("SF_AUDIENCE_URL", "SFDX_AUDIENCE_URL"):
        env.pop(name, None)
    if base.get("SFJWT_ORCH_AUDIENCE_URL"):
        env["SF_AUDIENCE_URL"] = base["SFJWT_ORCH_AUDIENCE_URL"]
    return env
