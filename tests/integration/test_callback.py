"""The loopback callback listener, on a real socket."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sfjwt_orch.approval.listener import Listener, loopback_port, port_owner


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:1717/OauthRedirect", ("localhost", 1717, "/OauthRedirect")),
        ("http://127.0.0.1:8080/cb", ("127.0.0.1", 8080, "/cb")),
        ("https://localhost:1717/OauthRedirect", None),
        ("http://example.com:1717/OauthRedirect", None),
        ("https://app.acme.com/callback", None),
    ],
)
def test_only_plain_http_loopback_is_listened_on(url: str, expected: object) -> None:
    assert loopback_port(url) == expected


def test_allow_then_deny_then_port_released() -> None:
    port = free_port()
    listener = Listener(f"http://localhost:{port}/OauthRedirect")
    listener.start()
    try:
        reply = urllib.request.urlopen(f"http://127.0.0.1:{port}/OauthRedirect?code=abc", timeout=5)
        page = reply.read().decode()
        assert "Approved" in page and "close this tab" in page
        assert reply.headers["X-Frame-Options"] == "DENY" and reply.headers["Referrer-Policy"] == "no-referrer"
        assert listener.wait(2)
        hit = listener.consume()
        assert hit is not None and hit.approved
        assert listener.consume() is None and not listener.wait(0.05)
        urllib.request.urlopen(
            f"http://127.0.0.1:{port}/OauthRedirect?error=access_denied&error_description=end-user+denied", timeout=5
        ).read()
        assert listener.wait(2)
        hit = listener.consume()
        assert hit is not None and not hit.approved
        assert (hit.error, hit.description) == ("access_denied", "end-user denied")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/elsewhere", timeout=5)
    finally:
        listener.stop()
    again = Listener(f"http://localhost:{port}/OauthRedirect")  # the port is free again
    again.start()
    again.stop()
    with pytest.raises(OSError):  # and nothing answers on it any more
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_busy_port_raises_oserror() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(OSError):
            Listener(f"http://localhost:{port}/OauthRedirect").start()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_port_held_on_ipv6_only_is_busy_too() -> None:
    """Browsers that resolve localhost to ::1 would reach the other program, not us."""
    with socket.socket(socket.AF_INET6) as holder:
        holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        holder.bind(("::1", free_port()))
        holder.listen()
        port = holder.getsockname()[1]
        listener = Listener(f"http://localhost:{port}/OauthRedirect")
        with pytest.raises(OSError):
            listener.start()
    with socket.socket() as s:  # and what it had bound on 127.0.0.1 is released again
        s.bind(("127.0.0.1", port))


def test_a_hit_without_our_state_is_ignored() -> None:
    port = free_port()
    listener = Listener(f"http://localhost:{port}/OauthRedirect", state="ours")
    listener.start()
    try:
        for query in ("error=access_denied", "code=x&state=theirs"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/OauthRedirect?{query}", timeout=5)
            assert err.value.code == 400
        assert not listener.wait(0.1) and listener.consume() is None
        urllib.request.urlopen(f"http://127.0.0.1:{port}/OauthRedirect?code=x&state=ours", timeout=5).read()
        assert listener.wait(2)
        hit = listener.consume()
        assert hit is not None and hit.approved
    finally:
        listener.stop()


# --- issue 16 (low): the reflected error escaped, a per-connection read timeout, whose port it is ---


def test_the_reflected_error_is_escaped() -> None:
    port = free_port()
    listener = Listener(f"http://localhost:{port}/OauthRedirect", state="ours")
    listener.start()
    try:
        query = "state=ours&error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error_description=%1B%5D0%3Bx%07"
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/OauthRedirect?{query}", timeout=5).read().decode()
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert listener.wait(2)
        hit = listener.consume()
        assert hit is not None and hit.error == "<script>alert(1)</script>"  # the console cleans it when shown
    finally:
        listener.stop()


def test_a_connection_that_sends_nothing_is_dropped() -> None:
    port = free_port()
    listener = Listener(f"http://localhost:{port}/OauthRedirect")
    listener.read_timeout = 0.3
    listener.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:  # 10 s: a guard against a hang
            assert idle.recv(1024) == b""  # closed by the listener, not by our guard
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/OauthRedirect?code=x", timeout=5).read().decode()
        assert "Approved" in page  # and the listener still serves
    finally:
        listener.stop()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="port owners are read from Linux's /proc/net/tcp")
def test_the_owner_of_a_busy_port_is_known() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_owner(port) == os.getuid()
    assert port_owner(port) is None  # nobody listens any more


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.1:8080/cb", ("127.0.0.1", 8080, "/cb")),  # as the browser (WHATWG) reads it
        ("http://[::1]:8080/cb?x=1", ("::1", 8080, "/cb")),
        ("http://evil.example\\@localhost:1717/", None),
    ],
)
def test_the_callback_url_is_read_by_the_one_parser(url: str, expected: object) -> None:
    assert loopback_port(url) == expected
