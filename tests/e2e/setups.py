"""Set-ups many e2e tests start from, made once per run and copied into each test (issue 21 item 10:
slow tests share their set-up rather than each paying it).

An org with sf logged in as its admin costs one sf run; the same org after `app create` seven more
(about a CPU-second each). Each set-up is made once, by whichever xdist worker asks first, in a
folder every worker sees: sf's files (home/), sfjwt-orch's (config/, data/) and the emulated org
(Emulator.snapshot). A test gets a copy of its own: the files copied into its folders with the
set-up's folder and URL replaced by its own, and a new emulator started from the snapshot on a
port of its own. The tokens in sf's files stay valid there (the snapshot keeps the sessions), so
the test goes on exactly as if it had made the set-up itself, request log included.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfjwt_orch.emulator import Emulator, EmulatorConfig, empty_org_config

USER = "ci@example.com"  # the integration user app create pre-authorizes
OTHER = "other@example.com"  # a second user of the org, whom nothing pre-authorizes

# name: (the org, whether `app create --alias ci --target-org admin --username USER` ran after the admin login)
SETUPS: dict[str, tuple[Callable[[], EmulatorConfig], bool]] = {
    "admin": (lambda: empty_org_config((USER, OTHER)), False),
    "admin-dev-hub": (lambda: empty_org_config((USER, OTHER), is_dev_hub=True), False),
    "app": (lambda: empty_org_config((USER, OTHER)), True),
    "app-dev-hub": (lambda: empty_org_config((USER, OTHER), is_dev_hub=True), True),
}
FOLDERS = ("home", "config", "data")  # as the autouse isolated_env fixture makes them under tmp_path


@dataclass(frozen=True)
class Made:
    root: Path  # home/, config/, data/ as they were when it was made
    url: str  # the emulator's URL, which sf's and sfjwt-orch's files name
    snapshot: bytes  # the org (Emulator.snapshot)
    app: dict[str, Any] | None  # what `app create --json` answered


class SetUps:
    """The run's set-ups. `env_for(home, guard_log)` is the e2e tier's environment for a HOME."""

    def __init__(self, shared_tmp: Path, env_for: Callable[[Path, Path], dict[str, str]]) -> None:
        self._shared, self._env_for = shared_tmp, env_for
        self._made: dict[str, Made] = {}

    def copy(self, name: str, tmp: Path, env: dict[str, str], emulators: list[Emulator]) -> tuple[Emulator, Made]:
        """Set-up `name` copied into the test whose folders are under `tmp`: its emulator, started
        (and added to `emulators`, which the test stops)."""
        made = self._get(name)
        emu = Emulator.from_snapshot(made.snapshot).start()
        emulators.append(emu)
        for folder in FOLDERS:
            _copy_tree(made.root / folder, Path(env[_VARS[folder]]), {str(made.root): str(tmp), made.url: emu.url})
        return emu, made

    def _get(self, name: str) -> Made:
        if name not in self._made:
            root = self._shared / f"setup-{name}"
            with (self._shared / f"setup-{name}.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (root / "made.json").exists():
                    self._make(name, root)
            done = json.loads((root / "made.json").read_text())
            self._made[name] = Made(root, done["url"], (root / "emulator.state").read_bytes(), done["app"])
        return self._made[name]

    def _make(self, name: str, root: Path) -> None:
        config, with_app = SETUPS[name]
        shutil.rmtree(root, ignore_errors=True)  # what an attempt that failed (in another worker) left
        for folder in FOLDERS:
            (root / folder).mkdir(parents=True, exist_ok=True)
        env = self._env_for(root / "home", root / "guard.log")
        env.update(SFJWT_ORCH_CONFIG_DIR=str(root / "config"), SFJWT_ORCH_DATA_DIR=str(root / "data"))
        emu = Emulator(config()).start()
        url, app = emu.url, None
        try:
            login = subprocess.run(
                [env["SFJWT_ORCH_SF"], "org", "login", "access-token", "--instance-url", url, "--alias", "admin",
                 "--no-prompt", "--json"],
                env={**env, "SF_ACCESS_TOKEN": emu.admin_token}, capture_output=True, text=True, timeout=180,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
            assert json.loads(login.stdout)["status"] == 0, login.stdout + login.stderr
            if with_app:
                made = subprocess.run(
                    [sys.executable, "-m", "sfjwt_orch", "app", "create", "--alias", "ci", "--target-org", "admin",
                     "--username", USER, "--json"],
                    env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                assert made.returncode == 0, made.stderr
                app = json.loads(made.stdout)
        finally:
            emu.stop()
        (root / "emulator.state").write_bytes(emu.snapshot())
        (root / "made.json").write_text(json.dumps({"url": url, "app": app}))  # last: the set-up is complete


_VARS = {"home": "HOME", "config": "SFJWT_ORCH_CONFIG_DIR", "data": "SFJWT_ORCH_DATA_DIR"}


def _copy_tree(source: Path, target: Path, replace: dict[str, str]) -> None:
    """Copy `source` into `target` (which may exist), modes kept (0700 folders, 0600 keys), with
    each of `replace`'s strings replaced in every text file: sf's auth files and sfjwt-orch's
    profiles and state name the folder and the org's URL."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        to = target / path.relative_to(source)
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            to.mkdir(exist_ok=True)
        else:
            data = path.read_bytes()
            if b"\0" not in data:
                for old, new in replace.items():
                    data = data.replace(old.encode(), new.encode())
            to.write_bytes(data)
        os.chmod(to, mode)
    os.chmod(target, stat.S_IMODE(source.stat().st_mode))
