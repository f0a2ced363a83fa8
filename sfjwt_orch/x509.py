"""Just enough DER to read a PEM certificate: its RSA public key, fingerprint and expiry.

Salesforce keeps the app's certificate and verifies the JWT signature with the RSA key inside it.
The emulator does the same without a crypto dependency, and keygen/doctor read the fingerprint and
expiry here instead of starting another openssl: it walks the DER tree of
``Certificate -> tbsCertificate -> validity, subjectPublicKeyInfo`` (RFC 5280 §4.1) and reads ``n``
and ``e`` from the ``RSAPublicKey`` inside the BIT STRING (RFC 8017 §A.1.1). A bare ``PUBLIC KEY``
PEM (SubjectPublicKeyInfo) is accepted too, which helps hand-written test configs.

Everything here is pure: text in, value or ``CertificateError`` out.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

# rsaEncryption, 1.2.840.113549.1.1.1, as DER content bytes (no tag/length).
_RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")

_TAG_INTEGER = 0x02
_TAG_BIT_STRING = 0x03
_TAG_OID = 0x06
_TAG_SEQUENCE = 0x30
_TAG_CONTEXT_0 = 0xA0  # [0] EXPLICIT version in tbsCertificate

_PEM_RE = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----",
    re.DOTALL,
)


class CertificateError(ValueError):
    """The text is not a PEM certificate (or public key) holding an RSA key."""


@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    @property
    def size_bytes(self) -> int:
        return (self.n.bit_length() + 7) // 8


@dataclass(frozen=True)
class CertificateInfo:
    public_key: RsaPublicKey
    # SHA-256 over the DER certificate, the same value `openssl x509 -fingerprint -sha256` prints
    # (without colons): lets state dumps name a certificate without repeating it.
    sha256_fingerprint: str
    not_after: datetime | None = None  # None for a bare public key

    @property
    def fingerprint_colons(self) -> str:
        """As openssl prints it: AB:CD:…"""
        fp = self.sha256_fingerprint
        return ":".join(fp[i : i + 2] for i in range(0, len(fp), 2))


def _read_tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """Return (tag, content, next position) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise CertificateError("truncated DER element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        # High tag numbers never occur on the path we walk; refusing them keeps the parser tiny.
        raise CertificateError("unsupported multi-byte DER tag")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        # 0x80 is BER's indefinite length, which DER forbids; 4 bytes is far beyond any certificate.
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise CertificateError("DER element runs past the end of the data")
    return tag, data[pos:end], end


def _children(content: bytes) -> list[tuple[int, bytes]]:
    items: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(content):
        tag, value, pos = _read_tlv(content, pos)
        items.append((tag, value))
    return items


def _expect(item: tuple[int, bytes], tag: int, what: str) -> bytes:
    if item[0] != tag:
        raise CertificateError(f"expected {what} (DER tag 0x{tag:02x}), found tag 0x{item[0]:02x}")
    return item[1]


def _positive_int(content: bytes, what: str) -> int:
    if not content:
        raise CertificateError(f"empty INTEGER for {what}")
    value = int.from_bytes(content, "big", signed=True)
    if value <= 0:
        raise CertificateError(f"{what} must be positive")
    return value


def _rsa_key_from_spki(spki_content: bytes) -> RsaPublicKey:
    parts = _children(spki_content)
    if len(parts) != 2:
        raise CertificateError("SubjectPublicKeyInfo must have an algorithm and a key")
    algorithm = _children(_expect(parts[0], _TAG_SEQUENCE, "AlgorithmIdentifier"))
    if not algorithm or _expect(algorithm[0], _TAG_OID, "algorithm OID") != _RSA_ENCRYPTION_OID:
        # Salesforce's JWT flow is RS256 only; an EC certificate can never verify a token.
        raise CertificateError("the certificate's key is not RSA (Salesforce's JWT flow needs an RSA key)")
    bits = _expect(parts[1], _TAG_BIT_STRING, "subjectPublicKey BIT STRING")
    if not bits or bits[0] != 0:
        raise CertificateError("subjectPublicKey has unused bits")
    rsa = _children(_read_tlv(bits, 1)[1]) if bits[1:2] == bytes([_TAG_SEQUENCE]) else []
    if len(rsa) != 2:
        raise CertificateError("RSAPublicKey must hold a modulus and an exponent")
    n = _positive_int(_expect(rsa[0], _TAG_INTEGER, "modulus"), "modulus")
    e = _positive_int(_expect(rsa[1], _TAG_INTEGER, "public exponent"), "public exponent")
    return RsaPublicKey(n=n, e=e)


def _sha256(der: bytes) -> str:
    import hashlib  # here: it loads OpenSSL's libcrypto, which a login never needs

    return hashlib.sha256(der).hexdigest().upper()


_TAG_UTC_TIME = 0x17
_TAG_GENERALIZED_TIME = 0x18


def _time(item: tuple[int, bytes]) -> datetime:
    """RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ (years 1950-2049) or GeneralizedTime YYYYMMDDHHMMSSZ.

    Read by slicing rather than strptime, whose first use costs every keygen and doctor ~2 ms."""
    tag, content = item
    if tag not in (_TAG_UTC_TIME, _TAG_GENERALIZED_TIME):
        raise CertificateError("validity time has an unknown type")
    width = 13 if tag == _TAG_UTC_TIME else 15
    digits = content[:-1]
    if len(content) != width or content[-1:] != b"Z" or not (digits.isascii() and digits.isdigit()):
        raise CertificateError("validity time is malformed")
    year, rest = (int(digits[:2]), digits[2:]) if tag == _TAG_UTC_TIME else (int(digits[:4]), digits[4:])
    if tag == _TAG_UTC_TIME:
        year += 1900 if year >= 50 else 2000
    month, day, hour, minute, second = (int(rest[i : i + 2]) for i in range(0, 10, 2))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:  # month 13, 30 February, hour 24...
        raise CertificateError("validity time is malformed") from exc


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


def certificate_from_pem(text: str) -> CertificateInfo:
    """Parse the first ``CERTIFICATE`` (or ``PUBLIC KEY``) block of ``text``.

    Raises ``CertificateError`` with a one-line reason when the text holds no usable RSA key,
    e.g. a private key pasted where the certificate belongs (a common mix-up).
    """
    blocks = _pem_blocks(text)
    if not blocks:
        raise CertificateError("no PEM block found (expected -----BEGIN CERTIFICATE-----)")
    for label, der in blocks:
        if label == "CERTIFICATE":
            tag, cert, _ = _read_tlv(der, 0)
            if tag != _TAG_SEQUENCE:
                raise CertificateError("certificate is not a DER SEQUENCE")
            top = _children(cert)
            if len(top) != 3:
                raise CertificateError("certificate must have tbsCertificate, algorithm and signature")
            tbs = _children(_expect(top[0], _TAG_SEQUENCE, "tbsCertificate"))
            # version [0] is optional (absent means v1); after it come serial, signature, issuer,
            # validity, subject, then subjectPublicKeyInfo.
            offset = 1 if tbs and tbs[0][0] == _TAG_CONTEXT_0 else 0
            if len(tbs) < offset + 6:
                raise CertificateError("tbsCertificate is too short")
            spki = _expect(tbs[offset + 5], _TAG_SEQUENCE, "subjectPublicKeyInfo")
            key = _rsa_key_from_spki(spki)
            validity = _children(_expect(tbs[offset + 3], _TAG_SEQUENCE, "validity"))
            if len(validity) != 2:
                raise CertificateError("validity must hold notBefore and notAfter")
            return CertificateInfo(public_key=key, sha256_fingerprint=_sha256(der), not_after=_time(validity[1]))
        if label == "PUBLIC KEY":
            tag, spki, _ = _read_tlv(der, 0)
            if tag != _TAG_SEQUENCE:
                raise CertificateError("public key is not a DER SEQUENCE")
            key = _rsa_key_from_spki(spki)
            return CertificateInfo(public_key=key, sha256_fingerprint=_sha256(der))
    labels = ", ".join(sorted({label for label, _ in blocks}))
    raise CertificateError(f"found {labels} but no CERTIFICATE block (was the private key given instead?)")


class KeyFormatError(ValueError):
    """The text is not an unencrypted RSA private key in PEM."""


def private_key_modulus(text: str) -> int:
    """The RSA modulus ``n`` of the first private key in ``text`` (PKCS#1 or PKCS#8 PEM).

    Reads the DER in Python, so checking a key before a login needs no openssl start:
    PKCS#1 ``RSAPrivateKey ::= SEQUENCE { version, n, e, d, ... }`` (RFC 8017 §A.1.2), and PKCS#8
    ``PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING RSAPrivateKey }``
    (RFC 5208 §5) whose algorithm must be rsaEncryption.
    """
    try:
        blocks = _pem_blocks(text)
    except CertificateError as exc:
        raise KeyFormatError(str(exc)) from None
    for label, der in blocks:
        try:
            if label == "RSA PRIVATE KEY":
                return _pkcs1_modulus(der)
            if label == "PRIVATE KEY":
                tag, info, _ = _read_tlv(der, 0)
                if tag != _TAG_SEQUENCE:
                    raise KeyFormatError("the private key is not a DER SEQUENCE")
                items = _children(info)
                if len(items) < 3:
                    raise KeyFormatError("the private key is too short")
                algorithm = _children(_expect(items[1], _TAG_SEQUENCE, "algorithm"))
                if not algorithm or _expect(algorithm[0], _TAG_OID, "algorithm") != _RSA_ENCRYPTION_OID:
                    raise KeyFormatError("not an RSA key (an EC or other key type?)")
                return _pkcs1_modulus(_expect(items[2], _TAG_OCTET_STRING, "privateKey"))
        except CertificateError as exc:
            raise KeyFormatError(str(exc)) from None
    raise KeyFormatError("no unencrypted RSA private key block found")


_TAG_OCTET_STRING = 0x04


def _pkcs1_modulus(der: bytes) -> int:
    tag, content, _ = _read_tlv(der, 0)
    if tag != _TAG_SEQUENCE:
        raise KeyFormatError("the RSA key is not a DER SEQUENCE")
    items = _children(content)
    if len(items) < 9:  # version, n, e, d, p, q, dp, dq, qinv
        raise KeyFormatError("the RSA key is incomplete")
    return _positive_int(_expect(items[1], _TAG_INTEGER, "modulus"), "modulus")
