"""What an endpoint may use: the config, the shared state, the clock, and where the emulator listens."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from ..certificate import AppCertificate
from ..model import App, EmulatorConfig
from ..state import Clock, State


@dataclass(frozen=True)
class Context:
    """Built once per ``Emulator.start``: the URL and port are those of the bound socket."""

    config: EmulatorConfig
    state: State
    certificates: Mapping[str, AppCertificate]  # by consumer key
    clock: Clock
    url: str  # e.g. http://127.0.0.1:8555, no trailing slash
    port: int
    stopping: threading.Event  # set while the emulator stops: slow replies give up
    signing_secret: bytes  # HMAC key for the token reply's "signature" field
    expose_tokens: bool

    def lookup_app(self, client_id: str) -> tuple[App | None, str | None]:
        """The app for ``client_id``, or None and the catalog key Salesforce answers instead."""
        app = self.config.find_app(client_id)
        if app is None:
            return None, "client_id_invalid"
        if not self.state.propagated(app):
            # A freshly created app is unknown until it replicates; ECAs say so in their own words.
            return None, "app_not_installed" if app.eca else "client_id_invalid"
        return app, None
