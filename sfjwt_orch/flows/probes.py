"""The checks bootstrap and doctor share, with one policy for each finding.

Each probe returns Findings (pass / warn / fail, with the fix) and never raises for what it was
asked to judge; bootstrap turns a failed finding into its error, doctor lists them all.
Policies, stated once:
- sf works only if `sf --version` exits 0 and names the CLI's version.
- An expired app certificate is a warning, not a failure: Salesforce keeps verifying JWTs with it
  past its expiry, so the login works; it is worth renewing before a policy notices. The same from
  30 days before the expiry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from shlex import quote
from typing import Literal

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import certs, material
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import files
from sfjwt_orch.tools.openssl import Openssl
from sfjwt_orch.tools.sf import OrgDisplay, SfFailed
from sfjwt_orch.tools.sf import node as nodes
from sfjwt_orch.tools.sf.local import state_problem

Result = Literal["pass", "warn", "fail"]
EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class Finding:
    name: str
    result: Result
    detail: str
    fix: str = ""
    code: Code | None = None  # the error code a failed finding stands for

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if k != "code"}

    def error(self) -> SfjwtError:
        return SfjwtError(self.code or Code.UNKNOWN, self.detail, self.fix)


def _failed(name: str, exc: SfjwtError) -> Finding:
    return Finding(name, "fail", exc.message, exc.fix, exc.code)


def sf_tool(ctx: Context) -> tuple[Finding, str | None]:
    """sf's finding, and its version when it works: which sf (tools/sf/discover.py), that it
    answers `--version`, and that the Node it runs on is one its HTTP client declares it needs."""
    found = None
    try:
        sf = ctx.sf()
        found = sf.found()
        version = sf.version()
    except SfFailed as exc:
        if exc.code is not Code.SF_FAILED or found is None:
            return _failed("sf", exc), None
        # sf was found but `sf --version` failed: a crash at its start names the Node to install
        # (parse.sf_failed); never "reinstall", which gives the same sf on the same Node.
        return Finding("sf", "fail", f"{found.exe} --version did not work: {exc.message}", exc.fix, exc.code), None
    exe = found.exe
    root = nodes.locate(exe, ctx.env).root
    need = nodes.client_need(root) if root is not None else None
    node = nodes.parse_version(version.partition("node")[2])
    problem = need.problem(node) if need is not None and node is not None else None
    if need is not None and problem is not None:
        return Finding("sf", "fail", f"{exe}: {problem}", need.fix(), Code.SF_FAILED), None
    why = "; ".join((found.why, *found.skipped))
    return Finding("sf", "pass", f"{exe}: {version} ({why})"), version


def openssl_tool(ctx: Context) -> tuple[Finding, Openssl | None]:
    """openssl's finding, and openssl when it was found (even if it does not run: a key check
    that needs it then fails with the reason, instead of passing without it)."""
    try:
        openssl = ctx.openssl()
    except SfjwtError as exc:
        return _failed("openssl", exc), None
    try:
        return Finding("openssl", "pass", openssl.version()), openssl
    except SfjwtError as exc:
        return _failed("openssl", exc), openssl


def key_mode(key_path: Path) -> Finding:
    if files.is_group_or_world_readable(key_path):
        mode = oct(key_path.stat().st_mode & 0o777)[2:]
        detail = f"{key_path} is mode {mode}: readable by others"
        return Finding("key permissions", "fail", detail, f"chmod 600 {quote(str(key_path))}", Code.KEY_INVALID)
    return Finding("key permissions", "pass", "0600")


def certificate(
    key: material.KeyInfo, cert_path: Path, alias: str, now: datetime
) -> tuple[list[Finding], certs.CertInfo | None]:
    """Does the certificate belong to the key, and how long has it left?"""
    try:
        info = certs.read_cert(cert_path)
        certs.check_pair(key, info, cert_path)
    except SfjwtError as exc:
        return [_failed("key matches certificate", exc)], None
    return [
        Finding("key matches certificate", "pass", f"fingerprint {info.fingerprint_sha256}"),
        expiry(info, alias, now),
    ], info


def stale_certificate_fix(alias: str, cert_path: Path) -> str:
    """A key and a certificate file that are not a pair (issue 24 item 5): which one the app holds is
    settled by a login, not by replacing the key. `keygen --force` (the generic fix) would replace a
    key that may be the very one the app verifies, and break a working login."""
    return (
        f"run sfjwt-orch login --alias {alias}: if it works, the app holds this key's certificate and "
        f"{cert_path} is a stale file: name this key's certificate with sfjwt-orch bootstrap --alias {alias} "
        "--key-file <the key> --cert-file <its certificate>, or delete the cert_file line of the profile; if it "
        "fails with INVALID_ASSERTION, the app holds another key's certificate: upload this key's certificate "
        "in Setup (do not replace the key with keygen --force: the app would need a new upload)"
    )


def expiry(info: certs.CertInfo, alias: str, now: datetime) -> Finding:
    left = info.not_after - now
    renew = f"rotate it: sfjwt-orch rotate --alias {alias} (with --target-org ADMIN to update the app too)"
    if left <= timedelta(0):
        fix = f"Salesforce still accepts an expired app certificate, but renew it: {renew}"
        return Finding("certificate expiry", "warn", f"expired on {info.not_after:%Y-%m-%d}", fix)
    if left < EXPIRY_WARNING:
        return Finding("certificate expiry", "warn", f"expires in {left.days} days ({info.not_after:%Y-%m-%d})", renew)
    return Finding("certificate expiry", "pass", f"valid until {info.not_after:%Y-%m-%d}")


# The last label of ordinary email domains: anything else at the end of a username hints at a sandbox suffix.
_TLDS = frozenset(
    {
        *("com", "org", "net", "io", "co", "edu", "gov", "mil", "biz", "info", "dev", "app", "cloud", "ai"),
        *("us", "uk", "de", "fr", "nl", "es", "it", "ch", "at", "be", "se", "no", "dk", "fi", "pl", "ie"),
        *("pt", "jp", "cn", "in", "au", "ca", "br", "mx", "nz", "sg", "za", "eu", "tech", "example"),
    }
)


def sandbox_hint(username: str, instance_url: str) -> str | None:
    """Sandbox usernames carry the sandbox name as a suffix (me@acme.com.uat)."""
    last = username.rsplit(".", 1)[-1].lower()
    if instance_url.rstrip("/") == validate.PRODUCTION and "@" in username and last not in _TLDS:
        return f"{username} looks like a sandbox username (suffix .{last}) but logs in at {instance_url}"
    return None


def instance_url(url: str, username: str, allow_any_host: bool = False) -> Finding:
    try:
        url = validate.check_instance_url(url, allow_any_host=allow_any_host)
    except SfjwtError as exc:
        return _failed("instance URL", exc)
    hint = sandbox_hint(username, url)
    if hint:
        return Finding("instance URL", "warn", hint, "use --sandbox or the sandbox's My Domain URL")
    return Finding("instance URL", "pass", url)


def sf_state(ctx: Context) -> Finding:
    """Can sf read its own files (~/.sfdx, alias.json, key.json, its config)? Read without sf."""
    found = state_problem(ctx.env)
    if found is None:
        return Finding("sf's files", "pass", "~/.sfdx readable")
    return Finding("sf's files", "fail", found.message, found.fix, Code.SF_STATE_BROKEN)


def sf_login(alias: str, ctx: Context) -> tuple[Finding, OrgDisplay | None]:
    """Does sf still hold a working login for the alias?"""
    fix = f"log in again: sfjwt-orch login --alias {alias}"
    try:
        outcome = ctx.sf().display(alias)
    except SfFailed as exc:
        # A broken file: logging in again would meet it too, so it is named with its own fix.
        if exc.code in (Code.SF_NOT_FOUND, Code.SF_STATE_BROKEN):
            return _failed("sf login", exc), None
        return Finding("sf login", "fail", f"sf holds no working login for {alias}", fix, exc.code), None
    if not outcome.connected:
        detail = f"sf org display says {outcome.status or 'not connected'}"
        return Finding("sf login", "fail", detail, fix, Code.SF_FAILED), outcome
    return Finding("sf login", "pass", f"Connected: {outcome.username} in org {outcome.org_id}"), outcome
