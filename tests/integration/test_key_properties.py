"""Properties over real keys made by openssl at test time (integration: the unit tier starts no
processes): keys survive every encoding a secret store makes of them, and mangled DER is refused
with the reader's own code."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import certs, material

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def real_pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One real RSA key, as openssl writes it (PKCS#8 and the traditional PKCS#1 form), and its certificate."""
    d = tmp_path_factory.mktemp("pem")
    subprocess.run(["openssl", "genrsa", "-out", str(d / "k8.pem"), "2048"], check=True, capture_output=True)
    subprocess.run(
        ["openssl", "rsa", "-in", str(d / "k8.pem"), "-traditional", "-out", str(d / "k1.pem")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-key",
            str(d / "k8.pem"),
            "-subj",
            "/CN=p",
            "-days",
            "1",
            "-out",
            str(d / "c.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return {"pkcs8": (d / "k8.pem").read_text(), "pkcs1": (d / "k1.pem").read_text(), "cert": (d / "c.pem").read_text()}


@st.composite
def encodings(draw: st.DrawFn, pem: str) -> str:
    rows = pem.strip().split("\n")
    form = draw(st.sampled_from(["raw", "escaped", "escaped-crlf", "collapsed", "crlf", "rewrapped"]))
    if form == "raw":
        text = pem
    elif form == "escaped":  # a one-line secret with literal \n (GitHub, GitLab, .env files)
        text = "\\n".join(rows)
    elif form == "escaped-crlf":
        text = "\\r\\n".join(rows)
    elif form == "collapsed":  # newlines turned into spaces
        text = " ".join(rows)
    elif form == "crlf":
        text = "\r\n".join(rows) + "\r\n"
    else:
        width, body = draw(st.integers(1, 200)), "".join(rows[1:-1])
        text = "\n".join([rows[0], *(body[i : i + width] for i in range(0, len(body), width)), rows[-1]])
    if draw(st.booleans()):  # base64 of it, in one line or wrapped as base64(1) does
        encoded = base64.b64encode(text.encode()).decode()
        width = draw(st.sampled_from([0, 64, 76]))
        text = "\n".join(encoded[i : i + width] for i in range(0, len(encoded), width)) if width else encoded
    quote, space = draw(st.sampled_from(["", '"', "'"])), draw(st.sampled_from(["", " ", "\n", " \t\n"]))
    return f"{space}{quote}{text}{quote}{space}"


@FAST
@given(data=st.data(), kind=st.sampled_from(["pkcs8", "pkcs1"]))
def test_normalise_pem_round_trips_every_encoding_of_a_real_key(
    real_pems: dict[str, str], data: st.DataObject, kind: str
) -> None:
    pem = real_pems[kind]
    assert material.normalise_pem(data.draw(encodings(pem))) == pem


def _der(pem: str) -> bytes:
    return base64.b64decode("".join(pem.strip().split("\n")[1:-1]))


@FAST
@given(data=st.data(), label=st.sampled_from(["CERTIFICATE", "PUBLIC KEY", "PRIVATE KEY", "RSA PRIVATE KEY"]))
def test_key_and_certificate_readers_refuse_mangled_der_with_their_own_code(
    real_pems: dict[str, str], data: st.DataObject, label: str, tmp_path: Path
) -> None:
    """Keys are read in Python before every login: mangled DER must be a clean refusal, never a crash."""
    der = bytearray(_der(real_pems[data.draw(st.sampled_from(["pkcs8", "pkcs1", "cert"]))]))
    for _ in range(data.draw(st.integers(0, 4))):
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(der)))
    blob = data.draw(st.sampled_from([bytes(der[:cut]), bytes(der), data.draw(st.binary(max_size=64))]))
    path = tmp_path / "drawn.pem"
    path.write_text(f"-----BEGIN {label}-----\n{base64.encodebytes(blob).decode()}-----END {label}-----\n")
    path.chmod(0o600)
    for read, code in ((certs.read_cert, Code.CERT_INVALID), (material.check_key_file, Code.KEY_INVALID)):
        try:
            read(path)
        except SfjwtError as exc:
            assert exc.code is code and "\n" not in exc.message, exc


def test_the_session_key_is_what_keygen_would_write(real_pems: dict[str, str], tmp_path: Path) -> None:
    """The round-trip target is a usable key: check_key_file accepts it as 2048-bit RSA."""
    key = tmp_path / "server.key"
    key.write_text(real_pems["pkcs8"])
    key.chmod(0o600)
    assert material.check_key_file(key).bits == 2048
