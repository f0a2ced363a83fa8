"""Configs built in code: the demo org (one app, one user) and an org with no app yet (an admin and
integration users), plus ``with_switches``. Checked like a config file (``config_checks``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .config_checks import validate_config
from .config_file import switches_from_mapping
from .model import (
    DEFAULT_API_VERSION,
    DEFAULT_CALLBACK_URL,
    DEMO_ADMIN_USER_ID,
    DEMO_ADMIN_USERNAME,
    DEMO_CONSUMER_KEY,
    DEMO_USER_ID,
    DEMO_USERNAME,
    App,
    EmulatorConfig,
    Org,
    PermissionSet,
    Policy,
    User,
)


def with_switches(config: EmulatorConfig, **changes: Any) -> EmulatorConfig:
    """A copy of ``config`` with some switches changed, checked like the JSON file's ``switches``."""
    return replace(config, switches=switches_from_mapping(changes, "with_switches", "switches", base=config.switches))


def demo_config(
    cert_pem: str | None,
    *,
    consumer_key: str = DEMO_CONSUMER_KEY,
    username: str = DEMO_USERNAME,
    policy: Policy = "admin-approved",
    preauthorized: bool = True,
    eca: bool = True,
    callback_urls: tuple[str, ...] = (DEFAULT_CALLBACK_URL,),
    propagation_seconds: float = 0.0,
    is_dev_hub: bool = False,
    admin_username: str | None = None,
) -> EmulatorConfig:
    """A one-app, one-user org. The defaults let ``sf org login jwt`` succeed at once: an External
    Client App with Permitted Users = admin approved and the user pre-authorized, which is what the
    sf docs mark as required for JWT. ``admin_username`` adds an admin user (listed last).
    ``cert_pem`` None: the app has no certificate yet (``Emulator.set_certificate`` uploads one)."""
    admins = () if admin_username is None else (User(admin_username, DEMO_ADMIN_USER_ID, admin=True),)
    config = EmulatorConfig(
        org=Org(is_dev_hub=is_dev_hub),
        users=(User(username=username, user_id=DEMO_USER_ID, preauthorized=preauthorized), *admins),
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


def empty_org_config(
    usernames: tuple[str, ...] = (DEMO_USERNAME,),
    *,
    admin_username: str = DEMO_ADMIN_USERNAME,
    permission_sets: tuple[PermissionSet, ...] = (),
    is_dev_hub: bool = False,
    api_version: str = DEFAULT_API_VERSION,
) -> EmulatorConfig:
    """An org with no app yet: an admin (who creates the app by deploying it) and integration users.

    The integration users come first, with ids 005000000000001AAA, ...002AAA, ...; none is
    pre-authorized, so only what the deployed app's policy names (a permission set assigned to
    them, or their profile) lets them log in. The admin is last, with id 005000000000000AAA.
    """
    users = tuple(User(name, f"005{i:012d}AAA") for i, name in enumerate(usernames, start=1))
    config = EmulatorConfig(
        org=Org(is_dev_hub=is_dev_hub),
        users=(*users, User(admin_username, DEMO_ADMIN_USER_ID, admin=True)),
        apps=(),
        api_version=api_version,
        permission_sets=permission_sets,
    )
    validate_config(config)
    return config
