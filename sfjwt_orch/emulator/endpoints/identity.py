"""The identity service: ``/services/oauth2/userinfo`` (OpenID Connect) and ``/id/<org>/<user>``
(the identity URL a token reply names), both for a valid access token only."""

from __future__ import annotations

from typing import Any

from ..catalog import NOT_FOUND, OK
from ..http import Reply, Request, json_reply
from ..model import IssuedToken, Org, User
from .context import Context

USERINFO_PATH = "/services/oauth2/userinfo"
ID_PREFIX = "/id/"


def is_identity_path(path: str) -> bool:
    return path == USERINFO_PATH or path.startswith(ID_PREFIX)


def handle(ctx: Context, req: Request) -> Reply:
    session = ctx.state.session(req.headers.get("authorization", ""))
    if session is None:
        # What Salesforce's identity service answers for a missing or dead token.
        return Reply(
            status=403,
            body=b"Bad_OAuth_Token",
            content_type="text/plain;charset=UTF-8",
            outcome="invalid_session",
        )
    org = ctx.config.org
    user = ctx.state.user(session.username)
    if user is None:  # defensive: users are never removed
        return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
    if req.path.startswith(ID_PREFIX):
        # /id/<org>/<user>: any user of the org may be looked up with a valid session.
        parts = [p for p in req.path.split("/") if p]
        target = next((u for u in ctx.state.users() if len(parts) == 3 and u.user_id == parts[2]), None)
        if target is None or parts[1] != org.org_id:
            return json_reply(404, [dict(NOT_FOUND)], outcome="not_found")
        return json_reply(200, _id_document(ctx.url, org, target, session), outcome=OK)
    return json_reply(200, _userinfo(ctx.url, org, user), outcome=OK)


def _userinfo(base_url: str, org: Org, user: User) -> dict[str, Any]:
    return {
        "sub": f"{base_url}/id/{org.org_id}/{user.user_id}",
        "user_id": user.user_id,
        "organization_id": org.org_id,
        "preferred_username": user.username,
        "name": user.username.split("@", 1)[0],
        "email": user.username,
        "active": user.active,
        "user_type": "STANDARD",
    }


def _id_document(base_url: str, org: Org, user: User, session: IssuedToken) -> dict[str, Any]:
    return {
        "id": f"{base_url}/id/{org.org_id}/{user.user_id}",
        "asserted_user": user.user_id == session.user_id,
        "user_id": user.user_id,
        "organization_id": org.org_id,
        "username": user.username,
        "display_name": user.username.split("@", 1)[0],
        "email": user.username,
        "active": user.active,
        "user_type": "STANDARD",
        "urls": {
            "rest": f"{base_url}/services/data/v{{version}}/",
            "query": f"{base_url}/services/data/v{{version}}/query/",
        },
    }
