"""The REST calls sf makes: ``/services/data`` (versions), ``/services/data/vNN.0`` (resources), the
SOQL queries under ``query`` or ``tooling/query``, and two sObject calls:

- ``GET sobjects/User/{id}``: ``sf org login access-token`` reads the username there (forcedotcom/sfdx-core
  ``src/org/authInfo.ts``, ``retrieveUserInfo``).
- ``POST sobjects/PermissionSetAssignment``: ``sf org assign permset`` (salesforcecli/plugin-user
  ``src/baseCommands/user/permset/assign.ts``, sfdx-core ``src/org/permissionSetAssignment.ts``); 201, or 400
  DUPLICATE_VALUE when the user holds the set already. Only an admin may assign.

and, on a Dev Hub, ``POST sobjects/ScratchOrgInfo`` and ``GET sobjects/ScratchOrgInfo/{id}``: ``sf org
create scratch`` (scratch.py).
"""

from __future__ import annotations

from typing import Any

from .. import pages, soql
from ..catalog import INVALID_SESSION, NOT_FOUND, OK
from ..http import Reply, Request, json_reply, record_body, rest_error
from ..model import User
from . import scratch
from .context import Context

DATA_PATH = "/services/data"

_ORGANIZATION_COLUMNS = (
    "Id",
    "Name",
    "InstanceName",
    "IsSandbox",
    "TrialExpirationDate",
    "NamespacePrefix",
    "OrganizationType",
)


def is_rest_path(path: str) -> bool:
    return path.rstrip("/") == DATA_PATH or path.startswith(DATA_PATH + "/")


def handle(ctx: Context, req: Request) -> Reply:
    parts = [p for p in req.path.split("/") if p]  # ["services", "data", "v62.0", ...]
    highest = int(ctx.config.api_version.split(".")[0])
    if len(parts) == 2:
        # The version list is public on Salesforce too (no session needed).
        return json_reply(200, pages.versions_body(highest), outcome="versions")
    user = ctx.session_user(req.headers.get("authorization", ""))
    if user is None:
        return json_reply(
            401,
            [dict(INVALID_SESSION)],
            outcome="invalid_session",
            headers=(("WWW-Authenticate", "Token"),),
        )
    version_text = parts[2]
    version = version_text[1:] if version_text.startswith("v") else ""
    major = version.split(".")[0]
    if not (version.endswith(".0") and major.isdigit() and 20 <= int(major) <= highest):
        return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
    rest = parts[3:]
    if not rest:
        return json_reply(200, pages.resources_body(version), outcome="resources")
    if rest in (["query"], ["tooling", "query"]) and req.method == "GET":
        status, payload = soql.run(req.query.get("q", ""), _tables(ctx, tooling=rest[0] == "tooling"), version)
        outcome = OK if status == 200 else str(payload[0]["errorCode"])
        return json_reply(status, payload, outcome=outcome)
    if rest[:1] == ["sobjects"]:
        return _sobjects(ctx, req, user, rest[1:], version)
    return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")


# --------------------------------------------------------------------------- queries


def _user_record(user: User) -> dict[str, Any]:
    return {
        "Id": user.user_id,
        "Username": user.username,
        "Name": user.username.split("@", 1)[0],
        "Email": user.username,
        "IsActive": user.active,
    }


def _tables(ctx: Context, *, tooling: bool) -> soql.Tables:
    org, setup = ctx.config.org, ctx.setup

    def table(name: str) -> soql.Table | None:
        key = name.casefold()
        if key == "organization":
            values = (org.org_id, org.name, org.instance_name, org.is_sandbox, org.trial_expiration_date)
            record = dict(zip(_ORGANIZATION_COLUMNS, (*values, org.namespace_prefix, org.edition), strict=True))
            return soql.Table(_ORGANIZATION_COLUMNS, [record])
        if key == "scratchorginfo" and org.is_dev_hub and not tooling:
            # ScratchOrgInfo is not a tooling object; sf only checks the status (< 400: a Dev Hub).
            return soql.Table(("Id",), [])
        if key == "user":
            return soql.Table(
                ("Id", "Username", "Name", "Email", "IsActive"), [_user_record(u) for u in ctx.state.users()]
            )
        if key == "permissionset":
            records = [
                {"Id": p.perm_set_id, "Name": p.name, "Label": p.label, "NamespacePrefix": None}
                for p in setup.permission_sets()
            ]
            return soql.Table(("Id", "Name", "Label", "NamespacePrefix"), records)
        if key == "permissionsetassignment":
            records = [{"Id": a, "AssigneeId": u, "PermissionSetId": p} for a, u, p in setup.assignments()]
            return soql.Table(("Id", "AssigneeId", "PermissionSetId"), records)
        if key == "externalclientapplication":
            records = [
                {"Id": c.record_id, "DeveloperName": c.full_name, "MasterLabel": c.field("label") or c.full_name}
                for c in setup.components("ExternalClientApplication")
            ]
            return soql.Table(("Id", "DeveloperName", "MasterLabel"), records)
        # Anything else, e.g. the tooling SandboxProcess query sf sends for sandbox-looking URLs.
        return None

    return table


# --------------------------------------------------------------------------- sObjects


def _sobjects(ctx: Context, req: Request, user: User, rest: list[str], version: str) -> Reply:
    if len(rest) == 2 and rest[0].casefold() == "user" and req.method == "GET":
        wanted = rest[1][:15]
        target = next((u for u in ctx.state.users() if u.user_id[:15] == wanted), None)
        if target is None:
            return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
        url = f"/services/data/v{version}/sobjects/User/{target.user_id}"
        return json_reply(200, {"attributes": {"type": "User", "url": url}, **_user_record(target)}, outcome=OK)
    if rest == ["PermissionSetAssignment"] and req.method == "POST":
        return _assign(ctx, req, user)
    if rest[:1] == ["ScratchOrgInfo"] and ctx.config.org.is_dev_hub:  # a Dev Hub's object only
        if len(rest) == 1 and req.method == "POST":
            return scratch.create(ctx, req, version)
        if len(rest) == 2 and req.method == "GET":
            return scratch.read(ctx, rest[1])
    return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")


def _assign(ctx: Context, req: Request, user: User) -> Reply:
    body = record_body(req, "PermissionSetAssignment", ("AssigneeId", "PermissionSetId"))
    if isinstance(body, Reply):
        return body
    if not user.admin:
        return rest_error(
            400,
            "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
            "insufficient access rights on cross-reference id",
        )
    assignee_id, perm_set_id = str(body["AssigneeId"]), str(body["PermissionSetId"])
    assignee = next((u for u in ctx.state.users() if u.user_id[:15] == assignee_id[:15]), None)
    permission_set = ctx.setup.permission_set(perm_set_id) if perm_set_id.startswith("0PS") else None
    for found, field, value in (
        (assignee, "AssigneeId", assignee_id),
        (permission_set, "PermissionSetId", perm_set_id),
    ):
        if found is None:
            label = "Assignee ID" if field == "AssigneeId" else "Permission Set ID"
            return rest_error(
                400, "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", fields=[field]
            )
    assert assignee is not None and permission_set is not None
    assignment_id = ctx.setup.assign(assignee.user_id, permission_set.perm_set_id)
    if assignment_id is None:
        # The text sf shows as the failure's message; public scripts match its prefix (third-party
        # fixtures show the full form; no Salesforce page does).
        return rest_error(
            400,
            "DUPLICATE_VALUE",
            f"Duplicate PermissionSetAssignment. Assignee: {assignee.user_id}; "
            f"Permission Set: {permission_set.perm_set_id}",
        )
    return json_reply(201, {"id": assignment_id, "success": True, "errors": []}, outcome="created")
