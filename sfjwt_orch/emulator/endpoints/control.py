"""The private control API under ``/__emulator/`` that tests and scripts use.

``GET state`` (a JSON snapshot, never holding access tokens), ``GET tokens`` (only with
``expose_tokens``), and ``POST config`` (switches), ``POST approve`` and ``POST user`` with JSON
bodies. Control calls are not written to the request log: state polling would drown the
interesting requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..certificate import AppCertificate
from ..config_file import switches_from_mapping, switches_to_mapping
from ..errors import EmulatorError
from ..http import Reply, Request, json_reply
from ..model import EmulatorConfig
from ..state import State
from .context import Context

CONTROL_PREFIX = "/__emulator"

_UNKNOWN = {"error": "unknown control endpoint", "fix": "see GET /__emulator/state"}


def is_control_path(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def _quiet(status: int, payload: Any) -> Reply:
    return json_reply(status, payload, record=False)


def handle(ctx: Context, req: Request) -> Reply:
    action = req.path[len(CONTROL_PREFIX) :].strip("/")
    if req.method == "GET":
        if action == "state":
            return _quiet(200, snapshot(ctx.config, ctx.state, ctx.certificates, ctx.url))
        if action == "tokens" and ctx.expose_tokens:
            return _quiet(200, {"tokens": list(ctx.state.tokens())})
        return _quiet(404, _UNKNOWN)
    if req.method != "POST" or action not in ("approve", "config", "user"):
        return _quiet(404, _UNKNOWN)
    # Requiring JSON keeps a web page in a browser from driving the emulator with a plain form
    # post (a cross-origin application/json request needs a CORS preflight, which we never grant).
    if not req.headers.get("content-type", "").lower().startswith("application/json"):
        return _quiet(
            415,
            {
                "error": "control requests must be application/json",
                "fix": "send a JSON body with Content-Type: application/json",
            },
        )
    try:
        body = json.loads(req.body or b"{}")
        if not isinstance(body, dict):
            raise EmulatorError("the body must be a JSON object", 'send e.g. {"maintenance": true}')
        if action == "config":
            return _quiet(200, _config(ctx.state, body))
        if action == "approve":
            return _quiet(200, _approve(ctx.state, body))
        return _quiet(200, _user(ctx.state, body))
    except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
        return _quiet(400, {"error": "the body is not JSON", "fix": "send a JSON object"})
    except EmulatorError as exc:
        return _quiet(400, {"error": exc.message, "fix": exc.fix})


def _config(state: State, body: Mapping[str, Any]) -> dict[str, Any]:
    new = state.change_switches(lambda current: switches_from_mapping(body, "POST /__emulator/config", "body", current))
    return {"switches": switches_to_mapping(new)}


def _approve(state: State, body: Mapping[str, Any]) -> dict[str, Any]:
    client_id, username = body.get("client_id"), body.get("username")
    if not isinstance(client_id, str) or not isinstance(username, str):
        raise EmulatorError(
            "client_id and username are required strings", 'send {"client_id": "...", "username": "..."}'
        )
    approval = state.approve(client_id, username)
    return {"approved": {"client_id": approval.client_id, "username": approval.username}}


def _user(state: State, body: Mapping[str, Any]) -> dict[str, Any]:
    username = body.get("username")
    flags = {k: body[k] for k in ("active", "preauthorized") if k in body}
    if (
        not isinstance(username, str)
        or any(not isinstance(v, bool) for v in flags.values())
        or set(body) - {"username", "active", "preauthorized"}
    ):
        raise EmulatorError(
            "expected username plus optional boolean active / preauthorized",
            'send {"username": "...", "preauthorized": true}',
        )
    user = state.update_user(username, **flags)
    return {"user": {"username": user.username, "active": user.active, "preauthorized": user.preauthorized}}


def snapshot(
    config: EmulatorConfig, state: State, certificates: Mapping[str, AppCertificate], url: str | None
) -> dict[str, Any]:
    """The JSON of ``GET /__emulator/state`` (and ``Emulator.state()``). Holds no access tokens."""
    changing = state.snapshot()
    return {
        "url": url,
        "org_id": config.org.org_id,
        "apps": [
            {
                "name": a.name,
                "consumer_key": a.consumer_key,
                "policy": a.policy,
                "eca": a.eca,
                "callback_urls": list(a.callback_urls),
                "propagated": state.propagated(a),
                "certificate_sha256": certificates[a.consumer_key].sha256_fingerprint,
            }
            for a in config.apps
        ],
        "users": changing["users"],
        "approvals": changing["approvals"],
        "switches": switches_to_mapping(changing["switches"]),
        "token_request_count": changing["token_request_count"],
        "issued_token_count": changing["issued_token_count"],
        "requests": changing["requests"],
    }
