"""The private control API under ``/__emulator/`` that tests and scripts use.

``GET state`` (a JSON snapshot, never holding access tokens), ``GET tokens`` (only with
``expose_tokens``), and ``POST config`` (switches), ``POST approve``, ``POST user`` (flags
``active``, ``preauthorized``, ``frozen``) and
``POST certificate`` (upload or replace an app's certificate, as an admin does in Setup:
``{"app": "<consumer key, API name or name>", "certificate": "<PEM>"}``) and ``POST ci-job`` (open a job
on an emulated CI provider; its environment back) with JSON bodies.
Control calls are not written to the request log: state polling would drown the interesting
requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import ci_provider
from ..certificate import CertificateError
from ..config_file import switches_from_mapping, switches_to_mapping
from ..deploy.apps import upload_certificate
from ..errors import EmulatorError
from ..http import Reply, Request, json_reply
from ..model import EmulatorConfig
from ..org_setup import OrgSetup, RegisteredApp
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
            return _quiet(200, snapshot(ctx.config, ctx.state, ctx.url))
        if action == "tokens" and ctx.expose_tokens:
            return _quiet(200, {"tokens": list(ctx.state.tokens())})
        return _quiet(404, _UNKNOWN)
    if req.method != "POST" or (action not in _ACTIONS and action != "ci-job"):
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
        return _quiet(200, _ci_job(ctx, body) if action == "ci-job" else _ACTIONS[action](ctx.state, body))
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
    names = ("active", "preauthorized", "frozen")
    flags = {k: body[k] for k in names if k in body}
    if (
        not isinstance(username, str)
        or any(not isinstance(v, bool) for v in flags.values())
        or set(body) - {"username", *names}
    ):
        raise EmulatorError(
            "expected username plus optional boolean active / preauthorized / frozen",
            'send {"username": "...", "preauthorized": true}',
        )
    user = state.update_user(username, **flags)
    return {"user": {"username": user.username, **{k: getattr(user, k) for k in names}}}


def _certificate(state: State, body: Mapping[str, Any]) -> dict[str, Any]:
    app, pem = body.get("app"), body.get("certificate")
    if not isinstance(app, str) or not isinstance(pem, str) or set(body) - {"app", "certificate"}:
        raise EmulatorError(
            "expected app (consumer key, API name or name) and certificate (PEM text)",
            'send {"app": "...", "certificate": "-----BEGIN CERTIFICATE-----..."}',
        )
    try:
        reg = upload_certificate(state.setup, app, pem, state.setup.now())
    except CertificateError as exc:
        raise EmulatorError(f"certificate: {exc}", "send the PEM text of an X.509 certificate with an RSA key") from exc
    return {"app": app_json(state, reg)}


def _ci_job(ctx: Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """Open a job on an emulated CI provider (``ci_provider``): ``{"provider": "github" | "gitlab",
    "claims": {...}}``; answers the job's environment (``env``), as ``Emulator.ci_job`` gives a test.
    For a rehearsal by hand (``emulator run --ci``): the environment goes to the program, not to a screen."""
    provider, claims = body.get("provider"), body.get("claims", {})
    valid = isinstance(claims, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in claims.items())
    if provider not in ci_provider.PROVIDERS or not valid or set(body) - {"provider", "claims"}:
        raise EmulatorError(
            f"expected provider ({' or '.join(ci_provider.PROVIDERS)}) and claims (names to text values)",
            'send {"provider": "github", "claims": {"repository": "acme/app"}}',
        )
    job = ci_provider.Job(str(provider), dict(claims))
    return {"issuer": ci_provider.issuer_url(ctx.url, job.provider), "env": ci_provider.job_env(ctx.ci, ctx.url, job)}


_ACTIONS = {"approve": _approve, "config": _config, "user": _user, "certificate": _certificate}


def app_json(state: State, reg: RegisteredApp) -> dict[str, Any]:
    a = reg.app
    return {
        "name": a.name,
        "api_name": reg.source,
        "consumer_key": a.consumer_key,
        "policy": a.policy,
        "eca": a.eca,
        "description": a.description,
        "permission_sets": list(a.permission_sets),
        "profiles": list(a.profiles),
        "callback_urls": list(a.callback_urls),
        "propagated": state.propagated(reg),
        "certificate_sha256": None if reg.certificate is None else reg.certificate.sha256_fingerprint,
    }


def _setup_json(setup: OrgSetup) -> dict[str, Any]:
    return {
        "permission_sets": [{"name": p.name, "id": p.perm_set_id, "label": p.label} for p in setup.permission_sets()],
        "assignments": [
            {"id": a_id, "user_id": user_id, "permission_set_id": ps_id} for a_id, user_id, ps_id in setup.assignments()
        ],
        "components": [{"type": c.type_name, "full_name": c.full_name, "id": c.record_id} for c in setup.components()],
    }


def snapshot(config: EmulatorConfig, state: State, url: str | None) -> dict[str, Any]:
    """The JSON of ``GET /__emulator/state`` (and ``Emulator.state()``). Holds no access tokens."""
    changing = state.snapshot()
    admin = config.admin
    return {
        "url": url,
        "org_id": config.org.org_id,
        "admin": None if admin is None else admin.username,
        "apps": [app_json(state, reg) for reg in state.setup.apps()],
        **_setup_json(state.setup),
        "users": changing["users"],
        "approvals": changing["approvals"],
        "switches": switches_to_mapping(changing["switches"]),
        "token_request_count": changing["token_request_count"],
        "issued_token_count": changing["issued_token_count"],
        "requests": changing["requests"],
    }
