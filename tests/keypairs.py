"""Key pairs for tests, made with the real openssl at test time (never committed)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KeyPair:
    key: Path
    cert: Path

    @property
    def cert_pem(self) -> str:
        return self.cert.read_text()


def make_keypair(directory: Path, name: str = "server", *, days: int = 30, bits: int = 2048) -> KeyPair:
    """An unencrypted RSA key (0600) and its self-signed certificate, as `openssl req -x509` makes them."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    argv = ["openssl", "req", "-x509", "-newkey", f"rsa:{bits}", "-nodes", "-keyout", str(key), "-out", str(cert)]
    subprocess.run([*argv, "-days", str(days), "-subj", f"/CN={name}"], check=True, capture_output=True)
    key.chmod(0o600)
    return KeyPair(key, cert)
