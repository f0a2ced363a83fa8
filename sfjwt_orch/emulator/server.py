"""The emulator: an offline Salesforce login server on loopback.

``Emulator`` wires the pieces together and is what tests and scripts hold: it validates the
config, keeps the ``State``, routes each request to its endpoint module and records it, and starts
and stops the ``http.Listener``. The endpoints answer what ``sf org login jwt`` and a person
approving an app need:

- ``endpoints/token.py``: ``POST /services/oauth2/token``, the JWT bearer grant.
- ``endpoints/authorize.py``: the "Allow Access?" page and its Allow / Deny decision.
- ``endpoints/rest.py``: the REST calls sf makes after a token (``/services/data``...).
- ``endpoints/identity.py``: ``/services/oauth2/userinfo`` and ``/id/<org>/<user>``.
- ``endpoints/metadata.py``: the SOAP Metadata API (deploy, retrieve, listMetadata) an admin's sf uses.
- ``endpoints/control.py``: a private control API under ``/__emulator/`` for tests and scripts.

An org may start with no app: an admin user (``User(admin=True)``) gets an access token at once
(``Emulator.admin_token``), with which the real sf logs in (``sf org login access-token``),
deploys an External Client App, assigns permission sets, lists and retrieves metadata.

Nothing happens at import time; ``Emulator.start`` opens the socket and serves it in a daemon thread.
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import pickle
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from . import ci_provider
from .catalog import NOT_FOUND
from .config_checks import validate_config
from .config_file import config_to_mapping, switches_from_mapping
from .deploy import apps as deployed_apps
from .deploy.archive import zip_directory
from .deploy.run import DeployOptions, DeployOutcome, run_deploy
from .endpoints import authorize, control, identity, metadata, rest, token, token_exchange
from .endpoints.context import Context
from .errors import EmulatorError
from .http import Listener, Reply, Request, json_reply
from .model import App, Approval, EmulatorConfig, RecordedRequest, Switches, User
from .requestlog import log_entry
from .state import Clock, State

TOKEN_PATH = token.TOKEN_PATH
AUTHORIZE_PATH = authorize.AUTHORIZE_PATH
DECISION_PATH = authorize.DECISION_PATH
CONTROL_PREFIX = control.CONTROL_PREFIX

# Headers worth keeping in the request log; others add noise (and Authorization is never kept raw).
_RECORDED_HEADERS = ("host", "content-type", "content-length", "transfer-encoding", "user-agent", "accept")


def _read_only(values: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(values)


class Emulator:
    """An emulated Salesforce org. ``Emulator(config).start()`` serves it on loopback in a thread.

    ``clock`` (wall-clock seconds) drives JWT expiry and app propagation, so tests can move time
    without sleeping. ``expose_tokens`` enables ``GET /__emulator/tokens`` (tests only: it hands
    out live access tokens to anything that can reach the port). ``on_request`` is called with each
    ``RecordedRequest``; ``on_answer`` with a ``requestlog.log_entry`` for every request answered,
    control calls included (``emulator serve --log``).
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        clock: Clock = time.time,
        expose_tokens: bool = False,
        on_request: Callable[[RecordedRequest], None] | None = None,
        on_answer: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        validate_config(config)
        self._on_answer = on_answer
        self.config = config
        self._clock = clock
        self._expose_tokens = expose_tokens
        self._on_request = on_request
        self._signing_secret = secrets.token_bytes(32)
        self._stopping = threading.Event()
        self._state = State(config, clock)
        admin = config.admin
        # The admin's session exists from the start, as if they had logged in to Setup: the token
        # `SF_ACCESS_TOKEN=... sf org login access-token` takes.
        self._admin_token = None if admin is None else self._state.issue_session(admin).access_token
        self._listener: Listener | None = None
        self._twin: Listener | None = None  # [::1] on the same port, beside 127.0.0.1
        self._context: Context | None = None
        self.ci = ci_provider.CiProviders(clock)  # the emulated CI identity providers (issue 23)

    # ----------------------------------------------------------------- lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0, *, allow_non_loopback: bool = False) -> Emulator:
        if self._listener is not None:
            raise EmulatorError("the emulator is already running", "call stop() before starting it again")
        listener = Listener.bind(host, port, self._handle, self._record, allow_non_loopback=allow_non_loopback)
        self._stopping.clear()
        self._state.started_at = self._clock()
        self._listener = listener
        self._twin = self._ipv6_twin(host, listener.address[1])
        # The context is complete before the first request can arrive: the thread starts last.
        self._context = Context(
            config=self.config,
            state=self._state,
            clock=self._clock,
            url=self.url,
            port=self.address[1],
            stopping=self._stopping,
            signing_secret=self._signing_secret,
            expose_tokens=self._expose_tokens,
            ci=self.ci,
        )
        listener.serve()
        if self._twin is not None:
            self._twin.serve()
        return self

    def _ipv6_twin(self, host: str, port: int) -> Listener | None:
        """The same port on [::1] when the emulator serves 127.0.0.1 and the machine has IPv6
        loopback: ``localhost`` resolves to ::1 first on many systems (Node keeps the resolver's
        order), so a login at http://localhost:PORT must find the emulator there too. Best effort:
        no IPv6, or [::1]:PORT taken, leaves 127.0.0.1 alone."""
        if host != "127.0.0.1":
            return None
        try:
            return Listener.bind("[::1]", port, self._handle, self._record, allow_non_loopback=False)
        except EmulatorError:
            return None

    def stop(self) -> None:
        listener = self._listener
        if listener is None:
            return
        self._stopping.set()  # wakes handlers sleeping for slow_token_seconds
        if self._twin is not None:
            self._twin.stop()
            self._twin = None
        listener.stop()
        self._listener = None

    def snapshot(self) -> bytes:
        """The org as it stands: its apps and certificates, deployed metadata, users, approvals,
        sessions and the requests it answered (the CI issuers are not kept). `from_snapshot` starts
        another emulator from it, e.g. a test from a set-up made once (tests/e2e/setups.py). The
        tokens it issued stay valid there, so sf's files from the same moment work against it once
        they name its URL. Take it while no request is in flight (after `stop`, say)."""
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer)
        # The recorded requests' read-only mappings (MappingProxyType) pickle as the dicts they wrap.
        pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: lambda m: (_read_only, (dict(m),))}
        pickler.dump((self.config, self._state, self._signing_secret, self._admin_token))
        return buffer.getvalue()

    @classmethod
    def from_snapshot(cls, snapshot: bytes, **options: Any) -> Emulator:
        """A new, stopped emulator holding the org a `snapshot` holds; `options` as for the
        constructor. Only a snapshot this process or a trusted one wrote: it is a pickle."""
        config, state, secret, admin_token = pickle.loads(snapshot)
        emu = cls(config, **options)
        state.rebind(emu._clock)
        emu._state, emu._signing_secret, emu._admin_token = state, secret, admin_token
        return emu

    def __enter__(self) -> Emulator:
        if self._listener is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._listener is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise EmulatorError("the emulator is not running", "call start() first")
        return self._listener.address

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8555`` (no trailing slash): the sf ``--instance-url``."""
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def urls(self) -> tuple[str, ...]:
        """Every base URL it answers on: ``url``, then ``http://[::1]:PORT`` when IPv6 loopback is there."""
        if self._twin is None:
            return (self.url,)
        return (self.url, f"http://[::1]:{self._twin.address[1]}")

    # ----------------------------------------------------------------- observation and control

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        return self._state.requests()

    @property
    def token_requests(self) -> tuple[RecordedRequest, ...]:
        return tuple(r for r in self.requests if r.path == TOKEN_PATH)

    @property
    def issued_tokens(self) -> tuple[str, ...]:
        return self._state.tokens()

    @property
    def approvals(self) -> tuple[Approval, ...]:
        return self._state.approvals()

    @property
    def scratch_requests(self) -> tuple[dict[str, Any], ...]:
        """The ScratchOrgInfo records sf inserted (``sf org create scratch``), oldest first."""
        return self._state.scratch_requests()

    @property
    def switches(self) -> Switches:
        return self._state.switches

    def set_switches(self, **changes: Any) -> Switches:
        """Change behaviour switches (see ``Switches``); returns the new set."""
        # The same checks as the JSON control API: unknown names and wrong types are refused.
        return self._state.change_switches(
            lambda current: switches_from_mapping(changes, "set_switches", "switches", base=current)
        )

    def approve(self, client_id: str, username: str, *, refresh_token: bool = True) -> Approval:
        """Record that ``username`` approved the app, as clicking Allow does."""
        return self._state.approve(client_id, username, refresh_token=refresh_token)

    def update_user(
        self,
        username: str,
        *,
        active: bool | None = None,
        preauthorized: bool | None = None,
        frozen: bool | None = None,
    ) -> User:
        """Flip a user's active / pre-authorized / frozen flags while running (e.g. "the admin
        assigned the permission set", "the admin froze the user")."""
        flags = {"active": active, "preauthorized": preauthorized, "frozen": frozen}
        return self._state.update_user(username, **{k: v for k, v in flags.items() if v is not None})

    def users(self) -> tuple[User, ...]:
        return self._state.users()

    # ----------------------------------------------------------------- the admin side

    @property
    def admin_user(self) -> User:
        admin = self.config.admin
        if admin is None:
            raise EmulatorError("the emulated org has no admin user", "add a user with admin=True to the config")
        return admin

    @property
    def admin_token(self) -> str:
        """An access token for the admin user (``00D…!…``), valid for as long as the emulator lives:
        ``SF_ACCESS_TOKEN=<it> sf org login access-token --instance-url <url> --no-prompt``."""
        if self._admin_token is None:
            raise EmulatorError("the emulated org has no admin user", "add a user with admin=True to the config")
        return self._admin_token

    def apps(self) -> tuple[App, ...]:
        """Every app the org has now: the configured ones and those deploys created."""
        return tuple(reg.app for reg in self._state.setup.apps())

    def find_app(self, ref: str) -> App | None:
        """An app by consumer key, by the API name it was deployed as, or by its name."""
        reg = self._state.setup.find_app(ref)
        return None if reg is None else reg.app

    def set_certificate(self, app: str, certificate_pem: str) -> App:
        """Upload or replace an app's certificate, as an admin does in Setup (what
        ``POST /__emulator/certificate`` does). ``app`` is a consumer key, API name or name; JWTs
        signed with the old key fail from now on. Raises ``EmulatorError`` for an unknown app and
        ``CertificateError`` for a bad certificate."""
        setup = self._state.setup
        return deployed_apps.upload_certificate(setup, app, certificate_pem, setup.now()).app

    def deploy(self, directory: str | Path, *, check_only: bool = False) -> DeployOutcome:
        """Deploy an mdapi directory as the admin, with the checks and result ``sf project deploy
        start --metadata-dir`` gets, without sf: for tests that need an app to exist already."""
        outcome = run_deploy(
            zip_directory(Path(directory)),
            DeployOptions(check_only=check_only),
            setup=self._state.setup,
            user=self.admin_user,
            switches=self._state.switches,
            org_id=self.config.org.org_id,
            api_version=float(self.config.api_version),
        )
        return outcome

    def ci_job(self, provider: str, claims: dict[str, Any], **options: Any) -> dict[str, str]:
        """Open a CI job on the emulated provider; returns the environment the job's steps see
        (``ci_provider.job_env``). ``options``: ``foreign_key``, ``lifetime``, ``audience``."""
        return ci_provider.job_env(self.ci, self.url, ci_provider.Job(provider, claims, **options))

    def ci_issuer(self, provider: str) -> str:
        return ci_provider.issuer_url(self.url, provider)

    def permission_sets_of(self, username: str) -> tuple[str, ...]:
        """The API names of the permission sets assigned to ``username``."""
        user = self._state.user(username)
        if user is None:
            raise EmulatorError(f"no user {username!r} in the emulated org", "use a username from the config")
        return tuple(p.name for p in self._state.setup.assigned(user.user_id))

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot for ``GET /__emulator/state``. Holds no access tokens."""
        url = self.url if self._listener is not None else None
        return control.snapshot(self.config, self._state, url)

    def config_json(self) -> dict[str, Any]:
        return config_to_mapping(self.config)

    # ----------------------------------------------------------------- request handling

    def _handle(self, request: Request) -> Reply:
        reply = self._route(request)
        if reply.record:
            self._record(request, reply)
        else:
            self._answered(request, reply)
        return reply

    def _answered(self, request: Request, reply: Reply) -> None:
        if self._on_answer is not None:
            # As with on_request: a log that cannot be written must not change the answer.
            with contextlib.suppress(Exception):
                self._on_answer(log_entry(request, reply, self._clock()))

    def _route(self, req: Request) -> Reply:
        ctx = self._context
        assert ctx is not None, "the listener serves only after start() built the context"
        # Endpoints are looked up on their modules at call time, so a test can swap one out.
        path = req.path
        if path == TOKEN_PATH:
            return token_exchange.handle(ctx, req) if token_exchange.is_exchange(req) else token.handle(ctx, req)
        if path == AUTHORIZE_PATH:
            return authorize.handle_authorize(ctx, req)
        if path == DECISION_PATH:
            return authorize.handle_decision(ctx, req)
        if control.is_control_path(path):
            return control.handle(ctx, req)
        if ci_provider.is_ci_path(path):
            return ctx.ci.handle(ctx.url, req)
        if identity.is_identity_path(path):
            return identity.handle(ctx, req)
        if metadata.is_metadata_path(path):
            return metadata.handle(ctx, req)
        if rest.is_rest_path(path):
            return rest.handle(ctx, req)
        return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")

    def _record(self, request: Request, reply: Reply) -> None:
        headers = {k: request.headers[k] for k in _RECORDED_HEADERS if k in request.headers}
        auth = request.headers.get("authorization")
        if auth is not None:
            scheme = auth.split(" ", 1)[0]
            valid = self._state.session(auth) is not None
            headers["authorization"] = f"{scheme} <{'valid' if valid else 'not valid'}>"
        record = self._state.record(
            RecordedRequest(
                seq=0,  # numbered and timed by State.record
                at=0.0,
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
        )
        if self._on_request is not None:
            # An observer's failure (e.g. a closed stdout) must not change what the client gets.
            with contextlib.suppress(Exception):
                self._on_request(record)
        self._answered(request, reply)


def admin_json(emulator: Emulator) -> dict[str, str] | None:
    """``{"username", "access_token"}`` of the emulated org's admin, or None when it has none: what
    ``sfjwt-orch emulator serve --json`` prints as ``"admin"`` so a script can run
    ``SF_ACCESS_TOKEN=<access_token> sf org login access-token --instance-url <url> --no-prompt``."""
    if emulator.config.admin is None:
        return None
    return {"username": emulator.admin_user.username, "access_token": emulator.admin_token}
