"""The sf adapter: every run of the Salesforce CLI goes through `Sf`.

Its methods build the argv, run it in sf's quiet environment (env.py) with a hard timeout, and
return typed results or a Diagnosis (parse.py, catalog.py). Flows never see argv, environments or
raw output. A missing sf, or one that cannot be started, is SF_NOT_FOUND from one place (`unusable`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.files import ensure_private_dir
from sfjwt_orch.tools.runner import CommandResult, ProgramNotFound, Runner, find_program
from sfjwt_orch.tools.sf.catalog import CATALOG_BY_CODE, Diagnosis
from sfjwt_orch.tools.sf.env import run_timeout, sf_env, users_compile_cache
from sfjwt_orch.tools.sf.parse import (
    LoginSuccess,
    OrgDisplay,
    parse_config_set,
    parse_display,
    parse_login,
    parse_logout,
    parse_version,
)

if TYPE_CHECKING:
    from sfjwt_orch.tools.sf.admin import Assigned, Deployed

__all__ = [
    "CATALOG_BY_CODE",
    "Diagnosis",
    "LoginArgs",
    "LoginSuccess",
    "OrgDisplay",
    "Sf",
    "unusable",
]

T = TypeVar("T")

# The admin's metadata calls (list, retrieve, assign) may take longer than a login attempt on a busy org.
ADMIN_RUN_TIMEOUT = 150.0

# A deploy waits for the org (sf polls every second); a small app takes seconds, a busy org minutes.
DEPLOY_WAIT_MINUTES = 10


def unusable(reason: str) -> SfjwtError:
    """sf is missing, or was found but cannot be started (a broken shebang, a noexec mount)."""
    return SfjwtError(
        Code.SF_NOT_FOUND,
        f"the Salesforce CLI (sf) cannot be used: {reason}",
        "install it: npm install -g @salesforce/cli (needs Node 22+), or set SFJWT_ORCH_SF to its path",
    )


@dataclass(frozen=True)
class LoginArgs:
    client_id: str
    username: str
    key_file: Path
    instance_url: str
    alias: str
    set_default: bool = False
    set_default_dev_hub: bool = False
    timeout: float | None = None  # --attempt-timeout; None: SFJWT_ORCH_SF_TIMEOUT or its default

    def argv(self) -> list[str]:
        argv = ["org", "login", "jwt", "--client-id", self.client_id, "--jwt-key-file", str(self.key_file)]
        argv += ["--username", self.username, "--instance-url", self.instance_url, "--alias", self.alias]
        if self.set_default:
            argv.append("--set-default")
        if self.set_default_dev_hub:
            argv.append("--set-default-dev-hub")
        return [*argv, "--json"]  # a path to the key, never the key: argv is visible to every user (ps)


class Sf:
    """sf, found on PATH (or at $SFJWT_ORCH_SF) the first time it is needed."""

    def __init__(self, runner: Runner, env: Mapping[str, str], compile_cache: Path | None = None) -> None:
        self._runner = runner
        self._env = env
        self._exe: str | None = None
        self._compile_cache = compile_cache
        self._cache_checked = False
        self._cache_lock = threading.Lock()

    def find(self) -> str:
        """sf's path; SF_NOT_FOUND when there is none."""
        if self._exe is None:
            try:
                self._exe = find_program("sf", "SFJWT_ORCH_SF", self._env)
            except ProgramNotFound as exc:
                raise unusable(exc.reason) from None
        return self._exe

    def _run(self, args: list[str], timeout: float | None = None) -> CommandResult:
        argv = [self.find(), *args]
        limit = timeout or run_timeout(self._env)
        try:
            return self._runner.run(argv, timeout=limit, env=sf_env(self._env, limit, self._cache()))
        except ProgramNotFound as exc:
            raise unusable(exc.reason) from None

    def _cache(self) -> Path | None:
        """Node's compile cache for sf (sf_env), in a 0700 folder made on first use: what Node
        loads from it becomes code, so nobody else may write there. None when the folder cannot be
        made or made private (a full disk, a read-only home), and when the user chose their own
        NODE_COMPILE_CACHE or none: sf then runs without ours. Threads share an Sf (status)."""
        with self._cache_lock:
            if not self._cache_checked:
                if users_compile_cache(self._env):
                    self._compile_cache = None
                elif self._compile_cache is not None:
                    try:
                        ensure_private_dir(self._compile_cache)
                    except SfjwtError:
                        self._compile_cache = None
                self._cache_checked = True
        return self._compile_cache

    def _named(self, outcome: T) -> T:
        """A broken-state Diagnosis names the file and the fix for it, once sf has failed on it."""
        if isinstance(outcome, Diagnosis) and outcome.code is Code.SF_STATE_BROKEN:
            from sfjwt_orch.tools.sf.local import state_problem

            found = state_problem(self._env, outcome.decided)
            if found is not None:
                return replace(outcome, message=found.message, fix=found.fix)  # sf's words stay in .decided
        return outcome

    def login_jwt(self, args: LoginArgs) -> LoginSuccess | Diagnosis:
        return self._named(parse_login(self._run(args.argv(), timeout=args.timeout)))

    def display(self, alias: str) -> OrgDisplay | Diagnosis:
        return self._named(parse_display(self._run(["org", "display", "--target-org", alias, "--json"])))

    def logout(self, alias: str) -> bool | Diagnosis:
        """True: logged out; False: sf held no login for the alias."""
        return self._named(parse_logout(self._run(["org", "logout", "--target-org", alias, "--no-prompt", "--json"])))

    def config_set(self, key: str, value: str) -> Diagnosis | None:
        return parse_config_set(self._run(["config", "set", f"{key}={value}", "--global", "--json"]))

    # The admin commands' parsers are imported by their methods: a login never needs them.

    def deploy(self, metadata_dir: Path, target_org: str, tests: tuple[str, ...] = ()) -> Deployed | Diagnosis:
        """`tests`: the Apex test classes to run (RunSpecifiedTests), as a production deploy with Apex needs."""
        from sfjwt_orch.tools.sf.admin import parse_deploy

        argv = ["project", "deploy", "start", "--metadata-dir", str(metadata_dir), "--target-org", target_org]
        argv += ["--test-level", "RunSpecifiedTests", *(a for t in tests for a in ("--tests", t))] if tests else []
        argv += ["--wait", str(DEPLOY_WAIT_MINUTES), "--json"]
        return parse_deploy(self._run(argv, timeout=DEPLOY_WAIT_MINUTES * 60 + 60))

    def list_metadata(self, metadata_type: str, target_org: str) -> list[str] | Diagnosis:
        """The full names of the org's components of one type."""
        from sfjwt_orch.tools.sf.admin import parse_list_metadata

        argv = ["org", "list", "metadata", "--metadata-type", metadata_type, "--target-org", target_org, "--json"]
        return parse_list_metadata(self._run(argv, timeout=self._admin_timeout()))

    def retrieve(self, member: str, target_dir: Path, target_org: str) -> Diagnosis | None:
        """Retrieve one component ("Type:Name") into `target_dir`, unzipped (metadata format)."""
        from sfjwt_orch.tools.sf.admin import parse_retrieve

        argv = ["project", "retrieve", "start", "--metadata", member, "--target-metadata-dir", str(target_dir)]
        argv += ["--unzip", "--target-org", target_org, "--json"]
        return parse_retrieve(self._run(argv, timeout=self._admin_timeout()))

    def assign_permset(self, name: str, username: str, target_org: str) -> Assigned | Diagnosis:
        from sfjwt_orch.tools.sf.admin import parse_assign

        argv = ["org", "assign", "permset", "--name", name, "--on-behalf-of", username, "--target-org", target_org]
        return parse_assign(self._run([*argv, "--json"], timeout=self._admin_timeout()))

    def _admin_timeout(self) -> float:
        return max(run_timeout(self._env), ADMIN_RUN_TIMEOUT)

    def version(self) -> str | None:
        """ "2.150.6 (node v24.19.0)", or None when `sf --version` does not work."""
        result = self._run(["--version"], timeout=60)
        return parse_version(result.stdout) if result.returncode == 0 else None
