"""The REST calls sf makes after a token: ``/services/data`` (versions), ``/services/data/vNN.0``
(resources) and the SOQL queries (Dev Hub probe, Organization), under ``query`` or ``tooling/query``."""

from __future__ import annotations

from dataclasses import replace

from .. import pages
from ..catalog import INVALID_SESSION, NOT_FOUND, OK
from ..http import Reply, Request, json_reply
from .context import Context

DATA_PATH = "/services/data"


def is_rest_path(path: str) -> bool:
    return path.rstrip("/") == DATA_PATH or path.startswith(DATA_PATH + "/")


def handle(ctx: Context, req: Request) -> Reply:
    parts = [p for p in req.path.split("/") if p]  # ["services", "data", "v62.0", ...]
    highest = int(ctx.config.api_version.split(".")[0])
    if len(parts) == 2:
        # The version list is public on Salesforce too (no session needed).
        return json_reply(200, pages.versions_body(highest), outcome="versions")
    if ctx.state.session(req.headers.get("authorization", "")) is None:
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
        soql = req.query.get("q", "")
        org = ctx.config.org
        if rest[0] == "tooling":
            # ScratchOrgInfo is not a tooling object; sf's tooling SandboxProcess query (sent only for
            # sandbox-looking URLs) gets INVALID_TYPE like any other unknown object.
            org = replace(org, is_dev_hub=False)
        status, payload = pages.query_result(soql, org, version)
        outcome = OK if status == 200 else str(payload[0]["errorCode"])
        return json_reply(status, payload, outcome=outcome)
    return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
