"""The emulated org and what happens to it, as frozen dataclasses.

The org, its users and apps, and the behaviour switches describe the configuration (read from a
JSON file by ``config_file``); approvals, issued tokens and recorded requests are the values the
running emulator keeps in ``state.State``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from sfjwt_orch.validate import DEFAULT_CALLBACK

Policy = Literal["self-authorize", "admin-approved"]
POLICIES: tuple[str, ...] = get_args(Policy)

DEMO_ORG_ID = "00D000000000001AAA"
DEMO_USER_ID = "005000000000001AAA"
DEMO_USERNAME = "dev@example.com"
# Shaped like a real consumer key (85 characters, starts 3MVG9) so length checks downstream agree.
DEMO_CONSUMER_KEY = "3MVG9sfjwtOrchEmulatorDemo.ConsumerKey" + "0" * 47
DEFAULT_CALLBACK_URL = DEFAULT_CALLBACK  # the callback the sf docs tell people to use: one constant for all
DEFAULT_API_VERSION = "62.0"


# --------------------------------------------------------------------------- configuration


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


# --------------------------------------------------------------------------- what happens while running


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it. Secrets are never stored: the assertion is replaced by
    its length and a bearer token by whether it was valid."""

    seq: int
    at: float
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    params: Mapping[str, str]
    status: int
    outcome: str  # "ok" or a catalog key (token) / a short REST or page outcome name
    error: str | None = None
    error_description: str | None = None
    jwt_header: Mapping[str, Any] | None = None
    claims: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "params": dict(self.params),
            "status": self.status,
            "outcome": self.outcome,
            "error": self.error,
            "error_description": self.error_description,
            "jwt_header": None if self.jwt_header is None else dict(self.jwt_header),
            "claims": None if self.claims is None else dict(self.claims),
        }


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    client_id: str
    username: str
    user_id: str
    issued_at: float


@dataclass(frozen=True)
class Approval:
    client_id: str
    username: str
    # Salesforce: a JWT grant only counts earlier approvals whose scopes included refresh_token.
    refresh_token: bool = True


@dataclass(frozen=True)
class PendingAuthorization:
    """An "Allow Access?" page shown and not yet answered."""

    client_id: str
    redirect_uri: str
    state: str | None
    refresh_token: bool
