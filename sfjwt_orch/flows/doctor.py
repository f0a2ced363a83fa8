"""Preflight and health checks, each with pass/warn/fail and the fix.

Everything that makes `sf org login jwt` fail locally or fail later (a key others can read, a
certificate that no longer matches or is about to expire, a Lightning URL, a sandbox user on the
production login host) is found here without a request to Salesforce, except the last check,
which asks sf whether it still holds a working login for the alias.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.flows import probes
from sfjwt_orch.flows.probes import Finding
from sfjwt_orch.keys import material
from sfjwt_orch.salesforce import login_urls, spring26
from sfjwt_orch.store import files, profiles, state
from sfjwt_orch.store.suggest import alias_hint
from sfjwt_orch.tools.openssl import Openssl
from sfjwt_orch.tools.sf.local import is_dev_hub


@dataclass(frozen=True)
class DoctorReport:
    alias: str | None
    checks: tuple[Finding, ...]
    certificate_days_left: int | None = None  # negative once expired; None when unknown

    @property
    def ok(self) -> bool:
        return not any(c.result == "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {result: sum(c.result == result for c in self.checks) for result in ("pass", "warn", "fail")}

    def error(self) -> SfjwtError | None:
        """CHECK_FAILED (exit 6) with the first failed check's words; each check keeps its own code."""
        failed = [c for c in self.checks if c.result == "fail"]
        if not failed:
            return None
        first = failed[0]
        message = f"{len(failed)} check(s) failed; the first: {first.name}: {first.detail}"
        return SfjwtError(Code.CHECK_FAILED, message, first.fix)

    def to_json(self) -> dict[str, Any]:
        error = self.error()
        return {
            "ok": self.ok,
            "alias": self.alias,
            "checks": [c.to_json() for c in self.checks],
            "certificate_days_left": self.certificate_days_left,
            "error": error.to_json() if error else None,
        }


def diagnose(alias: str | None, ctx: Context, now: datetime | None = None) -> DoctorReport:
    now = now or datetime.now(UTC)
    checks = [probes.sf_tool(ctx)[0], probes.sf_state(ctx)]
    found, openssl = probes.openssl_tool(ctx)
    checks.append(found)
    if alias is None:
        aliases = profiles.list_aliases(ctx.paths)
        checks.append(
            Finding("profiles", "pass", f"{len(aliases)} saved: {', '.join(aliases)}")
            if aliases
            else Finding("profiles", "warn", "none saved yet", "sfjwt-orch bootstrap --alias NAME")
        )
        return DoctorReport(alias, tuple(checks))
    # sf found but failing `--version` may still answer `org display`; sf missing cannot.
    sf_found = checks[0].code is not Code.SF_NOT_FOUND
    found_checks, days_left = _alias_checks(alias, ctx, openssl, now, sf_found)
    checks.extend(found_checks)
    return DoctorReport(alias, tuple(checks), days_left)


def _alias_checks(
    alias: str, ctx: Context, openssl: Openssl | None, now: datetime, sf_found: bool
) -> tuple[list[Finding], int | None]:
    try:
        profile = profiles.load(ctx.paths, alias)
    except SfjwtError as exc:
        return [Finding("profile", "fail", exc.message, exc.fix, exc.code)], None
    bootstrap = f"sfjwt-orch bootstrap --alias {alias}"
    if profile is None:
        return [Finding("profile", "fail", f"no profile for {alias}{alias_hint(ctx.paths, alias)}", bootstrap)], None
    missing = [name for name in ("client_id", "username", "instance_url", "key_file") if not getattr(profile, name)]
    checks = [
        Finding("profile", "fail", f"missing {', '.join(missing)}", bootstrap)
        if missing
        else Finding("profile", "pass", str(ctx.paths.profile_file(alias)))
    ]
    key_checks, days_left = _key_checks(profile, openssl, now)
    checks.extend(key_checks)
    if profile.instance_url:
        checks.append(probes.instance_url(profile.instance_url, profile.username, profile.allow_non_salesforce_host))
    if sf_found:
        checks.append(probes.sf_login(alias, ctx)[0])
    checks.extend(_spring26_checks(alias, profile.instance_url, ctx))
    return checks, days_left


def _spring26_checks(alias: str, instance_url: str, ctx: Context) -> list[Finding]:
    """docs/platform-2026.md: an ECA behind a generic login host (it refuses that audience), and a
    Dev Hub (as sf found it at login) whose app is an ECA cannot create scratch orgs (C-1016)."""
    known = state.load(ctx.paths, alias)
    found = []
    if known.app_kind == "eca" and login_urls.is_generic(instance_url or "https://login.salesforce.com"):
        detail = f"the app is an External Client App and the login URL is the generic {instance_url or 'login host'}"
        found.append(Finding("audience", "warn", detail, spring26.my_domain_fix(instance_url, known.instance_url)))
    if is_dev_hub(alias, ctx.env):
        result, detail = spring26.dev_hub_finding(known.app_kind)
        found.append(Finding("scratch orgs", result, detail, spring26.SCRATCH_REMEDY if result == "warn" else ""))
    return found


def _key_checks(profile: profiles.Profile, openssl: Openssl | None, now: datetime) -> tuple[list[Finding], int | None]:
    if not profile.key_file:
        return [], None
    key_path = Path(profile.key_file).expanduser()
    if files.is_pipe(key_path):  # never opened here: a FIFO nobody writes to would hang the open
        fix = f"import it once: sfjwt-orch login --alias {profile.alias} --key-file <(…) (it is kept 0600)"
        piped = Finding("key", "fail", f"{key_path} is a pipe, which sf cannot read again", fix, Code.KEY_INVALID)
        return [piped], None
    if not key_path.is_file():
        why = "is not a regular file" if key_path.exists() else "does not exist"
        missing = Finding("key", "fail", f"{key_path} {why}", f"sfjwt-orch bootstrap --alias {profile.alias}")
        return [missing], None
    out = [probes.key_mode(key_path)]
    try:  # read in Python; openssl, when there is one, must be able to read it too
        key = material.check_key_file(key_path, openssl, check_mode=False)
        out.append(Finding("key", "pass", f"unencrypted RSA, {key.bits} bits"))
    except SfjwtError as exc:
        return [*out, Finding("key", "fail", exc.message, exc.fix, exc.code)], None
    cert_path = profile.cert_path(key_path)
    if not cert_path.is_file():
        return [
            *out,
            Finding(
                "certificate",
                "warn",
                f"{cert_path} not found; cannot check it matches the key",
                "keep the certificate you uploaded next to the key",
            ),
        ], None
    findings, info = probes.certificate(key, cert_path, profile.alias, now)
    if info is None and findings[0].detail.endswith(f"does not belong to {key.path}"):
        # The profile's key and certificate are not a pair: a login settles which one the app holds,
        # never a new key (issue 24 item 5).
        findings = [replace(findings[0], fix=probes.stale_certificate_fix(profile.alias, cert_path))]
    return [*out, *findings], (info.not_after - now).days if info else None
