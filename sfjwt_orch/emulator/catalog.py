"""The token endpoint's answers, with the exact ``error`` / ``error_description`` pairs Salesforce sends.

The pairs come from the project's error catalog (Salesforce Help "OAuth 2.0 Authorization Errors",
the DX troubleshooting guide, and replies seen in forcedotcom/cli and n8n-io/n8n issues). sf keeps
only ``error_description`` (one line per attempt), so the descriptions must match byte for byte;
the ``error`` codes matter to other clients and to the emulator's own request log.

Each outcome has a stable key. The key is what the request log records and what
``Switches.fail_next`` accepts, so tests can say "answer the next login with not_approved".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

# How an outcome is sent: "error" a JSON {error, error_description}; "page" an HTML page;
# "bare_error" a JSON {error} with no error_description; "incomplete" a 200 token reply that lacks
# instance_url and id.
Shape = Literal["error", "page", "bare_error", "incomplete"]


@dataclass(frozen=True)
class TokenOutcome:
    key: str
    status: int
    error: str
    description: str
    # "page" for answers Salesforce sends as an HTML page (maintenance, server errors): jsforce then
    # reports ERROR_HTTP_<status> with the raw body, which is exactly what sf users see.
    shape: Shape = "error"


_OUTCOMES = (
    TokenOutcome("client_id_invalid", 400, "invalid_client_id", "client identifier invalid"),
    TokenOutcome("app_not_installed", 400, "app_not_found", "External client app is not installed in this org"),
    TokenOutcome("invalid_assertion", 400, "invalid_grant", "invalid assertion"),
    TokenOutcome("audience_invalid", 400, "invalid_grant", "audience is invalid"),
    TokenOutcome("expired", 400, "invalid_grant", "expired authorization code"),
    TokenOutcome("not_approved", 400, "invalid_grant", "user hasn't approved this consumer"),
    TokenOutcome("not_admin_approved", 400, "invalid_app_access", "user is not admin approved to access this app"),
    TokenOutcome("inactive_user", 400, "inactive_user", "User is inactive"),
    TokenOutcome("inactive_org", 400, "inactive_org", "Org is locked, closed, or suspended"),
    TokenOutcome("rate_limited", 400, "rate_limit_exceeded", "Number of logins exceeded"),
    # The per-user hourly login cap (Switches.login_rate_per_hour): Help 000312767, restforce PR 744.
    TokenOutcome("login_rate_exceeded", 400, "invalid_grant", "login rate exceeded"),
    TokenOutcome("unsupported_grant_type", 400, "unsupported_grant_type", "grant type not supported"),
    TokenOutcome("post_required", 400, "invalid_request", "must use HTTP POST"),
    # A frozen user (User.frozen): sf's guide sfdx_dev_troubleshoot_auth_errors gives this text for a user
    # who cannot log in; frozen or locked users getting it is [inferred].
    TokenOutcome("authentication_failure", 400, "invalid_grant", "authentication failure"),
    # A client outside the user's login IP ranges or login hours (User.login_ip_ranges / login_hours).
    TokenOutcome("ip_restricted", 400, "invalid_grant", "IP restricted or invalid login hours"),
    # Only reachable through Switches.fail_next: the emulator has no install model.
    TokenOutcome("app_not_installed_connected", 400, "invalid_client", "app must be installed into org"),
    TokenOutcome("maintenance", 503, "maintenance", "Salesforce is down for maintenance", shape="page"),
    TokenOutcome("server_error", 500, "server_error", "An internal server error has occurred", shape="page"),
    # Forced only. An error with no error_description: jsforce's Error then has no message, and sf
    # prints an empty line for the attempt (observed with sf 2.150.6 against a recording stub; jsforce
    # src/oauth2.ts builds the Error from error_description).
    TokenOutcome("no_description", 400, "invalid_request", "", shape="bare_error"),
    # Forced only. A 200 that lacks instance_url and id (a proxy or a broken server in the way).
    TokenOutcome("incomplete_reply", 200, "", "", shape="incomplete"),
)

TOKEN_OUTCOMES: Mapping[str, TokenOutcome] = MappingProxyType({o.key: o for o in _OUTCOMES})

# The recorded outcome of a token request that issued a token.
OK = "ok"

# Browser-flow (authorize page) redirect errors. Salesforce puts these on the callback URL.
AUTHORIZE_DENIED = ("access_denied", "end-user denied authorization")
AUTHORIZE_NOT_ADMIN_APPROVED = ("OAUTH_APP_ACCESS_DENIED", "user is not admin approved to access this app")
AUTHORIZE_REDIRECT_MISMATCH = ("redirect_uri_mismatch", "redirect_uri must match configuration")
AUTHORIZE_BAD_RESPONSE_TYPE = ("unsupported_response_type", "response type not supported")

# REST API errors (a JSON list, as the REST API always answers errors).
INVALID_SESSION: Mapping[str, str] = MappingProxyType(
    {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
)
NOT_FOUND: Mapping[str, str] = MappingProxyType(
    {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
)
