"""Starting, stopping, binding rules, raw wire framing, and the blocking serve_forever entry point."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_USERNAME,
    Emulator,
    EmulatorConfigError,
    EmulatorError,
    RecordedRequest,
    demo_config,
    guard_path,
    serve_forever,
)
from sfjwt_orch.emulator.endpoints import rest as rest_endpoints
from tests.integration.emulator.emulator_testkit import (
    JWT_GRANT,
    KeyPair,
    bearer,
    get,
    request,
    sf_claims,
    sign_jwt,
    token_request,
)

Start = Callable[..., Emulator]
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com", "::"])
def test_refuses_non_loopback_hosts(keys: KeyPair, host: str) -> None:
    emu = Emulator(demo_config(keys.cert_pem))
    with pytest.raises(EmulatorConfigError) as info:
        emu.start(host=host)
    assert "loopback" in info.value.message and not emu.running


def test_localhost_is_allowed_and_url_is_numeric(keys: KeyPair) -> None:
    with Emulator(demo_config(keys.cert_pem)).start(host="localhost") as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        assert get(f"{emu.url}/services/data").status == 200


def test_ipv6_loopback(keys: KeyPair) -> None:
    try:
        emu = Emulator(demo_config(keys.cert_pem)).start(host="::1")
    except EmulatorError as exc:
        pytest.skip(f"no IPv6 loopback on this machine: {exc.message}")
    with emu:
        assert emu.url.startswith("http://[::1]:")
        assert get(f"{emu.url}/services/data").status == 200


def test_port_in_use_is_a_clear_error(start_emulator: Start, keys: KeyPair) -> None:
    first = start_emulator(demo_config(keys.cert_pem))
    with pytest.raises(EmulatorError) as info:
        Emulator(demo_config(keys.cert_pem)).start(port=first.address[1])
    assert str(first.address[1]) in info.value.message and "port" in info.value.fix


def test_stop_closes_the_port_and_context_manager_stops(keys: KeyPair) -> None:
    with Emulator(demo_config(keys.cert_pem)) as emu:
        host, port = emu.address
        assert get(f"{emu.url}/services/data").status == 200
    assert not emu.running
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, port), timeout=2):
        pass
    emu.stop()  # a second stop is harmless


def test_starting_twice_is_refused(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    with pytest.raises(EmulatorError, match="already running"):
        emu.start()


def _raw(emu: Emulator, data: bytes) -> bytes:
    host, port = emu.address
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_raw_chunked_post_like_undici(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    assertion = sign_jwt(keys.key, sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/"))
    body = f"grant_type={JWT_GRANT}&assertion={assertion}".encode()
    half = len(body) // 2
    chunks = (
        f"{half:x};ext=1\r\n".encode()
        + body[:half]
        + b"\r\n"
        + f"{len(body) - half:X}\r\n".encode()
        + body[half:]
        + b"\r\n0\r\nX-Trailer: y\r\n\r\n"
    )
    head = (
        f"POST /services/oauth2/token HTTP/1.1\r\nHost: {emu.url[7:]}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    reply = _raw(emu, head + chunks)
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b'"access_token"' in reply
    assert emu.token_requests[-1].headers["transfer-encoding"] == "chunked"


def test_malformed_chunked_body_is_a_recorded_400(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    reply = _raw(
        emu,
        f"POST /services/oauth2/token HTTP/1.1\r\nHost: {emu.url[7:]}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert emu.requests[-1].outcome == "bad_body"


def test_authorization_header_is_recorded_without_the_token(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    get(f"{emu.url}/services/data/v62.0", bearer("00Dsecret!value"))
    record = emu.requests[-1]
    assert record.headers["authorization"] == "Bearer <not valid>"
    assert "00Dsecret" not in json.dumps(record.to_dict())


def test_on_request_sees_every_request(keys: KeyPair) -> None:
    seen: list[RecordedRequest] = []
    with Emulator(demo_config(keys.cert_pem), on_request=seen.append).start() as emu:
        get(f"{emu.url}/services/data")
        get(f"{emu.url}/nope")
        assert [(r.path, r.status) for r in seen] == [("/services/data", 200), ("/nope", 404)]
        assert [r.seq for r in emu.requests] == [1, 2]


def test_serve_forever_stops_on_event(keys: KeyPair) -> None:
    stop = threading.Event()
    ready: list[Emulator] = []
    thread = threading.Thread(
        target=serve_forever,
        args=(demo_config(keys.cert_pem),),
        kwargs={"on_ready": ready.append, "stop": stop},
    )
    thread.start()
    deadline = time.monotonic() + 5
    while not ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready and get(f"{ready[0].url}/services/data").status == 200
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and not ready[0].running


SERVE_SCRIPT = """
import sys
from pathlib import Path
from sfjwt_orch.emulator import demo_config, serve_forever
def ready(emu):
    print(emu.url, flush=True)
serve_forever(demo_config(Path(sys.argv[1]).read_text()), on_ready=ready)
print("stopped cleanly", flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_forever_stops_cleanly_on_signals(keys: KeyPair, sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(keys.cert)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        assert get(f"{url}/services/data").status == 200
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped cleanly" in out and "Traceback" not in err


def test_import_starts_nothing() -> None:
    code = (
        "import threading; import sfjwt_orch.emulator as e; "
        "assert threading.active_count() == 1, threading.enumerate(); print(e.guard_path().name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=20,
    )
    assert out.stdout.strip() == "loopback_guard.cjs"


def test_guard_path_points_at_the_shipped_file() -> None:
    path = guard_path()
    assert path.is_absolute() and path.is_file()
    assert "dns.lookup" in path.read_text()


def test_an_emulator_bug_is_a_500_not_a_hung_socket(
    start_emulator: Start, keys: KeyPair, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))

    def boom(*_: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(rest_endpoints, "handle", boom)
    resp = get(f"{emu.url}/services/data")
    assert resp.status == 500 and resp.json() == {"error": "emulator_error"}
    assert emu.requests[-1].outcome == "emulator_error"
    assert "simulated bug" in capsys.readouterr().err


def test_control_body_that_is_not_utf8(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    resp = request(
        "POST", f"{emu.url}/__emulator/config", body=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400 and resp.json()["error"] == "the body is not JSON"


def test_a_rebinding_host_can_neither_read_nor_change_the_state(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    port = emu.address[1]
    evil = {"Host": f"rebind.evil.example:{port}"}
    state = request("GET", f"{emu.url}/__emulator/state", headers=evil)
    assert state.status == 421 and b"org_id" not in state.body
    assert state.json()["error"] == "misdirected_request"
    change = request(
        "POST",
        f"{emu.url}/__emulator/config",
        body=b'{"maintenance": true}',
        headers={**evil, "Content-Type": "application/json"},
    )
    assert change.status == 421 and emu.switches.maintenance is False
    assert [r.outcome for r in emu.requests] == ["bad_host", "bad_host"]
    # The loopback names of this port still work.
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert request("GET", f"{emu.url}/__emulator/state", headers={"Host": host}).status == 200


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_it_answers_on_ipv6_loopback_too(start_emulator: Start, keys: KeyPair) -> None:
    emu = start_emulator(demo_config(keys.cert_pem))
    port = emu.address[1]
    assert emu.urls == (emu.url, f"http://[::1]:{port}")
    v6 = emu.urls[1]
    assert get(f"{v6}/services/data").status == 200
    # A login at http://[::1]:PORT (or at localhost resolved to ::1) signs that URL as aud.
    assertion = sign_jwt(keys.key, sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, v6 + "/"))
    assert token_request(v6, assertion).status == 200
    emu.stop()
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with pytest.raises(ConnectionRefusedError), socket.socket(family) as sock:
            sock.settimeout(2)
            sock.connect((host, port))


def test_ipv6_is_left_alone_when_its_port_is_taken(keys: KeyPair) -> None:
    if not _ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    with socket.socket(socket.AF_INET6) as taken:
        taken.bind(("::1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        emu = Emulator(demo_config(keys.cert_pem)).start(port=port)
        try:
            assert emu.urls == (emu.url,) and get(f"{emu.url}/services/data").status == 200
        finally:
            emu.stop()


def _jwt_login(emu: Emulator, key: Path) -> tuple[int, Any]:
    resp = token_request(emu.url, sign_jwt(key, sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/")))
    return resp.status, resp.json()


def test_a_snapshot_starts_another_emulator_holding_the_same_org(keys: KeyPair, other_keys: KeyPair) -> None:
    """What the e2e set-ups rely on (tests/e2e/setups.py): a session sf holds, a certificate changed
    while running and the requests answered all survive into an emulator started from a snapshot,
    on another port; and each emulator started from it is a copy of its own."""
    emu = Emulator(demo_config(keys.cert_pem)).start()
    url = emu.url
    try:
        status, body = _jwt_login(emu, keys.key)
        assert status == 200, body
        emu.set_certificate(DEMO_CONSUMER_KEY, other_keys.cert_pem)  # as rotate does, in Setup
    finally:
        emu.stop()
    snapshot = emu.snapshot()

    first, second = Emulator.from_snapshot(snapshot).start(), Emulator.from_snapshot(snapshot).start()
    try:
        assert first.url != url and first.config == emu.config
        assert get(f"{first.url}/services/data/v62.0", bearer(body["access_token"])).status == 200
        assert [r.outcome for r in first.token_requests] == ["ok"]
        assert _jwt_login(first, keys.key)[0] == 400  # the old certificate is gone there too
        assert _jwt_login(first, other_keys.key)[0] == 200
        first.set_certificate(DEMO_CONSUMER_KEY, keys.cert_pem)
        assert _jwt_login(second, keys.key)[0] == 400, "a change in one copy reached another"
        assert len(second.token_requests) == 2 and len(first.token_requests) == 3
    finally:
        first.stop()
        second.stop()
