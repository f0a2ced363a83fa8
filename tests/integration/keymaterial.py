"""Keys and certificates of every shape a user can hand us, made with the real openssl.

Built once per session (`keyset` fixture in conftest.py); tests copy what they need, so every
test owns its files and their modes.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.fakesecrets import fake_token, pem_block, random_body
from tests.keypairs import expired_cert_for, make_keypair

# Secrets that must never be shown: an access token of the Salesforce shape (org id, '!', opaque
# part) and a private key block. Their distinctive parts are what tests look for in any output.
TOKEN = fake_token()
TOKEN_SECRET = TOKEN.split("!", 1)[1]
PEM_BODY = tuple(random_body(3))
PEM = pem_block("PRIVATE KEY", list(PEM_BODY))
SECRETS = (TOKEN, TOKEN_SECRET, *PEM_BODY)


def leaked(text: str) -> list[str]:
    """The secrets (or distinctive parts of them) that appear in `text`."""
    return [s for s in SECRETS if s in text]


@dataclass(frozen=True)
class KeySet:
    key: Path  # RSA 2048, PKCS#8, unencrypted: what keygen makes
    cert: Path  # its self-signed certificate, valid 30 days
    expired_cert: Path  # a certificate for `key` valid only on 1 Jan 2020
    other_cert: Path  # a certificate for another key
    rsa1024: Path
    ec_key: Path  # PKCS#8 "PRIVATE KEY": only the key inside says it is not RSA
    ec_traditional: Path  # "EC PRIVATE KEY"
    encrypted_key: Path  # PKCS#8 with a passphrase
    encrypted_traditional: Path  # "Proc-Type: 4,ENCRYPTED" PEM
    public_key: Path
    garbage: Path  # random bytes

    @property
    def one_line_key(self) -> bytes:
        """The key with its newlines stripped, as a careless secret store keeps it."""
        lines = self.key.read_text().strip().splitlines()
        return f"{lines[0]}{''.join(lines[1:-1])}{lines[-1]}\n".encode()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def build(d: Path) -> KeySet:
    ks = KeySet(
        *(
            d / name
            for name in (
                "server.key",
                "server.crt",
                "expired.crt",
                "other.crt",
                "rsa1024.key",
                "ec.key",
                "ec-trad.key",
                "enc.key",
                "enc-trad.key",
                "public.pem",
                "garbage.bin",
            )
        )
    )
    make_keypair(d, "server")  # ks.key, ks.cert
    make_keypair(d, "other")  # other.key, ks.other_cert
    expired_cert_for(ks.key, ks.expired_cert, d)
    _openssl("genrsa", "-out", str(ks.rsa1024), "1024", cwd=d)
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(ks.ec_key), cwd=d)
    _openssl("ec", "-in", str(ks.ec_key), "-out", str(ks.ec_traditional), cwd=d)
    _openssl("pkcs8", "-topk8", "-in", str(ks.key), "-out", str(ks.encrypted_key), "-passout", "pass:secret", cwd=d)
    _openssl(
        "rsa",
        "-in",
        str(ks.key),
        "-aes256",
        "-traditional",
        "-out",
        str(ks.encrypted_traditional),
        "-passout",
        "pass:secret",
        cwd=d,
    )
    _openssl("rsa", "-in", str(ks.key), "-pubout", "-out", str(ks.public_key), cwd=d)
    ks.garbage.write_bytes(random.Random(6).randbytes(1200))
    return ks
