"""The browser flow's "Allow Access?" page: ``GET /services/oauth2/authorize`` shows it,
``POST /services/oauth2/authorize/decision`` takes Allow or Deny and redirects to the app's callback.

What matters for sf's JWT login is the approval it records (``State.approve``): a self-authorize app
refuses a JWT until the user has approved it once with the refresh_token scope.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from .. import pages
from ..catalog import (
    AUTHORIZE_BAD_RESPONSE_TYPE,
    AUTHORIZE_DENIED,
    AUTHORIZE_NOT_ADMIN_APPROVED,
    AUTHORIZE_REDIRECT_MISMATCH,
    TOKEN_OUTCOMES,
)
from ..http import Reply, Request, form, html_reply, redirect, with_query
from ..model import PendingAuthorization
from .context import Context

AUTHORIZE_PATH = "/services/oauth2/authorize"
DECISION_PATH = pages.DECISION_PATH


def _error_page(error: str, description: str, outcome: str) -> Reply:
    return html_reply(
        400,
        pages.oauth_error_page(error, description),
        outcome=outcome,
        error=error,
        error_description=description,
    )


def _redirect_error(redirect_uri: str, state: str | None, pair: tuple[str, str]) -> Reply:
    error, description = pair
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return redirect(with_query(redirect_uri, params), outcome=error, error=error, error_description=description)


def handle_authorize(ctx: Context, req: Request) -> Reply:
    if req.method != "GET":
        return html_reply(405, pages.message_page("Method Not Allowed", "Use GET."), outcome="method_not_allowed")
    q = req.query
    reg, unavailable = ctx.lookup_app(q.get("client_id", ""))
    if reg is None:
        outcome = TOKEN_OUTCOMES[unavailable or "client_id_invalid"]
        return _error_page(outcome.error, outcome.description, outcome.key)
    app = reg.app
    redirect_uri = q.get("redirect_uri", "")
    if redirect_uri not in app.callback_urls:
        # Never redirect to an unregistered URI (that would make the emulator an open redirector).
        error, description = AUTHORIZE_REDIRECT_MISMATCH
        return _error_page(error, description, error)
    state = q.get("state")
    if q.get("response_type") != "code":
        return _redirect_error(redirect_uri, state, AUTHORIZE_BAD_RESPONSE_TYPE)
    # An explicit scope list without refresh_token yields an approval the JWT grant ignores.
    scopes = q.get("scope")
    refresh_token = scopes is None or bool({"refresh_token", "full"} & set(scopes.split()))
    pending = PendingAuthorization(app.consumer_key, redirect_uri, state, refresh_token)
    auto = ctx.state.switches.auto_approve
    username = q.get("login_hint") or ctx.state.users()[0].username
    if auto:
        return _decide(ctx, pending, username, allow=True)
    request_id = secrets.token_urlsafe(24)
    ctx.state.add_pending(request_id, pending)
    page = pages.allow_access_page(
        app_name=app.name,
        request_id=request_id,
        client_id=app.consumer_key,
        redirect_uri=redirect_uri,
        state=state,
        username=username,
    )
    return html_reply(200, page, outcome="consent_page")


def handle_decision(ctx: Context, req: Request) -> Reply:
    if req.method != "POST":
        return html_reply(405, pages.message_page("Method Not Allowed", "Use POST."), outcome="method_not_allowed")
    fields = form(req.body)
    request_id = fields.get("request_id", "")
    pending = ctx.state.pending(request_id)
    recorded = {k: v for k, v in fields.items() if k in ("username", "decision")}
    if pending is None:
        page = pages.message_page("Request Expired", "This approval request is unknown or was already answered.")
        return html_reply(400, page, outcome="unknown_request", params=recorded)
    decision = fields.get("decision", "")
    if decision not in ("allow", "deny"):
        page = pages.message_page("Bad Request", "Choose Allow or Deny.")
        return html_reply(400, page, outcome="bad_decision", params=recorded)
    username = fields.get("username", "").strip()
    if decision == "allow" and ctx.state.user(username) is None:
        # Show the page again with the error; the request stays open for another try.
        reg = ctx.setup.app(pending.client_id)
        page = pages.allow_access_page(
            app_name=reg.app.name if reg else pending.client_id,
            request_id=request_id,
            client_id=pending.client_id,
            redirect_uri=pending.redirect_uri,
            state=pending.state,
            username=username,
            message=f"Unknown username {username!r}. Please check your username.",
        )
        return html_reply(400, page, outcome="unknown_user", params=recorded)
    ctx.state.drop_pending(request_id)  # one answer per page, like a real consent screen
    return replace(_decide(ctx, pending, username, allow=decision == "allow"), params=recorded)


def _decide(ctx: Context, pending: PendingAuthorization, username: str, *, allow: bool) -> Reply:
    if not allow:
        return _redirect_error(pending.redirect_uri, pending.state, AUTHORIZE_DENIED)
    reg = ctx.setup.app(pending.client_id)
    user = ctx.state.user(username)
    if reg is None or user is None:
        outcome = TOKEN_OUTCOMES["client_id_invalid" if reg is None else "not_approved"]
        return html_reply(400, pages.oauth_error_page(outcome.error, outcome.description), outcome=outcome.key)
    app = reg.app
    if app.policy == "admin-approved" and not ctx.setup.is_preauthorized(app, user):
        return _redirect_error(pending.redirect_uri, pending.state, AUTHORIZE_NOT_ADMIN_APPROVED)
    ctx.state.approve(app.consumer_key, user.username, refresh_token=pending.refresh_token)
    # The code is never exchanged (sf's JWT flow does not need it); the approval is what counts.
    params = {"code": secrets.token_urlsafe(32)}
    if pending.state is not None:
        params["state"] = pending.state
    return redirect(with_query(pending.redirect_uri, params), outcome="approved")
