"""Key material: generate a key and self-signed certificate, and check a key before sf sees it."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from shlex import quote  # paths in the fixes we print: they must paste into a shell

from sfjwt_orch import files
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.openssl import Openssl, PendingPair, check_subject, pem_problem
from sfjwt_orch.x509 import CertificateError, KeyFormatError, certificate_from_pem, private_key_modulus

KEY_NAME = "server.key"
CERT_NAME = "server.crt"
MIN_BITS = 2048  # jsonwebtoken (inside sf) refuses smaller RSA keys for RS256
MAX_BITS = 16384


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


def keygen(req: KeygenRequest, openssl: Openssl, pending: PendingPair | None = None) -> KeygenResult:
    """Write server.key (0600) and server.crt into req.out_dir (0700), never half-written.

    `pending` is a pair already being made (sfjwt_orch.headstart), used if it is the one asked
    for. openssl hands both over through a pipe; they are written to 0600 temp files in the same
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
    wanted = (req.bits, req.days, req.subject)
    if pending is None or (pending.bits, pending.days, pending.subject) != wanted:
        pending = openssl.start_pair(*wanted)
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
        check_pair(check_key_file(tmp_key, name=str(key_file)), info, cert_file)
        tmp_cert.chmod(0o644)  # the certificate is public: it is what users upload
        try:
            os.replace(tmp_key, key_file)
            os.replace(tmp_cert, cert_file)
        except OSError as exc:
            raise files.file_error("write", key_file, exc) from exc
    return KeygenResult(key_file, cert_file, info.fingerprint_sha256, info.not_after)


@dataclass(frozen=True)
class CertInfo:
    fingerprint_sha256: str  # AB:CD:…, as openssl prints it
    not_after: datetime
    modulus: int


def read_cert(path: Path) -> CertInfo:
    """Fingerprint, expiry and modulus of a PEM certificate, read in Python (no openssl start)."""
    fix = "pass the server.crt made with the key, or regenerate both: sfjwt-orch keygen --alias NAME --force"
    try:
        info = certificate_from_pem(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise SfjwtError(Code.CERT_INVALID, f"cannot read certificate {path}: {exc.strerror}", fix) from None
    except CertificateError as exc:
        raise SfjwtError(Code.CERT_INVALID, f"{path} is not a usable certificate: {exc}", fix) from None
    if info.not_after is None:
        raise SfjwtError(Code.CERT_INVALID, f"{path} is a public key, not a certificate", fix)
    return CertInfo(info.fingerprint_colons, info.not_after, info.public_key.n)


@dataclass(frozen=True)
class KeyInfo:
    path: Path
    bits: int
    modulus: int


def check_key_file(
    path: Path, openssl: Openssl | None = None, *, check_mode: bool = True, name: str | None = None
) -> KeyInfo:
    """Refuse anything sf would choke on, with the real reason, before starting sf.

    The key is parsed in Python (no process start on every login); with `openssl`, openssl must
    also be able to read it, for keys that came from outside (--key-env).
    """
    fix_generic = "point --key-file at the unencrypted RSA private key (server.key) whose certificate is on the app"
    try:
        if path.is_dir():
            raise SfjwtError(Code.KEY_INVALID, f"{path} is a folder, not a key file", fix_generic)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SfjwtError(
            Code.KEY_NOT_FOUND,
            f"key file {path} does not exist",
            "create one with: sfjwt-orch keygen --alias NAME, or pass --key-file PATH",
        ) from None
    except PermissionError:
        raise SfjwtError(
            Code.KEY_INVALID,
            f"key file {path} is not readable by you",
            f"fix its owner or mode: chmod 600 {quote(str(path))}",
        ) from None
    except OSError as exc:
        raise SfjwtError(Code.KEY_INVALID, f"cannot read key file {path}: {exc.strerror}", fix_generic) from None
    if check_mode and files.is_group_or_world_readable(path):
        # As OpenSSH does: a private key others can read is compromised-in-waiting.
        raise SfjwtError(
            Code.KEY_INVALID,
            f"key file {path} is readable by other users",
            f"restrict it: chmod 600 {quote(str(path))}",
        )
    shown = name or str(path)
    problem = pem_problem(raw.decode("utf-8", errors="replace"))
    if problem is not None:
        raise SfjwtError(Code.KEY_INVALID, f"{shown}: {problem}", _fix_for(problem, path))
    try:
        modulus = private_key_modulus(raw.decode("utf-8", errors="replace"))
    except KeyFormatError as exc:
        fix = _fix_for("EC key", path) if "not an RSA key" in str(exc) else fix_generic
        raise SfjwtError(Code.KEY_INVALID, f"{shown}: not a usable RSA private key ({exc})", fix) from None
    if openssl is not None and openssl.key_modulus(path) != modulus:
        raise SfjwtError(Code.KEY_INVALID, f"{shown}: openssl cannot read it as an RSA private key", fix_generic)
    bits = modulus.bit_length()
    if bits < MIN_BITS:
        raise SfjwtError(
            Code.KEY_INVALID,
            f"{shown}: RSA key of {bits} bits; sf needs at least {MIN_BITS}",
            "generate a new key (sfjwt-orch keygen --alias NAME --force) and upload its certificate",
        )
    return KeyInfo(path, bits, modulus)


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
        return normalise_pem(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SfjwtError):
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
