"""ci export: a complete CI job that logs in as one profile, or a matrix job over a fleet of them.

Everything is checked before anything is written: the install source, each alias, the secret names,
the keys (with --include-key), the output file. The key never goes inside the CI file: the file gets
committed. With --include-key it is printed apart, for the CI's secret store only.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sfjwt_orch.ci import plan, render
from sfjwt_orch.ci.plan import Plan, Target
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, usage
from sfjwt_orch.flows import login_request
from sfjwt_orch.flows.status import AliasStatus, certificate_problems
from sfjwt_orch.keys import material
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import files, profiles
from sfjwt_orch.store.suggest import alias_hint

Format = Literal["github", "gitlab", "env"]
FORMATS: tuple[Format, ...] = ("github", "gitlab", "env")


@dataclass(frozen=True)
class Request:
    fmt: Format
    alias: str | None = None  # one profile: a plain job reading SF_JWT_KEY
    aliases: tuple[str, ...] | None = None  # --aliases: a matrix job, one SF_JWT_KEY_<ALIAS> each
    all: bool = False  # --all: every complete profile
    include_key: bool = False
    pip_spec: str | None = None
    sf_version: str = plan.SF_VERSION
    output: Path | None = None
    force: bool = False
    oidc: bool = False  # a keyless job (login --oidc, issue 23): flows/ci_export_oidc.py

    @property
    def fleet(self) -> bool:
        return self.all or self.aliases is not None


@dataclass(frozen=True)
class Export:
    fmt: Format
    targets: tuple[Target, ...]
    fleet: bool
    text: str  # the CI file (or the NAME=value list): never a key, unless --format env --include-key
    jobs: list[str]
    keys: dict[str, str]  # secret name -> base64 of the key, only with --include-key
    skipped: list[dict[str, str]] = field(default_factory=list)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)  # profiles a pipeline cannot use as they are

    def variables(self) -> dict[str, str] | None:
        """One alias's login values by the names the job uses (the key too, when asked for)."""
        if self.fleet:
            return None
        t = self.targets[0]
        values = {"SF_CLIENT_ID": t.client_id, "SF_USERNAME": t.username, "SF_INSTANCE_URL": t.instance_url}
        return {**values, **({t.key_var: self.keys[t.key_var]} if self.keys else {})}

    def secrets(self) -> dict[str, list[str]]:
        """Each secret the job reads, and the aliases that log in with it (one key, one secret)."""
        named: dict[str, list[str]] = {}
        for t in self.targets:
            named.setdefault(t.key_var, []).append(t.alias)
        return named

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "alias": None if self.fleet else self.targets[0].alias,
            "aliases": [t.alias for t in self.targets],
            "format": self.fmt,
            "output": str(self.output) if self.output else None,
            "jobs": self.jobs,
            "variables": self.variables(),
            "secrets": [
                {
                    "name": name,
                    "alias": aliases[0],
                    "aliases": aliases,
                    **({"value": self.keys[name]} if self.keys else {}),
                }
                for name, aliases in self.secrets().items()
            ],
            "skipped": self.skipped,
            "warnings": self.warnings,
            "snippet": self.text,
        }


def failure_shape(req: Request) -> dict[str, Any]:
    """The --json document's fields when the export failed."""
    return {"alias": req.alias, "aliases": list(req.aliases or ()) or None, "format": req.fmt, "output": None,
            "jobs": None, "variables": None, "secrets": None, "skipped": None, "warnings": None,
            "snippet": None}  # fmt: skip


def export(req: Request, ctx: Context) -> Export:
    if req.oidc:
        from sfjwt_orch.flows import ci_export_oidc  # here, not at the top: ci_export_oidc imports this module

        return ci_export_oidc.export(req, ctx)  # type: ignore[return-value]  # the fields the command reads
    if req.fleet and req.fmt == "env":
        raise usage("--format env is for one alias", "pass --format github or gitlab with --all or --aliases")
    if req.fmt == "env" and req.include_key and req.output is not None:
        raise usage("--format env --include-key --output would write the key to a file",
                    "drop --output: paste the printed key into your CI's secret store")  # fmt: skip
    pip_spec = plan.check_pip_spec(req.pip_spec, req.fmt) if req.fmt != "env" else ""
    sf_version = plan.check_sf_version(req.sf_version)
    chosen, skipped = _shared_secrets(*_chosen(req, ctx)) if req.fleet else _chosen(req, ctx)
    targets = tuple(target for _, target in chosen)
    warnings = [w for profile, target in chosen for w in _unusable(profile, target)]
    plan.check_opt_ins(targets)
    keys = {target.key_var: _key_base64(profile) for profile, target in chosen} if req.include_key else {}
    the_plan = Plan(targets, pip_spec, sf_version, matrix=req.fleet)
    if req.fmt == "env":
        text, jobs = _env_list(targets[0], keys), []
    else:
        text, jobs = render.render(the_plan, req.fmt, _command(req)), render.job_ids(the_plan, req.fmt)
    if req.output is not None:
        write_output(req.output, text, force=req.force)
    return Export(req.fmt, targets, req.fleet, text, jobs, keys, skipped, req.output, warnings)


Chosen = list[tuple[profiles.Profile, Target]]


def _shared_secrets(chosen: Chosen, skipped: list[dict[str, str]]) -> tuple[Chosen, list[dict[str, str]]]:
    """Aliases that log in with one key file (a sandbox derived from production) read one secret:
    the first alias's, so the secret store holds each key once."""
    first: dict[Path, str] = {}
    shared: Chosen = []
    for profile, target in chosen:
        key = Path(profile.key_file).expanduser().resolve()
        var = first.setdefault(key, target.key_var)
        shared.append((profile, dataclasses.replace(target, key_var=var)))
    return shared, skipped


def _unusable(profile: profiles.Profile, target: Target) -> list[str]:
    """Why a pipeline cannot log in as this profile as it is (the job is still written): a login
    URL a CI runner cannot reach, or what `status` would report broken without asking sf."""
    url = urlsplit(target.instance_url)
    found = []
    if (url.hostname or "") in LOOPBACK or (url.hostname or "").startswith("127."):
        found.append(f"{target.alias} logs in at {target.instance_url}: a loopback address no CI runner can reach")
    elif url.scheme != "https":
        found.append(f"{target.alias} logs in at {target.instance_url}: not https, which Salesforce requires")
    row = AliasStatus(target.alias, "", "", "", None, False, "")
    certificate_problems(profile, row, datetime.now(UTC))
    found += [f"{target.alias}: {problem}" for problem in row.problems]
    return found


LOOPBACK = frozenset({"localhost", "::1", "[::1]"})


def _chosen(req: Request, ctx: Context) -> tuple[Chosen, list[dict[str, str]]]:
    """The profiles to export with their targets, and (with --all) the ones skipped and why. A named
    alias that is unknown or incomplete is an error before anything is written."""
    if not req.all:
        names = list(req.aliases) if req.aliases is not None else [req.alias or ""]
        if req.fleet:
            known = set(profiles.list_aliases(ctx.paths))
            unknown = [name for name in names if name not in known]
            if unknown:
                raise usage(f"unknown alias {', '.join(map(repr, unknown))}", "sfjwt-orch profiles list shows them")
        plan.check_key_vars(names)
        for name in names:
            if profiles.load(ctx.paths, name) is None and (hint := alias_hint(ctx.paths, name)):
                raise SfjwtError(Code.PROFILE_NOT_FOUND, f"no profile for alias {name!r}{hint}",
                                 "see the saved ones: sfjwt-orch profiles list")  # fmt: skip
        return [_target(profiles.load(ctx.paths, name), name, req.fleet) for name in names], []
    chosen: Chosen = []
    skipped: list[dict[str, str]] = []
    for alias in profiles.list_aliases(ctx.paths):
        try:
            chosen.append(_target(profiles.load(ctx.paths, alias), alias, fleet=True))
        except SfjwtError as exc:  # one broken or unfinished profile must not block the fleet's file
            skipped.append({"alias": alias, "reason": exc.message})
    if not chosen:
        raise SfjwtError(Code.PROFILE_NOT_FOUND, "no complete profile to export",
                         "set one up first: sfjwt-orch bootstrap --alias NAME")  # fmt: skip
    plan.check_key_vars([target.alias for _, target in chosen])
    return chosen, skipped


def _target(profile: profiles.Profile | None, alias: str, fleet: bool) -> tuple[profiles.Profile, Target]:
    """A profile with every value a CI login needs, each valid (a profile file is hand-editable)."""
    fix = f"set it up first: sfjwt-orch bootstrap --alias {alias}"
    if profile is None or not (profile.client_id and profile.username):
        missing = "no profile" if profile is None else "no consumer key" if not profile.client_id else "no username"
        raise SfjwtError(Code.PROFILE_NOT_FOUND, f"no complete profile for alias {alias!r} ({missing})", fix)
    try:
        target = Target(
            alias=alias,
            client_id=validate.check_client_id(profile.client_id),
            username=validate.check_username(profile.username),
            instance_url=login_request.instance_url(profile),
            key_var=plan.key_var_for(alias) if fleet else plan.SINGLE_KEY_VAR,
            allow_any_host=profile.allow_non_salesforce_host,
        )
    except SfjwtError as exc:
        raise SfjwtError(Code.PROFILE_INVALID, f"profile {alias!r}: {exc.message}", fix) from None
    return profile, target


def _key_base64(profile: profiles.Profile) -> str:
    # The key checks' own read: its type and size first, never more than a key's worth of bytes.
    raw = material.read_key(Path(profile.key_file).expanduser())
    return base64.b64encode(raw).decode("ascii")


def _env_list(target: Target, keys: dict[str, str]) -> str:
    """NAME=value lines, made for secret stores (the key only when asked for)."""
    key = keys.get(target.key_var, "<base64 of the key: run again with --include-key>")
    values = {"SF_CLIENT_ID": target.client_id, "SF_USERNAME": target.username,
              "SF_INSTANCE_URL": target.instance_url, target.key_var: key}  # fmt: skip
    return "".join(f"{name}={value}\n" for name, value in values.items())


def _command(req: Request) -> str:
    """The `sfjwt-orch ci export …` that writes this file again (the file's header shows it)."""
    which = ["--all"] if req.all else ["--aliases", ",".join(req.aliases)] if req.aliases else [req.alias or ""]
    argv = ["sfjwt-orch", "ci", "export", *which, "--format", req.fmt, "--pip-spec", req.pip_spec or ""]
    if req.sf_version != plan.SF_VERSION:
        argv += ["--sf-version", req.sf_version]
    if req.output is not None:
        argv += ["--output", str(req.output)]
    return shlex.join(argv)


def write_output(path: Path, text: str, *, force: bool) -> None:
    """Write the CI file through a temp file and a rename; never replace a file we did not write
    (its first line is not our marker) unless --force."""
    if path.is_dir():
        raise usage(f"--output {path} is a folder", "name the file to write, e.g. .github/workflows/salesforce.yml")
    if path.exists() and not force and not _ours(path):
        raise usage(
            f"--output {path} exists and was not written by sfjwt-orch ci export",
            "pass --force to replace it, or name another file",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise files.file_error("create folder", path.parent, exc) from exc
    umask = os.umask(0)
    os.umask(umask)
    files.atomic_write(path, text, mode=0o666 & ~umask)  # a CI file is not secret: the usual mode


def _ours(path: Path) -> bool:
    try:
        raw, _mode = files.read_small_file(path, "CI file")
    except (OSError, files.NotAFileToRead):
        return False
    return raw.startswith(f"# {plan.MARKER}".encode())
