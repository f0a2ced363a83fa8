"""status: every saved profile at a glance, for people and for monitoring scripts.

Per alias: the user, the org (and the one before, when a refresh put a new org behind the
alias), the login URL, the certificate's days left, whether sf still holds a working login
(asked of sf for every alias at once, bounded), and the last successful login.
An alias needs attention when sf holds no working login for it, its certificate has expired or
expires within 30 days, or its profile is incomplete; each says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.flows import parallel, probes
from sfjwt_orch.keys import certs
from sfjwt_orch.store import profiles, state
from sfjwt_orch.tools.sf import OrgDisplay, SfFailed


@dataclass
class AliasStatus:
    alias: str
    username: str
    org_id: str
    login_url: str
    certificate_days_left: int | None
    sf_login: bool
    last_login: str
    problems: list[str] = field(default_factory=list)
    # The org the alias reached before a different one answered (a refreshed sandbox): not a problem.
    org_changed_from: str | None = None
    org_changed_at: str | None = None

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class StatusReport:
    rows: tuple[AliasStatus, ...]
    skipped: tuple[str, ...]  # profiles that could not be read, with the reason

    @property
    def ok(self) -> bool:
        return all(r.healthy for r in self.rows) and not self.skipped

    def error(self) -> SfjwtError | None:
        """CHECK_FAILED (exit 6) when an alias needs attention or a profile could not be read."""
        needing = [r for r in self.rows if not r.healthy]
        if self.ok:
            return None
        first = f"{needing[0].alias}: {'; '.join(needing[0].problems)}" if needing else self.skipped[0]
        message = f"{len(needing) + len(self.skipped)} profile(s) need attention; the first: {first}"
        return SfjwtError(Code.CHECK_FAILED, message, "see the attention column: each problem names its fix")

    def to_json(self) -> dict[str, Any]:
        error = self.error()
        return {
            "ok": self.ok,
            "profiles": [{**asdict(r), "healthy": r.healthy} for r in self.rows],
            "skipped": list(self.skipped),
            "error": error.to_json() if error else None,
        }


def status(ctx: Context, now: datetime | None = None) -> StatusReport:
    now = now or datetime.now(UTC)
    saved, problems = profiles.load_all(ctx.paths)
    rows = parallel.run_all(saved, lambda p: _one(p, ctx, now))
    return StatusReport(tuple(rows), tuple(p.message for p in problems))


def _one(profile: profiles.Profile, ctx: Context, now: datetime) -> AliasStatus:
    known = state.load(ctx.paths, profile.alias)
    row = AliasStatus(
        alias=profile.alias,
        username=profile.username,
        org_id=known.org_id,
        login_url=profile.instance_url,
        certificate_days_left=None,
        sf_login=False,
        last_login=known.last_login,
        org_changed_from=known.previous_org_id or None,
        org_changed_at=known.org_changed_at or None,
    )
    missing = [name for name in ("client_id", "username", "instance_url", "key_file") if not getattr(profile, name)]
    if missing:
        row.problems.append(f"profile incomplete: no {', '.join(missing)}")
    certificate_problems(profile, row, now)
    shown: OrgDisplay | None = None
    try:
        shown = ctx.sf().display(profile.alias)
    except SfFailed as exc:
        if exc.code is Code.SF_NOT_FOUND:
            row.problems.append(exc.message)
            return row
    row.sf_login = shown is not None and shown.connected
    if shown is not None and shown.org_id and known.org_id and shown.org_id != known.org_id:
        # sf's login for the alias now reaches another org than sfjwt-orch's last login did.
        row.org_changed_from, row.org_changed_at, row.org_id = known.org_id, None, shown.org_id
    if not row.sf_login:
        row.problems.append(f"sf holds no working login (sfjwt-orch login --alias {profile.alias})")
    return row


def certificate_problems(profile: profiles.Profile, row: AliasStatus, now: datetime) -> None:
    key = Path(profile.key_file).expanduser() if profile.key_file else None
    cert = profile.cert_path(key) if key else None
    if cert is None or not cert.exists():
        return
    try:
        info = certs.read_cert(cert)
    except SfjwtError as exc:
        row.problems.append(exc.message)
        return
    row.certificate_days_left = (info.not_after - now).days
    if info.not_after <= now:
        row.problems.append(
            f"certificate expired on {info.not_after:%Y-%m-%d} (sfjwt-orch rotate --alias {profile.alias})"
        )
    elif info.not_after - now < probes.EXPIRY_WARNING:
        row.problems.append(
            f"certificate expires in {row.certificate_days_left} days (sfjwt-orch rotate --alias {profile.alias})"
        )
