"""An offline Salesforce login server for tests, demos and CI rehearsals.

Typical use::

    from sfjwt_orch.emulator import Emulator, demo_config

    with Emulator(demo_config(cert_pem)).start() as emu:
        # sf org login jwt --instance-url {emu.url} --client-id {DEMO_CONSUMER_KEY} ...
        assert emu.token_requests[-1].outcome == "ok"

An org with no app yet, where an admin creates one with the real sf::

    with Emulator(empty_org_config(("ci@example.com",))).start() as emu:
        # SF_ACCESS_TOKEN={emu.admin_token} sf org login access-token --instance-url {emu.url} --no-prompt
        # sf project deploy start --metadata-dir DIR; sf org assign permset ...; sf org login jwt ...
        assert emu.find_app("MyEca") is not None

An app waiting for its certificate (``demo_config(None)``, ``emulator serve --pending-app``) gets one
with ``emu.set_certificate(consumer_key, pem)`` or ``POST /__emulator/certificate``. ``emu.urls`` lists
127.0.0.1 and, where IPv6 loopback exists, [::1] on the same port; only loopback ``Host`` names are
answered. ``on_answer`` receives one ``requestlog.log_entry`` per request (``emulator serve --log``).

``load_config(path)`` reads the JSON file documented in ``sfjwt_orch.emulator.config_file``;
``serve_forever`` runs the server until SIGINT/SIGTERM (for ``sfjwt-orch emulator serve``);
``guard_path()`` is the Node preload that keeps the real sf on loopback.

Importing this package starts nothing and reads no files.

This module is the emulator's interface: the product imports from ``sfjwt_orch.emulator`` only, and
the emulator imports nothing of the product but ``product.PRODUCT_MODULE``, through ``product.py``
(tests/unit/test_emulator_boundary.py holds both). It ships with sfjwt-orch rather than as an extra:
``sfjwt-orch emulator serve`` is a user command (rehearsals), and its one dependency beyond the
product's own, lxml, is small and packaged everywhere.
"""

from __future__ import annotations

from pathlib import Path

from .catalog import OK, TOKEN_OUTCOMES, TokenOutcome
from .certificate import CertificateError
from .ci_provider import PROVIDERS as CI_PROVIDERS
from .config_checks import validate_config
from .config_file import config_from_mapping, config_to_mapping, load_config
from .deploy.run import DeployOutcome
from .errors import EmulatorConfigError, EmulatorError
from .ids import record_id
from .model import (
    DEFAULT_CALLBACK_URL,
    DEMO_ADMIN_USER_ID,
    DEMO_ADMIN_USERNAME,
    DEMO_CONSUMER_KEY,
    DEMO_ORG_ID,
    DEMO_USER_ID,
    DEMO_USERNAME,
    App,
    Approval,
    EmulatorConfig,
    IssuedToken,
    Org,
    PermissionSet,
    Policy,
    RecordedRequest,
    Switches,
    User,
)
from .presets import demo_config, empty_org_config, with_switches
from .product import is_loopback_host
from .requestlog import JsonLinesLog
from .server import AUTHORIZE_PATH, CONTROL_PREFIX, DECISION_PATH, TOKEN_PATH, Emulator, admin_json
from .serving import serve_forever
from .visitor import visit

GUARD_LOG_ENV = "SFJWT_ORCH_GUARD_LOG"  # the guard appends one JSON line per blocked attempt here


def guard_path() -> Path:
    """Absolute path of ``loopback_guard.cjs``, for ``NODE_OPTIONS="--require <path>"``.

    A plain file next to this module (shipped as package data), so Node can read it directly;
    no zip-import extraction is needed for an installed or editable package.
    """
    return Path(__file__).resolve().with_name("loopback_guard.cjs")


__all__ = [
    "AUTHORIZE_PATH",
    "CI_PROVIDERS",
    "CONTROL_PREFIX",
    "DECISION_PATH",
    "DEFAULT_CALLBACK_URL",
    "DEMO_ADMIN_USERNAME",
    "DEMO_ADMIN_USER_ID",
    "DEMO_CONSUMER_KEY",
    "DEMO_ORG_ID",
    "DEMO_USERNAME",
    "DEMO_USER_ID",
    "GUARD_LOG_ENV",
    "OK",
    "TOKEN_OUTCOMES",
    "TOKEN_PATH",
    "App",
    "Approval",
    "CertificateError",
    "DeployOutcome",
    "Emulator",
    "EmulatorConfig",
    "EmulatorConfigError",
    "EmulatorError",
    "IssuedToken",
    "JsonLinesLog",
    "Org",
    "PermissionSet",
    "Policy",
    "RecordedRequest",
    "Switches",
    "TokenOutcome",
    "User",
    "admin_json",
    "config_from_mapping",
    "config_to_mapping",
    "demo_config",
    "empty_org_config",
    "guard_path",
    "is_loopback_host",
    "load_config",
    "record_id",
    "serve_forever",
    "validate_config",
    "visit",
    "with_switches",
]
