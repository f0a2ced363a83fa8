"""The Node loopback guard, exercised with a real Node (the system one) running small scripts."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import (
    DEMO_CONSUMER_KEY,
    DEMO_USERNAME,
    GUARD_LOG_ENV,
    Emulator,
    demo_config,
    guard_path,
)
from tests.integration.emulator.emulator_testkit import KeyPair, sf_claims, sign_jwt

NODE = "/usr/bin/node" if Path("/usr/bin/node").exists() else shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: the guard is a Node preload script")


def _node_major() -> int:
    assert NODE is not None
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def run_node(script: str, tmp_path: Path, *args: str, log: bool = True, requires: int = 1) -> tuple[Any, list[Any]]:
    """Run ``script`` under the guard; it prints one JSON value. Returns (that value, log lines)."""
    assert NODE is not None
    log_file = tmp_path / "guard.log"
    env = {"PATH": "/usr/bin:/bin", "NODE_OPTIONS": " ".join([f"--require {guard_path()}"] * requires)}
    if log:
        env[GUARD_LOG_ENV] = str(log_file)
    proc = subprocess.run([NODE, "-e", script, "--", *args], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in log_file.read_text().splitlines()] if log_file.exists() else []
    return json.loads(proc.stdout.strip().splitlines()[-1]), lines


DNS_SCRIPT = r"""
const dns = require('dns'); const util = require('util');
const settle = (p) => p.then((v) => ({ ok: v }),
                             (e) => ({ code: e.code, syscall: e.syscall, message: e.message }));
const cb = (fn) => new Promise((resolve) => fn((err, ...rest) =>
  resolve(err ? { code: err.code, hostname: err.hostname } : { ok: rest })));
(async () => {
  const out = {
    remote_cb: await cb((k) => dns.lookup('login.salesforce.com', k)),
    local_cb: await cb((k) => dns.lookup('localhost', k)),
    local_v6: await cb((k) => dns.lookup('localhost', { family: 6 }, k)),
    literal: await cb((k) => dns.lookup('127.0.0.1', k)),
    promisified: await settle(util.promisify(dns.lookup)('localhost')),
    promisified_all: await settle(util.promisify(dns.lookup)('localhost', { all: true })),
    promisified_remote: await settle(util.promisify(dns.lookup)('test.salesforce.com')),
    promises_local: await settle(dns.promises.lookup('localhost')),
    promises_remote: await settle(require('dns/promises').lookup('api.example.com')),
    resolve4_remote: await cb((k) => dns.resolve4('example.org', k)),
    resolve_promises_remote: await settle(dns.promises.resolveTxt('example.net')),
    resolver_remote: await cb((k) => new dns.Resolver().resolve6('example.edu', k)),
    resolve4_local: await cb((k) => dns.resolve4('localhost', k)),
  };
  console.log(JSON.stringify(out));
})();
"""


def test_dns_is_answered_locally_or_refused(tmp_path: Path) -> None:
    out, log = run_node(DNS_SCRIPT, tmp_path)
    assert out["remote_cb"] == {"code": "ENOTFOUND", "hostname": "login.salesforce.com"}
    assert out["local_cb"] == {"ok": ["127.0.0.1", 4]}
    assert out["local_v6"] == {"ok": ["::1", 6]}
    assert out["literal"] == {"ok": ["127.0.0.1", 4]}
    # The custom promisify hook survives: {address, family}, not a bare string (the sf pitfall).
    assert out["promisified"] == {"ok": {"address": "127.0.0.1", "family": 4}}
    assert out["promisified_all"]["ok"][0] == {"address": "127.0.0.1", "family": 4}
    assert out["promisified_remote"]["code"] == "ENOTFOUND"
    assert out["promisified_remote"]["message"] == "getaddrinfo ENOTFOUND test.salesforce.com"
    assert out["promises_local"] == {"ok": {"address": "127.0.0.1", "family": 4}}
    assert out["promises_remote"]["code"] == "ENOTFOUND"
    assert out["resolve4_remote"]["code"] == "ENOTFOUND"
    assert out["resolve_promises_remote"]["code"] == "ENOTFOUND"
    assert out["resolver_remote"]["code"] == "ENOTFOUND"
    assert out["resolve4_local"] == {"ok": [["127.0.0.1"]]}
    blocked = [(entry["blocked"], entry["host"]) for entry in log]
    assert blocked == [
        ("dns", "login.salesforce.com"),
        ("dns", "test.salesforce.com"),
        ("dns", "api.example.com"),
        ("dns", "example.org"),
        ("dns", "example.net"),
        ("dns", "example.edu"),
    ]
    assert len({entry["pid"] for entry in log}) == 1 and all(isinstance(e["pid"], int) for e in log)


CONNECT_SCRIPT = r"""
const net = require('net'); const tls = require('tls'); const http = require('http');
const attempt = (make) => new Promise((resolve) => {
  const s = make();
  s.on('error', (e) => resolve({ code: e.code, message: e.message }));
  s.on('connect', () => { s.destroy(); resolve({ ok: true }); });
});
(async () => {
  const out = {
    ip: await attempt(() => net.connect(443, '192.0.2.1')),
    ip_object: await attempt(() => net.connect({ host: '198.51.100.7', port: 80 })),
    mapped_v6: await attempt(() => net.connect({ host: '::ffff:8.8.8.8', port: 53 })),
    name: await attempt(() => net.connect({ host: 'login.salesforce.com', port: 443,
                                            lookup: (h, o, cb) => cb(null, '192.0.2.9', 4) })),
    tls: await attempt(() => tls.connect({ host: 'test.salesforce.com', port: 443 })),
    http: await new Promise((resolve) => http.get('http://203.0.113.3/', () => resolve({ ok: true }))
      .on('error', (e) => resolve({ code: e.code }))),
  };
  console.log(JSON.stringify(out));
})();
"""


def test_connect_to_non_loopback_is_refused(tmp_path: Path) -> None:
    out, log = run_node(CONNECT_SCRIPT, tmp_path)
    assert out["ip"]["code"] == "ECONNREFUSED" and "loopback guard" in out["ip"]["message"]
    assert out["ip_object"]["code"] == "ECONNREFUSED"
    assert out["mapped_v6"]["code"] == "ECONNREFUSED"
    # A custom lookup cannot route a remote name around the guard.
    assert out["name"]["code"] == "ENOTFOUND"
    assert out["tls"]["code"] == "ENOTFOUND"
    assert out["http"]["code"] == "ECONNREFUSED"
    assert [(e["blocked"], e["host"]) for e in log] == [
        ("connect", "192.0.2.1"),
        ("connect", "198.51.100.7"),
        ("connect", "::ffff:8.8.8.8"),
        ("dns", "login.salesforce.com"),
        ("dns", "test.salesforce.com"),
        ("connect", "203.0.113.3"),
    ]


FETCH_SCRIPT = r"""
const [base, assertion] = process.argv.slice(1);
const settle = (p) => p.then(async (r) => ({ status: r.status, body: await r.json() }),
                             (e) => ({ error: e.message, cause: e.cause && e.cause.code }));
(async () => {
  // The token POST as sf's undici sends it: a streamed body, hence Transfer-Encoding: chunked.
  const form = 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=' + assertion;
  const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(form)); c.close(); } });
  const out = {
    remote: await settle(fetch('https://test.salesforce.com/services/oauth2/token', { method: 'POST' })),
    local: await settle(fetch(base + '/services/data')),
    via_localhost: await settle(fetch(base.replace('127.0.0.1', 'localhost') + '/services/data')),
    token: await settle(fetch(base + '/services/oauth2/token', { method: 'POST', body: stream, duplex: 'half',
      headers: { 'content-type': 'application/x-www-form-urlencoded' } })),
  };
  console.log(JSON.stringify(out));
})();
"""


def test_fetch_reaches_the_emulator_and_nothing_else(
    tmp_path: Path, start_emulator: Callable[..., Emulator], keys: KeyPair
) -> None:
    if _node_major() < 18:
        pytest.skip("this Node has no global fetch (needs Node 18+)")
    emu = start_emulator(demo_config(keys.cert_pem))
    assertion = sign_jwt(keys.key, sf_claims(DEMO_CONSUMER_KEY, DEMO_USERNAME, emu.url + "/"))
    out, log = run_node(FETCH_SCRIPT, tmp_path, emu.url, assertion)
    assert out["remote"] == {"error": "fetch failed", "cause": "ENOTFOUND"}
    assert out["local"]["status"] == 200 and out["local"]["body"][-1]["version"] == "62.0"
    assert out["via_localhost"]["status"] == 200
    assert out["token"]["status"] == 200 and out["token"]["body"]["access_token"] in emu.issued_tokens
    assert emu.token_requests[-1].headers.get("transfer-encoding") == "chunked"
    assert log == [{"blocked": "dns", "host": "test.salesforce.com", "pid": log[0]["pid"]}]


def test_guard_without_a_log_file_still_blocks(tmp_path: Path) -> None:
    script = "require('dns').lookup('login.salesforce.com', (e) => console.log(JSON.stringify({ code: e && e.code })));"
    out, log = run_node(script, tmp_path, log=False)
    assert out == {"code": "ENOTFOUND"} and log == []


def test_loading_the_guard_twice_wraps_once(tmp_path: Path) -> None:
    script = (
        "const util = require('util'); util.promisify(require('dns').lookup)('localhost')"
        ".then((v) => require('net').connect(1, '192.0.2.1').on('error', (e) => "
        "console.log(JSON.stringify({ v, code: e.code }))));"
    )
    out, log = run_node(script, tmp_path, requires=2)
    assert out == {"v": {"address": "127.0.0.1", "family": 4}, "code": "ECONNREFUSED"}
    assert len(log) == 1  # one block, logged once
