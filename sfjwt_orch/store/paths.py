"""Where sfjwt-orch keeps things: platformdirs locations, movable by environment variables.

Profiles (no secrets) live in the config dir; keys and certificates live in the data dir, one
0700 folder per alias. sf stores the key's *path* and re-reads it on every token refresh, so keys
must live somewhere durable, never in a temp dir (forcedotcom/cli #81).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sfjwt_orch.errors import usage

APP_NAME = "sfjwt-orch"
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_alias(alias: str) -> str:
    """An alias names a folder and a file, so it may not carry path characters."""
    if not _ALIAS.fullmatch(alias or "") or ".." in alias:
        raise usage(
            f"invalid alias {alias!r}",
            "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. my-hub-org)",
        )
    return alias


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path | None = None  # what can be deleted at any time (None: nothing is cached)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Paths:
        env = os.environ if env is None else env
        config, data = env.get("SFJWT_ORCH_CONFIG_DIR"), env.get("SFJWT_ORCH_DATA_DIR")
        if config and data:  # set in CI and tests: no need to ask the platform (platformdirs costs ~8 ms)
            data_dir = Path(data).expanduser()
            return cls(Path(config).expanduser(), data_dir, data_dir / "logs", data_dir / "cache")
        import platformdirs

        config = config or platformdirs.user_config_dir(APP_NAME)
        logs = str(Path(data) / "logs") if data else platformdirs.user_log_dir(APP_NAME)
        cache = str(Path(data) / "cache") if data else platformdirs.user_cache_dir(APP_NAME)
        data = data or platformdirs.user_data_dir(APP_NAME)
        return cls(
            Path(config).expanduser(), Path(data).expanduser(), Path(logs).expanduser(), Path(cache).expanduser()
        )

    def profile_file(self, alias: str) -> Path:
        return self.config_dir / "profiles" / f"{check_alias(alias)}.toml"

    def profiles_dir(self) -> Path:
        return self.config_dir / "profiles"

    def key_dir(self, alias: str) -> Path:
        return self.data_dir / "keys" / check_alias(alias)

    def state_file(self, alias: str) -> Path:
        return self.data_dir / "state" / f"{check_alias(alias)}.json"

    def keys_state_file(self) -> Path:
        # Beside the aliases' state files; an alias starts with a letter or digit, so none is "_keys".
        return self.data_dir / "state" / "_keys.json"

    def node_compile_cache(self) -> Path | None:
        """Where Node keeps the compiled code of sf's modules between runs (tools/sf/env.py)."""
        return self.cache_dir / "node-compile-cache" if self.cache_dir else None

    def sf_home(self) -> Path:
        """Where `sfjwt-orch sf install` keeps sf and the Node it runs on (tools/sf/managed.py)."""
        return self.data_dir / "sf"

    def managed_sf(self) -> Path:
        """The managed sf's launcher: it exists only once an install is complete."""
        return self.sf_home() / "bin" / "sf"

    def lock_file(self, alias: str) -> Path:
        return self.data_dir / "locks" / f"{check_alias(alias)}.lock"
