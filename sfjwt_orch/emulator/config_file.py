"""Reading and checking the emulated org's configuration: the ``--app-config`` JSON file, or one built in code.

Config file, JSON, every key except ``org``, ``users`` and ``apps`` optional::

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
        "trial_expiration_date": null,
        "my_domain": "localhost",                # null/absent: none; else a loopback name whose URL
                                                 # is the instance_url and the org's own audience
        "clock_offset_seconds": 0                # the server's clock is this far ahead (exp, hours)
      },
      "users": [
        {"username": "dev@example.com", "user_id": "005000000000001AAA",
         "active": true, "preauthorized": true,  # preauthorized: for every admin-approved app
         "profile": "Standard User",             # what a policy's commaSeparatedProfile matches
         "permission_sets": [],                  # names from "permission_sets", assigned at start
         "frozen": false,                        # true: every login gets authentication_failure
         "login_ip_ranges": ["10.0.0.0/8"],      # [] or absent: any address; else the client's
                                                 # address must be in one (127.0.0.1 is not here)
         "login_hours": {"start": "08:00", "end": "18:00"}},  # UTC; absent/null: any time

        {"username": "admin@example.com", "user_id": "005000000000000AAA",
         "admin": true}                          # gets Emulator.admin_token; deploys, assigns
      ],
      "permission_sets": [{"name": "Gate", "id": "0PS000000000001AAA", "label": "Gate"}],
      "apps": [                                  # may be [] (or absent): an org with no app yet
        {"name": "CI login",
         "consumer_key": "3MVG9...",             # 18+ characters, no spaces
         "certificate": "server.crt",            # a path (relative to this file) or inline PEM text;
                                                 # null: uploaded later (POST /__emulator/certificate)
         "callback_urls": ["http://localhost:1717/OauthRedirect"],
         "policy": "admin-approved",             # or "self-authorize"
         "propagation_seconds": 0,               # answers as unknown for this long after start
         "eca": true,                            # External Client App: unknown -> app_not_found
         "description": "",
         "permission_sets": [], "profiles": []}  # also admit users holding one of these
      ],
      "accepted_audiences": ["https://login.salesforce.com"],   # besides the emulator's own URL;
                                                # null/absent: login (production) or test (sandbox)
      "api_version": "62.0",
      "switches": {"slow_token_seconds": 0, "maintenance": false, "rate_limit_after": null,
                   "auto_approve": false, "fail_next": [],
                   "deploy_propagation_seconds": 0, "deploy_pending_polls": 0,
                   "external_client_apps_disabled": false, "connected_app_creation_blocked": true,
                   "consumer_key_refused": false, "permission_set_ids_only": false,
                   "permission_set_deploy_first": false,
                   "eca_generic_audience_refused": true,   # Spring '26 rules (docs/platform-2026.md):
                   "login_rate_per_hour": 3600,            #   each default is a new real org's;
                   "eca_scratch_signup_refused": true,     #   (C-1016: a Dev Hub's ECA and scratch orgs)
                   "consumer_secret_access": true,         #   turn one off to rehearse its refusal
                   "admin_views_consumer_secrets": true}
    }

(The ``#`` notes are for this docstring only; JSON has no comments.) Unknown keys are errors, so a
typo never silently turns a behaviour off. Every problem raises ``EmulatorConfigError`` whose message
names the file and the field, and whose ``fix`` says what to change. The checks live in
``config_checks`` and apply however a config was built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from .config_checks import CERT_FIX, fail, validate_config, validate_switches
from .config_reader import Reader
from .errors import EmulatorConfigError
from .model import (
    DEFAULT_API_VERSION,
    DEFAULT_CALLBACK_URL,
    App,
    EmulatorConfig,
    Org,
    PermissionSet,
    Policy,
    Switches,
    User,
)

# --------------------------------------------------------------------------- JSON -> config


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
        raise fail(source, where, f"file {str(path)!r} does not exist", CERT_FIX) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(source, where, f"cannot read {str(path)!r}: {exc}", CERT_FIX) from None


def _org(o: Reader) -> Org:
    default = Org()
    org = Org(
        org_id=o.get("org_id", str, default.org_id),
        name=o.get("name", str, default.name),
        instance_name=o.get("instance_name", str, default.instance_name),
        edition=o.get("edition", str, default.edition),
        is_dev_hub=o.get("is_dev_hub", bool, False),
        is_sandbox=o.get("is_sandbox", bool, False),
        active=o.get("active", bool, True),
        namespace_prefix=o.get("namespace_prefix", (str, type(None)), None),
        trial_expiration_date=o.get("trial_expiration_date", (str, type(None)), None),
        my_domain=o.get("my_domain", (str, type(None)), None),
        clock_offset_seconds=float(o.get("clock_offset_seconds", (int, float), 0)),
    )
    o.finish()
    return org


def _user(u: Reader) -> User:
    user = User(
        username=u.get("username", str),
        user_id=u.get("user_id", str),
        active=u.get("active", bool, True),
        preauthorized=u.get("preauthorized", bool, False),
        admin=u.get("admin", bool, False),
        profile=u.get("profile", (str, type(None)), None),
        permission_sets=u.strings("permission_sets", []),
        frozen=u.get("frozen", bool, False),
        login_ip_ranges=u.strings("login_ip_ranges", []),
        login_hours=_login_hours(u),
    )
    u.finish()
    return user


def _login_hours(u: Reader) -> tuple[str, str] | None:
    if u.get("login_hours", (dict, type(None)), None) is None:
        return None
    hours = u.sub("login_hours")
    window = (hours.get("start", str), hours.get("end", str))
    hours.finish()
    return window


def _permission_set(p: Reader) -> PermissionSet:
    permission_set = PermissionSet(name=p.get("name", str), perm_set_id=p.get("id", str), label=p.get("label", str, ""))
    p.finish()
    return permission_set


def _app(a: Reader, base_dir: Path) -> App:
    cert_value = a.get("certificate", (str, type(None)))
    app = App(
        name=a.get("name", str),
        consumer_key=a.get("consumer_key", str),
        certificate_pem=None
        if cert_value is None
        else _read_certificate(cert_value, base_dir, a.source, f"{a.where}.certificate"),
        callback_urls=a.strings("callback_urls", [DEFAULT_CALLBACK_URL]),
        policy=cast(Policy, a.get("policy", str, "admin-approved")),
        propagation_seconds=float(a.get("propagation_seconds", (int, float), 0)),
        eca=a.get("eca", bool, False),
        description=a.get("description", str, ""),
        permission_sets=a.strings("permission_sets", []),
        profiles=a.strings("profiles", []),
    )
    a.finish()
    return app


def switches_from_mapping(
    raw: object, source: str = "emulator config", where: str = "switches", base: Switches | None = None
) -> Switches:
    """Apply a JSON object of switch changes on top of ``base`` (all keys optional)."""
    base = base or Switches()
    r = Reader(raw, where, source)
    slow = r.get("slow_token_seconds", (int, float), base.slow_token_seconds)
    rate = r.get("rate_limit_after", (int, type(None)), base.rate_limit_after)
    result = Switches(
        slow_token_seconds=float(slow),
        maintenance=r.get("maintenance", bool, base.maintenance),
        rate_limit_after=rate,
        auto_approve=r.get("auto_approve", bool, base.auto_approve),
        fail_next=r.strings("fail_next", list(base.fail_next)),
        deploy_propagation_seconds=float(
            r.get("deploy_propagation_seconds", (int, float), base.deploy_propagation_seconds)
        ),
        deploy_pending_polls=r.get("deploy_pending_polls", int, base.deploy_pending_polls),
        external_client_apps_disabled=r.get("external_client_apps_disabled", bool, base.external_client_apps_disabled),
        connected_app_creation_blocked=r.get(
            "connected_app_creation_blocked", bool, base.connected_app_creation_blocked
        ),
        consumer_key_refused=r.get("consumer_key_refused", bool, base.consumer_key_refused),
        permission_set_ids_only=r.get("permission_set_ids_only", bool, base.permission_set_ids_only),
        permission_set_deploy_first=r.get("permission_set_deploy_first", bool, base.permission_set_deploy_first),
        eca_generic_audience_refused=r.get("eca_generic_audience_refused", bool, base.eca_generic_audience_refused),
        login_rate_per_hour=r.get("login_rate_per_hour", (int, type(None)), base.login_rate_per_hour),
        eca_scratch_signup_refused=r.get("eca_scratch_signup_refused", bool, base.eca_scratch_signup_refused),
        consumer_secret_access=r.get("consumer_secret_access", bool, base.consumer_secret_access),
        admin_views_consumer_secrets=r.get("admin_views_consumer_secrets", bool, base.admin_views_consumer_secrets),
    )
    r.finish()
    validate_switches(result, source, where)
    return result


def config_from_mapping(raw: object, source: str = "emulator config", base_dir: Path | None = None) -> EmulatorConfig:
    """Build and validate a config from parsed JSON. Certificate paths resolve against ``base_dir``."""
    base_dir = base_dir or Path.cwd()
    top = Reader(raw, "", source)
    # The keys are read in the file's documented order, so the first problem reported is the first one there.
    org = _org(top.sub("org"))
    users = tuple(_user(u) for u in top.subs("users"))
    permission_sets = tuple(_permission_set(p) for p in top.subs("permission_sets", []))
    apps = tuple(_app(a, base_dir) for a in top.subs("apps", []))
    switches = switches_from_mapping(top.get("switches", dict, {}), source)
    config = EmulatorConfig(
        org=org,
        users=users,
        apps=apps,
        accepted_audiences=None
        if top.get("accepted_audiences", (list, type(None)), None) is None
        else top.strings("accepted_audiences"),
        api_version=top.get("api_version", str, DEFAULT_API_VERSION),
        switches=switches,
        permission_sets=permission_sets,
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


# --------------------------------------------------------------------------- config -> JSON


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
            "my_domain": org.my_domain,
            "clock_offset_seconds": org.clock_offset_seconds,
        },
        "users": [
            {
                "username": u.username,
                "user_id": u.user_id,
                "active": u.active,
                "preauthorized": u.preauthorized,
                "admin": u.admin,
                "profile": u.profile,
                "permission_sets": list(u.permission_sets),
                "frozen": u.frozen,
                "login_ip_ranges": list(u.login_ip_ranges),
                "login_hours": None
                if u.login_hours is None
                else dict(zip(("start", "end"), u.login_hours, strict=True)),
            }
            for u in config.users
        ],
        "permission_sets": [{"name": p.name, "id": p.perm_set_id, "label": p.label} for p in config.permission_sets],
        "apps": [
            {
                "name": a.name,
                "consumer_key": a.consumer_key,
                "certificate": a.certificate_pem,
                "callback_urls": list(a.callback_urls),
                "policy": a.policy,
                "propagation_seconds": a.propagation_seconds,
                "eca": a.eca,
                "description": a.description,
                "permission_sets": list(a.permission_sets),
                "profiles": list(a.profiles),
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
        "deploy_propagation_seconds": switches.deploy_propagation_seconds,
        "deploy_pending_polls": switches.deploy_pending_polls,
        "external_client_apps_disabled": switches.external_client_apps_disabled,
        "connected_app_creation_blocked": switches.connected_app_creation_blocked,
        "consumer_key_refused": switches.consumer_key_refused,
        "permission_set_ids_only": switches.permission_set_ids_only,
        "permission_set_deploy_first": switches.permission_set_deploy_first,
        "eca_generic_audience_refused": switches.eca_generic_audience_refused,
        "login_rate_per_hour": switches.login_rate_per_hour,
        "eca_scratch_signup_refused": switches.eca_scratch_signup_refused,
        "consumer_secret_access": switches.consumer_secret_access,
        "admin_views_consumer_secrets": switches.admin_views_consumer_secrets,
    }
