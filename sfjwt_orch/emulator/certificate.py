"""The certificate uploaded to an app: its RSA public key and fingerprint, read with pyca/cryptography.

Salesforce keeps the app's certificate and checks each JWT's signature with the RSA key inside it;
the emulator does the same. A bare ``PUBLIC KEY`` PEM (SubjectPublicKeyInfo) is accepted too, which
helps hand-written test configs.

The PEM blocks are found here (not by cryptography's PEM loaders) so the messages can say what was
found instead: a private key pasted where the certificate belongs is the common mix-up. All DER and
key parsing is cryptography's. It is imported when a certificate is read, not when the package is,
so importing the emulator (or running its visitor) stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

_PEM_RE = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----",
    re.DOTALL,
)
_NOT_RSA = "the certificate's key is not RSA (Salesforce's JWT flow needs an RSA key)"


class CertificateError(ValueError):
    """The text is not a PEM certificate (or public key) holding an RSA key."""


@dataclass(frozen=True)
class AppCertificate:
    public_key: RSAPublicKey
    # SHA-256 over the DER, the value `openssl x509 -fingerprint -sha256` prints (without colons):
    # lets state dumps name a certificate without repeating it.
    sha256_fingerprint: str

    def __reduce__(self) -> tuple[Any, ...]:
        # cryptography's key objects do not pickle, and an emulator's snapshot does (Emulator.snapshot):
        # the key travels as its DER.
        from cryptography.hazmat.primitives import serialization

        der = self.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return (_from_public_der, (der, self.sha256_fingerprint))


def _from_public_der(der: bytes, sha256_fingerprint: str) -> AppCertificate:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    key = serialization.load_der_public_key(der)
    assert isinstance(key, RSAPublicKey)  # it was one when the snapshot was taken
    return AppCertificate(key, sha256_fingerprint)


def _pem_blocks(text: str) -> list[tuple[str, bytes]]:
    blocks: list[tuple[str, bytes]] = []
    for match in _PEM_RE.finditer(text):
        body = "".join(match.group("body").split())
        try:
            der = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise CertificateError(f"the {match.group('label')} block is not valid base64") from exc
        blocks.append((match.group("label"), der))
    return blocks


def _key_from_certificate(der: bytes) -> object:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateError("the CERTIFICATE block is not a valid DER-encoded X.509 certificate") from exc
    try:
        return certificate.public_key()
    except UnsupportedAlgorithm as exc:  # a key type cryptography does not know is not RSA either
        raise CertificateError(_NOT_RSA) from exc
    except ValueError as exc:
        raise CertificateError("the certificate's public key is not valid DER") from exc


def _key_from_spki(der: bytes) -> object:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        return load_der_public_key(der)
    except UnsupportedAlgorithm as exc:
        raise CertificateError(_NOT_RSA) from exc
    except ValueError as exc:
        raise CertificateError("the PUBLIC KEY block is not a valid DER-encoded public key") from exc


def load_certificate(text: str) -> AppCertificate:
    """Read the first ``CERTIFICATE`` (or ``PUBLIC KEY``) block of ``text``.

    Raises ``CertificateError`` with a one-line reason when the text holds no usable RSA key.
    """
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    blocks = _pem_blocks(text)
    if not blocks:
        raise CertificateError("no PEM block found (expected -----BEGIN CERTIFICATE-----)")
    for label, der in blocks:
        if label not in ("CERTIFICATE", "PUBLIC KEY"):
            continue
        key = _key_from_certificate(der) if label == "CERTIFICATE" else _key_from_spki(der)
        if not isinstance(key, RSAPublicKey):
            # Salesforce's JWT flow is RS256 only; an EC certificate can never verify a token.
            raise CertificateError(_NOT_RSA)
        return AppCertificate(public_key=key, sha256_fingerprint=hashlib.sha256(der).hexdigest().upper())
    labels = ", ".join(sorted({label for label, _ in blocks}))
    raise CertificateError(f"found {labels} but no CERTIFICATE block (was the private key given instead?)")
