"""What the Metadata API answers, as values ``soap.response`` writes: DeployResult, FileProperties.

Field names and order follow the Metadata API's WSDL (jsforce ``api/metadata/schema.js``): jsforce
casts a result with that schema, filling what is missing, so extra realism costs nothing and a
missing field never crashes sf. Times are ISO 8601 in UTC with milliseconds, as Salesforce sends.
"""

from __future__ import annotations

import time
from typing import Any

from ..org_setup import Component
from .registry import TYPES
from .run import DeployOutcome, Message


def iso(seconds: float) -> str:
    millis = round(seconds * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _message(m: Message, created_date: str) -> dict[str, Any]:
    return {
        "changed": m.changed,
        "columnNumber": m.column,
        "componentType": m.component_type,
        "created": m.created,
        "createdDate": created_date,
        "deleted": False,
        "fileName": m.file_name,
        "fullName": m.full_name,
        "id": m.record_id,
        "lineNumber": m.line,
        "problem": m.problem,
        "problemType": None if m.success else "Error",
        "success": m.success,
    }


def deploy_result(outcome: DeployOutcome, *, done: bool, include_details: bool) -> dict[str, Any]:
    """A DeployResult: in progress (``done`` False) or final."""
    created = iso(outcome.started_at)
    details = None
    if done and include_details:
        details = {
            "componentFailures": [_message(m, created) for m in outcome.failures],
            "componentSuccesses": [_message(m, created) for m in outcome.successes],
            "runTestResult": {"numFailures": 0, "numTestsRun": 0, "totalTime": 0},
        }
    return {
        "checkOnly": outcome.options.check_only,
        "completedDate": iso(outcome.completed_at) if done else None,
        "createdBy": outcome.user.user_id,
        "createdByName": outcome.user.username.split("@", 1)[0],
        "createdDate": created,
        "details": details,
        "done": done,
        "errorMessage": outcome.error_message if done else None,
        "errorStatusCode": outcome.error_status_code if done else None,
        "id": outcome.deploy_id,
        "ignoreWarnings": outcome.options.ignore_warnings,
        "lastModifiedDate": iso(outcome.completed_at),
        "numberComponentErrors": len(outcome.failures) if done else 0,
        "numberComponentsDeployed": outcome.deployed if done else 0,
        "numberComponentsTotal": outcome.total,
        "numberTestErrors": 0,
        "numberTestsCompleted": 0,
        "numberTestsTotal": 0,
        "rollbackOnError": outcome.options.rollback_on_error,
        "runTestsEnabled": False,
        "startDate": created,
        "status": outcome.status if done else "InProgress",
        "success": bool(done and outcome.success),
    }


def file_properties(component: Component, root: str = "") -> dict[str, Any]:
    mtype = TYPES[component.type_name]
    by = component.created_by
    return {
        "createdById": by.user_id,
        "createdByName": by.username.split("@", 1)[0],
        "createdDate": iso(component.created_at),
        "fileName": root + mtype.file_path(component.full_name),
        "fullName": component.full_name,
        "id": component.record_id,
        "lastModifiedById": by.user_id,
        "lastModifiedByName": by.username.split("@", 1)[0],
        "lastModifiedDate": iso(component.modified_at),
        "manageableState": "unmanaged",
        "type": component.type_name,
    }
