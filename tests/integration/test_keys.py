"""Key and certificate checks (sfjwt_orch.keys) over real openssl output made at run time.

Every key check runs in one order: what the path is (missing, folder, not a regular file, too
large), whether it can be read, what it holds (PEM shape, then the parsed key), and only then its
mode. quick_check_key_file is the same walk without the parse.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import certs, material, pair
from sfjwt_orch.store import files
from tests.fakesecrets import pem_block
from tests.integration.keymaterial import KeySet, build
from tests.keypairs import dated_cert_for, make_keypair


def openssl(*args: str, cwd: Path | None = None, stdin: str | None = None) -> str:
    return subprocess.run(["openssl", *args], cwd=cwd, input=stdin, check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Material:
    ks: KeySet
    pkcs1: Path  # the RSA 2048 key of ks.key, as "RSA PRIVATE KEY" (PKCS#1)
    ec_cert: Path  # a self-signed certificate for ks.ec_key
    csr: Path  # a certificate request for ks.key

    def pem_body(self) -> str:
        return "".join(self.ks.key.read_text().strip().splitlines()[1:-1])


@pytest.fixture(scope="module")
def key_material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    d = tmp_path_factory.mktemp("keys")
    ks = build(d)
    m = Material(ks, d / "pkcs1.key", d / "ec.crt", d / "server.csr")
    openssl("rsa", "-in", str(ks.key), "-traditional", "-out", str(m.pkcs1))
    openssl("req", "-x509", "-key", str(ks.ec_key), "-subj", "/CN=ec", "-days", "1", "-out", str(m.ec_cert))
    openssl("req", "-new", "-key", str(ks.key), "-subj", "/CN=csr", "-out", str(m.csr))
    return m


Make = Callable[[Material, Path], Path]


def copy(name: str, mode: int = 0o600) -> Make:
    """The Material (or KeySet) file `name`, copied to a test-owned path with `mode`."""

    def make(m: Material, path: Path) -> Path:
        source = getattr(m, name) if hasattr(m, name) else getattr(m.ks, name)
        shutil.copyfile(source, path)
        path.chmod(mode)
        return path

    return make


def data(content: Callable[[Material], bytes], mode: int = 0o600) -> Make:
    def make(m: Material, path: Path) -> Path:
        path.write_bytes(content(m))
        path.chmod(mode)
        return path

    return make


def fifo(m: Material, path: Path) -> Path:
    os.mkfifo(path, 0o600)
    return path


def folder(m: Material, path: Path) -> Path:
    path.mkdir()
    return path


def device(m: Material, path: Path) -> Path:
    path.symlink_to(os.devnull)  # a character device, reached through a symlink as a user might
    return path


def sparse_gigabyte(m: Material, path: Path) -> Path:
    with path.open("wb") as fh:
        fh.truncate(1 << 30)  # sparse: costs no disk, but reading it would cost a gigabyte
    path.chmod(0o600)
    return path


def symlink_to_key(m: Material, path: Path) -> Path:
    path.symlink_to(m.ks.key)
    return path


def missing(m: Material, path: Path) -> Path:
    return path


def truncated(m: Material) -> bytes:
    """A PKCS#8 key whose body lost its second half, re-wrapped so only the parse can tell."""
    body = m.pem_body()[: len(m.pem_body()) // 2]
    return pem_block("PRIVATE KEY", [body[i : i + 64] for i in range(0, len(body), 64)]).encode()


SAME = "the same refusal"  # quick_check_key_file refuses as check_key_file does


@dataclass(frozen=True)
class Case:
    make: Make
    code: Code | None  # None: the key is accepted
    words: str = ""  # in the message
    fix: str = ""  # in the fix ({path} filled in)
    quick: str | None = SAME  # quick_check_key_file: SAME, None (accepted: only the parse tells) or its words


MODE_FIX = "chmod 600 {path}"
CASES = {
    "rsa-2048-pkcs8": Case(copy("key"), None),
    "rsa-2048-pkcs1": Case(copy("pkcs1"), None),
    "symlink-to-a-key": Case(symlink_to_key, None),
    "rsa-1024": Case(copy("rsa1024"), Code.KEY_INVALID, "RSA key of 1024 bits", "keygen", quick=None),
    "ec-pkcs8": Case(copy("ec_key"), Code.KEY_INVALID, "not an RSA key but an EC key", "RSA key", quick=None),
    "ec-traditional": Case(copy("ec_traditional"), Code.KEY_INVALID, "EC key", "generate an RSA key"),
    "encrypted-pkcs8": Case(copy("encrypted_key"), Code.KEY_INVALID, "passphrase", "openssl rsa -in {path}"),
    "encrypted-traditional": Case(
        copy("encrypted_traditional"), Code.KEY_INVALID, "passphrase", "openssl rsa -in {path}"
    ),
    "certificate-as-key": Case(copy("cert"), Code.KEY_INVALID, "this is a certificate", "not the certificate"),
    "public-key-as-key": Case(copy("public_key"), Code.KEY_INVALID, "public key", "private key"),
    "one-line-pem": Case(data(lambda m: m.ks.one_line_key), Code.KEY_INVALID, "line breaks", "newlines"),
    "binary": Case(copy("garbage"), Code.KEY_INVALID, "the key file is binary"),
    "empty": Case(data(lambda m: b""), Code.KEY_INVALID, "the key file is empty"),
    "truncated-body": Case(data(truncated), Code.KEY_INVALID, "not a usable RSA private key", quick=None),
    "missing": Case(missing, Code.KEY_NOT_FOUND, "does not exist", "keygen"),
    "folder": Case(folder, Code.KEY_INVALID, "is a folder, not a key file"),
    "fifo": Case(fifo, Code.KEY_INVALID, "is not a regular file"),
    "device": Case(device, Code.KEY_INVALID, "is not a regular file"),
    "oversize-sparse": Case(sparse_gigabyte, Code.KEY_INVALID, "is too large to be a key"),
    # A valid key with padding: only the size refuses it.
    "oversize-padded-key": Case(
        data(lambda m: m.ks.key.read_bytes() + b"\n" * files.MAX_SMALL_FILE),
        Code.KEY_INVALID,
        "is too large to be a key",
    ),
    "rsa-2048-mode-0644": Case(copy("key", 0o644), Code.KEY_INVALID, "readable by other users", MODE_FIX),
    "rsa-2048-mode-0640": Case(copy("key", 0o640), Code.KEY_INVALID, "readable by other users", MODE_FIX),
    # What the file is comes before its mode: the mode fix would not help with any of these.
    "certificate-mode-0644": Case(
        copy("cert", 0o644), Code.KEY_INVALID, "this is a certificate", "not the certificate"
    ),
    "encrypted-mode-0644": Case(copy("encrypted_key", 0o644), Code.KEY_INVALID, "passphrase", "openssl rsa -in"),
    "empty-mode-0644": Case(data(lambda m: b"", 0o644), Code.KEY_INVALID, "the key file is empty"),
    # The parse comes before the mode too; without it, the mode is what is left to refuse.
    "ec-pkcs8-mode-0644": Case(
        copy("ec_key", 0o644), Code.KEY_INVALID, "not an RSA key", "RSA key", quick="readable by other users"
    ),
    "rsa-1024-mode-0644": Case(
        copy("rsa1024", 0o644), Code.KEY_INVALID, "1024 bits", "keygen", quick="readable by other users"
    ),
}


def _outcome(check: Callable[[Path], object], path: Path) -> tuple[Code, str, str] | None:
    """(code, message, fix) of a refusal, the path in the message replaced: tmp_path holds the test's name."""
    try:
        check(path)
    except SfjwtError as exc:
        assert "\n" not in exc.message and "\n" not in exc.fix and exc.fix, exc
        return exc.code, exc.message.replace(str(path), "PATH"), exc.fix
    return None


@pytest.mark.timeout(10)  # a FIFO that is opened would hang: fail fast instead
@pytest.mark.parametrize("case", list(CASES))
def test_check_key_file(key_material: Material, tmp_path: Path, case: str) -> None:
    c = CASES[case]
    path = c.make(key_material, tmp_path / "key.pem")
    outcome = _outcome(material.check_key_file, path)
    if c.code is None:
        assert outcome is None
        info = material.check_key_file(path)
        assert (info.path, info.bits) == (path, 2048)
        return
    assert outcome is not None, "accepted"
    code, message, fix = outcome
    assert code is c.code
    assert c.words in message
    assert c.fix.format(path=path) in fix


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", list(CASES))
def test_quick_check_key_file_is_the_same_walk_without_the_parse(
    key_material: Material, tmp_path: Path, case: str
) -> None:
    c = CASES[case]
    path = c.make(key_material, tmp_path / "key.pem")
    outcome = _outcome(material.quick_check_key_file, path)
    if c.code is None or c.quick is None:
        assert outcome is None
        assert material.quick_check_key_file(path) == path
    elif c.quick == SAME:
        assert outcome == _outcome(material.check_key_file, path)
    else:
        assert outcome is not None and c.quick in outcome[1]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("make", [fifo, device, sparse_gigabyte], ids=["fifo", "device", "oversize"])
def test_a_file_that_is_no_key_is_never_opened(
    key_material: Material, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Make
) -> None:
    path = make(key_material, tmp_path / "key.pem")
    real_open = os.open
    opened: list[str] = []

    def spy(file: str | os.PathLike[str], *args: int) -> int:
        opened.append(os.fspath(file))
        return real_open(file, *args)

    monkeypatch.setattr(os, "open", spy)
    for check in (material.check_key_file, material.quick_check_key_file, certs.read_cert):
        with pytest.raises(SfjwtError, match=r"not a regular file|too large"):
            check(path)
    assert str(path) not in opened


def test_an_unreadable_key_gets_the_chmod_fix(
    key_material: Material, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my keys").mkdir()
    path = copy("key", 0o000)(key_material, tmp_path / "my keys" / "key.pem")
    if os.geteuid() == 0:  # root reads a chmod 000 file: make the open fail as it would for anyone else
        real_open = os.open

        def refuse(file: str | os.PathLike[str], *args: int) -> int:
            if os.fspath(file) == str(path):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args)

        monkeypatch.setattr(os, "open", refuse)
    for check in (material.check_key_file, material.quick_check_key_file):
        with pytest.raises(SfjwtError) as err:
            check(path)
        assert err.value.code is Code.KEY_INVALID
        assert "not readable by you" in err.value.message
        assert f"chmod 600 '{path}'" in err.value.fix  # quoted: the folder has a space


def test_mode_check_can_be_skipped_and_the_variable_named(key_material: Material, tmp_path: Path) -> None:
    path = copy("key", 0o644)(key_material, tmp_path / "key.pem")
    assert material.check_key_file(path, check_mode=False).bits == 2048
    assert material.quick_check_key_file(path, check_mode=False) == path
    broken = copy("cert")(key_material, tmp_path / ".tmp-123.key")
    for check in (material.check_key_file, material.quick_check_key_file):
        with pytest.raises(SfjwtError) as err:
            check(broken, name="the key in $SF_JWT_KEY")
        assert err.value.message.startswith("the key in $SF_JWT_KEY: this is a certificate")


@pytest.mark.parametrize(
    ("argv", "bits"),
    [
        (["genrsa", "2048"], 2048),  # PKCS#8 "PRIVATE KEY" (OpenSSL 3's default)
        (["genrsa", "-traditional", "3072"], 3072),  # PKCS#1 "RSA PRIVATE KEY"
    ],
)
def test_key_modulus_and_bits_match_openssl(tmp_path: Path, argv: list[str], bits: int) -> None:
    path = tmp_path / "key.pem"
    path.write_text(openssl(*argv))
    path.chmod(0o600)
    modulus = openssl("rsa", "-in", str(path), "-noout", "-modulus").strip().split("=", 1)[1]
    info = material.check_key_file(path)
    assert (info.modulus, info.bits) == (int(modulus, 16), bits)


def test_key_and_login_modules_do_not_import_cryptography(key_material: Material, tmp_path: Path) -> None:
    """login's success path: importing keys and the quick check leave cryptography unloaded."""
    path = copy("key")(key_material, tmp_path / "key.pem")
    script = (
        "import sys; from pathlib import Path; from sfjwt_orch.keys import material;"
        "material.quick_check_key_file(Path(sys.argv[1]));"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cryptography'))"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


# --- certificates ---


def _ca_signed(key: Path, workdir: Path, start: str, end: str) -> Path:
    """A self-signed certificate for `key` with explicit validity dates."""
    dated_cert_for(key, workdir / "dated.crt", workdir, start, end)
    return workdir / "dated.crt"


def _as_openssl_prints_it(cert: Path) -> certs.CertInfo:
    out = openssl("x509", "-in", str(cert), "-noout", "-enddate", "-fingerprint", "-sha256", "-modulus")
    fields = dict(line.split("=", 1) for line in out.splitlines())
    end = datetime.strptime(" ".join(fields["notAfter"].split()), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    return certs.CertInfo(fields["sha256 Fingerprint"], end, int(fields["Modulus"], 16))


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("19501231235959Z", datetime(1950, 12, 31, 23, 59, 59, tzinfo=UTC)),  # UTCTime: YY >= 50 is 19YY
        ("20240229120000Z", datetime(2024, 2, 29, 12, 0, 0, tzinfo=UTC)),
        ("20491231235959Z", datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)),  # UTCTime: YY < 50 is 20YY
        ("20510615083000Z", datetime(2051, 6, 15, 8, 30, 0, tzinfo=UTC)),  # GeneralizedTime from 2050 on
    ],
)
def test_read_cert_matches_openssl(key_material: Material, tmp_path: Path, end: str, expected: datetime) -> None:
    """RFC 5280 §4.1.2.5: fingerprint, expiry (an aware UTC datetime) and modulus as openssl reads them."""
    cert = _ca_signed(key_material.ks.key, tmp_path, "19500101000000Z", end)
    info = certs.read_cert(cert)
    assert info == _as_openssl_prints_it(cert)
    assert info.not_after == expected and info.not_after.tzinfo is UTC


@pytest.mark.parametrize(
    "bad",
    [
        b"491331235959Z",  # month 13
        b"230229120000Z",  # no 29 February in 2023
        b"240101240000Z",  # hour 24
        b"240101120060Z",  # second 60
        b"2401011200000",  # no Z
        b"24-1-1120000Z",  # signs are not digits
        b"491231235959z",  # a lower-case z
    ],
)
def test_a_certificate_with_a_malformed_time_is_refused(key_material: Material, tmp_path: Path, bad: bytes) -> None:
    good = _ca_signed(key_material.ks.key, tmp_path, "19500101000000Z", "20491231235959Z")
    der = base64.b64decode("".join(good.read_text().strip().splitlines()[1:-1]))
    assert der.count(b"491231235959Z") == 1
    cert = tmp_path / "bad.crt"
    body = base64.b64encode(der.replace(b"491231235959Z", bad)).decode()
    cert.write_text(pem_block("CERTIFICATE", [body[i : i + 64] for i in range(0, len(body), 64)]))
    with pytest.raises(SfjwtError) as err:
        certs.read_cert(cert)
    assert err.value.code is Code.CERT_INVALID and "not a usable certificate" in err.value.message


def mangled_cert(m: Material) -> bytes:
    body = "".join(m.ks.cert.read_text().strip().splitlines()[1:-1])[:200]
    return pem_block("CERTIFICATE", [body[i : i + 64] for i in range(0, len(body), 64)]).encode()


CERT_CASES = {
    "private-key": (copy("key"), "not a usable certificate: found PRIVATE KEY but no CERTIFICATE block (was the"),
    "public-key": (copy("public_key"), "is a public key, not a certificate"),
    "ec-certificate": (copy("ec_cert"), "the certificate's key is not RSA"),
    "certificate-request": (copy("csr"), "found CERTIFICATE REQUEST but no CERTIFICATE block"),
    "truncated": (data(mangled_cert), "not a valid X.509 certificate"),
    "empty": (data(lambda m: b""), "no PEM block found"),
    "binary": (copy("garbage"), "no PEM block found"),
    "missing": (missing, "cannot read certificate PATH: No such file or directory"),
    "folder": (folder, "cannot read certificate PATH: Is a directory"),
    "fifo": (fifo, "is not a regular file"),
    "oversize": (sparse_gigabyte, "is too large to be a certificate"),
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", list(CERT_CASES))
def test_read_cert_refuses(key_material: Material, tmp_path: Path, case: str) -> None:
    make, words = CERT_CASES[case]
    path = make(key_material, tmp_path / "app.crt")
    with pytest.raises(SfjwtError) as err:
        certs.read_cert(path)
    assert err.value.code is Code.CERT_INVALID
    assert words in err.value.message.replace(str(path), "PATH") and "\n" not in err.value.message
    assert "keygen" in err.value.fix


def test_check_pair_matches_a_key_to_its_certificate(key_material: Material) -> None:
    key = material.check_key_file(key_material.ks.key)
    certs.check_pair(key, certs.read_cert(key_material.ks.cert), key_material.ks.cert)
    with pytest.raises(SfjwtError) as err:
        certs.check_pair(key, certs.read_cert(key_material.ks.other_cert), key_material.ks.other_cert)
    assert err.value.code is Code.CERT_INVALID and "does not belong to" in err.value.message


# --- keygen ---


def test_keygen_writes_a_matching_private_pair(tmp_path: Path) -> None:
    from sfjwt_orch.tools.openssl import Openssl
    from sfjwt_orch.tools.runner import ProcessRunner

    out = tmp_path / "keys"
    result = pair.keygen(pair.KeygenRequest(out, subject="/CN=unit"), Openssl.find(ProcessRunner(), dict(os.environ)))
    assert (result.key_file, result.cert_file) == (out / material.KEY_NAME, out / material.CERT_NAME)
    assert (out.stat().st_mode & 0o777, result.key_file.stat().st_mode & 0o777) == (0o700, 0o600)
    assert result.cert_file.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in out.iterdir()) == [material.CERT_NAME, material.KEY_NAME]  # no temp file left
    info = certs.read_cert(result.cert_file)
    assert info == _as_openssl_prints_it(result.cert_file)
    assert (result.fingerprint_sha256, result.not_after) == (info.fingerprint_sha256, info.not_after)
    assert material.check_key_file(result.key_file).modulus == info.modulus
    with pytest.raises(SfjwtError) as err:
        pair.keygen(pair.KeygenRequest(out), Openssl.find(ProcessRunner(), dict(os.environ)))
    assert err.value.code is Code.KEY_EXISTS


@pytest.mark.parametrize("size_asked", [2048, 3072], ids=["same-size", "other-size"])
def test_keygen_uses_a_key_begun_early_only_when_it_has_the_size_asked(
    key_material: Material, tmp_path: Path, size_asked: int
) -> None:
    """__main__ begins a 2048-bit key before the CLI is up (openssl.head_start); keygen writes that
    very key, or stops it and makes one of the size asked for. (The key used to be handed to
    pair.keygen as an argument through cli, the Context and the command; it now waits in
    tools/openssl.py, whose start_key takes it, so the test begins it through head_start.)"""
    import shlex

    from sfjwt_orch.tools.openssl import Openssl, head_start
    from sfjwt_orch.tools.runner import ProcessRunner

    # An "early key" that is a known key: this openssl hands it over as genpkey would.
    known = tmp_path / "openssl-that-knows-one-key"
    known.write_text(f"#!/bin/sh\nexec cat {shlex.quote(str(key_material.ks.key))}\n")
    known.chmod(0o755)
    openssl_ = Openssl.find(ProcessRunner(), dict(os.environ))  # the real one, for everything else
    out = tmp_path / "keys"
    with head_start({**os.environ, "SFJWT_ORCH_OPENSSL": str(known)}):
        result = pair.keygen(pair.KeygenRequest(out, bits=size_asked, subject="/CN=early"), openssl_)
    written = material.check_key_file(result.key_file)
    assert (written.modulus == material.check_key_file(key_material.ks.key).modulus) is (size_asked == 2048)
    assert written.bits == size_asked
    assert certs.read_cert(result.cert_file).modulus == written.modulus


def test_a_printed_fix_quotes_a_path_with_a_space(tmp_path: Path) -> None:
    """The default data folder on macOS is ~/Library/Application Support: the fix must paste as is."""
    import shlex

    from sfjwt_orch.keys.material import check_key_file

    pair = make_keypair(tmp_path / "Application Support", "server")
    pair.key.chmod(0o644)
    with pytest.raises(SfjwtError) as caught:
        check_key_file(pair.key)
    assert shlex.split(caught.value.fix.split(": ", 1)[1]) == ["chmod", "600", str(pair.key)]
