"""JWT helpers: base64url, parsing a compact JWS, and RS256 verification.

RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3). The signature check is pyca/cryptography's
(OpenSSL underneath): a standard, well-kept verifier instead of a hand-written one, so padding and
length edge cases are someone's full-time job. Parsing stays here because it is plain base64url and
JSON, and the emulator needs the claims even when the signature is bad (the request log shows them).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

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


def verify_rs256(signing_input: bytes, signature: bytes, key: RSAPublicKey) -> bool:
    """True when ``signature`` is a valid RS256 signature of ``signing_input`` under ``key``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:  # also a signature of the wrong length, or a key too small for SHA-256
        return False
    return True
