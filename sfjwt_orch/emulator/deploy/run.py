"""One deploy, start to finish: read the zip, check every component, write them or fail them.

The outcome is what ``checkDeployStatus`` reports (jsforce ``src/api/metadata.ts`` DeployResult, as
forcedotcom/source-deploy-retrieve ``src/client/metadataApiDeploy.ts`` reads it): per-component successes or
failures with ``fileName`` kept under ``zip/``, and one success for ``package.xml``. With
``rollbackOnError`` (sf's default) one failure fails the whole deploy and nothing is written; without
it (``--ignore-errors``) the good components are written and the status is SucceededPartial.
``checkOnly`` (``--dry-run``) checks and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from .. import ids
from ..model import Switches, User
from ..org_setup import OrgSetup
from .apply import apply
from .archive import ArchiveError, Problem, read_archive
from .checks import Parsed, check_file
from .rules import check_rules

Status = Literal["Succeeded", "SucceededPartial", "Failed"]


@dataclass(frozen=True)
class DeployOptions:
    check_only: bool = False
    single_package: bool = False
    rollback_on_error: bool = True
    ignore_warnings: bool = False


@dataclass(frozen=True)
class Message:
    """A DeployMessage: one component's success or failure."""

    component_type: str
    file_name: str
    full_name: str
    success: bool
    created: bool = False
    changed: bool = False
    record_id: str | None = None
    problem: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class DeployOutcome:
    deploy_id: str
    status: Status
    options: DeployOptions
    user: User
    started_at: float
    completed_at: float
    messages: tuple[Message, ...] = ()
    error_message: str | None = None
    error_status_code: str | None = None
    total: int = field(default=0)

    @property
    def success(self) -> bool:
        return self.status != "Failed"

    @property
    def failures(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if not m.success)

    @property
    def successes(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.success)

    @property
    def deployed(self) -> int:
        return sum(1 for m in self.successes if m.component_type)


def _failure(problem: Problem) -> Message:
    return Message(
        problem.component_type,
        problem.file_name,
        problem.full_name,
        False,
        problem=problem.text,
        line=problem.line,
        column=problem.column,
    )


def run_deploy(
    zip_b64: str,
    options: DeployOptions,
    *,
    setup: OrgSetup,
    user: User,
    switches: Switches,
    org_id: str,
    api_version: float,
) -> DeployOutcome:
    deploy_id = ids.record_id(ids.DEPLOY_REQUEST)
    started = setup.now()
    base = DeployOutcome(deploy_id, "Failed", options, user, started, started)
    try:
        archive = read_archive(zip_b64, single_package=options.single_package, default_version=api_version)
    except ArchiveError as exc:
        return replace(base, error_message=str(exc), error_status_code="UNKNOWN_EXCEPTION")
    problems = list(archive.problems)
    parsed: list[Parsed] = []
    for source in archive.files:
        checked = check_file(source, archive.version)
        if isinstance(checked, Problem):
            problems.append(checked)
        else:
            parsed.append(checked)
    with setup.transaction():
        problems.extend(check_rules(parsed, setup, switches))
        failed = {(p.component_type, p.full_name.casefold()) for p in problems}
        good = [p for p in parsed if (p.type_name, p.full_name.casefold()) not in failed]
        status: Status = "Succeeded" if not problems else "Failed" if options.rollback_on_error else "SucceededPartial"
        if status == "SucceededPartial" and not good:
            status = "Failed"
        written = (
            [] if status == "Failed" or options.check_only else apply(good, setup, user, switches, org_id, setup.now())
        )
    messages = [_failure(p) for p in problems]
    if status != "Failed":
        by_name = {(a.parsed.type_name, a.parsed.full_name): a for a in written}
        for p in good:
            applied = by_name.get((p.type_name, p.full_name))
            created = applied.created if applied else setup.component(p.type_name, p.full_name) is None
            record_id = applied.record_id if applied else None
            messages.append(
                Message(p.type_name, p.source.file_name, p.full_name, True, created, not created, record_id)
            )
        messages.append(Message("", archive.package_file, "package.xml", True, changed=True))
    return DeployOutcome(
        deploy_id,
        status,
        options,
        user,
        started,
        setup.now(),
        tuple(messages),
        total=len(archive.files),
    )
