"""``POST /services/Soap/m/{version}``: the SOAP Metadata API an admin's sf uses.

- ``deploy`` then ``checkDeployStatus`` polls: ``sf project deploy start`` (forcedotcom/source-deploy-retrieve
  ``src/client/metadataApiDeploy.ts``, ``metadataTransfer.ts``).
- ``listMetadata``: ``sf org list metadata -m <Type>``.
- ``retrieve`` then ``checkRetrieveStatus`` polls: ``sf project retrieve start``.

The credential is the envelope's ``SessionHeader/sessionId`` (no Authorization header): an access
token the emulator issued, of an admin user. Each call is recorded with its operation and the ids
or types it names in ``params``, so tests can see what sf asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .. import ids, soap
from ..deploy import results, retrieve
from ..deploy.registry import METADATA_NS, TYPES
from ..deploy.run import DeployOptions, DeployOutcome, run_deploy
from ..deploy.xmlio import Node
from ..http import Reply, Request
from ..model import User
from ..org_setup import Job
from .context import Context

SOAP_PREFIX = "/services/Soap/m/"

INVALID_SESSION = (
    "sf:INVALID_SESSION_ID",
    "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
)
INSUFFICIENT_ACCESS = (
    "sf:INSUFFICIENT_ACCESS",
    "INSUFFICIENT_ACCESS: use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions",
)
INVALID_ID = ("sf:INVALID_CROSS_REFERENCE_KEY", "INVALID_CROSS_REFERENCE_KEY: invalid cross reference id")


def is_metadata_path(path: str) -> bool:
    return path.startswith(SOAP_PREFIX)


def _reply(operation: str, result: soap.Value, outcome: str, params: Mapping[str, str]) -> Reply:
    return Reply(
        200, soap.response(operation, result), soap.XML_TYPE, outcome=outcome, params={"operation": operation, **params}
    )


def _fault(pair: tuple[str, str], operation: str = "", status: int = 500) -> Reply:
    code, message = pair
    outcome = code.split(":", 1)[-1]
    params = {"operation": operation} if operation else {}
    body = soap.fault(code, message)
    return Reply(status, body, soap.XML_TYPE, outcome=outcome, error=code, error_description=message, params=params)


def handle(ctx: Context, req: Request) -> Reply:
    version_text = req.path[len(SOAP_PREFIX) :].strip("/")
    highest = float(ctx.config.api_version)
    try:
        version = float(version_text)
    except ValueError:
        version = 0.0
    if not 20.0 <= version <= highest or not version_text.endswith(".0"):
        return _fault(("sf:UNSUPPORTED_API_VERSION", "UNSUPPORTED_API_VERSION: Invalid Api version specified on URL"))
    if req.method != "POST":
        return _fault(("soapenv:Client", "The Metadata API takes SOAP requests sent with POST"))
    try:
        call = soap.parse_call(req.body)
    except soap.SoapError as exc:
        return _fault(("soapenv:Client", str(exc)))
    session = None if call.session_id is None else ctx.state.token(call.session_id)
    user = None if session is None else ctx.state.user(session.username)
    if user is None:
        return _fault(INVALID_SESSION, call.operation)
    if not user.admin:
        return _fault(INSUFFICIENT_ACCESS, call.operation)
    operation = _OPERATIONS.get(call.operation)
    if operation is None:
        message = (
            f"No operation available for request {{{METADATA_NS}}}{call.operation}, "
            "please check the WSDL for the service."
        )
        return _fault(("soapenv:Client", message), call.operation)
    return operation(ctx, call, user, version)


# --------------------------------------------------------------------------- deploy


def _deploy(ctx: Context, call: soap.Call, user: User, version: float) -> Reply:
    node = call.body.child("DeployOptions")
    options = DeployOptions()
    if node is not None:
        options = DeployOptions(
            check_only=soap.flag(node, "checkOnly", False),
            single_package=soap.flag(node, "singlePackage", False),
            rollback_on_error=soap.flag(node, "rollbackOnError", True),
            ignore_warnings=soap.flag(node, "ignoreWarnings", False),
        )
    switches = ctx.state.switches
    outcome = run_deploy(
        call.body.text_of("ZipFile") or "",
        options,
        setup=ctx.setup,
        user=user,
        switches=switches,
        org_id=ctx.config.org.org_id,
        api_version=version,
    )
    ctx.setup.add_job(Job(outcome.deploy_id, outcome, switches.deploy_pending_polls))
    # Real Salesforce queues the deploy: the first answer is never the result.
    result = {"done": False, "id": outcome.deploy_id, "state": "Queued"}
    return _reply("deploy", result, "queued", {"id": outcome.deploy_id, "status": outcome.status})


def _check_deploy_status(ctx: Context, call: soap.Call, user: User, version: float) -> Reply:
    job_id = call.body.text_of("asyncProcessId") or ""
    polled = ctx.setup.poll_job(job_id) if job_id.startswith(ids.DEPLOY_REQUEST) else None
    if polled is None or not isinstance(polled[1], DeployOutcome):
        return _fault(INVALID_ID, call.operation)
    done, outcome = polled
    include = soap.flag(call.body, "includeDetails", False)
    result = results.deploy_result(outcome, done=done, include_details=include)
    return _reply("checkDeployStatus", result, str(result["status"]), {"id": job_id})


# --------------------------------------------------------------------------- list and retrieve


def _list_metadata(ctx: Context, call: soap.Call, user: User, version: float) -> Reply:
    names = [q.text_of("type") or "" for q in call.body.children if q.name == "queries"]
    found = [
        results.file_properties(c)
        for name in names
        if name in TYPES
        for c in sorted(ctx.setup.components(name), key=lambda c: c.full_name.casefold())
    ]
    return _reply("listMetadata", found, "listed", {"types": ",".join(names), "count": str(len(found))})


# The type that carries an ECA's consumer key and certificate, and the Spring '26 gates on reading it
# (Switches.consumer_secret_access, admin_views_consumer_secrets; the Metadata API Developer Guide,
# ExtlClntAppGlobalOauthSettings, "Special Access Rules", names both). No public source quotes the
# refusal a real org sends: the fault code is the Metadata API's usual one for a missing permission,
# the wording ours, naming the setting or the permission by its Setup label.
SECRET_TYPE = "ExtlClntAppGlobalOauthSettings"
SECRETS_SETTING_OFF = (
    "sf:INSUFFICIENT_ACCESS",
    "INSUFFICIENT_ACCESS: ExtlClntAppGlobalOauthSettings: the org setting "
    "'Allow Access to OAuth Consumer Secrets via Metadata API' is off",
)
SECRETS_PERMISSION_MISSING = (
    "sf:INSUFFICIENT_ACCESS",
    "INSUFFICIENT_ACCESS: ExtlClntAppGlobalOauthSettings: the user lacks the permission "
    "'View External Client Apps Consumer Secrets in Metadata'",
)


def _secret_gate(ctx: Context, request: Node) -> tuple[str, str] | None:
    unpackaged = request.child("unpackaged")
    names = [] if unpackaged is None else [t.text_of("name") for t in unpackaged.children if t.name == "types"]
    if SECRET_TYPE not in names:
        return None
    switches = ctx.state.switches
    if not switches.consumer_secret_access:
        return SECRETS_SETTING_OFF
    if not switches.admin_views_consumer_secrets:
        return SECRETS_PERMISSION_MISSING
    return None


def _retrieve(ctx: Context, call: soap.Call, user: User, version: float) -> Reply:
    # sf sends <retrieve><request>…; the WSDL's name for the part is retrieveRequest.
    request = call.body.child("request") or call.body.child("retrieveRequest") or call.body
    refused = _secret_gate(ctx, request)
    if refused is not None:
        return _fault(refused, call.operation)
    outcome = retrieve.run_retrieve(ctx.setup, request, version)
    ctx.setup.add_job(Job(outcome.retrieve_id, outcome))
    result = {"done": False, "id": outcome.retrieve_id, "state": "Queued"}
    return _reply("retrieve", result, "queued", {"id": outcome.retrieve_id, "files": str(len(outcome.properties))})


def _check_retrieve_status(ctx: Context, call: soap.Call, user: User, version: float) -> Reply:
    job_id = call.body.text_of("asyncProcessId") or ""
    polled = ctx.setup.poll_job(job_id) if job_id.startswith(ids.RETRIEVE_REQUEST) else None
    if polled is None or not isinstance(polled[1], retrieve.RetrieveOutcome):
        return _fault(INVALID_ID, call.operation)
    done, outcome = polled
    # includeZip is absent in sf's call; the Metadata API's default is to include the zip.
    result = retrieve.retrieve_result(outcome, done=done, include_zip=soap.flag(call.body, "includeZip", True))
    return _reply("checkRetrieveStatus", result, str(result["status"]), {"id": job_id})


_OPERATIONS: dict[str, Callable[[Context, soap.Call, User, float], Reply]] = {
    "deploy": _deploy,
    "checkDeployStatus": _check_deploy_status,
    "listMetadata": _list_metadata,
    "retrieve": _retrieve,
    "checkRetrieveStatus": _check_retrieve_status,
}
