"""The emulated org: its apps, users and behaviour switches, and the JSON file that describes them.

Config file (``--app-config FILE``), JSON, every key except ``org``, ``users`` and ``apps`` optional::

    {
      "org": {
        "org_id": "00D000000000001AAA",          # 18 characters, starts with 00D
        "name": "Emulated Org",
        "instance_name": "EMU1",
        "edition": "Developer Edition",          # OrganizationType in the Organization query
        "is_dev_hub": false,
        "is_sandbox": false,
        "active": true,                          # false: every login gets inactive_org
        "namespace_prefix": null,
        "trial_expiration_date": null
      },
      "users": [
        {"username": "dev@example.com", "user_id": "005000000000001AAA",
         "active": true, "preauthorized": true}  # preauthorized: for admin-approved apps
      ],
      "apps": [
        {"name": "CI login",
         "consumer_key": "3MVG9...",             # 18+ characters, no spaces
         "certificate": "server.crt",            # a path (relative to this file) or inline PEM text
         "callback_urls": ["http://localhost:1717/OauthRedirect"],
         "policy": "admin-approved",             # or "self-authorize"
         "propagation_seconds": 0,               # answers as unknown for this long after start
         "eca": true}                            # External Client App: unknown -> app_not_found
      ],
      "accepted_audiences": ["https://login.salesforce.com"],   # besides the emulator's own URL;
                                                # null/absent: login (production) or test (sandbox)
      "api_version": "62.0",
      "switches": {"slow_token_seconds": 0, "maintenance": false, "rate_limit_after": null,
                   "auto_approve": false, "fail_next": []}
    }

(The ``#`` notes are for this docstring only; JSON has no comments.) Unknown keys are errors, so a
typo never silently turns a behaviour off. Every problem raises ``EmulatorConfigError`` whose message
names the file and the field, and whose ``fix`` says what to change.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

from sfjwt_orch.x509 import CertificateError, certificate_from_pem

from .catalog import TOKEN_OUTCOMES

Policy = Literal["self-authorize", "admin-approved"]
POLICIES: tuple[str, ...] = get_args(Policy)

DEMO_ORG_ID = "00D000000000001AAA"
DEMO_USER_ID = "005000000000001AAA"
DEMO_USERNAME = "dev@example.com"
# Shaped like a real consumer key (85 characters, starts 3MVG9) so length checks downstream agree.
DEMO_CONSUMER_KEY = "3MVG9sfjwtOrchEmulatorDemo.ConsumerKey" + "0" * 47
DEFAULT_CALLBACK_URL = "http://localhost:1717/OauthRedirect"  # the callback the sf docs tell people to use
DEFAULT_API_VERSION = "62.0"

_ORG_ID_RE = re.compile(r"^00D[A-Za-z0-9]{15}$")
_USER_ID_RE = re.compile(r"^005[A-Za-z0-9]{15}$")
# Salesforce usernames must look like an email address (they need not be a real mailbox).
_USERNAME_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_CONSUMER_KEY_RE = re.compile(r"^[\x21-\x7e]{18,256}$")
_API_VERSION_RE = re.compile(r"^(\d{2,3})\.0$")

_CERT_FIX = (
    "point 'certificate' at the PEM certificate uploaded to the app, e.g. make one with "
    "`openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt -days 365 "
    "-subj /CN=emulator`"
)


class EmulatorError(Exception):
    """An expected emulator failure: one-line ``message`` plus one concrete ``fix``."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class EmulatorConfigError(EmulatorError):
    """The emulator's configuration (file or in-code) is invalid."""


@dataclass(frozen=True)
class Org:
    org_id: str = DEMO_ORG_ID
    name: str = "Emulated Org"
    instance_name: str = "EMU1"
    edition: str = "Developer Edition"
    is_dev_hub: bool = False
    is_sandbox: bool = False
    active: bool = True
    namespace_prefix: str | None = None
    trial_expiration_date: str | None = None


@dataclass(frozen=True)
class User:
    username: str
    user_id: str
    active: bool = True
    preauthorized: bool = False


@dataclass(frozen=True)
class App:
    name: str
    consumer_key: str
    certificate_pem: str
    callback_urls: tuple[str, ...] = (DEFAULT_CALLBACK_URL,)
    policy: Policy = "admin-approved"
    propagation_seconds: float = 0.0
    eca: bool = False


@dataclass(frozen=True)
class Switches:
    """Behaviour switches; change them while running with ``Emulator.set_switches`` or
    ``POST /__emulator/config``."""

    slow_token_seconds: float = 0.0
    maintenance: bool = False
    # After this many token requests every further one gets rate_limited; None means no limit.
    rate_limit_after: int | None = None
    # The first GET of the authorize page approves at once and redirects (scripted tests, demos).
    auto_approve: bool = False
    # Outcome keys (catalog.TOKEN_OUTCOMES) answered to the next token requests, one each, in order.
    fail_next: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmulatorConfig:
    org: Org
    users: tuple[User, ...]
    apps: tuple[App, ...]
    # Audiences accepted besides the emulator's own URL. None: what a real org accepts, the
    # documented https://login.salesforce.com (production) or https://test.salesforce.com (sandbox).
    # () accepts only the emulator's URL, like a My Domain that rejects the generic hosts.
    accepted_audiences: tuple[str, ...] | None = None
    api_version: str = DEFAULT_API_VERSION
    switches: Switches = field(default_factory=Switches)

    def audiences(self) -> tuple[str, ...]:
        if self.accepted_audiences is not None:
            return self.accepted_audiences
        return ("https://test.salesforce.com",) if self.org.is_sandbox else ("https://login.salesforce.com",)

    def find_user(self, username: str) -> User | None:
        # Salesforce usernames are case-insensitive.
        wanted = username.casefold()
        return next((u for u in self.users if u.username.casefold() == wanted), None)

    def find_app(self, consumer_key: str) -> App | None:
        return next((a for a in self.apps if a.consumer_key == consumer_key), None)


def demo_config(
    cert_pem: str,
    *,
    consumer_key: str = DEMO_CONSUMER_KEY,
    username: str = DEMO_USERNAME,
    policy: Policy = "admin-approved",
    preauthorized: bool = True,
    eca: bool = True,
    callback_urls: tuple[str, ...] = (DEFAULT_CALLBACK_URL,),
    propagation_seconds: float = 0.0,
    is_dev_hub: bool = False,
) -> EmulatorConfig:
    """A one-app, one-user org. The defaults let ``sf org login jwt`` succeed at once: an External
    Client App with Permitted Users = admin approved and the user pre-authorized, which is what the
    sf docs mark as required for JWT."""
    config = EmulatorConfig(
        org=Org(is_dev_hub=is_dev_hub),
        users=(User(username=username, user_id=DEMO_USER_ID, preauthorized=preauthorized),),
        apps=(
            App(
                name="sfjwt-orch demo",
                consumer_key=consumer_key,
                certificate_pem=cert_pem,
                callback_urls=callback_urls,
                policy=policy,
                propagation_seconds=propagation_seconds,
                eca=eca,
            ),
        ),
    )
    validate_config(config)
    return config


# --------------------------------------------------------------------------- validation


def _fail(source: str, where: str, problem: str, fix: str) -> EmulatorConfigError:
    return EmulatorConfigError(f"{source}: {where}: {problem}", fix)


def _is_url(text: str, schemes: Iterable[str] | None = None) -> bool:
    parts = urlsplit(text)
    if not parts.scheme or (schemes is not None and parts.scheme not in schemes):
        return False
    return bool(parts.netloc or parts.path)


def validate_switches(switches: Switches, source: str = "emulator config", where: str = "switches") -> None:
    if not math.isfinite(switches.slow_token_seconds) or switches.slow_token_seconds < 0:
        raise _fail(source, f"{where}.slow_token_seconds", "must be a number of seconds >= 0", "use e.g. 0 or 2.5")
    if switches.rate_limit_after is not None and switches.rate_limit_after < 0:
        raise _fail(source, f"{where}.rate_limit_after", "must be null or an integer >= 0", "use null for no limit")
    for i, key in enumerate(switches.fail_next):
        if key not in TOKEN_OUTCOMES:
            raise _fail(
                source,
                f"{where}.fail_next[{i}]",
                f"unknown outcome {key!r}",
                "use one of: " + ", ".join(TOKEN_OUTCOMES),
            )


def validate_config(config: EmulatorConfig, source: str = "emulator config") -> None:
    """Check an ``EmulatorConfig`` however it was built; raise ``EmulatorConfigError`` on the first
    problem."""
    org = config.org
    if not _ORG_ID_RE.match(org.org_id):
        raise _fail(
            source,
            "org.org_id",
            f"{org.org_id!r} is not an 18-character org id starting with 00D",
            f"use e.g. {DEMO_ORG_ID!r}",
        )
    for name in ("name", "instance_name", "edition"):
        if not str(getattr(org, name)).strip():
            raise _fail(source, f"org.{name}", "must not be empty", "give it a short text value")

    if not config.users:
        raise _fail(source, "users", "the org needs at least one user", f"add {{'username': {DEMO_USERNAME!r}, ...}}")
    seen_names: set[str] = set()
    seen_ids: set[str] = set()
    for i, user in enumerate(config.users):
        where = f"users[{i}]"
        if not _USERNAME_RE.match(user.username):
            raise _fail(
                source,
                f"{where}.username",
                f"{user.username!r} is not a Salesforce username",
                "usernames look like an email address, e.g. dev@example.com",
            )
        if user.username.casefold() in seen_names:
            raise _fail(
                source,
                f"{where}.username",
                f"{user.username!r} appears twice",
                "usernames are unique per org",
            )
        if not _USER_ID_RE.match(user.user_id):
            raise _fail(
                source,
                f"{where}.user_id",
                f"{user.user_id!r} is not an 18-character user id starting with 005",
                f"use e.g. {DEMO_USER_ID!r}",
            )
        if user.user_id in seen_ids:
            raise _fail(source, f"{where}.user_id", f"{user.user_id!r} appears twice", "user ids are unique per org")
        seen_names.add(user.username.casefold())
        seen_ids.add(user.user_id)

    seen_keys: set[str] = set()
    for i, app in enumerate(config.apps):
        where = f"apps[{i}]"
        if not app.name.strip():
            raise _fail(source, f"{where}.name", "must not be empty", "name the app as it appears in Setup")
        if not _CONSUMER_KEY_RE.match(app.consumer_key):
            raise _fail(
                source,
                f"{where}.consumer_key",
                f"must be 18+ printable characters without spaces (got {len(app.consumer_key)} characters)",
                "paste the app's Consumer Key exactly, with no surrounding spaces",
            )
        if app.consumer_key in seen_keys:
            raise _fail(
                source,
                f"{where}.consumer_key",
                "the same consumer key is used twice",
                "give each app its own key",
            )
        seen_keys.add(app.consumer_key)
        try:
            certificate_from_pem(app.certificate_pem)
        except CertificateError as exc:
            raise _fail(source, f"{where}.certificate", str(exc), _CERT_FIX) from exc
        if not app.callback_urls:
            raise _fail(
                source,
                f"{where}.callback_urls",
                "needs at least one callback URL",
                f"add {DEFAULT_CALLBACK_URL!r}",
            )
        for j, url in enumerate(app.callback_urls):
            if not _is_url(url):
                raise _fail(
                    source,
                    f"{where}.callback_urls[{j}]",
                    f"{url!r} is not an absolute URL",
                    f"use e.g. {DEFAULT_CALLBACK_URL!r}",
                )
        if app.policy not in POLICIES:
            raise _fail(
                source,
                f"{where}.policy",
                f"unknown policy {app.policy!r}",
                "use 'self-authorize' or 'admin-approved'",
            )
        if not math.isfinite(app.propagation_seconds) or app.propagation_seconds < 0:
            raise _fail(
                source,
                f"{where}.propagation_seconds",
                "must be a number of seconds >= 0",
                "use 0 for an app that works at once",
            )

    for i, aud in enumerate(config.accepted_audiences or ()):
        if not _is_url(aud, ("http", "https")) or not urlsplit(aud).netloc:
            raise _fail(
                source,
                f"accepted_audiences[{i}]",
                f"{aud!r} is not an http(s) URL",
                "use e.g. 'https://login.salesforce.com'",
            )
    match = _API_VERSION_RE.match(config.api_version)
    # sf asks for v51.0 (the Dev Hub probe), so an older highest version would break a login.
    if not match or int(match.group(1)) < 51:
        raise _fail(
            source,
            "api_version",
            f"{config.api_version!r} is not a version like '62.0' (51.0 or later)",
            "use '62.0'",
        )
    validate_switches(config.switches, source)


# --------------------------------------------------------------------------- JSON loading

_MISSING: Any = object()


class _Reader:
    """Reads one JSON object, checking types and remembering which keys were used."""

    def __init__(self, raw: object, where: str, source: str) -> None:
        if not isinstance(raw, dict):
            raise _fail(source, where or "top level", "must be a JSON object", "wrap the fields in { }")
        self.raw: dict[str, Any] = raw
        self.where = where
        self.source = source
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.raw:
            if default is _MISSING:
                raise _fail(self.source, self._path(key), "is required", f"add {key!r} to the file")
            return default
        value = self.raw[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; a JSON true must never pass as a number (or the reverse).
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(dict.fromkeys(_JSON_NAMES.get(k, k.__name__) for k in kinds))
            raise _fail(self.source, self._path(key), f"must be {names}", f"write {key!r} as {names}")
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self.get(key, dict), self._path(key), self.source)

    def subs(self, key: str, default: Any = _MISSING) -> list[_Reader]:
        items = self.get(key, list, default)
        return [_Reader(item, f"{self._path(key)}[{i}]", self.source) for i, item in enumerate(items)]

    def strings(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        items = self.get(key, (list, tuple), default)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise _fail(self.source, f"{self._path(key)}[{i}]", "must be a string", "quote the value")
        return tuple(items)

    def finish(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise _fail(
                self.source,
                self._path(unknown[0]),
                "unknown key",
                "remove it or fix its spelling; allowed here: " + ", ".join(sorted(self.used)),
            )


_JSON_NAMES: Mapping[type, str] = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list",
    tuple: "a list",
    dict: "an object",
    type(None): "null",
}


def _read_certificate(value: str, base_dir: Path, source: str, where: str) -> str:
    if "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        # Relative to the config file, so a config and its certificate can move together.
        path = base_dir / path
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(source, where, f"file {str(path)!r} does not exist", _CERT_FIX) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(source, where, f"cannot read {str(path)!r}: {exc}", _CERT_FIX) from None


def switches_from_mapping(
    raw: object, source: str = "emulator config", where: str = "switches", base: Switches | None = None
) -> Switches:
    """Apply a JSON object of switch changes on top of ``base`` (all keys optional)."""
    base = base or Switches()
    r = _Reader(raw, where, source)
    slow = r.get("slow_token_seconds", (int, float), base.slow_token_seconds)
    rate = r.get("rate_limit_after", (int, type(None)), base.rate_limit_after)
    result = Switches(
        slow_token_seconds=float(slow),
        maintenance=r.get("maintenance", bool, base.maintenance),
        rate_limit_after=rate,
        auto_approve=r.get("auto_approve", bool, base.auto_approve),
        fail_next=r.strings("fail_next", list(base.fail_next)),
    )
    r.finish()
    validate_switches(result, source, where)
    return result


def config_from_mapping(raw: object, source: str = "emulator config", base_dir: Path | None = None) -> EmulatorConfig:
    """Build and validate a config from parsed JSON. Certificate paths resolve against ``base_dir``."""
    base_dir = base_dir or Path.cwd()
    top = _Reader(raw, "", source)

    o = top.sub("org")
    default_org = Org()
    org = Org(
        org_id=o.get("org_id", str, default_org.org_id),
        name=o.get("name", str, default_org.name),
        instance_name=o.get("instance_name", str, default_org.instance_name),
        edition=o.get("edition", str, default_org.edition),
        is_dev_hub=o.get("is_dev_hub", bool, False),
        is_sandbox=o.get("is_sandbox", bool, False),
        active=o.get("active", bool, True),
        namespace_prefix=o.get("namespace_prefix", (str, type(None)), None),
        trial_expiration_date=o.get("trial_expiration_date", (str, type(None)), None),
    )
    o.finish()

    users: list[User] = []
    for u in top.subs("users"):
        users.append(
            User(
                username=u.get("username", str),
                user_id=u.get("user_id", str),
                active=u.get("active", bool, True),
                preauthorized=u.get("preauthorized", bool, False),
            )
        )
        u.finish()

    apps: list[App] = []
    for a in top.subs("apps"):
        cert_value = a.get("certificate", str)
        apps.append(
            App(
                name=a.get("name", str),
                consumer_key=a.get("consumer_key", str),
                certificate_pem=_read_certificate(cert_value, base_dir, source, f"{a.where}.certificate"),
                callback_urls=a.strings("callback_urls", [DEFAULT_CALLBACK_URL]),
                policy=cast(Policy, a.get("policy", str, "admin-approved")),
                propagation_seconds=float(a.get("propagation_seconds", (int, float), 0)),
                eca=a.get("eca", bool, False),
            )
        )
        a.finish()

    switches = switches_from_mapping(top.get("switches", dict, {}), source)
    config = EmulatorConfig(
        org=org,
        users=tuple(users),
        apps=tuple(apps),
        accepted_audiences=None
        if top.get("accepted_audiences", (list, type(None)), None) is None
        else top.strings("accepted_audiences"),
        api_version=top.get("api_version", str, DEFAULT_API_VERSION),
        switches=switches,
    )
    top.finish()
    validate_config(config, source)
    return config


def load_config(path: str | Path) -> EmulatorConfig:
    """Read and validate a JSON config file (see the module docstring for the schema)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EmulatorConfigError(
            f"{source}: the emulator config file does not exist", "check the --app-config path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EmulatorConfigError(
            f"{source}: cannot read the emulator config: {exc}",
            "check the file's permissions and that it is UTF-8 text",
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EmulatorConfigError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "fix the JSON syntax; comments and trailing commas are not allowed",
        ) from None
    return config_from_mapping(raw, source, path.parent)


def config_to_mapping(config: EmulatorConfig) -> dict[str, Any]:
    """The JSON form of ``config`` (certificates inline); ``config_from_mapping`` reads it back."""
    org = config.org
    return {
        "org": {
            "org_id": org.org_id,
            "name": org.name,
            "instance_name": org.instance_name,
            "edition": org.edition,
            "is_dev_hub": org.is_dev_hub,
            "is_sandbox": org.is_sandbox,
            "active": org.active,
            "namespace_prefix": org.namespace_prefix,
            "trial_expiration_date": org.trial_expiration_date,
        },
        "users": [
            {
                "username": u.username,
                "user_id": u.user_id,
                "active": u.active,
                "preauthorized": u.preauthorized,
            }
            for u in config.users
        ],
        "apps": [
            {
                "name": a.name,
                "consumer_key": a.consumer_key,
                "certificate": a.certificate_pem,
                "callback_urls": list(a.callback_urls),
                "policy": a.policy,
                "propagation_seconds": a.propagation_seconds,
                "eca": a.eca,
            }
            for a in config.apps
        ],
        "accepted_audiences": None if config.accepted_audiences is None else list(config.accepted_audiences),
        "api_version": config.api_version,
        "switches": switches_to_mapping(config.switches),
    }


def switches_to_mapping(switches: Switches) -> dict[str, Any]:
    return {
        "slow_token_seconds": switches.slow_token_seconds,
        "maintenance": switches.maintenance,
        "rate_limit_after": switches.rate_limit_after,
        "auto_approve": switches.auto_approve,
        "fail_next": list(switches.fail_next),
    }


def with_switches(config: EmulatorConfig, **changes: Any) -> EmulatorConfig:
    """A copy of ``config`` with some switches changed, checked like the JSON file's ``switches``."""
    return replace(config, switches=switches_from_mapping(changes, "with_switches", "switches", base=config.switches))
