"""The emulated org and what happens to it, as frozen dataclasses.

The org, its users and apps, and the behaviour switches describe the configuration (read from a
JSON file by ``config_file``); approvals, issued tokens and recorded requests are the values the
running emulator keeps in ``state.State``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Policy = Literal["self-authorize", "admin-approved"]
POLICIES: tuple[str, ...] = get_args(Policy)

DEMO_ORG_ID = "00D000000000001AAA"
DEMO_USER_ID = "005000000000001AAA"
DEMO_USERNAME = "dev@example.com"
DEMO_ADMIN_USER_ID = "005000000000000AAA"
DEMO_ADMIN_USERNAME = "admin@example.com"
# The profiles every org has; users' own profiles are added to them (commaSeparatedProfile names these).
ADMIN_PROFILE = "System Administrator"
STANDARD_PROFILE = "Standard User"
# Shaped like a real consumer key (85 characters, starts 3MVG9) so length checks downstream agree.
DEMO_CONSUMER_KEY = "3MVG9sfjwtOrchEmulatorDemo.ConsumerKey" + "0" * 47
# sf's own default callback (forcedotcom/sfdx-core src/org/authInfo.ts, AuthInfo.getRedirectUri),
# the one the sf docs tell people to register on an app.
DEFAULT_CALLBACK_URL = "http://localhost:1717/OauthRedirect"
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
    # The org's My Domain, played by a loopback name (e.g. "localhost"): its URL (with the
    # emulator's port) is the instance_url of a token reply and the one audience of the org's own
    # (with accepted_audiences=() the only one, as orgs that refuse the generic login hosts do:
    # Help remoteaccess_oauth_jwt_flow lists the generic aud values; n8n-io/n8n#28990 and PR #29016
    # report ECAs refusing them). None: any loopback name it is called on.
    my_domain: str | None = None
    # Added to the emulator's clock when it checks exp and login hours: a server whose clock is
    # ahead finds a correct client's assertion expired (Help remoteaccess_oauth_jwt_flow: exp is
    # seconds since the epoch, "expired authorization code" when past).
    clock_offset_seconds: float = 0.0


@dataclass(frozen=True)
class User:
    username: str
    user_id: str
    active: bool = True
    # Pre-authorized for every admin-approved app, as the "Use Any API Client" permission does
    # (Salesforce Help xcloud.preauth_user_app_access_through_eca). Apps that name permission sets
    # or profiles also let in the users holding one of those.
    preauthorized: bool = False
    # A System Administrator: may deploy metadata and assign permission sets. The emulator hands
    # out an access token for the first admin (``Emulator.admin_token``).
    admin: bool = False
    profile: str | None = None  # None: "System Administrator" for an admin, else "Standard User"
    permission_sets: tuple[str, ...] = ()  # names of permission sets assigned from the start
    # Frozen by an admin (Setup > Users > Freeze): logins fail with "authentication failure", the
    # generic answer for a user who cannot log in (sf's guide sfdx_dev_troubleshoot_auth_errors; that a
    # frozen user gets it is [inferred]).
    frozen: bool = False
    # The profile's Login IP Ranges (CIDR) and Login Hours ("HH:MM" start and end, UTC, the
    # emulated org's time zone): outside them, "IP restricted or invalid login hours"
    # (Help "Restrict Login IP Addresses in Profiles", "Set Login Hours"; the text: Help
    # xcloud.remoteaccess_oauth_flow_errors).
    login_ip_ranges: tuple[str, ...] = ()
    login_hours: tuple[str, str] | None = None

    @property
    def profile_name(self) -> str:
        if self.profile is not None:
            return self.profile
        return ADMIN_PROFILE if self.admin else STANDARD_PROFILE


@dataclass(frozen=True)
class PermissionSet:
    """A permission set that exists in the org from the start (deploys add more)."""

    name: str  # the API name (PermissionSet.Name), what `sf org assign permset --name` takes
    perm_set_id: str  # 18 characters, starts with 0PS
    label: str = ""


@dataclass(frozen=True)
class App:
    name: str
    consumer_key: str
    certificate_pem: str | None  # None: none uploaded yet (emulator serve --pending-app), no JWT verifies
    callback_urls: tuple[str, ...] = (DEFAULT_CALLBACK_URL,)
    policy: Policy = "admin-approved"
    propagation_seconds: float = 0.0
    eca: bool = False
    description: str = ""
    # An admin-approved app also admits users holding one of these permission sets (names or
    # 0PS ids) or profiles: what a policy's commaSeparatedPermissionSet / commaSeparatedProfile
    # (or a connected app's permissionSetName / profileName) says.
    permission_sets: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()


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
    # --- the admin side (Metadata API deploys) ---
    # An app created by a deploy answers as unknown for this long, as a new app does until it
    # replicates (Salesforce says 2-10 minutes).
    deploy_propagation_seconds: float = 0.0
    # checkDeployStatus answers "InProgress" this many times before the result (sf polls each second).
    deploy_pending_polls: int = 0
    # "Opt in to External Client Apps" is off: deploys of the five ECA types fail.
    external_client_apps_disabled: bool = False
    # Spring '26: new connected apps cannot be created (Help article 005228017), the default of
    # today's orgs. False is an org where Salesforce Support re-enabled creation.
    connected_app_creation_blocked: bool = True
    # The org refuses a consumer key chosen by the deployer (no Salesforce page settles whether an ECA
    # takes one: sfdx-hardis deploys its own, hardisgroupcom/sfdx-hardis CHANGELOG.md): a deploy carrying
    # consumerKey fails; without one the key is generated.
    consumer_key_refused: bool = False
    # A policy's commaSeparatedPermissionSet takes permission set ids only, not names (the Metadata API
    # guide, meta_extlclntappoauthconfigurablepolicies, says "Permission set IDs"; public retrieves hold names).
    permission_set_ids_only: bool = False
    # A policy may only name permission sets the org has before the deploy, not ones in the same
    # deploy (a third-party guide says so; no Salesforce page does): deploy the permission set first.
    permission_set_deploy_first: bool = False
    # --- the Spring '26 rules (docs/platform-2026.md); each default is what a new real org does ---
    # An External Client App refuses the generic hosts as the JWT audience (https://login.salesforce.com,
    # https://test.salesforce.com) with app_not_found / "External client app is not installed in this
    # org", and takes only the org's My Domain. Third-party reports only, no Salesforce page found:
    # n8n-io/n8n issue 28990 and PR 29016, simstudioai/sim PR 6508, forcedotcom/cli issues 3482 and
    # 3325, simple-salesforce issue 814. False: an org that still takes them (Connected Apps always do).
    eca_generic_audience_refused: bool = True
    # Logins per user per rolling hour; the next one gets invalid_grant / "login rate exceeded" until
    # the hour's count drops (Salesforce Help articles 000312767 and 000381578: 3,600 per user per
    # hour; the reply text as restforce PR 744 and n8n-io/n8n issue 31948 quote it). None: no cap.
    login_rate_per_hour: int | None = 3600
    # A Dev Hub's scratch org sign-up cannot copy an External Client App into the new org: a
    # ScratchOrgInfo whose ConnectedAppConsumerKey names one of the org's ECAs ends in Status "Error",
    # ErrorCode "C-1016" (forcedotcom/cli issue 3515, the maintainers' announcement; endpoints/scratch.py).
    # False: an org where sign-up takes them (no such org is reported yet).
    eca_scratch_signup_refused: bool = True
    # The org setting "Allow Access to OAuth Consumer Secrets via Metadata API" and the admin's user
    # permission "View External Client Apps Consumer Secrets in Metadata": without either, a retrieve
    # of ExtlClntAppGlobalOauthSettings (consumer key, certificate) is refused (Metadata API Developer
    # Guide, ExtlClntAppGlobalOauthSettings "Special Access Rules"; ExternalClientAppSettings
    # enableConsumerSecretApiAccess). The texts of the refusal are ours: no public source quotes them.
    consumer_secret_access: bool = True
    admin_views_consumer_secrets: bool = True


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
    permission_sets: tuple[PermissionSet, ...] = ()

    def audiences(self) -> tuple[str, ...]:
        if self.accepted_audiences is not None:
            return self.accepted_audiences
        return ("https://test.salesforce.com",) if self.org.is_sandbox else ("https://login.salesforce.com",)

    def find_user(self, username: str) -> User | None:
        # Salesforce usernames are case-insensitive.
        wanted = username.casefold()
        return next((u for u in self.users if u.username.casefold() == wanted), None)

    def find_app(self, consumer_key: str) -> App | None:
        """A configured app (apps created by deploys live in ``State.setup``)."""
        return next((a for a in self.apps if a.consumer_key == consumer_key), None)

    @property
    def admin(self) -> User | None:
        """The first admin user: the one ``Emulator.admin_token`` belongs to."""
        return next((u for u in self.users if u.admin), None)


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
    client_id: str  # "" for the admin session the emulator hands out (no app involved)
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
