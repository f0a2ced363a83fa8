"""Preflight and health checks, each with pass/warn/fail and the fix.

Everything that makes `sf org login jwt` fail locally or fail later (a key others can read, a
certificate that no longer matches, an expired certificate, a Lightning URL, a sandbox user on the
production login host) is found here without a single request to Salesforce, except the last
check, which asks sf whether it still holds a working login for the alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from shlex import quote
from typing import Literal

from sfjwt_orch import approval, config, files, keys, sf
from sfjwt_orch.deps import Deps, find_sf, openssl_for, sf_unusable
from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.openssl import Openssl
from sfjwt_orch.runner import ProgramNotFound

Result = Literal["pass", "warn", "fail"]
_TLDS = {
    "com",
    "org",
    "net",
    "io",
    "co",
    "edu",
    "gov",
    "mil",
    "biz",
    "info",
    "dev",
    "app",
    "cloud",
    "ai",
    "us",
    "uk",
    "de",
    "fr",
    "nl",
    "es",
    "it",
    "ch",
    "at",
    "be",
    "se",
    "no",
    "dk",
    "fi",
    "pl",
    "ie",
    "pt",
    "jp",
    "cn",
    "in",
    "au",
    "ca",
    "br",
    "mx",
    "nz",
    "sg",
    "za",
    "eu",
    "tech",
    "example",
}


@dataclass(frozen=True)
class Check:
    name: str
    result: Result
    detail: str
    fix: str = ""


def sandbox_hint(username: str, instance_url: str) -> str | None:
    """Sandbox usernames carry the sandbox name as a suffix (me@acme.com.uat)."""
    last = username.rsplit(".", 1)[-1].lower()
    if instance_url.rstrip("/") == approval.PRODUCTION and "@" in username and last not in _TLDS:
        return f"{username} looks like a sandbox username (suffix .{last}) but logs in at {instance_url}"
    return None


def run(alias: str | None, deps: Deps, now: datetime | None = None) -> list[Check]:
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    sf_exe: str | None = None
    openssl: Openssl | None = None
    try:
        sf_exe = find_sf(deps.env)
        result = deps.runner.run(sf.version_argv(sf_exe), timeout=60, env=sf.sf_env(deps.env, ""))
        version = sf.parse_version(result.stdout)
        checks.append(
            Check("sf", "pass", f"{sf_exe}: {version}")
            if version
            else Check("sf", "fail", f"{sf_exe} --version failed", "reinstall: npm install -g @salesforce/cli")
        )
    except SfjwtError as exc:
        checks.append(Check("sf", "fail", exc.message, exc.fix))
    except ProgramNotFound as exc:  # found, but it cannot be started: no sf check below can run
        sf_exe, err = None, sf_unusable(exc.reason)
        checks.append(Check("sf", "fail", err.message, err.fix))
    try:
        openssl = openssl_for(deps)
        checks.append(Check("openssl", "pass", openssl.version()))
    except SfjwtError as exc:
        checks.append(Check("openssl", "fail", exc.message, exc.fix))
    if alias is None:
        aliases = config.list_aliases(deps.paths)
        checks.append(
            Check(
                "profiles",
                "pass" if aliases else "warn",
                f"{len(aliases)} saved: {', '.join(aliases)}" if aliases else "none saved yet",
                "" if aliases else "sfjwt-orch bootstrap --alias NAME",
            )
        )
        return checks
    try:
        profile = config.load(deps.paths, alias)
    except SfjwtError as exc:
        return [*checks, Check("profile", "fail", exc.message, exc.fix)]
    if profile is None:
        return [*checks, Check("profile", "fail", f"no profile for {alias}", f"sfjwt-orch bootstrap --alias {alias}")]
    missing = [name for name in ("client_id", "username", "instance_url", "key_file") if not getattr(profile, name)]
    checks.append(
        Check(
            "profile",
            "fail" if missing else "pass",
            f"missing {', '.join(missing)}" if missing else str(deps.paths.profile_file(alias)),
            f"sfjwt-orch bootstrap --alias {alias}" if missing else "",
        )
    )
    checks.extend(_key_checks(profile, openssl, now))
    checks.extend(_url_checks(profile))
    if sf_exe is not None:
        checks.append(_sf_auth(alias, profile, sf_exe, deps))
    return checks


def _key_checks(profile: config.Profile, openssl: Openssl | None, now: datetime) -> list[Check]:
    if not profile.key_file:
        return []
    key_path = Path(profile.key_file)
    if not key_path.is_file():
        return [Check("key", "fail", f"{key_path} does not exist", f"sfjwt-orch bootstrap --alias {profile.alias}")]
    out: list[Check] = []
    if files.is_group_or_world_readable(key_path):
        mode = oct(key_path.stat().st_mode & 0o777)[2:]
        out.append(
            Check(
                "key permissions",
                "fail",
                f"{key_path} is mode {mode}: readable by others",
                f"chmod 600 {quote(str(key_path))}",
            )
        )
    else:
        out.append(Check("key permissions", "pass", "0600"))
    try:  # read in Python; openssl, when there is one, must be able to read it too
        key = keys.check_key_file(key_path, openssl, check_mode=False)
        out.append(Check("key", "pass", f"unencrypted RSA, {key.bits} bits"))
    except SfjwtError as exc:
        return [*out, Check("key", "fail", exc.message, exc.fix)]
    cert_path = Path(profile.cert_file) if profile.cert_file else key_path.parent / keys.CERT_NAME
    if not cert_path.is_file():
        return [
            *out,
            Check(
                "certificate",
                "warn",
                f"{cert_path} not found; cannot check it matches the key",
                "keep the certificate you uploaded next to the key",
            ),
        ]
    try:
        info = keys.read_cert(cert_path)
        keys.check_pair(key, info, cert_path)
        out.append(Check("key matches certificate", "pass", f"fingerprint {info.fingerprint_sha256}"))
    except SfjwtError as exc:
        return [*out, Check("key matches certificate", "fail", exc.message, exc.fix)]
    left = info.not_after - now
    renew = f"make a new one: sfjwt-orch keygen --alias {profile.alias} --force, upload it, log in again"
    if left <= timedelta(0):
        out.append(Check("certificate expiry", "fail", f"expired on {info.not_after:%Y-%m-%d}", renew))
    elif left < timedelta(days=30):
        out.append(
            Check("certificate expiry", "warn", f"expires in {left.days} days ({info.not_after:%Y-%m-%d})", renew)
        )
    else:
        out.append(Check("certificate expiry", "pass", f"valid until {info.not_after:%Y-%m-%d}"))
    return out


def _url_checks(profile: config.Profile) -> list[Check]:
    if not profile.instance_url:
        return []
    try:
        url = approval.check_instance_url(profile.instance_url)
    except SfjwtError as exc:
        return [Check("instance URL", "fail", exc.message, exc.fix)]
    hint = sandbox_hint(profile.username, url)
    if hint:
        return [Check("instance URL", "warn", hint, "use --sandbox or the sandbox's My Domain URL")]
    return [Check("instance URL", "pass", url)]


def _sf_auth(alias: str, profile: config.Profile, sf_exe: str, deps: Deps) -> Check:
    env = sf.sf_env(deps.env, profile.instance_url)
    outcome = sf.parse_display(
        deps.runner.run(sf.display_argv(sf_exe, alias), timeout=sf.run_timeout(deps.env), env=env)
    )
    fix = f"log in again: sfjwt-orch login --alias {alias}"
    if isinstance(outcome, sf.Diagnosis):
        return Check("sf login", "fail", f"sf holds no working login for {alias}", fix)
    if not outcome.connected:
        return Check("sf login", "fail", f"sf org display says {outcome.status or 'not connected'}", fix)
    return Check("sf login", "pass", f"Connected: {outcome.username} in org {outcome.org_id}")
