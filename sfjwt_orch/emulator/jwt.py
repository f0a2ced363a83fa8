"""Pure JWT helpers: base64url, parsing a compact JWS, and RS256 verification.

RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3). Verification needs no crypto library:
``pow(signature, e, n)`` must equal the EMSA-PKCS1-v1_5 encoding of the SHA-256 digest of
``header.payload`` (RFC 8017 §8.2.2 and §9.2). Comparing the whole encoded block, instead of
parsing it, avoids the classic Bleichenbacher-style lenient-parsing bugs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfjwt_orch.x509 import RsaPublicKey

# DER of DigestInfo{ AlgorithmIdentifier{sha256, NULL}, OCTET STRING(32) } without the digest
# (RFC 8017 §9.2 note 1).
_SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


class JwtFormatError(ValueError):
    """The assertion is not a well-formed compact JWS."""


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2); reject any other alphabet or a stray '='."""
    if not _B64URL_RE.match(text) or len(text) % 4 == 1:
        raise JwtFormatError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # defensive: the regex already filters the alphabet
        raise JwtFormatError("not base64url") from exc


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ParsedJwt:
    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    signing_input: bytes
    signature: bytes


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JwtFormatError(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JwtFormatError(f"{what} is not a JSON object")
    return value


def parse_jwt(token: str) -> ParsedJwt:
    """Split and decode a compact JWS. Does not verify anything."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JwtFormatError("a JWT has three dot-separated parts")
    header = _json_object(parts[0], "header")
    claims = _json_object(parts[1], "claims")
    signature = b64url_decode(parts[2])
    return ParsedJwt(
        header=header,
        claims=claims,
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=signature,
    )


def emsa_pkcs1_v15_sha256(message: bytes, size_bytes: int) -> bytes:
    """The block an RS256 signature must decrypt to (RFC 8017 §9.2)."""
    t = _SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(message).digest()
    if size_bytes < len(t) + 11:
        raise ValueError("RSA modulus too short for SHA-256 PKCS#1 v1.5")
    return b"\x00\x01" + b"\xff" * (size_bytes - len(t) - 3) + b"\x00" + t


def verify_rs256(signing_input: bytes, signature: bytes, key: RsaPublicKey) -> bool:
    """True when ``signature`` is a valid RS256 signature of ``signing_input`` under ``key``."""
    k = key.size_bytes
    # RFC 8017 §8.2.2 step 1: the signature is exactly k octets, and as an integer it is below n.
    if len(signature) != k or k < 62:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    em = pow(s, key.e, key.n).to_bytes(k, "big")
    return hmac.compare_digest(em, emsa_pkcs1_v15_sha256(signing_input, k))
