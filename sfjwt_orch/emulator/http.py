"""HTTP plumbing: the loopback-only threaded server, requests in, replies out.

The stdlib server is enough for a test double and needs no framework. This module knows nothing
about Salesforce: ``Listener`` hands each ``Request`` to a ``handle`` callable and writes back the
``Reply`` it returns; what a path means is ``server.Emulator``'s router and ``endpoints/``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .catalog import OK
from .errors import EmulatorConfigError, EmulatorError
from .httpbody import BodyError, read_body
from .product import is_loopback_host

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    client: str = ""  # the peer's IP address (login IP ranges are checked against it)


@dataclass(frozen=True)
class Reply:
    """What to send, plus what to write in the request log about it."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    outcome: str = OK
    error: str | None = None
    error_description: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    jwt_header: Mapping[str, Any] | None = None
    claims: Mapping[str, Any] | None = None
    record: bool = True


def json_reply(status: int, payload: Any, **kw: Any) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), **kw)


def rest_error(
    status: int, code: str, message: str, *, outcome: str | None = None, fields: list[str] | None = None
) -> Reply:
    """The REST API's error body: a list of {message, errorCode, fields}."""
    return json_reply(
        status, [{"message": message, "errorCode": code, "fields": fields or []}], outcome=outcome or code
    )


def record_body(req: Request, sobject: str, required: tuple[str, ...]) -> dict[str, Any] | Reply:
    """A REST API insert's JSON record, or the REST API's refusal of it (not JSON, not an object, a
    required field missing)."""
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return rest_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return rest_error(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {sobject}.")
    missing = [f for f in required if not body.get(f)]
    if missing:
        return rest_error(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", fields=missing
        )
    return body


def html_reply(status: int, body: bytes, **kw: Any) -> Reply:
    return Reply(status=status, body=body, content_type=HTML_TYPE, **kw)


def redirect(location: str, outcome: str = OK, **kw: Any) -> Reply:
    return Reply(status=302, body=b"", content_type=HTML_TYPE, headers=(("Location", location),), outcome=outcome, **kw)


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query string (what a redirect back to a client carries)."""
    parts = urlsplit(url)
    extra = urlencode(params)
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def form(body: bytes) -> dict[str, str]:
    # keep_blank_values: an empty "state=" must round-trip. Latin-1 never fails; bad bytes just won't match.
    return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))


def host_allowed(host_header: str | None, port: int) -> bool:
    """Is ``Host`` a loopback name for this port? ``localhost`` or a loopback IP literal (IPv6 in
    brackets), with our port (omitted only when it is 80).

    A page in the user's browser can point a name it controls at 127.0.0.1 (DNS rebinding) and then
    read the control API as same-origin; its requests still carry that name in ``Host``, so refusing
    every other name closes the hole (issue 16, "the emulator does not check the Host header")."""
    if not host_header:
        return False
    name, colon, port_text = host_header.rpartition(":")
    if not colon or name.endswith(":"):  # no port, or an IPv6 literal without brackets
        name, port_text = host_header, "80"
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) != port:
        return False
    if name.casefold() == "localhost":
        return True
    if name.startswith("[") != name.endswith("]"):
        return False
    try:
        address = ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return address.is_loopback and (address.version == 4) != name.startswith("[")


MISDIRECTED = (
    "the emulator answers only requests for localhost, 127.0.0.1 or [::1] with its port",
    "call it as http://127.0.0.1:PORT (other names in Host are refused: DNS rebinding)",
)


Handle = Callable[[Request], Reply]
Record = Callable[[Request, Reply], None]


class Listener:
    """A bound loopback socket served by a daemon thread. ``bind`` then ``serve``; ``stop`` ends both."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._thread: threading.Thread | None = None

    @classmethod
    def bind(cls, host: str, port: int, handle: Handle, record: Record, *, allow_non_loopback: bool) -> Listener:
        if not allow_non_loopback and not is_loopback_host(host):
            raise EmulatorConfigError(
                f"refusing to listen on {host!r}: the emulator binds loopback only",
                "use 127.0.0.1 (or allow a non-loopback address explicitly)",
            )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            server = _Server((host.strip("[]"), port), family, handle, record)
        except OSError as exc:
            raise EmulatorError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                "pick another port, or use port 0 for a free one",
            ) from None
        return cls(server)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def serve(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="sfjwt-orch-emulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server = self._server
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
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must never keep the process alive

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, handle: Handle, record: Record) -> None:
        self.address_family = family
        self.respond = handle
        self.record = record
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
        if not host_allowed(headers.get("host"), self.server.server_port):
            # Refused before the body is read: nothing of a misdirected request is acted on.
            request = Request(self.command, split.path, query, headers, b"", self.client_address[0])
            problem, fix = MISDIRECTED
            reply = json_reply(
                421, {"error": "misdirected_request", "error_description": problem, "fix": fix}, outcome="bad_host"
            )
            self.server.record(request, reply)
            self._send(reply)
            return
        try:
            body = read_body(cast(BinaryIO, self.rfile), headers)
        except BodyError as exc:
            request = Request(self.command, split.path, query, headers, b"", self.client_address[0])
            reply = json_reply(
                exc.status,
                {"error": "invalid_request", "error_description": str(exc)},
                outcome="bad_body",
                error="invalid_request",
                error_description=str(exc),
            )
            self.server.record(request, reply)
        else:
            request = Request(self.command, split.path, query, headers, body, self.client_address[0])
            try:
                reply = self.server.respond(request)
            except Exception:
                # An emulator bug: answer 500 (clients see a server error, not a hung socket) and
                # print the traceback so the bug is visible in the test or serve output.
                traceback.print_exc()
                reply = json_reply(500, {"error": "emulator_error"}, outcome="emulator_error")
                self.server.record(request, reply)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        # One request per connection: simpler than keep-alive bookkeeping, and every client copes.
        self.close_connection = True
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            if reply.content_type == HTML_TYPE:
                # Pages a person sees are never framed (clickjacking the Allow button).
                self.send_header("X-Frame-Options", "DENY")
                self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. sf's HTTP_TIMEOUT during slow_token_seconds); it is recorded anyway.
            pass
