"""A Dev Hub's scratch org sign-up, as far as ``sf org create scratch`` needs it to fail with C-1016
or to be accepted; the emulator builds no scratch org.

What sf sends (sf 2.150.6's @salesforce/core 9.4.0, ``lib/org/scratchOrgInfoApi.js``):
``requestScratchOrgCreation`` inserts a ScratchOrgInfo record, ``POST sobjects/ScratchOrgInfo`` with the
definition's fields upper-first (``Edition``, ``OrgName``, ``ConnectedAppConsumerKey``,
``ConnectedAppCallbackUrl``, ...); ``pollForScratchOrgInfo`` then reads it back each second,
``GET sobjects/ScratchOrgInfo/{id}``, until ``Status`` is ``Active`` or ``Error``, and
``checkScratchOrgInfoForErrors`` (``lib/org/scratchOrgErrorCodes.js``) turns ``Error`` with an
``ErrorCode`` into its RemoteOrgSignupFailed message (for C-1016 with the remedy as an action).

``ConnectedAppConsumerKey`` is the app the sign-up copies into the new org: sf sends
``SF_SCRATCH_SIGNUP_CONNECTED_APP`` when set, else the Dev Hub login's own client id, else
``PlatformCLI`` (``lib/org/scratchOrgInfoGenerator.js``, ``generateScratchOrgInfo``). A Dev Hub logged
in through an External Client App therefore names that ECA, and the sign-up cannot copy one: C-1016
(forcedotcom/cli issue 3515: "fails with RemoteOrgSignupFailed (error C-1016) when the Dev Hub is
authenticated using an External Client App via sf org login jwt. The same command succeeds when
authenticated via sf org login web (PlatformCLI)"; sf's remedy, message "action.C-1016": set
SF_SCRATCH_SIGNUP_CONNECTED_APP=PlatformCLI, Salesforce's built-in Connected App). The refusal
comes as the record's status, not as an HTTP error: the insert itself succeeds.

Our model, with no Salesforce page behind it: a request that names no ECA is accepted and stays
``New`` (the emulator makes no org, so sf's poll waits for its ``--wait``: ``--async`` returns at
once); the required fields are the two sf always sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .. import ids
from ..catalog import NOT_FOUND
from ..http import Reply, Request, json_reply, record_body
from .context import Context

SCRATCH_ORG_INFO = "2SR"  # the key prefix of ScratchOrgInfo ids, as sf's messages show them
# The fields sf always fills (generateScratchOrgInfo); a request without one is refused as the
# REST API refuses a missing required field.
_REQUIRED = ("ConnectedAppConsumerKey", "ConnectedAppCallbackUrl")
SIGNUP_FAILED = "C-1016"


def create(ctx: Context, req: Request, version: str) -> Reply:
    """``POST sobjects/ScratchOrgInfo``: the sign-up request, refused in its status when it names an ECA."""
    body = record_body(req, "ScratchOrgInfo", _REQUIRED)
    if isinstance(body, Reply):
        return body
    record_id = ids.record_id(SCRATCH_ORG_INFO)
    app = ctx.setup.app(str(body["ConnectedAppConsumerKey"]))
    copies_an_eca = app is not None and app.app.eca and ctx.state.switches.eca_scratch_signup_refused
    url = f"/services/data/v{version}/sobjects/ScratchOrgInfo/{record_id}"
    record: dict[str, Any] = {
        **{k: v for k, v in body.items() if isinstance(k, str) and k != "attributes"},
        "attributes": {"type": "ScratchOrgInfo", "url": url},
        "Id": record_id,
        "Status": "Error" if copies_an_eca else "New",
        "ErrorCode": SIGNUP_FAILED if copies_an_eca else None,
        "SignupUsername": body.get("Username"),
        "CreatedDate": _iso(ctx.now()),
    }
    ctx.state.add_scratch_request(record)
    outcome = "scratch_signup_refused" if copies_an_eca else "created"
    return json_reply(201, {"id": record_id, "success": True, "errors": []}, outcome=outcome)


def read(ctx: Context, record_id: str) -> Reply:
    """``GET sobjects/ScratchOrgInfo/{id}``: the record, with its status (sf polls it)."""
    record = ctx.state.scratch_request(record_id)
    if record is None:
        return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
    return json_reply(200, record, outcome=str(record["Status"]).casefold())


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
