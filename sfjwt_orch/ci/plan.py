"""What a CI login job is made of before it is YAML: the orgs it logs in, the secret each reads,
where it installs sf and sfjwt-orch from, and its split over a CI system's matrix limit. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sfjwt_orch.errors import usage

# The sf the project tests against (scripts/setup pins the same one); --sf-version overrides it.
SF_VERSION = "2.150.6"
# sf 2.150 declares node >= 22; 24 (active LTS) is the Node scripts/setup runs sf with.
NODE_VERSION = "24"
PYTHON_VERSION = "3.12"
# The one-alias job reads this secret, as `login --key-env SF_JWT_KEY` always has.
SINGLE_KEY_VAR = "SF_JWT_KEY"
JOB = "salesforce-login"
# The first comment of every file we write: `--output` replaces only files that start with it.
MARKER = "Written by sfjwt-orch ci export"


@dataclass(frozen=True)
class Target:
    """One org a job logs in: the values `login` needs, and the name of the secret holding its key."""

    alias: str
    client_id: str
    username: str
    instance_url: str
    key_var: str
    allow_any_host: bool = False  # the profile's --allow-non-salesforce-host: a pipeline has no profile


@dataclass(frozen=True)
class Plan:
    targets: tuple[Target, ...]
    pip_spec: str
    sf_version: str
    matrix: bool  # a fleet (--all, --aliases): one matrix entry per target; else one plain job

    @property
    def key_vars(self) -> list[str]:
        return list(dict.fromkeys(t.key_var for t in self.targets))  # aliases sharing a key share its secret

    @property
    def login_flags(self) -> str:
        """Flags every login of the file needs beyond the values: the saved opt-in for a login host
        that is not Salesforce's (checked to be the same for all targets by `check_opt_ins`)."""
        return " --allow-non-salesforce-host" if self.targets and self.targets[0].allow_any_host else ""


def check_opt_ins(targets: Sequence[Target]) -> None:
    """One file, one login command: a fleet mixing hosts opted in and not is split by the user."""
    opted = sorted(t.alias for t in targets if t.allow_any_host)
    if opted and len(opted) != len(targets):
        raise usage(
            f"{', '.join(opted)} opted in to a non-Salesforce login host and the others did not",
            "export those aliases in a file of their own (--aliases)",
        )


def key_var_for(alias: str) -> str:
    """`SF_JWT_KEY_<ALIAS>`: upper-cased, `-` and `.` as `_` (CI secret names allow only [A-Z0-9_])."""
    return "SF_JWT_KEY_" + re.sub(r"[-.]", "_", alias.upper())


def check_key_vars(aliases: Sequence[str]) -> None:
    """Two aliases whose secret names are one (my-org, my.org, MY_ORG) would read one key: refused."""
    seen: dict[str, str] = {}
    for alias in aliases:
        name = key_var_for(alias)
        if name in seen:
            raise usage(
                f"aliases {seen[name]!r} and {alias!r} would both read the secret {name}",
                "export them in separate files (--aliases), or rename one profile",
            )
        seen[name] = alias


def job_id(n: int, count: int) -> str:
    """The n-th of `count` jobs: `salesforce-login`, or `salesforce-login-N` once split."""
    return JOB if count == 1 else f"{JOB}-{n}"


def job_ids(p: Plan, matrix_limit: int) -> list[str]:
    count = len(chunks(p.targets, matrix_limit)) if p.matrix else 1
    return [job_id(n, count) for n in range(1, count + 1)]


def chunks(targets: Sequence[Target], size: int) -> list[tuple[Target, ...]]:
    """The targets in order, `size` at a time: one job per chunk past a matrix limit."""
    return [tuple(targets[i : i + size]) for i in range(0, len(targets), size)] or [()]


_PIP_FIX = (
    "pass --pip-spec with a pinned source of sfjwt-orch: sfjwt-orch==X.Y.Z once a release is on PyPI "
    "(none is yet), else a wheel URL (https://…/sfjwt_orch-0.1.0-py3-none-any.whl), "
    "git+https://…/sfjwt-orch@<tag or commit>, or a wheel path in the repository"
)
# No quotes, spaces, `$`, backticks or `;` (a requirement, URL or path needs none); shlex.quote does the rest.
_PLAIN = re.compile(r"[A-Za-z0-9._~:/?#\[\]@+=%<>!,-]+")
_PINNED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?===?[A-Za-z0-9.+!_-]+")
_ARCHIVE = (".whl", ".tar.gz", ".zip")


def check_pip_spec(spec: str | None, fmt: str) -> str:
    """The install source the job pip-installs sfjwt-orch from: defined, and pinned to one version."""
    if not spec:
        raise usage(f"--format {fmt} needs --pip-spec: where the job installs sfjwt-orch from", _PIP_FIX)
    if not _PLAIN.fullmatch(spec):
        raise usage(f"--pip-spec {spec!r} has spaces, quotes or shell characters", _PIP_FIX)
    if spec.startswith("git+"):
        parts = urlsplit(spec[4:])
        ref = parts.path.rpartition("@")[2] if "@" in parts.path else ""
        if parts.scheme not in ("https", "ssh") or not ref or "/" in ref:
            raise usage(f"--pip-spec {spec} is not pinned to a tag or commit", _PIP_FIX)
        return spec
    if "://" in spec:
        parts = urlsplit(spec)
        if parts.scheme != "https":
            raise usage(f"--pip-spec {spec} is not an https URL", _PIP_FIX)
        if not parts.path.endswith(_ARCHIVE):
            raise usage(f"--pip-spec {spec} does not name one wheel or archive", _PIP_FIX)
        return spec
    if spec.endswith(".whl") or _PINNED_NAME.fullmatch(spec):
        return spec
    raise usage(f"--pip-spec {spec} is not pinned to one version", _PIP_FIX)


def check_sf_version(version: str) -> str:
    """An exact sf version (npm would otherwise resolve a range to whatever is newest that day)."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise usage(f"--sf-version {version!r} is not an exact version", f"pass one like {SF_VERSION}")
    return version
