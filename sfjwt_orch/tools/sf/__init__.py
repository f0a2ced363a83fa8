"""The sf adapter: every run of the Salesforce CLI goes through `Sf`.

Its methods build the argv, run it in sf's quiet environment (env.py) with a hard timeout, and
return typed results or raise the one failure, SfFailed (its Diagnosis from parse.py, catalog.py),
so a call site reads as the happy path. Flows never see argv, environments or raw output. A missing
sf, or one that cannot be started, is SF_NOT_FOUND from one place (`unusable`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.store.files import ensure_private_dir
from sfjwt_orch.tools.runner import CommandResult, ProgramNotFound, Runner
from sfjwt_orch.tools.sf.catalog import CATALOG_BY_CODE, Diagnosis
from sfjwt_orch.tools.sf.env import run_timeout, sf_env, users_compile_cache
from sfjwt_orch.tools.sf.local import state_problem
from sfjwt_orch.tools.sf.parse import (
    LoginSuccess,
    OrgDisplay,
    classify,
    parse_config_set,
    parse_display,
    parse_login,
    parse_logout,
    parse_sf_version,
)

if TYPE_CHECKING:
    from sfjwt_orch.tools.sf.admin import Assigned, Deployed
    from sfjwt_orch.tools.sf.discover import Found

__all__ = [
    "CATALOG_BY_CODE",
    "Diagnosis",
    "JwtLogin",
    "LoginSuccess",
    "OrgDisplay",
    "Sf",
    "SfFailed",
    "unusable",
]

T = TypeVar("T")

# The admin's metadata calls (list, retrieve, assign) may take longer than a login attempt on a busy org.
ADMIN_RUN_TIMEOUT = 150.0

# A deploy waits for the org (sf polls every second); a small app takes seconds, a busy org minutes.
DEPLOY_WAIT_MINUTES = 10


class SfFailed(SfjwtError):
    """The adapter's one failure: sf cannot be run, or did not do what it was asked. Its code,
    message and fix come from the catalogue (catalog.py, parse.py); `diagnosis` keeps sf's lines."""

    def __init__(self, diagnosis: Diagnosis) -> None:
        super().__init__(diagnosis.code, diagnosis.message, diagnosis.fix)
        self.diagnosis = diagnosis

    @property
    def local(self) -> bool:
        """sf's own trouble (missing, or its files broken), not the org's answer: a caller keeps it
        as it is rather than rewording it, since its fix is the one that helps."""
        return self.code in (Code.SF_NOT_FOUND, Code.SF_STATE_BROKEN)

    def unless_local(self, instead: SfjwtError) -> SfjwtError:
        """`instead` (the caller's words for this failure), unless the failure is sf's own."""
        return self if self.local else instead


def unusable(reason: str) -> SfFailed:
    """sf is missing, or was found but cannot be started (a broken shebang, a noexec mount)."""
    from sfjwt_orch.tools.sf.discover import not_found  # discover imports this module: a lazy import

    return not_found(reason)


class JwtLogin(Protocol):
    """What `sf org login jwt` is told: a login request (flows.login_request.LoginRequest) is one."""

    @property
    def client_id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def key_file(self) -> Path: ...
    @property
    def instance_url(self) -> str: ...
    @property
    def alias(self) -> str: ...
    @property
    def attempt_timeout(self) -> float | None: ...  # None: SFJWT_ORCH_SF_TIMEOUT or its default
    @property
    def set_default(self) -> bool: ...
    @property
    def set_default_dev_hub(self) -> bool: ...


def login_argv(login: JwtLogin) -> list[str]:
    argv = ["org", "login", "jwt", "--client-id", login.client_id, "--jwt-key-file", str(login.key_file)]
    argv += ["--username", login.username, "--instance-url", login.instance_url, "--alias", login.alias]
    if login.set_default:
        argv.append("--set-default")
    if login.set_default_dev_hub:
        argv.append("--set-default-dev-hub")
    return [*argv, "--json"]  # a path to the key, never the key: argv is visible to every user (ps)


class Sf:
    """sf, found the first time it is needed (discover.py: $SFJWT_ORCH_SF, a working sf on PATH,
    then `managed`, the one `sfjwt-orch sf install` made); `note` hears why a PATH sf was skipped."""

    def __init__(
        self,
        runner: Runner,
        env: Mapping[str, str],
        compile_cache: Path | None = None,
        managed: Path | None = None,
        note: Callable[[str], None] | None = None,
        found: Found | None = None,
    ) -> None:
        self._runner = runner
        self._env = env
        self._found: Found | None = found  # given: the sf another adapter found (a fleet's aliases)
        self._managed = managed
        self._note = note
        self._compile_cache = compile_cache
        self._cache_checked = False
        self._cache_lock = threading.Lock()

    def find(self) -> str:
        """sf's path; SF_NOT_FOUND (or SF_FAILED for a PATH sf on a Node too old) when none works."""
        return self.found().exe

    def found(self) -> Found:
        """Which sf, and why (threads share an Sf: the search and its notes happen once)."""
        with self._cache_lock:
            if self._found is None:
                from sfjwt_orch.tools.sf.discover import discover  # discover imports this module: a lazy import

                self._found = discover(self._env, self._runner, self._managed)
                for skipped in self._found.skipped:
                    if self._note is not None:
                        self._note(skipped)
        return self._found

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

    def _call(
        self, args: list[str], parse: Callable[[CommandResult], T | Diagnosis], timeout: float | None = None
    ) -> T:
        """Run sf and parse what it did: the parsed value, or SfFailed. sf failing on its own files
        (~/.sfdx) is recognised here, whatever the command, and named with the file and its fix."""
        return self._settle(classify(self._run(args, timeout), parse))

    def _settle(self, outcome: T | Diagnosis) -> T:
        """The parsed value, or SfFailed (a broken ~/.sfdx named with its file and fix)."""
        if not isinstance(outcome, Diagnosis):
            return outcome
        if outcome.code is Code.SF_STATE_BROKEN:
            found = state_problem(self._env, outcome.decided)
            if found is not None:
                outcome = replace(outcome, message=found.message, fix=found.fix)  # sf's words stay in .decided
        raise SfFailed(outcome)

    def login_jwt(self, login: JwtLogin) -> LoginSuccess:
        return self._call(login_argv(login), parse_login, timeout=login.attempt_timeout)

    def display(self, alias: str) -> OrgDisplay:
        return self._call(display_argv(alias), parse_display)

    def logout(self, alias: str) -> bool:
        """True: logged out; False: sf held no login for the alias."""
        return self._call(["org", "logout", "--target-org", alias, "--no-prompt", "--json"], parse_logout)

    def config_set(self, key: str, value: str) -> None:
        self._call(["config", "set", f"{key}={value}", "--global", "--json"], parse_config_set)

    # The admin commands' parsers (~18 ms) are imported by their methods: a login never needs them
    # (tests/integration/test_login_cli.py checks it does not load them).

    def deploy(self, metadata_dir: Path, target_org: str, tests: tuple[str, ...] = ()) -> Deployed:
        """`tests`: the Apex test classes to run (RunSpecifiedTests), as a production deploy with Apex needs."""
        from sfjwt_orch.tools.sf.admin import parse_deploy

        argv = deploy_argv(metadata_dir, target_org, tests)
        return self._call(argv, parse_deploy, timeout=DEPLOY_WAIT_MINUTES * 60 + 60)

    def list_metadata(self, metadata_type: str, target_org: str) -> list[str]:
        """The full names of the org's components of one type."""
        from sfjwt_orch.tools.sf.admin import parse_list_metadata

        argv = list_metadata_argv(metadata_type, target_org)
        return self._call(argv, parse_list_metadata, timeout=self._admin_timeout())

    def retrieve(self, member: str, target_dir: Path, target_org: str) -> None:
        """Retrieve one component ("Type:Name") into `target_dir`, unzipped (metadata format)."""
        from sfjwt_orch.tools.sf.admin import parse_retrieve

        argv = ["project", "retrieve", "start", "--metadata", member, "--target-metadata-dir", str(target_dir)]
        argv += ["--unzip", "--target-org", target_org, "--json"]
        self._call(argv, parse_retrieve, timeout=self._admin_timeout())

    def assign_permset(self, name: str, username: str, target_org: str) -> Assigned:
        from sfjwt_orch.tools.sf.admin import parse_assign

        return self._call(assign_argv(name, username, target_org), parse_assign, timeout=self._admin_timeout())

    def _admin_timeout(self) -> float:
        return max(run_timeout(self._env), ADMIN_RUN_TIMEOUT)

    def version(self) -> str:
        """ "2.150.6 (node v24.19.0)" (SfFailed when `sf --version` does not say it)."""
        return self._call(["--version"], parse_sf_version, timeout=60)


# The argv of each sf command the adapter runs, apart, so `app create --dry-run` lists what runs.


def display_argv(alias: str) -> list[str]:
    return ["org", "display", "--target-org", alias, "--json"]


def list_metadata_argv(metadata_type: str, target_org: str) -> list[str]:
    return ["org", "list", "metadata", "--metadata-type", metadata_type, "--target-org", target_org, "--json"]


def deploy_argv(metadata_dir: Path, target_org: str, tests: tuple[str, ...] = ()) -> list[str]:
    argv = ["project", "deploy", "start", "--metadata-dir", str(metadata_dir), "--target-org", target_org]
    argv += ["--test-level", "RunSpecifiedTests", *(a for t in tests for a in ("--tests", t))] if tests else []
    return [*argv, "--wait", str(DEPLOY_WAIT_MINUTES), "--json"]


def assign_argv(name: str, username: str, target_org: str) -> list[str]:
    argv = ["org", "assign", "permset", "--name", name, "--on-behalf-of", username, "--target-org", target_org]
    return [*argv, "--json"]
