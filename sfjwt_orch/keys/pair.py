"""Making a key pair: a new RSA key and its self-signed certificate with openssl, written whole or
not at all; and a new certificate for a key that has none."""

from __future__ import annotations

import importlib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from shlex import quote

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys.certs import CertInfo, check_pair, read_cert
from sfjwt_orch.keys.material import CERT_NAME, KEY_NAME, MAX_BITS, MIN_BITS, checked_key
from sfjwt_orch.store import files, profiles
from sfjwt_orch.tools.openssl import DEFAULT_BITS, DEFAULT_DAYS, Openssl, check_subject


@dataclass(frozen=True)
class KeygenRequest:
    out_dir: Path
    bits: int = DEFAULT_BITS
    days: int = DEFAULT_DAYS
    subject: str = "/CN=sfjwt-orch"
    force: bool = False
    own_dir: bool = True  # our alias folder (kept 0700), not a folder the user named


@dataclass(frozen=True)
class KeygenResult:
    key_file: Path
    cert_file: Path
    fingerprint_sha256: str
    not_after: datetime

    def as_profile(self, alias: str) -> profiles.Profile:
        """The pair as a profile's answers, to lay over the saved ones (config.Profile.merged)."""
        return profiles.Profile(alias, key_file=str(self.key_file), cert_file=str(self.cert_file))

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

    openssl hands the key over through a pipe; it is written to a 0600 temp file in the same
    folder, openssl signs its certificate from there, and both are renamed into place only after
    the certificate has been read back and matched to the key, so an interrupted run leaves the
    old pair (or none).
    """
    check_keygen_request(req)
    key_file, cert_file = _target(req)
    pending = openssl.start_key(req.bits)
    try:
        _import_cryptography()  # now, while openssl searches for primes, not after it in the read-back below
        key_pem = openssl.finish_key(pending)
    finally:  # a no-op once it finished; otherwise openssl must not outlive a failure
        pending.running.cancel()
    with (
        files.private_temp(req.out_dir, ".key") as tmp_key,
        files.private_temp(req.out_dir, ".crt") as tmp_cert,
    ):
        tmp_key.write(key_pem.encode("ascii"), key_file)  # a full disk is a FILE_ERROR, not a crash
        tmp_cert.write(openssl.self_signed(tmp_key.path, req.days, req.subject).encode("ascii"), cert_file)
        info = read_cert(tmp_cert.path)
        # openssl made this key a moment ago: read it back, but skip re-proving its primes.
        key = checked_key(tmp_key.path, None, check_mode=True, name=str(key_file), validate=False)
        check_pair(key, info, cert_file)
        tmp_cert.chmod(0o644)  # the certificate is public: it is what users upload
        tmp_key.publish(key_file)
        tmp_cert.publish(cert_file)
    return KeygenResult(key_file, cert_file, info.fingerprint_sha256, info.not_after)


def _target(req: KeygenRequest) -> tuple[Path, Path]:
    """The key's and the certificate's paths, once the folder is ready for them."""
    key_file, cert_file = req.out_dir / KEY_NAME, req.out_dir / CERT_NAME
    if key_file.exists() and not req.force:
        raise SfjwtError(
            Code.KEY_EXISTS,
            f"{key_file} already exists",
            "reuse it, or pass --force to replace it (then upload the new server.crt to the app)",
        )
    files.ensure_private_dir(req.out_dir, tighten=req.own_dir)
    if not req.own_dir:
        check_out_dir(req.out_dir)
    return key_file, cert_file


def check_out_dir(folder: Path) -> None:
    """Refuse a folder (--out-dir) that another user could plant files in: they could swap our
    temp file's name for a symlink to theirs, or rename the key away. A folder others can write
    to is fine only with the sticky bit (as /tmp has), and only when it is the user's own."""
    try:
        st = folder.lstat()
    except OSError as exc:
        raise files.file_error("use", folder, exc) from exc
    fix = "use a folder only you can write to, e.g. mkdir -m 700 ~/sf-keys, then --out-dir ~/sf-keys"
    if st.st_uid != os.geteuid():
        raise SfjwtError(Code.FILE_ERROR, f"--out-dir {folder} belongs to another user (uid {st.st_uid})", fix)
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise SfjwtError(
            Code.FILE_ERROR,
            f"--out-dir {folder} can be written by other users (mode {stat.S_IMODE(st.st_mode):o}, no sticky bit)",
            f"restrict it (chmod go-w {quote(str(folder))}), or {fix}",
        )


def _import_cryptography() -> None:
    """Load what read_cert and check_key_file import, so their own imports are then look-ups."""
    for module in ("cryptography.x509", "cryptography.hazmat.primitives.serialization"):
        importlib.import_module(module)


def cert_for_key(key_file: Path, cert_file: Path, days: int, subject: str, openssl: Openssl) -> CertInfo:
    """A new self-signed certificate for an existing key (the key is kept)."""
    pem = openssl.self_signed(key_file, days, subject)
    with files.private_temp(cert_file.parent, ".crt") as tmp:
        tmp.write(pem.encode("ascii"), cert_file)
        info = read_cert(tmp.path)
        tmp.chmod(0o644)
        tmp.publish(cert_file)
    return info
