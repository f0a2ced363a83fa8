"""Rehearsing bootstrap from zero (issue 14, item 8), as docs/emulator.md tells it: `emulator serve
--pending-app` in one process, bootstrap with the real sf, the certificate uploaded with
`emulator upload-cert` in between, and the request log showing what sf did."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sfjwt_orch.emulator import DEMO_USERNAME
from tests.e2e.conftest import E2E
from tests.e2e.test_login_scenarios import output

pytestmark = pytest.mark.e2e

ALIAS = "rehearsal"


def test_bootstrap_from_zero_against_a_pending_app(e2e: E2E) -> None:
    log = e2e.tmp / "emulator.jsonl"
    argv = ["emulator", "serve", "--pending-app", "--alias", ALIAS, "--port", "0", "--log", str(log), "--json"]
    serve = subprocess.Popen(
        [sys.executable, "-m", "sfjwt_orch", *argv],
        env=e2e.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        started = json.loads(serve.stdout.readline())
        url, port = started["url"], started["url"].rsplit(":", 1)[1]
        key = started["apps"][0]["consumer_key"]
        flags = ["--client-id", key, "--username", DEMO_USERNAME, "--instance-url", url, "--no-input", "--json"]

        # Before the upload: bootstrap makes the key pair, and the org cannot verify its JWT.
        first = e2e.cli("bootstrap", "--alias", ALIAS, *flags)
        assert first.returncode == 3, output(first)
        assert json.loads(first.stdout)["error"]["code"] == "INVALID_ASSERTION"
        cert = Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "keys" / ALIAS / "server.crt"

        uploaded = e2e.cli("emulator", "upload-cert", "--port", port, "--cert", str(cert))
        assert uploaded.returncode == 0, output(uploaded)

        second = e2e.cli("bootstrap", "--alias", ALIAS, *flags)
        assert second.returncode == 0, output(second)
        assert json.loads(second.stdout)["ok"] is True
    finally:
        serve.send_signal(signal.SIGINT)
        _, stderr = serve.communicate(timeout=20)
    assert serve.returncode == 0, stderr
    # The Try line named this alias and the certificate bootstrap then wrote.
    assert f"bootstrap --alias {ALIAS} --client-id {key}" in stderr and f"--cert {cert}" in stderr

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    outcomes = [e["outcome"] for e in entries if e["path"] == "/services/oauth2/token"]
    assert outcomes[0] == "invalid_assertion" and outcomes[-1] == "ok" and outcomes.count("ok") == 1
    assert "/__emulator/certificate" in [e["path"] for e in entries]
    # sf's calls after the token, seen by the person reading the log.
    assert any(e["path"].startswith("/services/data") and e["status"] == 200 for e in entries)
    e2e.assert_fallbacks_blocked()
