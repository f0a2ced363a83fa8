"""Certificates: the facts of the app's certificate (fingerprint, expiry, public key), read with
pyca/cryptography, and whether it belongs to a key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys.material import KeyInfo
from sfjwt_orch.store import files


@dataclass(frozen=True)
class CertInfo:
    fingerprint_sha256: str  # AB:CD:…, as openssl prints it
    not_after: datetime  # aware, UTC
    modulus: int


_PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")


def read_cert(path: Path) -> CertInfo:
    """Fingerprint, expiry and modulus of a PEM certificate, read in Python (no openssl start)."""
    fix = "pass the server.crt made with the key, or regenerate both: sfjwt-orch keygen --alias NAME --force"
    try:
        raw, _ = files.read_small_file(path, "certificate")
    except OSError as exc:
        raise SfjwtError(Code.CERT_INVALID, f"cannot read certificate {path}: {exc.strerror}", fix) from None
    except files.NotAFileToRead as exc:
        raise SfjwtError(Code.CERT_INVALID, f"certificate {path} {exc}", fix) from None
    labels = _PEM_LABEL.findall(raw.decode("utf-8", errors="replace"))
    if "CERTIFICATE" not in labels:
        if "PUBLIC KEY" in labels or "RSA PUBLIC KEY" in labels:
            raise SfjwtError(Code.CERT_INVALID, f"{path} is a public key, not a certificate", fix)
        reason = "no PEM block found (expected -----BEGIN CERTIFICATE-----)"
        if labels:
            found = ", ".join(sorted(set(labels)))
            mix_up = " (was the private key given instead?)" if "PRIVATE KEY" in found else ""
            reason = f"found {found} but no CERTIFICATE block{mix_up}"
        raise SfjwtError(Code.CERT_INVALID, f"{path} is not a usable certificate: {reason}", fix)

    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        cert = x509.load_pem_x509_certificate(raw)
        public_key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        reason = "its CERTIFICATE block is not a valid X.509 certificate (truncated or mangled?)"
        raise SfjwtError(Code.CERT_INVALID, f"{path} is not a usable certificate: {reason}", fix) from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        # Salesforce's JWT flow is RS256 only: a certificate with another key can never verify a token.
        reason = "the certificate's key is not RSA (Salesforce's JWT flow needs an RSA key)"
        raise SfjwtError(Code.CERT_INVALID, f"{path} is not a usable certificate: {reason}", fix)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return CertInfo(fingerprint, cert.not_valid_after_utc, public_key.public_numbers().n)


def check_pair(key: KeyInfo, cert: CertInfo, cert_file: Path) -> None:
    if key.modulus != cert.modulus:
        raise SfjwtError(
            Code.CERT_INVALID,
            f"{cert_file} does not belong to {key.path}",
            "use the certificate made with this key, or regenerate both: sfjwt-orch keygen --alias NAME --force",
        )
