"""``POST /services/oauth2/token``: the JWT bearer grant (RFC 7523), as Salesforce checks it.

The checks run in the order Salesforce appears to use, so a JWT with several faults gets the
answer a real org gives: server-side faults first (maintenance, rate limit, forced outcomes), the
request's shape, then the app (iss), signature, audience, expiry, the user's authorization for the
app, the org and user state (inactive, frozen), and last the user's login IP ranges and hours (the
order: audience before approval is shown in salesforce.stackexchange.com question 184363, the rest
is [inferred]). Each check raises ``_Refused`` with a
``catalog.TOKEN_OUTCOMES`` key; the answers are the exact ``error`` / ``error_description`` pairs
Salesforce sends. Expiry and login hours read the org's clock (``Context.now``: with its offset).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from .. import pages
from ..catalog import OK, TOKEN_OUTCOMES
from ..http import Reply, Request, form, html_reply, json_reply
from ..jwt import JwtFormatError, ParsedJwt, parse_jwt, verify_rs256
from ..model import User
from ..org_setup import RegisteredApp
from .context import Context

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"

# RFC 6749 §5.1: token responses must not be cached.
_NO_STORE = (("Cache-Control", "no-store"),)


class _Refused(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def outcome_reply(key: str, **trace: Any) -> Reply:
    """The answer for a ``TOKEN_OUTCOMES`` key, recorded with ``trace`` (params, JWT header, claims)."""
    outcome = TOKEN_OUTCOMES[key]
    common = {"outcome": key, "error": outcome.error or None, "error_description": outcome.description or None}
    if outcome.shape == "page":
        body = pages.maintenance_page() if key == "maintenance" else pages.server_error_page()
        return html_reply(outcome.status, body, **common, **trace)
    payload: dict[str, str] = {"error": outcome.error, "error_description": outcome.description}
    if outcome.shape == "bare_error":
        payload = {"error": outcome.error}
    elif outcome.shape == "incomplete":
        payload = {"access_token": "00D000000000000!incomplete", "token_type": "Bearer", "scope": "api"}
    return json_reply(outcome.status, payload, headers=_NO_STORE, **common, **trace)


def handle(ctx: Context, req: Request) -> Reply:
    if req.method != "POST":
        return outcome_reply("post_required")
    params = form(req.body)
    parsed = _parse_assertion(params)
    trace = _trace(params, parsed)
    try:
        _check_faults(ctx)
        parsed = _check_shape(params, parsed)
        claims = parsed.claims
        _check_login_rate(ctx, claims)  # the user's hourly login cap
        app = _check_app(ctx, claims)  # 1. iss is the consumer key
        _check_eca_audience(ctx, app, claims)  # an ECA takes no generic audience (Spring '26)
        _check_signature(ctx, app, parsed)  # 2. against the certificate uploaded to that app
        _check_audience(ctx, claims, req.headers.get("host", ""))  # 3.
        _check_expiry(ctx, claims)  # 4.
        user = _check_authorization(ctx, app, claims)  # 5. the user, and their approval for the app
        _check_standing(ctx, user)  # 6. org and user state
        _check_login_policy(ctx, user, req.client)  # 7. the profile's login IP ranges and hours
    except _Refused as refused:
        return outcome_reply(refused.key, **trace)
    return _issue(ctx, app, user, trace)


def _parse_assertion(params: Mapping[str, str]) -> ParsedJwt | None:
    if "assertion" not in params:
        return None
    try:
        return parse_jwt(params["assertion"])
    except JwtFormatError:
        return None


def _trace(params: Mapping[str, str], parsed: ParsedJwt | None) -> dict[str, Any]:
    recorded = dict(params)
    if "assertion" in params:
        # The assertion is a live credential (sf's exp is in ms, so it never expires): log its size only.
        recorded["assertion"] = f"<JWT, {len(params['assertion'])} characters>"
    return {
        "params": recorded,
        "jwt_header": None if parsed is None else MappingProxyType(dict(parsed.header)),
        "claims": None if parsed is None else MappingProxyType(dict(parsed.claims)),
    }


def _check_faults(ctx: Context) -> None:
    """The switches a test sets: slowness, maintenance, a rate limit, forced outcomes."""
    delay = ctx.state.switches.slow_token_seconds
    if delay > 0 and ctx.stopping.wait(delay):
        # Stopped mid-delay: do not hand out a token from a server that is going away.
        raise _Refused("server_error")
    count, switches = ctx.state.count_token_request()
    if switches.maintenance:
        raise _Refused("maintenance")
    if switches.rate_limit_after is not None and count > switches.rate_limit_after:
        raise _Refused("rate_limited")
    forced = ctx.state.pop_fail_next()
    if forced is not None:
        raise _Refused(forced)


def _check_shape(params: Mapping[str, str], parsed: ParsedJwt | None) -> ParsedJwt:
    if params.get("grant_type") != JWT_GRANT_TYPE:
        raise _Refused("unsupported_grant_type")
    if parsed is None or parsed.header.get("alg") != "RS256":
        raise _Refused("invalid_assertion")
    return parsed


def _check_app(ctx: Context, claims: Mapping[str, Any]) -> RegisteredApp:
    iss = claims.get("iss")
    reg, unavailable = ctx.lookup_app(iss if isinstance(iss, str) else "")
    if reg is None:
        raise _Refused(unavailable or "client_id_invalid")
    return reg


def _check_login_rate(ctx: Context, claims: Mapping[str, Any]) -> None:
    """3,600 logins per user per hour (Switches.login_rate_per_hour); the cap is checked before the
    app, as a locked-out user is refused whatever the request holds (Help 000312767)."""
    subject = claims.get("prn", claims.get("sub"))
    limit = ctx.state.switches.login_rate_per_hour
    if isinstance(subject, str) and subject and not ctx.state.count_login(subject, limit):
        raise _Refused("login_rate_exceeded")


# The generic login hosts an ECA refuses as audience since Spring '26 (Switches.eca_generic_audience_refused).
GENERIC_AUDIENCES = frozenset({"https://login.salesforce.com", "https://test.salesforce.com"})


def _check_eca_audience(ctx: Context, reg: RegisteredApp, claims: Mapping[str, Any]) -> None:
    # Reported answer: app_not_found / "External client app is not installed in this org" (n8n-io/n8n
    # issue 28990 quotes the JSON; forcedotcom/cli issue 3482), cleared by the My Domain as audience.
    if not (reg.app.eca and ctx.state.switches.eca_generic_audience_refused):
        return
    aud = claims.get("aud")
    candidates = aud if isinstance(aud, list) else [aud]
    if any(isinstance(a, str) and a.removesuffix("/").casefold() in GENERIC_AUDIENCES for a in candidates):
        raise _Refused("app_not_installed")


def _check_signature(ctx: Context, reg: RegisteredApp, parsed: ParsedJwt) -> None:
    # An app without a certificate has no JWT bearer flow: no signature can verify.
    if reg.certificate is None or not verify_rs256(parsed.signing_input, parsed.signature, reg.certificate.public_key):
        raise _Refused("invalid_assertion")


def _check_audience(ctx: Context, claims: Mapping[str, Any], host_header: str) -> None:
    aud = claims.get("aud")
    candidates = aud if isinstance(aud, list) else [aud]  # RFC 7519 §4.1.3: a string or a list
    own = {ctx.instance_url.casefold()}
    called = urlsplit(f"http://{host_header}")
    with contextlib.suppress(ValueError):  # a malformed port in Host
        # Host is a loopback name of this port (http.host_allowed refused every other). An org
        # with a My Domain accepts only that one as its own audience, whatever host was called.
        if ctx.config.org.my_domain is None and called.hostname and called.port == ctx.port:
            # The login URL the client used (http://localhost:PORT or the numeric one): Salesforce
            # accepts the My Domain it was called on as audience, with or without a trailing slash.
            own.add(f"http://{host_header}".casefold())
    accepted = own | {a.removesuffix("/").casefold() for a in ctx.config.audiences()}
    if not any(isinstance(a, str) and a.removesuffix("/").casefold() in accepted for a in candidates):
        raise _Refused("audience_invalid")


def _check_expiry(ctx: Context, claims: Mapping[str, Any]) -> None:
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise _Refused("invalid_assertion")
    if not math.isfinite(exp):  # Python's json accepts NaN and Infinity
        raise _Refused("invalid_assertion")
    # exp is read as seconds, as Salesforce does. sf sends Date.now()+300, i.e. milliseconds, which
    # read as seconds lies millennia ahead: accepted. Read as milliseconds it would expire 0.3 s
    # after signing, so a busy machine (or slow_token_seconds) would fail logins Salesforce accepts.
    if exp <= ctx.now():  # the org's clock, offset included
        raise _Refused("expired")


def _check_authorization(ctx: Context, reg: RegisteredApp, claims: Mapping[str, Any]) -> User:
    # "prn" is the legacy name of "sub" and wins.
    subject = claims.get("prn", claims.get("sub"))
    if not isinstance(subject, str) or not subject:
        raise _Refused("invalid_assertion")
    app = reg.app
    user = ctx.state.user(subject)
    approval = ctx.state.approval(app.consumer_key, subject)
    if user is None:
        # Salesforce does not say "no such user"; a sub outside the org reads as not approved.
        raise _Refused("not_approved")
    if app.policy == "admin-approved" and not ctx.setup.is_preauthorized(app, user):
        raise _Refused("not_admin_approved")
    if app.policy == "self-authorize" and (approval is None or not approval.refresh_token):
        raise _Refused("not_approved")
    return user


def _check_standing(ctx: Context, user: User) -> None:
    # The catalog ranks these after authorization.
    if not ctx.config.org.active:
        raise _Refused("inactive_org")
    if not user.active:
        raise _Refused("inactive_user")
    if user.frozen:
        raise _Refused("authentication_failure")


def _check_login_policy(ctx: Context, user: User, client: str) -> None:
    # Checked last (IP and login hours after approval: the [inferred] order of the module docstring).
    if user.login_ip_ranges and not _address_in(client, user.login_ip_ranges):
        raise _Refused("ip_restricted")
    if user.login_hours is not None and not _within(user.login_hours, ctx.now()):
        raise _Refused("ip_restricted")


def _address_in(client: str, ranges: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in ranges)


def _within(hours: tuple[str, str], now: float) -> bool:
    """Is ``now`` (epoch seconds) inside the daily UTC window? An end before the start wraps past
    midnight; an empty window (start == end) never admits."""
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in hours)
    minute = int(now // 60) % (24 * 60)
    return start <= minute < end if start <= end else minute >= start or minute < end


def _issue(ctx: Context, reg: RegisteredApp, user: User, trace: Mapping[str, Any]) -> Reply:
    org_id = ctx.config.org.org_id
    session = ctx.state.issue_session(user, reg.app.consumer_key)
    issued_at = str(int(session.issued_at * 1000))
    id_url = f"{ctx.instance_url}/id/{org_id}/{user.user_id}"
    # Salesforce signs id + issued_at so a client can tell the reply was not altered.
    signature = base64.b64encode(
        hmac.new(ctx.signing_secret, (id_url + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    payload = {
        "access_token": session.access_token,
        "signature": signature,
        "scope": "api refresh_token",
        "instance_url": ctx.instance_url,
        "id": id_url,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }
    return json_reply(200, payload, headers=_NO_STORE, outcome=OK, **trace)
