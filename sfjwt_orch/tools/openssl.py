"""openssl: argv builders, pure parsers of its output, and a thin adapter over the runner.

We only ever pass *paths* to openssl, never key material, so nothing secret reaches a command
line (`ps` shows argv to every user on the machine).
"""

from __future__ import annotations

import contextlib
import re
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.tools.runner import CommandResult, ProcessRunner, ProgramNotFound, Runner, Running, find_program

TIMEOUT = 120.0  # a 4096-bit genrsa can take a few seconds on a slow machine; never minutes
DEFAULT_BITS = 2048  # a new key's size (keygen, bootstrap, rotate)
DEFAULT_DAYS = 365  # a new certificate's lifetime
_SUBJECT = re.compile(r"^(/[A-Za-z]+=[^/]*)+$")


def check_subject(subject: str) -> str:
    if not _SUBJECT.fullmatch(subject):
        raise SfjwtError(
            Code.USAGE,
            f"invalid certificate subject {subject!r}",
            'write it as openssl -subj does, e.g. --subject "/CN=my-hub-org/O=Acme"',
        )
    return subject


# --- argv builders (the manual genrsa / req / x509 steps, without prompts) ---


def new_key_argv(exe: str, bits: int) -> list[str]:
    # The manual `genrsa` step: a new unencrypted RSA key (PKCS#8 PEM) on stdout, a pipe to us (we
    # write the file, 0600); never a terminal, and never a file anyone could catch half-written.
    return [exe, "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}"]


def self_signed_argv(exe: str, key: Path, days: int, subject: str) -> list[str]:
    # The manual `req` + `x509 -req -signkey` pair in one process (`req -x509`): a SHA-256
    # certificate for the key at that path, on stdout.
    return [exe, "req", "-new", "-x509", "-sha256", "-key", str(key), "-days", str(days), "-subj", subject]


def key_modulus_argv(exe: str, key: Path) -> list[str]:
    # An empty -passin makes an encrypted key fail at once instead of prompting on the terminal.
    return [exe, "rsa", "-in", str(key), "-passin", "pass:", "-noout", "-modulus"]


# --- pure parsers ---


def parse_modulus(text: str) -> int | None:
    m = re.search(r"^Modulus=([0-9A-Fa-f]+)\s*$", text, re.MULTILINE)
    return int(m.group(1), 16) if m else None


def pem_problem(text: str) -> str | None:
    """Why this text is not an unencrypted RSA private key in PEM, or None if it may be one.

    Catches what jsonwebtoken would later reject as "secretOrPrivateKey must be an asymmetric
    key" so the user hears the real cause, not the wrapped one.
    """
    if not text.strip():
        return "the key file is empty"
    if "\x00" in text or "\ufffd" in text:
        return "the key file is binary, not PEM text"
    if "BEGIN CERTIFICATE" in text:
        return "this is a certificate (server.crt), not the private key (server.key)"
    if "BEGIN PUBLIC KEY" in text or "BEGIN RSA PUBLIC KEY" in text:
        return "this is a public key, not the private key"
    if "BEGIN ENCRYPTED PRIVATE KEY" in text or "Proc-Type: 4,ENCRYPTED" in text:
        return "the key is protected by a passphrase, which sf cannot use"
    if "BEGIN EC PRIVATE KEY" in text:
        return "this is an EC key; Salesforce's JWT flow needs an RSA key"
    if "BEGIN OPENSSH PRIVATE KEY" in text:
        return "this is an OpenSSH key, not a PEM RSA key"
    m = re.search(r"-----BEGIN (RSA )?PRIVATE KEY-----(.*?)-----END (RSA )?PRIVATE KEY-----", text, re.DOTALL)
    if m is None:
        return "no PEM private key block (BEGIN PRIVATE KEY ... END PRIVATE KEY) found"
    if "\n" not in m.group(2).strip("\r\n"):
        return "the PEM body has lost its line breaks (a one-line secret?)"
    return None


# --- the adapter ---


@dataclass(frozen=True)
class PendingKey:
    """A key being made: openssl searches for two primes, 0.05-0.5 s at random."""

    bits: int
    running: Running


class Openssl:
    def __init__(self, runner: Runner, exe: str, env: Mapping[str, str]) -> None:
        self.runner = runner
        self.exe = exe
        self.env = env

    @classmethod
    def find(cls, runner: Runner, env: Mapping[str, str]) -> Openssl:
        """openssl on PATH (or at $SFJWT_ORCH_OPENSSL); OPENSSL_NOT_FOUND when there is none."""
        try:
            return cls(runner, find_program("openssl", "SFJWT_ORCH_OPENSSL", env), env)
        except ProgramNotFound as exc:
            raise openssl_unusable(exc.reason) from None

    def _run(self, argv: list[str]) -> CommandResult:
        return _in_time(self._start(argv).finish(TIMEOUT))

    def _start(self, argv: list[str]) -> Running:
        try:
            return self.runner.start(argv, env=self.env)
        except ProgramNotFound as exc:  # found, but it cannot be started (a broken file, a noexec mount)
            raise openssl_unusable(exc.reason) from None

    def start_key(self, bits: int) -> PendingKey:
        """openssl searching for a new key's primes: the key begun at start-up (head_start) when it
        has this size, else a new one."""
        if _begun:
            begun = _begun.pop()
            if begun.bits == bits:
                self.runner.adopt(begun.running)  # traced from now on, as this runner's own runs (--verbose)
                return begun
            begun.running.cancel()
        return PendingKey(bits, self._start(new_key_argv(self.exe, bits)))

    def finish_key(self, pending: PendingKey) -> str:
        """The new key's PEM; the process is stopped if anything goes wrong."""
        try:
            result = _succeeded(_in_time(pending.running.finish(TIMEOUT)))
        finally:
            pending.running.cancel()
        if pem_problem(result.stdout) is not None:
            raise SfjwtError(
                Code.OPENSSL_FAILED,
                "openssl genpkey did not write a private key",
                "check that openssl works: openssl version",
            )
        return result.stdout

    def self_signed(self, key: Path, days: int, subject: str) -> str:
        """A new self-signed certificate's PEM for the key at `key`."""
        result = self._run(self_signed_argv(self.exe, key, days, subject))
        _succeeded(result)
        if "-----BEGIN CERTIFICATE-----" not in result.stdout:
            raise SfjwtError(
                Code.OPENSSL_FAILED,
                "openssl req did not write a certificate",
                "check that openssl works: openssl version",
            )
        return result.stdout

    def key_modulus(self, key: Path) -> int | None:
        result = self._run(key_modulus_argv(self.exe, key))
        return parse_modulus(result.stdout) if result.returncode == 0 else None

    def version(self) -> str:
        result = self._run([self.exe, "version"])
        return result.stdout.strip()


# --- keygen's head start: the one speed trick, known to this module alone (and __main__, which calls it) ---

# The key head_start began and no start_key has taken yet (at most one).
_begun: list[PendingKey] = []


@contextlib.contextmanager
def head_start(env: Mapping[str, str]) -> Iterator[None]:
    """Begin a key of the default size now, before the CLI is imported, for this run's start_key to
    take (__main__ does, for a keygen of the default size); stop it on the way out if nothing took it.

    Most of a keygen is openssl's search for two primes (0.05-0.5 s at random) and Python and Typer
    take ~0.15 s to start, so the two overlap: 14 % of a keygen here (scripts/bench's "head start"
    row, docs/performance.md); kept while it saves 10 % or more. Nothing is written before keygen's
    checks pass: the key waits in a pipe. A refused, failed or interrupted run stops it."""
    # Until the CLI's error boundary is up, SIGTERM and SIGHUP (a cancelled CI job, a closed
    # terminal) must end us as Ctrl-C does, through the `finally` below: their default would leave
    # openssl (in its own session) running. cli.main installs the same for the rest of the run.
    previous = {sig: signal.signal(sig, _as_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with contextlib.suppress(SfjwtError):  # no usable openssl: keygen finds the same and says so
            _begun.append(Openssl.find(ProcessRunner(), env).start_key(DEFAULT_BITS))
        yield
    finally:
        while _begun:
            _begun.pop().running.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def openssl_unusable(reason: str) -> SfjwtError:
    """openssl is missing, or was found but cannot be started."""
    return SfjwtError(
        Code.OPENSSL_NOT_FOUND,
        f"openssl cannot be used: {reason}",
        "install it (apt-get install openssl, brew install openssl), or set SFJWT_ORCH_OPENSSL to its path",
    )


def _in_time(result: CommandResult) -> CommandResult:
    if result.timed_out:
        raise SfjwtError(
            Code.OPENSSL_FAILED,
            f"openssl {result.argv[1]} did not finish in {TIMEOUT:.0f} s",
            "check that openssl works: openssl version",
        )
    return result


def _succeeded(result: CommandResult) -> CommandResult:
    if result.returncode != 0:
        raise SfjwtError(
            Code.OPENSSL_FAILED,
            f"openssl {result.argv[1]} failed: {_last_line(result.stderr)}",
            "check that openssl works (openssl version) and the arguments are valid",
        )
    return result


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"
