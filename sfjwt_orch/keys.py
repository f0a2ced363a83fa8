"""Key material: generate a key and self-signed certificate, and check a key before sf sees it.

Certificates and keys are parsed with pyca/cryptography, imported inside the functions that need
it: `login`'s success path (quick_check_key_file), --help and --version never load it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from shlex import quote  # paths in the fixes we print: they must paste into a shell

from sfjwt_orch import files
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.tools.openssl import Openssl, check_subject, pem_problem

KEY_NAME = "server.key"
CERT_NAME = "server.crt"
MIN_BITS = 2048  # jsonwebtoken (inside sf) refuses smaller RSA keys for RS256
MAX_BITS = 16384
DEFAULT_BITS = 2048  # keygen and bootstrap, for a new key
DEFAULT_DAYS = 365  # a new certificate's lifetime
# A 16384-bit RSA key is about 12 KiB of PEM, a certificate for it less: a bigger file is neither.
MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class KeygenRequest:
    out_dir: Path
    bits: int = 2048
    days: int = 365
    subject: str = "/CN=sfjwt-orch"
    force: bool = False
    own_dir: bool = True  # our alias folder (kept 0700), not a folder the user named


@dataclass(frozen=True)
class KeygenResult:
    key_file: Path
    cert_file: Path
    fingerprint_sha256: str
    not_after: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "ok": True,
            "key_file": str(self.key_file),
            "cert_file": str(self.cert_file),
            "fingerprint_sha256": self.fingerprint_sha256,
            "not_after": self.not_after.isoformat(),
        }


def check_keygen_request(req: KeygenRequest) -> None:
    if not MIN_BITS <= req.bits <= MAX_BITS:
        raise SfjwtError(
            Code.USAGE,
            f"--bits {req.bits} is out of range",
            f"use --bits 2048 (or 3072, 4096); sf refuses RSA keys under {MIN_BITS} bits",
        )
    if not 1 <= req.days <= 36500:
        raise SfjwtError(Code.USAGE, f"--days {req.days} is out of range", "use --days between 1 and 36500")
    check_subject(req.subject)


def keygen(req: KeygenRequest, openssl: Openssl) -> KeygenResult:
    """Write server.key (0600) and server.crt into req.out_dir (0700), never half-written.

    openssl hands both over through a pipe; they are written to 0600 temp files in the same
    folder and renamed into place only after the certificate has been read back and matched to the
    key, so an interrupted run leaves the old pair (or none).
    """
    check_keygen_request(req)
    key_file, cert_file = req.out_dir / KEY_NAME, req.out_dir / CERT_NAME
    if key_file.exists() and not req.force:
        raise SfjwtError(
            Code.KEY_EXISTS,
            f"{key_file} already exists",
            "reuse it, or pass --force to replace it (then upload the new server.crt to the app)",
        )
    files.ensure_private_dir(req.out_dir, tighten=req.own_dir)
    pending = openssl.start_pair(req.bits, req.days, req.subject)
    try:
        _import_cryptography()  # now, while openssl searches for primes, not after it in the read-back below
    except BaseException:  # Ctrl-C during the import: openssl must not outlive us
        pending.running.cancel()
        raise
    key_pem, cert_pem = openssl.finish_pair(pending)
    with (
        files.private_temp_path(req.out_dir, ".key") as tmp_key,
        files.private_temp_path(req.out_dir, ".crt") as tmp_cert,
    ):
        try:
            files.write_synced(tmp_key, key_pem.encode("ascii"))
            files.write_synced(tmp_cert, cert_pem.encode("ascii"))
        except OSError as exc:  # a full disk is a FILE_ERROR, not a crash
            raise files.file_error("write", key_file, exc) from exc
        info = read_cert(tmp_cert)
        # openssl made this key a moment ago: read it back, but skip re-proving its primes.
        key = _check_key_file(tmp_key, None, check_mode=True, name=str(key_file), validate=False)
        check_pair(key, info, cert_file)
        tmp_cert.chmod(0o644)  # the certificate is public: it is what users upload
        try:
            os.replace(tmp_key, key_file)
            os.replace(tmp_cert, cert_file)
        except OSError as exc:
            raise files.file_error("write", key_file, exc) from exc
    return KeygenResult(key_file, cert_file, info.fingerprint_sha256, info.not_after)


def _import_cryptography() -> None:
    """Load what read_cert and check_key_file import, so their own imports are then look-ups."""
    import importlib

    for module in ("cryptography.x509", "cryptography.hazmat.primitives.serialization"):
        importlib.import_module(module)


class _NotAFileToRead(Exception):
    """The path is not one we read: a pipe or device (reading could hang), or far too large."""


def _read_small_file(path: Path, what: str) -> tuple[bytes, int]:
    """The bytes (at most MAX_FILE_BYTES) and the permission bits of a regular file.

    The stat comes first, so a FIFO (whose open waits for a writer) or a device is never opened,
    and a huge file never read. O_NONBLOCK keeps a FIFO swapped in after the stat from hanging us,
    and the bounded read holds whatever the file became. Raises OSError (IsADirectoryError for a
    folder) or _NotAFileToRead.
    """
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(st.st_mode):
        raise _NotAFileToRead("is not a regular file (a pipe, socket or device?)")
    if st.st_size > MAX_FILE_BYTES:
        raise _NotAFileToRead(f"is too large to be a {what} ({st.st_size} bytes)")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # no O_NONBLOCK on Windows
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:  # it grew after the stat
        raise _NotAFileToRead(f"is too large to be a {what}")
    return raw, stat.S_IMODE(st.st_mode)


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
        raw, _ = _read_small_file(path, "certificate")
    except OSError as exc:
        raise SfjwtError(Code.CERT_INVALID, f"cannot read certificate {path}: {exc.strerror}", fix) from None
    except _NotAFileToRead as exc:
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


@dataclass(frozen=True)
class KeyInfo:
    path: Path
    bits: int
    modulus: int


_FIX_GENERIC = "point --key-file at the unencrypted RSA private key (server.key) whose certificate is on the app"


def quick_check_key_file(path: Path, *, check_mode: bool = True, name: str | None = None) -> Path:
    """check_key_file without parsing the key: for a key file that logged in before.

    Every check but the parse (file type, size, readable, PEM shape, mode), in the same order and
    with the same messages; cryptography is not imported.
    """
    _, mode = _read_key_text(path, name)
    if check_mode:
        _check_key_mode(path, mode)
    return path


def check_key_file(
    path: Path, openssl: Openssl | None = None, *, check_mode: bool = True, name: str | None = None
) -> KeyInfo:
    """Refuse anything sf would choke on, with the real reason, before starting sf.

    One order for every key check: what the path is (missing, a folder, not a regular file, too
    large), whether we can read it, what the file holds (PEM shape, then the key itself), and only
    then its mode, so a certificate passed as the key hears "certificate", not "chmod 600".
    The key is parsed in Python (no process start on every login); with `openssl`, openssl must
    also be able to read it, for keys that came from outside (--key-env).
    """
    return _check_key_file(path, openssl, check_mode=check_mode, name=name, validate=True)


def _check_key_file(
    path: Path, openssl: Openssl | None, *, check_mode: bool, name: str | None, validate: bool
) -> KeyInfo:
    raw, mode = _read_key_text(path, name)
    shown = name or str(path)
    modulus = _rsa_modulus(raw, shown, path, validate=validate)
    if openssl is not None and openssl.key_modulus(path) != modulus:
        raise SfjwtError(Code.KEY_INVALID, f"{shown}: openssl cannot read it as an RSA private key", _FIX_GENERIC)
    bits = modulus.bit_length()
    if bits < MIN_BITS:
        raise SfjwtError(
            Code.KEY_INVALID,
            f"{shown}: RSA key of {bits} bits; sf needs at least {MIN_BITS}",
            "generate a new key (sfjwt-orch keygen --alias NAME --force) and upload its certificate",
        )
    if check_mode:
        _check_key_mode(path, mode)
    return KeyInfo(path, bits, modulus)


def _read_key_text(path: Path, name: str | None) -> tuple[bytes, int]:
    """The key file's bytes and mode, once it is a readable regular file whose text may be a key."""
    try:
        raw, mode = _read_small_file(path, "key")
    except FileNotFoundError:
        raise SfjwtError(
            Code.KEY_NOT_FOUND,
            f"key file {path} does not exist",
            "create one with: sfjwt-orch keygen --alias NAME, or pass --key-file PATH",
        ) from None
    except IsADirectoryError:
        raise SfjwtError(Code.KEY_INVALID, f"{path} is a folder, not a key file", _FIX_GENERIC) from None
    except PermissionError:
        raise SfjwtError(
            Code.KEY_INVALID,
            f"key file {path} is not readable by you",
            f"fix its owner or mode: chmod 600 {quote(str(path))}",
        ) from None
    except OSError as exc:
        raise SfjwtError(Code.KEY_INVALID, f"cannot read key file {path}: {exc.strerror}", _FIX_GENERIC) from None
    except _NotAFileToRead as exc:
        raise SfjwtError(Code.KEY_INVALID, f"key file {path} {exc}", _FIX_GENERIC) from None
    problem = pem_problem(raw.decode("utf-8", errors="replace"))
    if problem is not None:
        raise SfjwtError(Code.KEY_INVALID, f"{name or path}: {problem}", _fix_for(problem, path))
    return raw, mode


def _rsa_modulus(raw: bytes, shown: str, path: Path, *, validate: bool) -> int:
    """The modulus of the RSA private key in `raw`. `validate` also has cryptography prove the key
    consistent (its primes, their product), which catches a corrupted key sf would sign garbage with
    but costs more than the parse; cryptography documents the switch under load_pem_private_key."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(raw, password=None, unsafe_skip_rsa_key_validation=not validate)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # cryptography's own message is long and names its FAQ; this is what it means here.
        reason = "its PEM body does not decode to a private key: truncated or mangled?"
        raise SfjwtError(Code.KEY_INVALID, f"{shown}: not a usable RSA private key ({reason})", _FIX_GENERIC) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = "an EC key" if isinstance(key, ec.EllipticCurvePrivateKey) else "another key type"
        raise SfjwtError(
            Code.KEY_INVALID,
            f"{shown}: not an RSA key but {kind}; Salesforce's JWT flow needs an RSA key",
            _fix_for("EC key", path),
        )
    return key.private_numbers().public_numbers.n


def _check_key_mode(path: Path, mode: int) -> None:
    if mode & 0o077:
        # As OpenSSH does: a private key others can read is compromised-in-waiting.
        raise SfjwtError(
            Code.KEY_INVALID,
            f"key file {path} is readable by other users",
            f"restrict it: chmod 600 {quote(str(path))}",
        )


def _fix_for(problem: str, path: Path) -> str:
    if "certificate" in problem or "public key" in problem:
        return "pass the private key (server.key), not the certificate or public key"
    if "passphrase" in problem:
        return f"write a decrypted copy: openssl rsa -in {quote(str(path))} -out server.key (then chmod 600 server.key)"
    if "line breaks" in problem:
        return "restore the newlines (64-character lines between BEGIN and END), or store the key base64-encoded"
    if "EC key" in problem or "OpenSSH" in problem:
        return "generate an RSA key: sfjwt-orch keygen --alias NAME"
    return "point --key-file at the unencrypted RSA private key (server.key)"


def check_pair(key: KeyInfo, cert: CertInfo, cert_file: Path) -> None:
    if key.modulus != cert.modulus:
        raise SfjwtError(
            Code.CERT_INVALID,
            f"{cert_file} does not belong to {key.path}",
            "use the certificate made with this key, or regenerate both: sfjwt-orch keygen --alias NAME --force",
        )


def normalise_pem(raw: str) -> str:
    """Rebuild a PEM private key from what CI secret stores make of one.

    Accepts raw PEM, one-line PEM with literal `\\n` escapes, PEM whose newlines were collapsed to
    spaces, and base64 of any of those; returns PEM with 64-character lines, as the Salesforce CLI
    test kit does (cli-plugins-testkit `formatJwtKey`). Raises KEY_INVALID with the reason.
    """
    fix = "store the key as raw PEM, or base64 of it: base64 -w0 server.key"
    text = raw.strip().strip('"').strip("'")
    if not text:
        raise SfjwtError(Code.KEY_INVALID, "the key variable is empty", fix)
    if "-----BEGIN" not in text:
        try:
            text = base64.b64decode(re.sub(r"\s+", "", text), validate=True).decode("utf-8").strip()
        except (binascii.Error, ValueError):
            raise SfjwtError(Code.KEY_INVALID, "the key is neither PEM nor base64 of PEM", fix) from None
        if "-----BEGIN" not in text:
            raise SfjwtError(Code.KEY_INVALID, "the key is base64, but not of a PEM key", fix)
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n")
    if "Proc-Type: 4,ENCRYPTED" in text or "ENCRYPTED PRIVATE KEY" in text:
        raise SfjwtError(
            Code.KEY_INVALID,
            "the key is protected by a passphrase, which sf cannot use",
            "store a decrypted key: openssl rsa -in enc.key -out server.key",
        )
    m = re.search(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", text, re.DOTALL)
    if m is None:
        raise SfjwtError(Code.KEY_INVALID, "the key has no complete -----BEGIN/END----- block", fix)
    label, body = m.group(1), re.sub(r"\s+", "", m.group(2))
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", body):
        raise SfjwtError(Code.KEY_INVALID, "the key's PEM body is not base64 (truncated or mangled?)", fix)
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def materialise_key(raw: str, key_file: Path, openssl: Openssl, source: str = "the key") -> KeyInfo:
    """Write a key from an environment variable to a durable 0600 file, checked before it lands.

    sf keeps the key *path* and re-reads it at every token refresh, so the file must outlive this
    command (forcedotcom/cli #81): it goes to the alias's key folder, not to a temp dir.
    """
    pem = normalise_pem(raw)
    folder = key_file.parent
    created = not folder.exists()
    files.ensure_private_dir(folder)
    try:
        with files.private_temp_path(folder, ".key") as tmp:
            try:
                files.write_synced(tmp, pem.encode("ascii"))
            except OSError as exc:  # a full disk is a FILE_ERROR, not a crash
                raise files.file_error("write", key_file, exc) from exc
            info = check_key_file(tmp, openssl, name=source)  # a broken key is KEY_INVALID, whatever exists
            if key_file.exists() and _normalised_or_none(key_file) != pem:
                # Replacing it would orphan the certificate uploaded for it; CI machines start empty anyway.
                raise SfjwtError(
                    Code.KEY_EXISTS,
                    f"{key_file} already holds a different key than {source}",
                    "use another --alias for the key from the environment, or remove that key first "
                    "(sfjwt-orch logout --alias NAME --shred-key)",
                )
            try:
                os.replace(tmp, key_file)
            except OSError as exc:
                raise files.file_error("write", key_file, exc) from exc
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return KeyInfo(key_file, info.bits, info.modulus)


def _normalised_or_none(path: Path) -> str | None:
    try:
        raw, _ = _read_small_file(path, "key")
        return normalise_pem(raw.decode("utf-8", errors="replace"))
    except (OSError, _NotAFileToRead, SfjwtError):
        return None


def cert_for_key(key_file: Path, cert_file: Path, days: int, subject: str, openssl: Openssl) -> CertInfo:
    """A new self-signed certificate for an existing key (the key is kept)."""
    with files.private_temp_path(cert_file.parent, ".crt") as tmp:
        openssl.self_signed(key_file, tmp, days, subject)
        info = read_cert(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, cert_file)
    return info


def shred(path: Path) -> None:
    """Overwrite a key file with random bytes before unlinking it (best effort on journaling/SSD)."""
    try:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(os.urandom(max(size, 1)))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise files.file_error("delete", path, exc) from exc
