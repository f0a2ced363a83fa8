"""Pure parsers for the sf commands an admin runs to create an app: project deploy start, org list
metadata, project retrieve start and org assign permset (their JSON as sf 2.150 prints it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfjwt_orch.errors import Code
from sfjwt_orch.tools.runner import CommandResult
from sfjwt_orch.tools.sf.catalog import CONSUMER_SECRETS, Diagnosis, is_consumer_secrets_refusal, one_line
from sfjwt_orch.tools.sf.parse import Output, sf_failed


@dataclass(frozen=True)
class ComponentProblem:
    type: str
    name: str
    problem: str

    def __str__(self) -> str:
        return f"{self.type} {self.name}: {self.problem}" if self.name else self.problem


@dataclass(frozen=True)
class Deployed:
    """A finished deploy: `problems` is empty when it succeeded."""

    problems: tuple[ComponentProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_deploy(result: CommandResult) -> Deployed | Diagnosis:
    """sf project deploy start --json: exit 0 and status 0 when every component deployed; exit 1
    with result.files[] (state "Failed", error) naming each component's problem otherwise."""
    out = Output.of(result)
    failed = sf_failed(out, "sf project deploy start")
    if failed is not None:
        return failed
    if out.ok:
        return Deployed()
    problems = _component_problems(out.doc.get("result") if out.doc else None)
    if problems:
        return Deployed(problems)
    message = one_line(out.message)[:300] or out.excerpt()
    if out.name == "NoOrgFound" or "NoAuthFound" in out.name or "No authorization information" in message:
        return Diagnosis(Code.ADMIN_ORG_NOT_FOUND, f"sf knows no org for the admin alias: {message}", "")
    return Deployed((ComponentProblem("", "", message),))


def _component_problems(res: Any) -> tuple[ComponentProblem, ...]:
    if not isinstance(res, dict):
        return ()
    found: list[ComponentProblem] = []
    for item in res.get("files") or []:
        if isinstance(item, dict) and (item.get("state") == "Failed" or item.get("problemType") == "Error"):
            found.append(_problem(item, "error"))
    details = res.get("details")
    failures = details.get("componentFailures") if isinstance(details, dict) else None
    if not found and failures:
        for item in failures if isinstance(failures, list) else [failures]:
            if isinstance(item, dict):
                found.append(_problem(item, "problem"))
    if not found and res.get("errorMessage"):
        found.append(ComponentProblem("", "", one_line(str(res["errorMessage"]))[:300]))
    return tuple(found)


def _problem(item: dict[str, Any], key: str) -> ComponentProblem:
    kind = str(item.get("type") or item.get("componentType") or "")
    return ComponentProblem(kind, str(item.get("fullName") or ""), one_line(str(item.get(key) or ""))[:300])


def parse_list_metadata(result: CommandResult) -> list[str] | Diagnosis:
    """sf org list metadata --json: the components' full names (an empty list when there are none)."""
    out = Output.of(result)
    failed = sf_failed(out, "sf org list metadata")
    if failed is not None:
        return failed
    if not out.ok:
        return Diagnosis(Code.SF_FAILED, f"sf org list metadata failed: {one_line(out.message)[:200]}", "")
    res = out.doc.get("result") if out.doc else None
    items = res if isinstance(res, list) else [res] if isinstance(res, dict) else []
    return [str(i["fullName"]) for i in items if isinstance(i, dict) and i.get("fullName")]


@dataclass(frozen=True)
class Assigned:
    """sf org assign permset: assigned now, or already before."""

    already: bool = False


def parse_assign(result: CommandResult) -> Assigned | Diagnosis:
    out = Output.of(result)
    failed = sf_failed(out, "sf org assign permset")
    if failed is not None:
        return failed
    res = out.doc.get("result") if out.doc else None
    failures = res.get("failures") if isinstance(res, dict) else None
    if out.ok and not failures:
        return Assigned()
    if failures and isinstance(failures, list) and isinstance(failures[0], dict):
        message = one_line(str(failures[0].get("message") or ""))[:300]
        if "Duplicate PermissionSetAssignment" in message or "DUPLICATE_VALUE" in message:
            return Assigned(already=True)
        return Diagnosis(Code.PERMSET_ASSIGN_FAILED, message, "")
    message = one_line(out.message)[:300] or out.excerpt()
    if "SingleRecordQuery_NoRecords" in out.name or "No record found for SELECT Id FROM User" in message:
        return Diagnosis(Code.INTEGRATION_USER_NOT_FOUND, message, "")
    return Diagnosis(Code.PERMSET_ASSIGN_FAILED, message, "")


def parse_retrieve(result: CommandResult) -> Diagnosis | None:
    """sf project retrieve start --json: None when the files were retrieved (read them from the
    target folder), else what went wrong."""
    out = Output.of(result)
    failed = sf_failed(out, "sf project retrieve start")
    if failed is not None:
        return failed
    if out.ok:
        return None
    if is_consumer_secrets_refusal(out.message):
        entry = CONSUMER_SECRETS
        return Diagnosis(entry.code, f"{entry.message}: {one_line(out.message)[:200]}", entry.fix)
    return Diagnosis(Code.SF_FAILED, f"sf project retrieve start failed: {one_line(out.message)[:200]}", "")
