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


def dated_cert_for(key: Path, out: Path, workdir: Path, start: str, end: str, cn: str = "dated") -> None:
    """A self-signed certificate for `key` valid from `start` to `end` (YYYYMMDDHHMMSSZ). `openssl ca`
    takes explicit dates (OpenSSL 3.0 `req -x509` has no -not_after, and `-days` cannot be negative);
    its files go to `workdir`/ca."""
    ca = workdir / "ca"
    ca.mkdir()
    (ca / "index.txt").write_text("")
    (ca / "serial").write_text("01\n")
    (ca / "ca.cnf").write_text(
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
        "default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n"
    )
    request = ["req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", "r.csr"]
    sign = ["ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", str(key), "-in", "r.csr", "-out", str(out)]
    dates = ["-startdate", start, "-enddate", end, "-notext"]
    for step in (request, [*sign, *dates]):
        subprocess.run(["openssl", *step], cwd=ca, check=True, capture_output=True)


def expired_cert_for(key: Path, out: Path, workdir: Path) -> None:
    """A certificate for `key` valid only on 1 Jan 2020."""
    dated_cert_for(key, out, workdir, "20200101000000Z", "20200102000000Z", cn="expired")
