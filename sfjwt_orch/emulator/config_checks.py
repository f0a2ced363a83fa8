"""The checks every emulator config passes, however it was built (JSON file, ``demo_config``, code).

Each check raises ``EmulatorConfigError`` on the first problem, with a one-line message naming the
source and the field (``apps[0].certificate: ...``) and one concrete fix.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from .catalog import TOKEN_OUTCOMES
from .certificate import CertificateError, load_certificate
from .errors import EmulatorConfigError
from .http import host_allowed
from .model import (
    DEFAULT_CALLBACK_URL,
    DEMO_ORG_ID,
    DEMO_USER_ID,
    DEMO_USERNAME,
    POLICIES,
    App,
    EmulatorConfig,
    Switches,
    User,
)
from .product import EMAIL

_ORG_ID_RE = re.compile(r"^00D[A-Za-z0-9]{15}$")
_USER_ID_RE = re.compile(r"^005[A-Za-z0-9]{15}$")
# Salesforce usernames must look like an email address (they need not be a real mailbox).
_CONSUMER_KEY_RE = re.compile(r"^[\x21-\x7e]{18,256}$")
_API_VERSION_RE = re.compile(r"^(\d{2,3})\.0$")
_HOURS_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_PERMISSION_SET_ID_RE = re.compile(r"^0PS[A-Za-z0-9]{15}$")
# Salesforce API names: a letter, then letters, digits and single underscores, not ending in one.
API_NAME_RE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")

CERT_FIX = (
    "point 'certificate' at the PEM certificate uploaded to the app, e.g. make one with "
    "`openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt -days 365 "
    "-subj /CN=emulator`"
)


def fail(source: str, where: str, problem: str, fix: str) -> EmulatorConfigError:
    return EmulatorConfigError(f"{source}: {where}: {problem}", fix)


def _is_url(text: str, schemes: Iterable[str] | None = None) -> bool:
    parts = urlsplit(text)
    if not parts.scheme or (schemes is not None and parts.scheme not in schemes):
        return False
    return bool(parts.netloc or parts.path)


def validate_switches(switches: Switches, source: str = "emulator config", where: str = "switches") -> None:
    if not math.isfinite(switches.slow_token_seconds) or switches.slow_token_seconds < 0:
        raise fail(source, f"{where}.slow_token_seconds", "must be a number of seconds >= 0", "use e.g. 0 or 2.5")
    if switches.rate_limit_after is not None and switches.rate_limit_after < 0:
        raise fail(source, f"{where}.rate_limit_after", "must be null or an integer >= 0", "use null for no limit")
    if switches.login_rate_per_hour is not None and switches.login_rate_per_hour < 0:
        raise fail(
            source, f"{where}.login_rate_per_hour", "must be null or an integer >= 0", "use 3600 (Salesforce's cap)"
        )
    if not math.isfinite(switches.deploy_propagation_seconds) or switches.deploy_propagation_seconds < 0:
        raise fail(
            source, f"{where}.deploy_propagation_seconds", "must be a number of seconds >= 0", "use e.g. 0 or 120"
        )
    if switches.deploy_pending_polls < 0:
        raise fail(source, f"{where}.deploy_pending_polls", "must be an integer >= 0", "use 0 for an at-once result")
    for i, key in enumerate(switches.fail_next):
        if key not in TOKEN_OUTCOMES:
            raise fail(
                source,
                f"{where}.fail_next[{i}]",
                f"unknown outcome {key!r}",
                "use one of: " + ", ".join(TOKEN_OUTCOMES),
            )


def validate_config(config: EmulatorConfig, source: str = "emulator config") -> None:
    """Check an ``EmulatorConfig`` however it was built; raise ``EmulatorConfigError`` on the first
    problem."""
    _check_org(config, source)
    _check_permission_sets(config, source)
    _check_users(config, source)
    seen_keys: set[str] = set()
    for i, app in enumerate(config.apps):
        _check_app(app, f"apps[{i}]", seen_keys, source)
        seen_keys.add(app.consumer_key)
    for i, aud in enumerate(config.accepted_audiences or ()):
        if not _is_url(aud, ("http", "https")) or not urlsplit(aud).netloc:
            raise fail(
                source,
                f"accepted_audiences[{i}]",
                f"{aud!r} is not an http(s) URL",
                "use e.g. 'https://login.salesforce.com'",
            )
    match = _API_VERSION_RE.match(config.api_version)
    # sf asks for v51.0 (the Dev Hub probe), so an older highest version would break a login.
    if not match or int(match.group(1)) < 51:
        raise fail(
            source,
            "api_version",
            f"{config.api_version!r} is not a version like '62.0' (51.0 or later)",
            "use '62.0'",
        )
    validate_switches(config.switches, source)


def _check_org(config: EmulatorConfig, source: str) -> None:
    org = config.org
    if not _ORG_ID_RE.match(org.org_id):
        raise fail(
            source,
            "org.org_id",
            f"{org.org_id!r} is not an 18-character org id starting with 00D",
            f"use e.g. {DEMO_ORG_ID!r}",
        )
    for name in ("name", "instance_name", "edition"):
        if not str(getattr(org, name)).strip():
            raise fail(source, f"org.{name}", "must not be empty", "give it a short text value")
    if org.my_domain is not None and not host_allowed(f"{org.my_domain}:1", 1):
        # The emulator listens on loopback only and answers only loopback Host names.
        raise fail(source, "org.my_domain", f"{org.my_domain!r} is not a loopback name", "use 'localhost'")
    if not math.isfinite(org.clock_offset_seconds):
        raise fail(source, "org.clock_offset_seconds", "must be a finite number of seconds", "use e.g. 600")


def _check_login_policy(user: User, where: str, source: str) -> None:
    for j, cidr in enumerate(user.login_ip_ranges):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise fail(
                source, f"{where}.login_ip_ranges[{j}]", f"{cidr!r} is not an IP range", "use e.g. '10.0.0.0/8'"
            ) from None
    for value in user.login_hours or ():
        if not _HOURS_RE.match(value):
            raise fail(source, f"{where}.login_hours", f"{value!r} is not a time like '09:00'", "use HH:MM (UTC)")


def _check_users(config: EmulatorConfig, source: str) -> None:
    if not config.users:
        raise fail(source, "users", "the org needs at least one user", f"add {{'username': {DEMO_USERNAME!r}, ...}}")
    seen_names: set[str] = set()
    seen_ids: set[str] = set()
    for i, user in enumerate(config.users):
        where = f"users[{i}]"
        if not EMAIL.match(user.username):
            raise fail(
                source,
                f"{where}.username",
                f"{user.username!r} is not a Salesforce username",
                "usernames look like an email address, e.g. dev@example.com",
            )
        if user.username.casefold() in seen_names:
            raise fail(source, f"{where}.username", f"{user.username!r} appears twice", "usernames are unique per org")
        if not _USER_ID_RE.match(user.user_id):
            raise fail(
                source,
                f"{where}.user_id",
                f"{user.user_id!r} is not an 18-character user id starting with 005",
                f"use e.g. {DEMO_USER_ID!r}",
            )
        if user.user_id in seen_ids:
            raise fail(source, f"{where}.user_id", f"{user.user_id!r} appears twice", "user ids are unique per org")
        if user.profile is not None and not user.profile.strip():
            raise fail(source, f"{where}.profile", "must not be empty", "leave it out for the default profile")
        known = {p.name.casefold() for p in config.permission_sets}
        for j, name in enumerate(user.permission_sets):
            if name.casefold() not in known:
                raise fail(
                    source,
                    f"{where}.permission_sets[{j}]",
                    f"no permission set {name!r} in the org",
                    "add it to the top-level 'permission_sets' list, or remove it here",
                )
        _check_login_policy(user, where, source)
        seen_names.add(user.username.casefold())
        seen_ids.add(user.user_id)


def _check_permission_sets(config: EmulatorConfig, source: str) -> None:
    seen: set[str] = set()
    for i, permission_set in enumerate(config.permission_sets):
        where = f"permission_sets[{i}]"
        if not API_NAME_RE.match(permission_set.name):
            raise fail(
                source,
                f"{where}.name",
                f"{permission_set.name!r} is not an API name",
                "use letters, digits and single underscores, starting with a letter, e.g. 'App_Access'",
            )
        if not _PERMISSION_SET_ID_RE.match(permission_set.perm_set_id):
            raise fail(
                source,
                f"{where}.id",
                f"{permission_set.perm_set_id!r} is not an 18-character id starting with 0PS",
                "use e.g. '0PS000000000001AAA'",
            )
        for value in (permission_set.name.casefold(), permission_set.perm_set_id):
            if value in seen:
                raise fail(source, where, f"{value!r} appears twice", "permission set names and ids are unique")
            seen.add(value)


def _check_app(app: App, where: str, seen_keys: set[str], source: str) -> None:
    if not app.name.strip():
        raise fail(source, f"{where}.name", "must not be empty", "name the app as it appears in Setup")
    if not _CONSUMER_KEY_RE.match(app.consumer_key):
        raise fail(
            source,
            f"{where}.consumer_key",
            f"must be 18+ printable characters without spaces (got {len(app.consumer_key)} characters)",
            "paste the app's Consumer Key exactly, with no surrounding spaces",
        )
    if app.consumer_key in seen_keys:
        raise fail(source, f"{where}.consumer_key", "the same consumer key is used twice", "give each app its own key")
    try:
        if app.certificate_pem is not None:  # None: an app waiting for its certificate
            load_certificate(app.certificate_pem)
    except CertificateError as exc:
        raise fail(source, f"{where}.certificate", str(exc), CERT_FIX) from exc
    if not app.callback_urls:
        raise fail(source, f"{where}.callback_urls", "needs at least one callback URL", f"add {DEFAULT_CALLBACK_URL!r}")
    for j, url in enumerate(app.callback_urls):
        if not _is_url(url):
            raise fail(
                source,
                f"{where}.callback_urls[{j}]",
                f"{url!r} is not an absolute URL",
                f"use e.g. {DEFAULT_CALLBACK_URL!r}",
            )
    if app.policy not in POLICIES:
        raise fail(
            source, f"{where}.policy", f"unknown policy {app.policy!r}", "use 'self-authorize' or 'admin-approved'"
        )
    for name in ("permission_sets", "profiles"):
        if any(not value.strip() for value in getattr(app, name)):
            raise fail(source, f"{where}.{name}", "must not hold an empty name", "remove the empty entry")
    if not math.isfinite(app.propagation_seconds) or app.propagation_seconds < 0:
        raise fail(
            source,
            f"{where}.propagation_seconds",
            "must be a number of seconds >= 0",
            "use 0 for an app that works at once",
        )
