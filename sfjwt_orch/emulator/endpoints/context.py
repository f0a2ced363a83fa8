"""What an endpoint may use: the config, the shared state, the clock, and where the emulator listens."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..ci_provider import CiProviders
from ..model import EmulatorConfig, User
from ..org_setup import OrgSetup, RegisteredApp
from ..state import Clock, State


@dataclass(frozen=True)
class Context:
    """Built once per ``Emulator.start``: the URL and port are those of the bound socket."""

    config: EmulatorConfig
    state: State
    clock: Clock
    url: str  # e.g. http://127.0.0.1:8555, no trailing slash
    port: int
    stopping: threading.Event  # set while the emulator stops: slow replies give up
    signing_secret: bytes  # HMAC key for the token reply's "signature" field
    expose_tokens: bool
    ci: CiProviders  # the emulated CI identity providers (ci_provider.py)

    def now(self) -> float:
        """The org's server clock: the emulator's clock plus the org's configured offset."""
        return self.clock() + self.config.org.clock_offset_seconds

    @property
    def instance_url(self) -> str:
        """What a token reply names as the org's URL: its My Domain when it has one."""
        domain = self.config.org.my_domain
        return self.url if domain is None else f"http://{domain}:{self.port}"

    @property
    def setup(self) -> OrgSetup:
        return self.state.setup

    def lookup_app(self, client_id: str) -> tuple[RegisteredApp | None, str | None]:
        """The app for ``client_id``, or None and the catalog key Salesforce answers instead."""
        reg = self.setup.app(client_id)
        if reg is None:
            return None, "client_id_invalid"
        if not self.state.propagated(reg):
            # A freshly created app is unknown until it replicates; ECAs say so in their own words.
            return None, "app_not_installed" if reg.app.eca else "client_id_invalid"
        return reg, None

    def session_user(self, authorization: str) -> User | None:
        """The user whose access token an ``Authorization`` header carries."""
        session = self.state.session(authorization)
        return None if session is None else self.state.user(session.username)
