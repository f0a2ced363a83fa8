"""One login as one value: `LoginRequest`, from the command line's answers to sf's argv.

A command builds the request from its flags (commands/options.LoginFlags: the answers given, as a
profile, and how to run); `resolved` lays those answers over the saved profile and checks every
value (validate.py) before anything runs. Written once for login, bootstrap, sandbox add, the fleet,
rotate and app create.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from sfjwt_orch.errors import Code
from sfjwt_orch.keys import material
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import profiles
from sfjwt_orch.store.paths import Paths

NEW_APP_WAIT = 600.0  # seconds: a new app takes 2-10 minutes to reach every Salesforce server


@dataclass(frozen=True)
class Wait:
    """How a login waits for an approval or a new app: the browser, the deadline, the pace."""

    open_browser: bool = False
    timeout: float = 0.0
    interval: float = 5.0
    attempt_timeout: float | None = None  # seconds one sf run may take (None: SFJWT_ORCH_SF_TIMEOUT or 45)


@dataclass(frozen=True)
class LoginRequest:
    """A login: its answers (`profile`: those given on the command line until `resolved`, then the
    saved profile with them on top, complete and checked), how it waits, and what else sf is told."""

    profile: profiles.Profile
    wait: Wait = Wait()
    set_default: bool = False
    set_default_dev_hub: bool = False
    # The app is new (--new-app, or made minutes ago): an unknown consumer key is waited for.
    new_app: bool = False
    key_env: str | None = None  # --key-env: the variable's name (its value is taken by the command)
    # Refusals worth waiting out besides a new app's propagation: rotation waits for the app to take
    # the new certificate (INVALID_ASSERTION until it has).
    also_wait_for: frozenset[Code] = frozenset()

    @property
    def alias(self) -> str:
        return self.profile.alias

    @property
    def client_id(self) -> str:
        return self.profile.client_id

    @property
    def username(self) -> str:
        return self.profile.username

    @property
    def instance_url(self) -> str:
        return self.profile.instance_url

    @property
    def callback_url(self) -> str:
        return self.profile.callback_url

    @property
    def key_file(self) -> Path:
        return Path(self.profile.key_file)

    @property
    def open_browser(self) -> bool:
        return self.wait.open_browser

    @property
    def timeout(self) -> float:
        return self.wait.timeout

    @property
    def interval(self) -> float:
        return self.wait.interval

    @property
    def attempt_timeout(self) -> float | None:
        return self.wait.attempt_timeout

    def with_key(self, key_file: Path) -> LoginRequest:
        return dataclasses.replace(self, profile=dataclasses.replace(self.profile, key_file=str(key_file)))

    def with_client_id(self, client_id: str) -> LoginRequest:
        return dataclasses.replace(self, profile=dataclasses.replace(self.profile, client_id=client_id))

    def for_new_app(self) -> LoginRequest:
        """The app is new: wait for it (at least NEW_APP_WAIT), whatever --timeout said for approvals
        (bootstrap, which made the app or was told it is new; `login --new-app` waits up to --timeout)."""
        longer = dataclasses.replace(self.wait, timeout=max(self.wait.timeout, NEW_APP_WAIT))
        return dataclasses.replace(self, new_app=True, wait=longer)


def default_key_file(profile: profiles.Profile, paths: Paths) -> Path:
    # expanduser: a hand-edited profile may say key_file = "~/keys/server.key" (issue 15, item 7).
    return Path(profile.key_file).expanduser() if profile.key_file else paths.key_dir(profile.alias) / material.KEY_NAME


def instance_url(profile: profiles.Profile) -> str:
    return validate.check_instance_url(
        profile.instance_url or validate.PRODUCTION, allow_any_host=profile.allow_non_salesforce_host
    )


def callback_url(profile: profiles.Profile) -> str:
    return validate.check_callback_url(profile.callback_url or validate.DEFAULT_CALLBACK)


def checked(req: LoginRequest, key_file: Path) -> LoginRequest:
    """The request with its profile complete and every value checked (USAGE errors name the flag)."""
    p = req.profile
    complete = dataclasses.replace(
        p,
        client_id=validate.check_client_id(p.client_id),
        username=validate.check_username(p.username),
        instance_url=instance_url(p),
        callback_url=callback_url(p),
        key_file=str(key_file),
    )
    return dataclasses.replace(req, profile=complete)


def login_request(profile: profiles.Profile, key_file: Path, wait: Wait) -> LoginRequest:
    """The request for a complete profile, every value checked."""
    return checked(LoginRequest(profile, wait), key_file)


def missing_flags(profile: profiles.Profile) -> list[str]:
    return [flag for flag, value in (("--client-id", profile.client_id), ("--username", profile.username)) if not value]
