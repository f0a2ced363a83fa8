"""Key material: generate a key and self-signed certificate, and check a key before sf sees it.

Certificates and keys are parsed with pyca/cryptography, imported inside the functions that need
it: `login`'s success path (quick_check_key_file), --help and --version never load it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from shlex import quote  # paths in the fixes we print: they must paste into a shell

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.store import files
from sfjwt_orch.tools.openssl import Openssl, pem_problem

KEY_NAME = "server.key"
CERT_NAME = "server.crt"
MIN_BITS = 2048  # jsonwebtoken (inside sf) refuses smaller RSA keys for RS256
MAX_BITS = 16384


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
    return checked_key(path, openssl, check_mode=check_mode, name=name, validate=True)


def checked_key(path: Path, openssl: Openssl | None, *, check_mode: bool, name: str | None, validate: bool) -> KeyInfo:
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


def read_key(path: Path) -> bytes:
    """The bytes of a key file that may hold a key (type, size and PEM shape checked; mode not)."""
    return _read_key_text(path, None)[0]


def _read_key_text(path: Path, name: str | None) -> tuple[bytes, int]:
    """The key file's bytes and mode, once it is a readable regular file whose text may be a key."""
    try:
        raw, mode = files.read_small_file(path, "key")
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
    except files.NotAFileToRead as exc:
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
        with files.private_temp(folder, ".key") as tmp:
            tmp.write(pem.encode("ascii"), key_file)  # a full disk is a FILE_ERROR, not a crash
            info = check_key_file(tmp.path, openssl, name=source)  # a broken key is KEY_INVALID, whatever exists
            if key_file.exists() and _normalised_or_none(key_file) != pem:
                # Replacing it would orphan the certificate uploaded for it; CI machines start empty anyway.
                raise SfjwtError(
                    Code.KEY_EXISTS,
                    f"{key_file} already holds a different key than {source}",
                    "use another --alias for that key, or remove the alias's key first "
                    "(sfjwt-orch logout --alias NAME --shred-key)",
                )
            tmp.publish(key_file)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return KeyInfo(key_file, info.bits, info.modulus)


def _normalised_or_none(path: Path) -> str | None:
    try:
        raw, _ = files.read_small_file(path, "key")
        return normalise_pem(raw.decode("utf-8", errors="replace"))
    except (OSError, files.NotAFileToRead, SfjwtError):
        return None


def removable_key(path: Path, key_root: Path) -> str | None:
    """Why `path` must not be shredded or deleted, or None when it may be: only a regular file
    (not a symlink: shredding would overwrite its target) inside the tool's own key folder. A key
    the user brought from elsewhere stays where it is; it may be theirs for other uses too."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None  # nothing to do; shred() says nothing either
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return "it is a symlink (its target was not touched)"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    root = key_root.resolve()
    if not path.parent.resolve().is_relative_to(root):
        return f"it is outside sfjwt-orch's key folder ({root}): a file you brought is yours to remove"
    return None


def shred(path: Path) -> None:
    """Overwrite a key file with random bytes before unlinking it (best effort on journaling/SSD).
    Opened with O_NOFOLLOW: a symlink swapped in after removable_key is refused, not followed."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            os.write(fd, os.urandom(max(os.fstat(fd).st_size, 1)))
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise files.file_error("delete", path, exc) from exc
