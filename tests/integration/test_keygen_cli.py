"""`sfjwt-orch keygen` with the real openssl: permissions, a matching pair, no overwrite."""

from __future__ import annotations

import json
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integration.conftest import Cli


def modulus(kind: str, path: Path) -> str:
    return subprocess.run(
        ["openssl", kind, "-in", str(path), "-noout", "-modulus"], capture_output=True, text=True, check=True
    ).stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keygen_writes_a_private_matching_pair(cli: Cli) -> None:
    result = cli.run("keygen", "--alias", "hub", "--days", "30", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    key, cert = Path(doc["key_file"]), Path(doc["cert_file"])
    assert key.name == "server.key" and cert.name == "server.crt" and key.parent == cert.parent
    assert mode(key) == 0o600 and mode(key.parent) == 0o700
    assert modulus("rsa", key) == modulus("x509", cert)
    fingerprint = (
        subprocess.run(
            ["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.split("=")[1]
        .strip()
    )
    assert doc["fingerprint_sha256"] == fingerprint
    not_after = datetime.fromisoformat(doc["not_after"])
    assert abs(not_after - (datetime.now(UTC) + timedelta(days=30))) < timedelta(hours=1)
    assert "BEGIN" not in result.stdout + result.stderr  # the key is never printed
    assert "upload server.crt" in result.stderr.lower()
    assert not [p for p in key.parent.iterdir() if p.name.startswith(".tmp-")]


def test_keygen_refuses_to_overwrite_then_force_replaces(cli: Cli) -> None:
    first = json.loads(cli.run("keygen", "--alias", "hub", "--json").stdout)
    key = Path(first["key_file"])
    before = key.read_bytes()
    again = cli.run("keygen", "--alias", "hub", "--json")
    assert again.returncode == 2
    assert json.loads(again.stdout)["error"]["code"] == "KEY_EXISTS"
    assert key.read_bytes() == before
    forced = cli.run("keygen", "--alias", "hub", "--force", "--json")
    assert forced.returncode == 0
    assert key.read_bytes() != before
    assert json.loads(forced.stdout)["fingerprint_sha256"] != first["fingerprint_sha256"]


def test_keygen_out_dir_and_subject(cli: Cli) -> None:
    out = cli.tmp / "keys-here"
    result = cli.run("keygen", "--alias", "ci", "--out-dir", str(out), "--subject", "/CN=ci/O=Acme", "--bits", "3072")
    assert result.returncode == 0, result.stderr
    text = subprocess.run(
        ["openssl", "x509", "-in", str(out / "server.crt"), "-noout", "-subject", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CN = ci" in text and "O = Acme" in text and "3072 bit" in text
    assert mode(out) == 0o700 and mode(out / "server.key") == 0o600


def test_keygen_rejects_bad_input_and_writes_nothing(cli: Cli) -> None:
    for args in (["--bits", "1024"], ["--days", "0"], ["--subject", "CN=x"], ["--alias", "../evil"]):
        argv = ["keygen", "--alias", "hub", *args] if args[0] != "--alias" else ["keygen", *args]
        result = cli.run(*argv)
        assert result.returncode == 2, (args, result.stderr)
        assert "fix:" in result.stderr
    keys_dir = Path(cli.env["SFJWT_ORCH_DATA_DIR"]) / "keys"
    assert not keys_dir.exists() or not any(keys_dir.rglob("server.key"))
