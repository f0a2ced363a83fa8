"""The token-exchange grant (RFC 8693) on ``POST /services/oauth2/token``, run by the deployed handler.

A request: ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``, ``subject_token`` (the
CI job's identity token), ``subject_token_type`` (``…:token-type:jwt`` or ``…:id_token``) and
``client_id`` (the External Client App's consumer key; a secret only when the app requires one).

What the org does, in order: the app (unknown or not yet propagated: as the JWT grant answers);
token exchange on for it (global settings ``isTokenExchangeEnabled`` and policy
``isTokenExchangeFlowEnabled``); an enabled OauthTokenExchangeHandler naming the app in its
``enablements`` and supporting JWTs; then the handler class runs. The emulator cannot run Apex: it
runs what the deployed handler states. The handler sfjwt-orch generates carries its rules as JSON
between two marker comments; the emulator reads that literal from the deployed ApexClass's content
and applies it as the generated Apex does (validateJWTWithKeysEndpoint, then iss, aud, exp, nbf and
the bindings, first failure wins), with the same refusal texts. A handler without the markers is
one the emulator cannot run, and says so. The keys endpoint is fetched as an Apex callout would be:
only when an active Remote Site Setting covers its origin, and (the emulator never leaves the
machine) only on loopback.

Wording: a refusal by the handler carries its ``customErrorMsg`` as ``error_description`` with
``error=invalid_request``, the code RFC 8693 §2.2.2 gives for an invalid subject token. Salesforce
does not publish its token-exchange error bodies; those below marked [inferred] have no source.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..deploy import apps
from ..http import Reply, Request, form, json_reply
from ..jwt import JwtFormatError, b64url_decode, parse_jwt, verify_rs256
from ..model import User
from ..org_setup import Component, RegisteredApp
from . import token
from .context import Context

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
_TOKEN_TYPES = ("urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token")
# The generated handler's markers (sfjwt_orch.keyless.apex): a format both sides know, not shared code.
_SPEC = re.compile(r"// sfjwt-orch:spec-begin.*?SPEC\s*=\s*'((?:[^'\\]|\\.)*)'\s*;.*?// sfjwt-orch:spec-end", re.S)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SUBJECT_CLAIMS = ("repository", "project_path")
_CLAIM_ORDER = ("repository", "project_path", "ref", "environment")


class _Refused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.outcome)
        self.reply = reply


def is_exchange(req: Request) -> bool:
    return req.method == "POST" and form(req.body).get("grant_type") == GRANT_TYPE


def _error(outcome: str, error: str, description: str, trace: Mapping[str, Any], status: int = 400) -> _Refused:
    payload = {"error": error, "error_description": description}
    common = {"outcome": outcome, "error": error, "error_description": description}
    return _Refused(json_reply(status, payload, headers=(("Cache-Control", "no-store"),), **common, **trace))


def handle(ctx: Context, req: Request) -> Reply:
    params = form(req.body)
    subject = params.get("subject_token", "")
    trace = _trace(params)
    try:
        reg = _app(ctx, params, trace)
        handler = _handler(ctx, reg, params, trace)
        spec = _spec(ctx, handler, trace)
        claims = _validate(ctx, spec, subject, trace)
        user = _user(ctx, reg, spec, trace)
    except _Refused as refused:
        return refused.reply
    return token._issue(ctx, reg, user, {**trace, "claims": claims})


def _trace(params: Mapping[str, str]) -> dict[str, Any]:
    recorded = dict(params)
    if "subject_token" in params:
        recorded["subject_token"] = f"<JWT, {len(params['subject_token'])} characters>"  # a live credential
    return {"params": recorded, "jwt_header": None, "claims": None}


def _app(ctx: Context, params: Mapping[str, str], trace: Mapping[str, Any]) -> RegisteredApp:
    reg, unavailable = ctx.lookup_app(params.get("client_id", ""))
    if reg is None:
        raise _Refused(token.outcome_reply(unavailable or "client_id_invalid", **trace))
    if params.get("subject_token_type") not in _TOKEN_TYPES or not params.get("subject_token"):
        # RFC 8693 §2.1: subject_token and subject_token_type are required [inferred wording].
        raise _error("exchange_bad_request", "invalid_request", "invalid subject_token or subject_token_type", trace)
    parts = apps.eca_parts(ctx.setup, reg.source or "") if reg.app.eca else {}
    settings, policy = parts.get("ExtlClntAppGlobalOauthSettings"), parts.get("ExtlClntAppOauthConfigurablePolicies")
    enabled = (
        settings is not None
        and settings.field("isTokenExchangeEnabled") == "true"
        and policy is not None
        and policy.field("isTokenExchangeFlowEnabled") == "true"
    )
    if not enabled:
        # What every Salesforce token endpoint says of a grant the app does not allow (the JWT
        # grant's catalog entry); for token exchange specifically [inferred].
        raise _Refused(token.outcome_reply("unsupported_grant_type", **trace))
    return reg


def _handler(ctx: Context, reg: RegisteredApp, params: Mapping[str, str], trace: Mapping[str, Any]) -> Component:
    # `token_handler` names the handler; without it the app's default one runs (the Help page
    # "Configure the OAuth 2.0 Token Exchange Flow", xcloud.remoteaccess_token_exchange_configure).
    named = params.get("token_handler")
    for component in ctx.setup.components("OauthTokenExchangeHandler"):
        names = component.fields.get("enablements.externalClientApp", ())
        if named and component.full_name != named:
            continue
        if component.field("isEnabled") == "true" and (reg.source or "") in (n.strip() for n in names):
            if component.field("isJwtSupported") != "true":
                break
            apex = ctx.setup.component("ApexClass", component.field("tokenHandlerApex") or "")
            if apex is not None:
                return apex
    # [inferred]: no public source gives this answer's text.
    raise _error("exchange_no_handler", "invalid_request", "no token exchange handler is enabled for this app", trace)


def _spec(ctx: Context, apex: Component, trace: Mapping[str, Any]) -> dict[str, Any]:
    content = base64.b64decode(apex.field("content") or "").decode("utf-8", "replace")
    match = _SPEC.search(content)
    if match is None:
        raise _error(
            "exchange_handler_unknown",
            "invalid_request",
            f"the emulator cannot run the handler {apex.full_name}: it has no sfjwt-orch spec",
            trace,
        )
    text = re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), match.group(1))
    doc: dict[str, Any] = json.loads(text)
    return doc


def _refused_by_handler(problem: str, trace: Mapping[str, Any]) -> _Refused:
    outcome = "exchange_signature" if problem.startswith("signature") else "exchange_claim"
    return _error(outcome, "invalid_request", problem, trace)


def _validate(ctx: Context, spec: Mapping[str, Any], subject: str, trace: dict[str, Any]) -> dict[str, Any]:
    keys_endpoint = str(spec.get("keys_endpoint", ""))
    failure = _verify(ctx, subject, keys_endpoint)
    if failure is not None:
        raise _refused_by_handler(
            f"signature: the token does not verify against the keys of {keys_endpoint} ({failure})", trace
        )
    claims = dict(parse_jwt(subject).claims)
    trace["claims"] = claims
    problem = _first_problem(spec, claims, int(ctx.now()))
    if problem is not None:
        raise _refused_by_handler(problem, trace)
    return claims


def _verify(ctx: Context, subject: str, keys_endpoint: str) -> str | None:
    """None when the token's signature verifies with the issuer's keys; else the Apex exception's type."""
    try:
        parsed = parse_jwt(subject)
    except JwtFormatError:
        return "Auth.JWTValidationException"
    if not _remote_site_allows(ctx, keys_endpoint):
        # Apex's callout rule: "Unauthorized endpoint, please check Setup->Security->Remote site settings."
        return "System.CalloutException"
    keys = _fetch_keys(keys_endpoint)
    if keys is None:
        return "System.CalloutException"
    kid = parsed.header.get("kid")
    if parsed.header.get("alg") != "RS256":
        return "Auth.JWTValidationException"
    for jwk in keys:
        matches = jwk.get("kty") == "RSA" and (kid is None or jwk.get("kid") == kid)
        if matches and verify_rs256(parsed.signing_input, parsed.signature, _public_key(jwk)):
            return None
    return "Auth.JWTValidationException"


def _remote_site_allows(ctx: Context, url: str) -> bool:
    target = urlsplit(url)
    for site in ctx.setup.components("RemoteSiteSetting"):
        allowed = urlsplit(site.field("url") or "")
        if site.field("isActive") != "false" and (allowed.scheme, allowed.netloc) == (target.scheme, target.netloc):
            return True
    return False


def _fetch_keys(url: str) -> list[dict[str, Any]] | None:
    if urlsplit(url).hostname not in _LOOPBACK:
        return None  # the emulator never leaves the machine: a real issuer is out of reach
    try:
        # Loopback only (checked above), and never through a proxy the environment names.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=10) as reply:
            doc = json.loads(reply.read(1 << 20))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    keys = doc.get("keys") if isinstance(doc, dict) else None
    return [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else None


def _public_key(jwk: Mapping[str, Any]) -> Any:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    def number(name: str) -> int:
        return int.from_bytes(b64url_decode(str(jwk.get(name, ""))), "big")

    return RSAPublicNumbers(number("e"), number("n")).public_key()


# --- the generated handler's rules, as its Apex applies them (keyless/apex.py firstProblem) ---


def _same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and _text(a) == _text(b)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _seconds(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mismatch(claim: str, expected: Any, received: Any) -> str:
    return f"claim {claim}: expected '{_shown(expected)}', received '{_shown(received)}'"


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "(" + ", ".join(_shown(v) for v in value) + ")"  # Apex's String.valueOf(List)
    return str(value)


def _first_problem(spec: Mapping[str, Any], claims: Mapping[str, Any], now: int) -> str | None:
    if not _same(claims.get("iss"), spec.get("issuer")):
        return _mismatch("iss", spec.get("issuer"), claims.get("iss"))
    aud = claims.get("aud")
    holds = _same(aud, spec.get("audience")) or (
        isinstance(aud, list) and any(_same(a, spec.get("audience")) for a in aud)
    )
    if not holds:
        return _mismatch("aud", spec.get("audience"), aud)
    exp = _seconds(claims.get("exp"))
    if exp is None or exp <= now:
        return f"claim exp: expected a time after {now}, received {_shown(claims.get('exp'))}"
    if "nbf" in claims and ((nbf := _seconds(claims.get("nbf"))) is None or nbf > now):
        return f"claim nbf: expected a time before {now}, received {_shown(claims.get('nbf'))}"
    return _binding_problem(spec.get("bindings") or [], claims)


def _binding_problem(bindings: list[Mapping[str, Any]], claims: Mapping[str, Any]) -> str | None:
    closest: str | None = None
    subjects: list[str] = []
    for binding in bindings:
        problem: str | None = None
        subject_holds = True
        for claim in _CLAIM_ORDER:
            if claim not in binding or _same(claims.get(claim), binding.get(claim)):
                continue
            if claim in _SUBJECT_CLAIMS:
                subjects.append(f"{claim} '{binding.get(claim)}'")
                subject_holds = False
                break
            problem = _mismatch(claim, binding.get(claim), claims.get(claim))
            break
        if subject_holds and problem is None:
            return None
        if subject_holds and closest is None:
            closest = problem
    if closest is not None:
        return closest
    name = "project_path" if "project_path" in claims else "repository"
    return f"claim {name}: expected one of {', '.join(subjects)}, received '{_shown(claims.get(name))}'"


def _user(ctx: Context, reg: RegisteredApp, spec: Mapping[str, Any], trace: Mapping[str, Any]) -> User:
    """getUserForTokenSubject: the one active user the spec names; then the app's policy."""
    user = ctx.state.user(str(spec.get("user", "")))
    if user is None or not user.active:
        # The handler returned no user [inferred wording].
        raise _error("exchange_no_user", "invalid_request", "the token exchange handler returned no user", trace)
    if reg.app.policy == "admin-approved" and not ctx.setup.is_preauthorized(reg.app, user):
        raise _Refused(token.outcome_reply("not_admin_approved", **trace))
    if not ctx.config.org.active:
        raise _Refused(token.outcome_reply("inactive_org", **trace))
    if user.frozen:
        raise _Refused(token.outcome_reply("authentication_failure", **trace))
    return user
