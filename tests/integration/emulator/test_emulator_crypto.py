"""Pure parts: base64url, JWT parsing, RS256 verification, reading the app's certificate (against real openssl)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

from sfjwt_orch.emulator.certificate import CertificateError, load_certificate
from sfjwt_orch.emulator.jwt import JwtFormatError, b64url_decode, b64url_encode, parse_jwt, verify_rs256
from tests.integration.emulator.emulator_testkit import OPENSSL, KeyPair, b64url, sign_jwt


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", b""), ("Zg", b"f"), ("Zm8", b"fo"), ("Zm9v", b"foo"), ("-_8", b"\xfb\xff"), ("_w", b"\xff")],
)
def test_b64url_decode_accepts_unpadded_base64url(text: str, expected: bytes) -> None:
    assert b64url_decode(text) == expected
    assert b64url_encode(expected) == text


@pytest.mark.parametrize("text", ["Zg==", "Zm9v+", "Zm9v/", "Z", "Zm 9v", "Zm9v\n"])
def test_b64url_decode_rejects_padding_and_other_alphabets(text: str) -> None:
    with pytest.raises(JwtFormatError):
        b64url_decode(text)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "onlyone",
        "a.b",
        "a.b.c.d",
        f"{b64url(b'not json')}.{b64url(b'{}')}.",
        f"{b64url(b'[1]')}.{b64url(b'{}')}.",
        f"{b64url(b'{}')}.{b64url(b'null')}.",
        f"{b64url(b'{}')}.{b64url(b'{}')}.***",
    ],
)
def test_parse_jwt_rejects_malformed_tokens(token: str) -> None:
    with pytest.raises(JwtFormatError):
        parse_jwt(token)


def test_parse_jwt_splits_header_claims_and_signature() -> None:
    head, body = b64url(b'{"alg":"RS256"}'), b64url(b'{"sub":"u@x.io","exp":5}')
    token = f"{head}.{body}.{b64url(b'sig')}"
    parsed = parse_jwt(token)
    assert parsed.header == {"alg": "RS256"}
    assert parsed.claims == {"sub": "u@x.io", "exp": 5}
    assert parsed.signature == b"sig"
    assert parsed.signing_input == token.rsplit(".", 1)[0].encode()


def _modulus(cert: Path) -> int:
    out = subprocess.run(
        [OPENSSL, "x509", "-noout", "-modulus", "-in", str(cert)], check=True, capture_output=True, text=True
    ).stdout
    return int(out.strip().split("=", 1)[1], 16)


def test_certificate_key_matches_openssl(keys: KeyPair) -> None:
    info = load_certificate(keys.cert_pem)
    assert info.public_key.public_numbers().n == _modulus(keys.cert)
    assert info.public_key.public_numbers().e == 65537
    fingerprint = subprocess.run(
        [OPENSSL, "x509", "-noout", "-fingerprint", "-sha256", "-in", str(keys.cert)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert info.sha256_fingerprint == fingerprint.strip().split("=", 1)[1].replace(":", "")


def test_public_key_pem_is_accepted_too(keys: KeyPair) -> None:
    pem = subprocess.run(
        [OPENSSL, "x509", "-noout", "-pubkey", "-in", str(keys.cert)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert load_certificate(pem).public_key.public_numbers().n == _modulus(keys.cert)


def test_certificate_with_crlf_and_surrounding_text_parses(keys: KeyPair) -> None:
    text = "Bag Attributes\r\n" + keys.cert_pem.replace("\n", "\r\n") + "trailing words\r\n"
    assert load_certificate(text).public_key.public_numbers().n == _modulus(keys.cert)


@pytest.fixture(scope="module")
def ec_cert(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("ec")
    subprocess.run(
        [
            OPENSSL,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(d / "ec.key"),
            "-out",
            str(d / "ec.crt"),
            "-days",
            "1",
            "-subj",
            "/CN=ec",
        ],
        check=True,
        capture_output=True,
    )
    return (d / "ec.crt").read_text()


@pytest.mark.parametrize(
    ("make_text", "message"),
    [
        (lambda k, ec: "", "no PEM block"),
        (lambda k, ec: "hello", "no PEM block"),
        (lambda k, ec: k.key.read_text(), "no CERTIFICATE block (was the private key given instead?)"),
        (lambda k, ec: "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n", "not valid base64"),
        (
            lambda k, ec: "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
            "not a valid DER-encoded X.509 certificate",
        ),
        (
            lambda k, ec: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "not a valid DER-encoded X.509 certificate",
        ),
        (
            lambda k, ec: "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",
            "not a valid DER-encoded public key",
        ),
        (lambda k, ec: ec, "not RSA"),
    ],
    ids=["empty", "text", "private-key", "bad-base64", "empty-seq", "truncated", "bad-public-key", "ec-key"],
)
def test_certificate_errors_say_why(
    keys: KeyPair, ec_cert: str, make_text: Callable[[KeyPair, str], str], message: str
) -> None:
    with pytest.raises(CertificateError) as info:
        load_certificate(make_text(keys, ec_cert))
    assert message in str(info.value)


def test_rs256_accepts_an_openssl_signature_and_rejects_tampering(keys: KeyPair, other_keys: KeyPair) -> None:
    key = load_certificate(keys.cert_pem).public_key
    parsed = parse_jwt(sign_jwt(keys.key, {"iss": "x", "exp": 1}))
    assert verify_rs256(parsed.signing_input, parsed.signature, key)
    # A changed payload, a flipped signature bit, a wrong length, or another key all fail.
    assert not verify_rs256(parsed.signing_input + b"x", parsed.signature, key)
    flipped = bytes([parsed.signature[0] ^ 1]) + parsed.signature[1:]
    assert not verify_rs256(parsed.signing_input, flipped, key)
    assert not verify_rs256(parsed.signing_input, parsed.signature[1:], key)
    assert not verify_rs256(parsed.signing_input, b"\xff" * len(parsed.signature), key)
    other = parse_jwt(sign_jwt(other_keys.key, {"iss": "x", "exp": 1}))
    assert not verify_rs256(other.signing_input, other.signature, key)


def test_rs256_rejects_a_tiny_key() -> None:
    # A 256-bit "key" cannot hold a SHA-256 PKCS#1 block; it must fail closed, not raise.
    tiny = RSAPublicNumbers(e=3, n=(1 << 255) + 1).public_key()
    assert not verify_rs256(b"x", b"\x01" * 32, tiny)
