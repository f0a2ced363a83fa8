"""A saved profile merged with the command line's flags, checked, as a login request.

Written once for login, bootstrap and authorize-url: flags override saved values, and every
value is validated (validate.py) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sfjwt_orch import config, keys, validate
from sfjwt_orch.errors import Code
from sfjwt_orch.paths import Paths


@dataclass(frozen=True)
class LoginFlags:
    """The login values the command line gave (None: not given)."""

    client_id: str | None = None
    username: str | None = None
    instance_url: str | None = None  # --sandbox arrives here as the sandbox login URL
    key_file: Path | None = None
    cert_file: Path | None = None
    callback_url: str | None = None
    allow_non_salesforce_host: bool = False

    @classmethod
    def of(
        cls,
        *,
        client_id: str | None = None,
        username: str | None = None,
        instance_url: str | None = None,
        sandbox: bool = False,
        key_file: Path | None = None,
        cert_file: Path | None = None,
        callback_url: str | None = None,
        allow_non_salesforce_host: bool = False,
    ) -> LoginFlags:
        return cls(
            client_id=client_id,
            username=username,
            instance_url=validate.SANDBOX if sandbox else instance_url,
            key_file=_absolute(key_file) if key_file else None,
            cert_file=_absolute(cert_file) if cert_file else None,
            callback_url=callback_url,
            allow_non_salesforce_host=allow_non_salesforce_host,
        )


def _absolute(path: Path) -> Path:
    """The path with symlinks resolved, unless that leads nowhere: a process substitution's
    /dev/fd/63 resolves to /proc/PID/fd/pipe:[N], which is no path at all, so it stays as given."""
    path = path.expanduser()
    resolved = path.resolve()
    return resolved if resolved.exists() else path.absolute()


@dataclass(frozen=True)
class Wait:
    """How a login waits for an approval or a new app: the browser, the deadline, the pace."""

    open_browser: bool = False
    timeout: float = 0.0
    interval: float = 5.0
    attempt_timeout: float | None = None  # seconds one sf run may take (None: SFJWT_ORCH_SF_TIMEOUT or 45)


@dataclass(frozen=True)
class SfDefaults:
    set_default: bool = False
    set_default_dev_hub: bool = False


@dataclass(frozen=True)
class LoginRequest:
    alias: str
    client_id: str
    username: str
    key_file: Path
    instance_url: str
    callback_url: str
    open_browser: bool
    timeout: float
    interval: float
    set_default: bool = False
    set_default_dev_hub: bool = False
    allow_non_salesforce_host: bool = False  # saved with the profile when the login works
    # Refusals worth waiting out besides a new app's propagation: rotation waits for the app to take
    # the new certificate (INVALID_ASSERTION until it has).
    also_wait_for: frozenset[Code] = frozenset()
    attempt_timeout: float | None = None


def merged(profile: config.Profile, flags: LoginFlags) -> config.Profile:
    return profile.merged(
        client_id=flags.client_id,
        username=flags.username,
        instance_url=flags.instance_url,
        key_file=str(flags.key_file) if flags.key_file else None,
        cert_file=str(flags.cert_file) if flags.cert_file else None,
        callback_url=flags.callback_url,
        allow_non_salesforce_host=flags.allow_non_salesforce_host,
    )


def default_key_file(profile: config.Profile, paths: Paths) -> Path:
    # expanduser: a hand-edited profile may say key_file = "~/keys/server.key" (issue 15, item 7).
    return Path(profile.key_file).expanduser() if profile.key_file else paths.key_dir(profile.alias) / keys.KEY_NAME


def instance_url(profile: config.Profile) -> str:
    return validate.check_instance_url(
        profile.instance_url or validate.PRODUCTION, allow_any_host=profile.allow_non_salesforce_host
    )


def callback_url(profile: config.Profile) -> str:
    return validate.check_callback_url(profile.callback_url or validate.DEFAULT_CALLBACK)


def login_request(
    profile: config.Profile, key_file: Path, wait: Wait, defaults: SfDefaults = SfDefaults()
) -> LoginRequest:
    """The request for a complete profile, every value checked (USAGE errors name the flag)."""
    return LoginRequest(
        alias=profile.alias,
        client_id=validate.check_client_id(profile.client_id),
        username=validate.check_username(profile.username),
        key_file=key_file,
        instance_url=instance_url(profile),
        callback_url=callback_url(profile),
        open_browser=wait.open_browser,
        timeout=wait.timeout,
        interval=wait.interval,
        set_default=defaults.set_default,
        set_default_dev_hub=defaults.set_default_dev_hub,
        allow_non_salesforce_host=profile.allow_non_salesforce_host,
        attempt_timeout=wait.attempt_timeout,
    )


def missing_flags(profile: config.Profile) -> list[str]:
    return [flag for flag, value in (("--client-id", profile.client_id), ("--username", profile.username)) if not value]
