"""The loopback callback listener: notices the user's Allow (or Deny) the moment it happens.

After Allow, Salesforce redirects the browser to the app's callback URL with `?code=…`; after
Deny, with `?error=access_denied`. When that URL is on this machine (the sf default,
http://localhost:1717/OauthRedirect), we listen there while waiting, so the login is retried at
once instead of at the next poll, and a Deny ends the wait instead of running out the clock. The
JWT flow never needs the code itself; it is not exchanged, logged or kept.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: TID253 - this module is banned at module level in its stead
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from sfjwt_orch.approval import pages  # noqa: TID253 (the listener is itself imported where it is used)
from sfjwt_orch.approval.pages import Approving  # noqa: TID253 (as above)
from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.salesforce import validate


@dataclass(frozen=True)
class Callback:
    approved: bool
    error: str = ""
    description: str = ""


def loopback_port(callback_url: str) -> tuple[str, int, str] | None:
    """(host, port, path) when the callback URL is plain http on this machine, else None; read by
    the one URL parser (validate.parse), as the browser will read it."""
    try:
        url = validate.parse(callback_url, "--callback-url", "")
    except SfjwtError:
        return None
    if url.scheme != "http" or not url.loopback:
        return None
    return url.host.strip("[]"), int(url.port or 80), urlsplit(url.path).path or "/"


def port_owner(port: int) -> int | None:
    """The uid of the process listening on a local TCP port, where Linux tells (/proc/net/tcp*,
    column 8 of a LISTEN (0A) row); None when unknown. Says whose program would receive the
    browser's return when our listener cannot bind."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 7 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                return int(cols[7])
    return None


def held_by_another_user(callback_url: str) -> str | None:
    """A warning when the callback's port is held by another user's program: after Allow, the browser
    returns to it (with a code PKCE makes useless to it, but to a page of its choosing)."""
    where = loopback_port(callback_url)
    owner = port_owner(where[1]) if where else None
    if where is None or owner is None or owner == os.getuid():
        return None
    return (
        f"Port {where[1]} is held by another user's program (uid {owner}): your browser will return to it after "
        "Allow. Approve only if you trust this machine's users."
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a previous run's TIME_WAIT socket must not block us
    timeout = 0  # handle_request runs only when a connection waits; one that vanished must not block it

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser that hung up mid-reply: nothing to print on the user's terminal


class Listener:
    """Serves the callback path on the callback's port until stopped; records the first hit."""

    # A connection that sends nothing (or dribbles) is dropped after this many seconds, so it cannot
    # hold a thread for the whole wait (issue 16, low).
    read_timeout = 5.0

    def __init__(self, callback_url: str, state: str | None = None, about: Approving | None = None) -> None:
        where = loopback_port(callback_url)
        if where is None:
            raise ValueError("not a loopback http URL")
        self.host, self.port, self.path = where
        self.state = state
        self.about = about  # who is being approved, for the page (approval.pages)
        self.event = threading.Event()
        self.result: Callback | None = None
        self._servers: list[_Server] = []
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1

    def start(self) -> None:
        """Bind, or raise OSError (EADDRINUSE when e.g. `sf org login web` holds the port)."""
        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = listener.read_timeout  # StreamRequestHandler.setup sets it on the connection

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query holds the authorization code: never log it

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != listener.path:
                    self.reply(pages.not_found())
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if listener.state is not None and query.get("state") != listener.state:
                    # Not the return from our approval URL (another page, another login): not ours to judge.
                    self.reply(pages.not_ours())
                    return
                if "code" in query:
                    hit = Callback(True)
                    page = pages.approved(listener.about)
                else:
                    hit = Callback(False, query.get("error", "unknown_error"), query.get("error_description", ""))
                    page = pages.denied(listener.about, hit.error, hit.description)
                if listener.result is None:
                    listener.result = hit
                listener.event.set()  # before the reply: a browser that leaves early still counts
                self.reply(page)

            def reply(self, page: pages.Page) -> None:
                body = page.encoded()
                self.send_response(page.status)
                for name, value in pages.HEADERS.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        hosts = ["127.0.0.1", "::1"] if self.host == "localhost" else [self.host]
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            try:
                server_cls = type("S", (_Server,), {"address_family": family})
                server = server_cls((host, self.port), Handler)
            except OSError as exc:
                # IPv6 may simply be unavailable (then only IPv4 is served); but a port that another
                # program holds on either address would take the browsers that resolve to it.
                if host == hosts[0] or exc.errno == errno.EADDRINUSE:
                    self.stop()
                    raise
                continue
            self._servers.append(server)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # One thread serves every socket, and a byte on the wake pipe ends it at once: serve_forever
        # notices shutdown() only at its next poll, which cost every approved login ~0.2 s per socket.
        with selectors.DefaultSelector() as selector:
            for server in self._servers:
                selector.register(server, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj == self._wake_r:
                        return
                    cast(_Server, key.fileobj).handle_request()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)

    def consume(self) -> Callback | None:
        """The callback that arrived, once; later hits are ignored until the next wait."""
        hit, self.result = self.result, None
        self.event.clear()
        return hit

    def stop(self) -> None:
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=2)
            self._thread = None
        for server in self._servers:
            server.server_close()
        self._servers.clear()
        for fd in (self._wake_r, self._wake_w):
            if fd != -1:
                os.close(fd)
        self._wake_r, self._wake_w = -1, -1
