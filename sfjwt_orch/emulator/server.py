"""The emulator: an offline Salesforce login server on loopback.

It answers what ``sf org login jwt`` and a person approving an app need:

- ``POST /services/oauth2/token``: the JWT bearer grant, checked in the order Salesforce appears to
  use (app, signature, audience, expiry, user approval, then user/org state), answering the exact
  ``error`` / ``error_description`` pairs of ``catalog.TOKEN_OUTCOMES``.
- ``GET /services/oauth2/authorize`` and ``POST /services/oauth2/authorize/decision``: the
  "Allow Access?" page that records a user's approval of a self-authorize app.
- The REST calls sf makes after a token (``/services/data``, ``/services/data/vNN.0``, the Dev Hub
  and Organization queries), plus ``/services/oauth2/userinfo`` and ``/id/<org>/<user>``.
- A private control API under ``/__emulator/`` for tests and scripts (state, approve, switches).

Nothing happens at import time; ``Emulator.start`` opens the socket and runs the server in a
daemon thread.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import secrets
import signal
import socket
import socketserver
import string
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, MappingProxyType, TracebackType
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sfjwt_orch.approval import is_loopback_host as is_loopback_host  # re-exported: one definition for all
from sfjwt_orch.x509 import certificate_from_pem

from . import pages
from .catalog import (
    AUTHORIZE_BAD_RESPONSE_TYPE,
    AUTHORIZE_DENIED,
    AUTHORIZE_NOT_ADMIN_APPROVED,
    AUTHORIZE_REDIRECT_MISMATCH,
    INVALID_SESSION,
    NOT_FOUND,
    OK,
    TOKEN_OUTCOMES,
    TokenOutcome,
)
from .httpbody import BodyError, read_body
from .jwt import JwtFormatError, ParsedJwt, parse_jwt, verify_rs256
from .model import (
    App,
    EmulatorConfig,
    EmulatorConfigError,
    EmulatorError,
    Switches,
    User,
    config_to_mapping,
    switches_from_mapping,
    switches_to_mapping,
    validate_config,
)

Clock = Callable[[], float]

TOKEN_PATH = "/services/oauth2/token"
AUTHORIZE_PATH = "/services/oauth2/authorize"
DECISION_PATH = pages.DECISION_PATH
USERINFO_PATH = "/services/oauth2/userinfo"
CONTROL_PREFIX = "/__emulator"
JWT_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"

_JSON = "application/json;charset=UTF-8"
_HTML = "text/html;charset=UTF-8"
# Salesforce access tokens: the 15-character org id, "!", then letters, digits, "." and "_".
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "._"
# Headers worth keeping in the request log; others add noise (and Authorization is never kept raw).
_MAX_RECORDS = 10_000
_MAX_PENDING = 1_000
_RECORDED_HEADERS = ("host", "content-type", "content-length", "transfer-encoding", "user-agent", "accept")


# --------------------------------------------------------------------------- records


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
class _Incoming:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = _JSON
    headers: tuple[tuple[str, str], ...] = ()
    outcome: str = OK
    error: str | None = None
    error_description: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    jwt_header: Mapping[str, Any] | None = None
    claims: Mapping[str, Any] | None = None
    record: bool = True


@dataclass(frozen=True)
class _PendingAuthorization:
    client_id: str
    redirect_uri: str
    state: str | None
    refresh_token: bool


def _json_reply(status: int, payload: Any, **kw: Any) -> _Reply:
    return _Reply(status=status, body=json.dumps(payload).encode(), **kw)


def _html_reply(status: int, body: bytes, **kw: Any) -> _Reply:
    return _Reply(status=status, body=body, content_type=_HTML, **kw)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    extra = urlencode(params)
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def _redirect(location: str, outcome: str = OK, **kw: Any) -> _Reply:
    return _Reply(status=302, body=b"", content_type=_HTML, headers=(("Location", location),), outcome=outcome, **kw)


def _form(body: bytes) -> dict[str, str]:
    # keep_blank_values: an empty "state=" must round-trip. Latin-1 never fails; bad bytes just won't match.
    return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))


# --------------------------------------------------------------------------- the emulator


class Emulator:
    """An emulated Salesforce org. ``Emulator(config).start()`` serves it on loopback in a thread.

    ``clock`` (wall-clock seconds) drives JWT expiry and app propagation, so tests can move time
    without sleeping. ``expose_tokens`` enables ``GET /__emulator/tokens`` (tests only: it hands
    out live access tokens to anything that can reach the port). ``on_request`` is called with each
    ``RecordedRequest``, e.g. to print a request log.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        clock: Clock = time.time,
        expose_tokens: bool = False,
        on_request: Callable[[RecordedRequest], None] | None = None,
    ) -> None:
        validate_config(config)
        self.config = config
        self._clock = clock
        self._expose_tokens = expose_tokens
        self._on_request = on_request
        self._keys = {app.consumer_key: certificate_from_pem(app.certificate_pem) for app in config.apps}
        # HMAC key for the token reply's "signature" field (Salesforce signs id + issued_at).
        self._signing_secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._switches = config.switches
        self._users: dict[str, User] = {u.username.casefold(): u for u in config.users}
        self._approvals: dict[tuple[str, str], Approval] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._requests: list[RecordedRequest] = []
        self._pending: dict[str, _PendingAuthorization] = {}
        self._token_request_count = 0
        self._request_count = 0
        self._started_at: float | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0, *, allow_non_loopback: bool = False) -> Emulator:
        if self._server is not None:
            raise EmulatorError("the emulator is already running", "call stop() before starting it again")
        if not allow_non_loopback and not is_loopback_host(host):
            raise EmulatorConfigError(
                f"refusing to listen on {host!r}: the emulator binds loopback only",
                "use 127.0.0.1 (or allow a non-loopback address explicitly)",
            )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            server = _Server((host.strip("[]"), port), self, family)
        except OSError as exc:
            raise EmulatorError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                "pick another port, or use port 0 for a free one",
            ) from None
        self._stopping.clear()
        self._started_at = self._clock()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="sfjwt-orch-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping for slow_token_seconds
        # shutdown() only takes effect when serve_forever's select() returns, i.e. after up to
        # poll_interval. A throwaway connection wakes it at once, so stopping costs milliseconds
        # (tests start and stop hundreds of emulators) while an idle server still sleeps long.
        stopper = threading.Thread(target=server.shutdown, name="sfjwt-orch-emulator-stop", daemon=True)
        stopper.start()
        address = self.address
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection(address, timeout=0.5).close()
            stopper.join(0.01)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise EmulatorError("the emulator is not running", "call start() first")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8555`` (no trailing slash): the sf ``--instance-url``."""
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    # ----------------------------------------------------------------- observation and control

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        with self._lock:
            return tuple(self._requests)

    @property
    def token_requests(self) -> tuple[RecordedRequest, ...]:
        return tuple(r for r in self.requests if r.path == TOKEN_PATH)

    @property
    def issued_tokens(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._tokens)

    @property
    def approvals(self) -> tuple[Approval, ...]:
        with self._lock:
            return tuple(self._approvals.values())

    @property
    def switches(self) -> Switches:
        with self._lock:
            return self._switches

    def set_switches(self, **changes: Any) -> Switches:
        """Change behaviour switches (see ``Switches``); returns the new set."""
        with self._lock:
            # The same checks as the JSON control API: unknown names and wrong types are refused.
            self._switches = switches_from_mapping(changes, "set_switches", "switches", base=self._switches)
            return self._switches

    def approve(self, client_id: str, username: str, *, refresh_token: bool = True) -> Approval:
        """Record that ``username`` approved the app, as clicking Allow does."""
        if self.config.find_app(client_id) is None:
            raise EmulatorError(f"no app with consumer key {client_id!r}", "use a consumer key from the config")
        with self._lock:
            user = self._users.get(username.casefold())
            if user is None:
                raise EmulatorError(f"no user {username!r} in the emulated org", "use a username from the config")
            approval = Approval(client_id=client_id, username=user.username, refresh_token=refresh_token)
            key = (client_id, user.username.casefold())
            previous = self._approvals.get(key)
            # Approved scopes accumulate: once refresh_token was granted it stays granted.
            if previous is None or not previous.refresh_token:
                self._approvals[key] = approval
            return self._approvals[key]

    def update_user(self, username: str, *, active: bool | None = None, preauthorized: bool | None = None) -> User:
        """Flip a user's active / pre-authorized flags while running (e.g. "the admin assigned the
        permission set")."""
        with self._lock:
            user = self._users.get(username.casefold())
            if user is None:
                raise EmulatorError(f"no user {username!r} in the emulated org", "use a username from the config")
            if active is not None:
                user = replace(user, active=active)
            if preauthorized is not None:
                user = replace(user, preauthorized=preauthorized)
            self._users[username.casefold()] = user
            return user

    def users(self) -> tuple[User, ...]:
        with self._lock:
            return tuple(self._users.values())

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot for ``GET /__emulator/state``. Holds no access tokens."""
        with self._lock:
            return {
                "url": self.url if self._server is not None else None,
                "org_id": self.config.org.org_id,
                "apps": [
                    {
                        "name": a.name,
                        "consumer_key": a.consumer_key,
                        "policy": a.policy,
                        "eca": a.eca,
                        "callback_urls": list(a.callback_urls),
                        "propagated": self._propagated(a),
                        "certificate_sha256": self._keys[a.consumer_key].sha256_fingerprint,
                    }
                    for a in self.config.apps
                ],
                "users": [
                    {
                        "username": u.username,
                        "user_id": u.user_id,
                        "active": u.active,
                        "preauthorized": u.preauthorized,
                    }
                    for u in self._users.values()
                ],
                "approvals": [
                    {"client_id": a.client_id, "username": a.username, "refresh_token": a.refresh_token}
                    for a in self._approvals.values()
                ],
                "switches": switches_to_mapping(self._switches),
                "token_request_count": self._token_request_count,
                "issued_token_count": len(self._tokens),
                "requests": [r.to_dict() for r in self._requests],
            }

    def config_json(self) -> dict[str, Any]:
        return config_to_mapping(self.config)

    # ----------------------------------------------------------------- request handling

    def _handle(self, request: _Incoming) -> _Reply:
        reply = self._route(request)
        if reply.record:
            self._record(request, reply)
        return reply

    def _record(self, request: _Incoming, reply: _Reply) -> None:
        headers = {k: request.headers[k] for k in _RECORDED_HEADERS if k in request.headers}
        auth = request.headers.get("authorization")
        if auth is not None:
            scheme = auth.split(" ", 1)[0]
            headers["authorization"] = f"{scheme} <{'valid' if self._session(request) else 'not valid'}>"
        with self._lock:
            self._request_count += 1
            record = RecordedRequest(
                seq=self._request_count,
                at=self._clock(),
                method=request.method,
                path=request.path,
                query=MappingProxyType(dict(request.query)),
                headers=MappingProxyType(headers),
                params=MappingProxyType(dict(reply.params)),
                status=reply.status,
                outcome=reply.outcome,
                error=reply.error,
                error_description=reply.error_description,
                jwt_header=reply.jwt_header,
                claims=reply.claims,
            )
            self._requests.append(record)
            # A long-running `emulator serve` keeps the newest records only; seq still counts them all.
            del self._requests[:-_MAX_RECORDS]
        if self._on_request is not None:
            # An observer's failure (e.g. a closed stdout) must not change what the client gets.
            with contextlib.suppress(Exception):
                self._on_request(record)

    def _route(self, req: _Incoming) -> _Reply:
        path = req.path
        if path == TOKEN_PATH:
            return self._token(req)
        if path == AUTHORIZE_PATH:
            return self._authorize(req)
        if path == DECISION_PATH:
            return self._decision(req)
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(req)
        if path == USERINFO_PATH or path.startswith("/id/"):
            return self._identity(req)
        if path.rstrip("/") == "/services/data" or path.startswith("/services/data/"):
            return self._rest(req)
        return _json_reply(404, [dict(NOT_FOUND)], outcome="not_found")

    # ----------------------------------------------------------------- token endpoint

    def _outcome_reply(self, key: str, **kw: Any) -> _Reply:
        outcome: TokenOutcome = TOKEN_OUTCOMES[key]
        common = {"outcome": key, "error": outcome.error, "error_description": outcome.description}
        if not outcome.json_body:
            body = pages.maintenance_page() if key == "maintenance" else pages.server_error_page()
            return _html_reply(outcome.status, body, **common, **kw)
        payload = {"error": outcome.error, "error_description": outcome.description}
        # RFC 6749 §5.1: token responses must not be cached.
        return _json_reply(outcome.status, payload, headers=(("Cache-Control", "no-store"),), **common, **kw)

    def _token(self, req: _Incoming) -> _Reply:
        if req.method != "POST":
            return self._outcome_reply("post_required")
        params = _form(req.body)
        recorded_params = dict(params)
        parsed: ParsedJwt | None = None
        assertion = params.get("assertion", "")
        if "assertion" in params:
            # The assertion is a live credential (sf's exp is in ms, so it never expires): log its size only.
            recorded_params["assertion"] = f"<JWT, {len(assertion)} characters>"
            try:
                parsed = parse_jwt(assertion)
            except JwtFormatError:
                parsed = None
        trace: dict[str, Any] = {
            "params": recorded_params,
            "jwt_header": None if parsed is None else MappingProxyType(dict(parsed.header)),
            "claims": None if parsed is None else MappingProxyType(dict(parsed.claims)),
        }

        delay = self.switches.slow_token_seconds
        if delay > 0 and self._stopping.wait(delay):
            # Stopped mid-delay: do not hand out a token from a server that is going away.
            return self._outcome_reply("server_error", **trace)
        with self._lock:
            self._token_request_count += 1
            count = self._token_request_count
            switches = self._switches
        if switches.maintenance:
            return self._outcome_reply("maintenance", **trace)
        if switches.rate_limit_after is not None and count > switches.rate_limit_after:
            return self._outcome_reply("rate_limited", **trace)
        forced = self._pop_fail_next()
        if forced is not None:
            return self._outcome_reply(forced, **trace)

        if params.get("grant_type") != JWT_GRANT_TYPE:
            return self._outcome_reply("unsupported_grant_type", **trace)
        if parsed is None or parsed.header.get("alg") != "RS256":
            return self._outcome_reply("invalid_assertion", **trace)
        claims = parsed.claims

        # 1. The app (iss = consumer key).
        iss = claims.get("iss")
        app, unavailable = self._lookup_app(iss if isinstance(iss, str) else "")
        if app is None:
            return self._outcome_reply(unavailable or "client_id_invalid", **trace)
        # 2. The signature, against the certificate uploaded to that app.
        if not verify_rs256(parsed.signing_input, parsed.signature, self._keys[app.consumer_key].public_key):
            return self._outcome_reply("invalid_assertion", **trace)
        # 3. The audience.
        if not self._audience_ok(claims.get("aud"), req.headers.get("host", "")):
            return self._outcome_reply("audience_invalid", **trace)
        # 4. Expiry.
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            return self._outcome_reply("invalid_assertion", **trace)
        if not math.isfinite(exp):  # Python's json accepts NaN and Infinity
            return self._outcome_reply("invalid_assertion", **trace)
        # exp is read as seconds, as Salesforce does. sf sends Date.now()+300, i.e. milliseconds, which
        # read as seconds lies millennia ahead: accepted. Read as milliseconds it would expire 0.3 s
        # after signing, so a busy machine (or slow_token_seconds) would fail logins Salesforce accepts.
        if exp <= self._clock():
            return self._outcome_reply("expired", **trace)
        # 5. The user and their authorization for this app. "prn" is the legacy name of "sub" and wins.
        subject = claims.get("prn", claims.get("sub"))
        if not isinstance(subject, str) or not subject:
            return self._outcome_reply("invalid_assertion", **trace)
        with self._lock:
            user = self._users.get(subject.casefold())
            approval = self._approvals.get((app.consumer_key, subject.casefold()))
        if user is None:
            # Salesforce does not say "no such user"; a sub outside the org reads as not approved.
            return self._outcome_reply("not_approved", **trace)
        if app.policy == "admin-approved" and not user.preauthorized:
            return self._outcome_reply("not_admin_approved", **trace)
        if app.policy == "self-authorize" and (approval is None or not approval.refresh_token):
            return self._outcome_reply("not_approved", **trace)
        # 6. Org and user state (the catalog ranks these after authorization).
        if not self.config.org.active:
            return self._outcome_reply("inactive_org", **trace)
        if not user.active:
            return self._outcome_reply("inactive_user", **trace)
        return self._issue(app, user, trace)

    def _pop_fail_next(self) -> str | None:
        with self._lock:
            if not self._switches.fail_next:
                return None
            first, *rest = self._switches.fail_next
            self._switches = replace(self._switches, fail_next=tuple(rest))
            return first

    def _propagated(self, app: App) -> bool:
        started = self._started_at if self._started_at is not None else self._clock()
        return self._clock() - started >= app.propagation_seconds

    def _lookup_app(self, client_id: str) -> tuple[App | None, str | None]:
        app = self.config.find_app(client_id)
        if app is None:
            return None, "client_id_invalid"
        if not self._propagated(app):
            # A freshly created app is unknown until it replicates; ECAs say so in their own words.
            return None, "app_not_installed" if app.eca else "client_id_invalid"
        return app, None

    def _audience_ok(self, aud: Any, host_header: str) -> bool:
        candidates = aud if isinstance(aud, list) else [aud]  # RFC 7519 §4.1.3: a string or a list
        own = {self.url.casefold()}
        called = urlsplit(f"http://{host_header}")
        with contextlib.suppress(ValueError):  # a malformed port in Host
            if called.hostname and is_loopback_host(called.hostname) and called.port == self.address[1]:
                # The login URL the client used (http://localhost:PORT or the numeric one): Salesforce
                # accepts the My Domain it was called on as audience, with or without a trailing slash.
                own.add(f"http://{host_header}".casefold())
        accepted = own | {a.removesuffix("/").casefold() for a in self.config.audiences()}
        return any(isinstance(a, str) and a.removesuffix("/").casefold() in accepted for a in candidates)

    def _issue(self, app: App, user: User, trace: Mapping[str, Any]) -> _Reply:
        org_id = self.config.org.org_id
        token = f"{org_id[:15]}!" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(96))
        now = self._clock()
        issued_at = str(int(now * 1000))
        id_url = f"{self.url}/id/{org_id}/{user.user_id}"
        signature = base64.b64encode(
            hmac.new(self._signing_secret, (id_url + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        with self._lock:
            self._tokens[token] = IssuedToken(token, app.consumer_key, user.username, user.user_id, now)
        payload = {
            "access_token": token,
            "signature": signature,
            "scope": "api refresh_token",
            "instance_url": self.url,
            "id": id_url,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        return _json_reply(200, payload, headers=(("Cache-Control", "no-store"),), outcome=OK, **trace)

    # ----------------------------------------------------------------- authorize page

    def _authorize(self, req: _Incoming) -> _Reply:
        if req.method != "GET":
            return _html_reply(405, pages.message_page("Method Not Allowed", "Use GET."), outcome="method_not_allowed")
        q = req.query
        app, unavailable = self._lookup_app(q.get("client_id", ""))
        if app is None:
            outcome = TOKEN_OUTCOMES[unavailable or "client_id_invalid"]
            return _html_reply(
                400,
                pages.oauth_error_page(outcome.error, outcome.description),
                outcome=outcome.key,
                error=outcome.error,
                error_description=outcome.description,
            )
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in app.callback_urls:
            # Never redirect to an unregistered URI (that would make the emulator an open redirector).
            error, description = AUTHORIZE_REDIRECT_MISMATCH
            return _html_reply(
                400,
                pages.oauth_error_page(error, description),
                outcome=error,
                error=error,
                error_description=description,
            )
        state = q.get("state")
        if q.get("response_type") != "code":
            return self._redirect_error(redirect_uri, state, AUTHORIZE_BAD_RESPONSE_TYPE)
        # An explicit scope list without refresh_token yields an approval the JWT grant ignores.
        scopes = q.get("scope")
        refresh_token = scopes is None or bool({"refresh_token", "full"} & set(scopes.split()))
        pending = _PendingAuthorization(app.consumer_key, redirect_uri, state, refresh_token)
        with self._lock:
            auto = self._switches.auto_approve
            default_user = next(iter(self._users.values())).username
        username = q.get("login_hint") or default_user
        if auto:
            return self._decide(pending, username, allow=True)
        request_id = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[request_id] = pending
            # Pages nobody answers must not pile up forever; the oldest go first.
            while len(self._pending) > _MAX_PENDING:
                del self._pending[next(iter(self._pending))]
        page = pages.allow_access_page(
            app_name=app.name,
            request_id=request_id,
            client_id=app.consumer_key,
            redirect_uri=redirect_uri,
            state=state,
            username=username,
        )
        return _html_reply(200, page, outcome="consent_page")

    def _decision(self, req: _Incoming) -> _Reply:
        if req.method != "POST":
            return _html_reply(405, pages.message_page("Method Not Allowed", "Use POST."), outcome="method_not_allowed")
        form = _form(req.body)
        request_id = form.get("request_id", "")
        with self._lock:
            pending = self._pending.get(request_id)
        recorded = {k: v for k, v in form.items() if k in ("username", "decision")}
        if pending is None:
            return _html_reply(
                400,
                pages.message_page("Request Expired", "This approval request is unknown or was already answered."),
                outcome="unknown_request",
                params=recorded,
            )
        decision = form.get("decision", "")
        if decision not in ("allow", "deny"):
            return _html_reply(
                400,
                pages.message_page("Bad Request", "Choose Allow or Deny."),
                outcome="bad_decision",
                params=recorded,
            )
        username = form.get("username", "").strip()
        if decision == "allow":
            with self._lock:
                known = username.casefold() in self._users
            if not known:
                app = self.config.find_app(pending.client_id)
                page = pages.allow_access_page(
                    app_name=app.name if app else pending.client_id,
                    request_id=request_id,
                    client_id=pending.client_id,
                    redirect_uri=pending.redirect_uri,
                    state=pending.state,
                    username=username,
                    message=f"Unknown username {username!r}. Please check your username.",
                )
                return _html_reply(400, page, outcome="unknown_user", params=recorded)
        with self._lock:
            self._pending.pop(request_id, None)  # one answer per page, like a real consent screen
        return replace(self._decide(pending, username, allow=decision == "allow"), params=recorded)

    def _decide(self, pending: _PendingAuthorization, username: str, *, allow: bool) -> _Reply:
        if not allow:
            return self._redirect_error(pending.redirect_uri, pending.state, AUTHORIZE_DENIED)
        app = self.config.find_app(pending.client_id)
        with self._lock:
            user = self._users.get(username.casefold())
        if app is None or user is None:
            outcome = TOKEN_OUTCOMES["client_id_invalid" if app is None else "not_approved"]
            return _html_reply(400, pages.oauth_error_page(outcome.error, outcome.description), outcome=outcome.key)
        if app.policy == "admin-approved" and not user.preauthorized:
            return self._redirect_error(pending.redirect_uri, pending.state, AUTHORIZE_NOT_ADMIN_APPROVED)
        self.approve(app.consumer_key, user.username, refresh_token=pending.refresh_token)
        # The code is never exchanged (sf's JWT flow does not need it); the approval is what counts.
        params = {"code": secrets.token_urlsafe(32)}
        if pending.state is not None:
            params["state"] = pending.state
        return _redirect(_with_query(pending.redirect_uri, params), outcome="approved")

    def _redirect_error(self, redirect_uri: str, state: str | None, pair: tuple[str, str]) -> _Reply:
        error, description = pair
        params = {"error": error, "error_description": description}
        if state is not None:
            params["state"] = state
        return _redirect(_with_query(redirect_uri, params), outcome=error, error=error, error_description=description)

    # ----------------------------------------------------------------- REST API

    def _session(self, req: _Incoming) -> IssuedToken | None:
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        # jsforce sends "Bearer"; Salesforce also accepts the older "OAuth" scheme.
        if scheme.casefold() not in ("bearer", "oauth") or not token.strip():
            return None
        with self._lock:
            return self._tokens.get(token.strip())

    def _rest(self, req: _Incoming) -> _Reply:
        parts = [p for p in req.path.split("/") if p]  # ["services", "data", "v62.0", ...]
        highest = int(self.config.api_version.split(".")[0])
        if len(parts) == 2:
            # The version list is public on Salesforce too (no session needed).
            return _json_reply(200, pages.versions_body(highest), outcome="versions")
        if self._session(req) is None:
            return _json_reply(
                401,
                [dict(INVALID_SESSION)],
                outcome="invalid_session",
                headers=(("WWW-Authenticate", "Token"),),
            )
        version_text = parts[2]
        version = version_text[1:] if version_text.startswith("v") else ""
        major = version.split(".")[0]
        if not (version.endswith(".0") and major.isdigit() and 20 <= int(major) <= highest):
            return _json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
        rest = parts[3:]
        if not rest:
            return _json_reply(200, pages.resources_body(version), outcome="resources")
        if rest in (["query"], ["tooling", "query"]) and req.method == "GET":
            soql = req.query.get("q", "")
            org = self.config.org
            if rest[0] == "tooling":
                # ScratchOrgInfo is not a tooling object; sf's tooling SandboxProcess query (sent only for
                # sandbox-looking URLs) gets INVALID_TYPE like any other unknown object.
                org = replace(org, is_dev_hub=False)
            status, payload = pages.query_result(soql, org, version)
            outcome = OK if status == 200 else str(payload[0]["errorCode"])
            return _json_reply(status, payload, outcome=outcome)
        return _json_reply(404, [dict(NOT_FOUND)], outcome="not_found")

    def _identity(self, req: _Incoming) -> _Reply:
        session = self._session(req)
        if session is None:
            # What Salesforce's identity service answers for a missing or dead token.
            return _Reply(
                status=403,
                body=b"Bad_OAuth_Token",
                content_type="text/plain;charset=UTF-8",
                outcome="invalid_session",
            )
        org = self.config.org
        with self._lock:
            user = self._users.get(session.username.casefold())
        if user is None:  # defensive: users are never removed
            return _json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
        if req.path.startswith("/id/"):
            # /id/<org>/<user>: any user of the org may be looked up with a valid session.
            parts = [p for p in req.path.split("/") if p]
            target = next((u for u in self.users() if len(parts) == 3 and u.user_id == parts[2]), None)
            if target is None or parts[1] != org.org_id:
                return _json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
            user = target
        id_url = f"{self.url}/id/{org.org_id}/{user.user_id}"
        display = user.username.split("@", 1)[0]
        if req.path == USERINFO_PATH:
            payload: dict[str, Any] = {
                "sub": id_url,
                "user_id": user.user_id,
                "organization_id": org.org_id,
                "preferred_username": user.username,
                "name": display,
                "email": user.username,
                "active": user.active,
                "user_type": "STANDARD",
            }
        else:
            payload = {
                "id": id_url,
                "asserted_user": user.user_id == session.user_id,
                "user_id": user.user_id,
                "organization_id": org.org_id,
                "username": user.username,
                "display_name": display,
                "email": user.username,
                "active": user.active,
                "user_type": "STANDARD",
                "urls": {
                    "rest": f"{self.url}/services/data/v{{version}}/",
                    "query": f"{self.url}/services/data/v{{version}}/query/",
                },
            }
        return _json_reply(200, payload, outcome=OK)

    # ----------------------------------------------------------------- control API

    def _control(self, req: _Incoming) -> _Reply:
        action = req.path[len(CONTROL_PREFIX) :].strip("/")
        # Control calls are not logged as requests: state polling would drown the interesting ones.
        quiet: dict[str, Any] = {"record": False}
        if req.method == "GET":
            if action == "state":
                return _json_reply(200, self.state(), **quiet)
            if action == "tokens" and self._expose_tokens:
                return _json_reply(200, {"tokens": list(self.issued_tokens)}, **quiet)
            return _json_reply(404, {"error": "unknown control endpoint", "fix": "see GET /__emulator/state"}, **quiet)
        if req.method != "POST" or action not in ("approve", "config", "user"):
            return _json_reply(404, {"error": "unknown control endpoint", "fix": "see GET /__emulator/state"}, **quiet)
        # Requiring JSON keeps a web page in a browser from driving the emulator with a plain form
        # post (a cross-origin application/json request needs a CORS preflight, which we never grant).
        if not req.headers.get("content-type", "").lower().startswith("application/json"):
            return _json_reply(
                415,
                {
                    "error": "control requests must be application/json",
                    "fix": "send a JSON body with Content-Type: application/json",
                },
                **quiet,
            )
        try:
            body = json.loads(req.body or b"{}")
            if not isinstance(body, dict):
                raise EmulatorError("the body must be a JSON object", 'send e.g. {"maintenance": true}')
            if action == "config":
                new = switches_from_mapping(body, "POST /__emulator/config", "body", base=self.switches)
                with self._lock:
                    self._switches = new
                return _json_reply(200, {"switches": switches_to_mapping(new)}, **quiet)
            if action == "approve":
                client_id, username = body.get("client_id"), body.get("username")
                if not isinstance(client_id, str) or not isinstance(username, str):
                    raise EmulatorError(
                        "client_id and username are required strings",
                        'send {"client_id": "...", "username": "..."}',
                    )
                approval = self.approve(client_id, username)
                return _json_reply(
                    200,
                    {"approved": {"client_id": approval.client_id, "username": approval.username}},
                    **quiet,
                )
            username = body.get("username")
            flags = {k: body[k] for k in ("active", "preauthorized") if k in body}
            if (
                not isinstance(username, str)
                or any(not isinstance(v, bool) for v in flags.values())
                or set(body) - {"username", "active", "preauthorized"}
            ):
                raise EmulatorError(
                    "expected username plus optional boolean active / preauthorized",
                    'send {"username": "...", "preauthorized": true}',
                )
            user = self.update_user(username, **flags)
            return _json_reply(
                200,
                {
                    "user": {
                        "username": user.username,
                        "active": user.active,
                        "preauthorized": user.preauthorized,
                    }
                },
                **quiet,
            )
        except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
            return _json_reply(400, {"error": "the body is not JSON", "fix": "send a JSON object"}, **quiet)
        except EmulatorError as exc:
            return _json_reply(400, {"error": exc.message, "fix": exc.fix}, **quiet)


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must never keep the process alive

    def __init__(self, address: tuple[str, int], emulator: Emulator, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.emulator = emulator
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can take seconds
        # (and leaves loopback). The name is only used for CGI variables, so skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "sfjwt-orch-emulator"
    sys_version = ""
    timeout = 30  # an idle or stalled client frees its thread after this long

    def log_message(self, format: str, *args: Any) -> None:
        # Requests are recorded structurally (Emulator.requests, on_request); no stderr noise.
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        emulator = self.server.emulator
        try:
            body = read_body(cast(BinaryIO, self.rfile), headers)
        except BodyError as exc:
            request = _Incoming(self.command, split.path, query, headers, b"")
            reply = _json_reply(
                exc.status,
                {"error": "invalid_request", "error_description": str(exc)},
                outcome="bad_body",
                error="invalid_request",
                error_description=str(exc),
            )
            emulator._record(request, reply)
        else:
            request = _Incoming(self.command, split.path, query, headers, body)
            try:
                reply = emulator._handle(request)
            except Exception:
                # An emulator bug: answer 500 (clients see a server error, not a hung socket) and
                # print the traceback so the bug is visible in the test or serve output.
                traceback.print_exc()
                reply = _json_reply(500, {"error": "emulator_error"}, outcome="emulator_error")
                emulator._record(request, reply)
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        # One request per connection: simpler than keep-alive bookkeeping, and every client copes.
        self.close_connection = True
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. sf's HTTP_TIMEOUT during slow_token_seconds); it is recorded anyway.
            pass


# --------------------------------------------------------------------------- blocking entry point


def serve_forever(
    config: EmulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[Emulator], None] | None = None,
    *,
    allow_non_loopback: bool = False,
    expose_tokens: bool = False,
    on_request: Callable[[RecordedRequest], None] | None = None,
    stop: threading.Event | None = None,
    clock: Clock = time.time,
) -> None:
    """Run the emulator until SIGINT/SIGTERM (or ``stop`` is set), then shut it down cleanly.

    ``on_ready`` gets the running emulator (to print its URL). Signal handlers are installed only
    when called from the main thread, and the previous ones are restored on the way out.
    """
    stop = stop or threading.Event()
    emulator = Emulator(config, clock=clock, expose_tokens=expose_tokens, on_request=on_request)
    previous: dict[signal.Signals, Any] = {}

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _on_signal)
    try:
        emulator.start(host, port, allow_non_loopback=allow_non_loopback)
        try:
            if on_ready is not None:
                on_ready(emulator)
            # A timed wait keeps the main thread responsive to signals on every platform.
            while not stop.wait(0.2):
                pass
        finally:
            emulator.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
