"""What a refused login tells the person: the refusal's message and fix with what this run knows
(the consumer key in use, masked; the alias to rerun with), and what Ctrl-C reports mid-wait.

Human output never shows a consumer key whole (console.masked_key), and a suggested command never
repeats one: `login --alias NAME` when the profile holds every value, else "the same command
again", which the shell's history holds (issue 14, item 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.errors import interrupted as plain_interrupted
from sfjwt_orch.flows import login_request
from sfjwt_orch.salesforce import spring26, validate
from sfjwt_orch.store import profiles, state
from sfjwt_orch.ui.console import masked_key

if TYPE_CHECKING:
    from sfjwt_orch.context import Context
    from sfjwt_orch.flows.login_request import LoginRequest
    from sfjwt_orch.tools.sf import Diagnosis

# A new or edited app takes 2-10 minutes to reach every Salesforce server; meanwhile the org
# answers as if it did not know it. But a mistyped key gets the very same answer, so these are
# waited for only when the app is known to be new (issue 14: a typo waited ten minutes).
PROPAGATING = {Code.CLIENT_ID_INVALID, Code.APP_NOT_INSTALLED}


def name_alias(exc: SfjwtError, alias: str) -> None:
    """Checks deep down (keys, certificates, sf's outcomes) write their fixes for any alias, as
    `--alias NAME`; where the alias is known, the fix names it (issue 14)."""
    exc.fix = exc.fix.replace("--alias NAME", f"--alias {alias}")


class Attempts(Protocol):
    """What a refusal is explained from, of a login so far (flows.login.LoginReport is one; a
    protocol here, so this module need not import the login loop that imports it)."""

    @property
    def approval_url(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def last(self) -> Diagnosis | None: ...


def explained(outcome: Diagnosis, req: LoginRequest, report: Attempts, ctx: Context) -> tuple[str, str]:
    """The refusal's message and fix, with what this run knows: the key in use, the alias to rerun."""
    message, fix = outcome.message, outcome.fix
    if spring26.eca_refused_generic(outcome.code, outcome.lines, req.instance_url):
        # Waiting or retyping the key does not help: the audience must be the org's My Domain.
        known = state.load(ctx.paths, req.alias).instance_url
        return f"{message}; the External Client App refused a generic audience", spring26.my_domain_fix(
            req.instance_url, known
        )
    if outcome.code in PROPAGATING:
        message = f"{message}; consumer key used: {masked_key(req.client_id)}"
        if req.new_app:
            wait = "--new-app" if req.timeout > 0 else "--new-app --timeout 600"  # 0: it was not waited for
            fix = f"{fix}; then run {rerun(req, ctx, wait)}"
        else:
            fix = (
                "a key that is not brand new is probably mistyped: copy the Consumer Key again from the app "
                f"(it belongs to one org: sandboxes need their own), then run {rerun(req, ctx, client_id=True)}; "
                f"if the app was created in the last 10 minutes, wait for it: run {rerun(req, ctx, '--new-app')}"
            )
    elif outcome.code is Code.NOT_APPROVED and report.approval_url:
        fix = f"open the URL above as {req.username}, click Allow, then run {rerun(req, ctx, '--timeout 600')}"
    return message, fix


def rerun(req: LoginRequest, ctx: Context, *extra: str, client_id: bool = False) -> str:
    """The command to run again. With every value saved it is `login --alias NAME` and what changes;
    otherwise (nothing is saved until a login works) "the same command again", which the shell's
    history holds: the consumer key is never repeated (human output masks it), nor the other values."""
    saved = profiles.load_or_new(ctx.paths, req.alias)
    complete = (
        saved.client_id == req.client_id
        and saved.username == req.username
        and (saved.instance_url or validate.PRODUCTION) == req.instance_url
        and login_request.default_key_file(saved, ctx.paths) == req.key_file
        and (saved.callback_url or validate.DEFAULT_CALLBACK) == req.callback_url
    )
    changes = ["--client-id <consumer key>"] if client_id else []
    changes += extra
    if complete:
        return " ".join(["sfjwt-orch login --alias", req.alias, *changes])
    return "the same command again" + (f" with {' '.join(changes)}" if changes else "")


def approval_not_missing(req: LoginRequest, ctx: Context, *, approved_in_browser: bool) -> tuple[str, str]:
    """Why "not approved" cannot mean a missing approval here, and what else to check if the username
    is right; ("", "") when it can (issue 24 item 4). Salesforce answers an unknown username with the
    very words of a missing approval ("user hasn't approved this consumer"; the emulator models it:
    emulator/endpoints/token.py), so a typo in the username got the approval page and a 600 s wait."""
    if approved_in_browser:
        return (
            "the approval arrived from the browser a moment ago",
            "approve the app logged in as that very user, and check that the app has the refresh_token "
            "scope ('Perform requests at any time')",
        )
    made = state.load(ctx.paths, req.alias).app_name
    if made and profiles.load_or_new(ctx.paths, req.alias).client_id == req.client_id:
        # app create and trust deploy an admin-approved app, pre-authorized through a gate permission
        # set (salesforce/metadata.py): no user ever approves it in a browser. (Only that app: another
        # --client-id given for the alias is an app of unknown policy.)
        return (
            f"the app {made} (made by sfjwt-orch) pre-authorizes its users, so no approval is asked",
            "assign that user the app's permission set (Setup > Users > the user > Permission Set Assignments)",
        )
    return "", ""


def username_suspect(req: LoginRequest, why: tuple[str, str], ctx: Context) -> SfjwtError:
    """A "not approved" that an approval cannot fix: the username is the likelier fault."""
    reason, otherwise = why
    sandbox = f"{req.username}.dev" if "@" in req.username else "user@example.com.dev"
    return SfjwtError(
        Code.USERNAME_SUSPECT,
        f"Salesforce says {req.username} has not approved this app, but {reason}: the username may be wrong or "
        f"not a user of the org at {req.instance_url} (a sandbox's usernames end in its name, e.g. {sandbox})",
        f"check the exact username in Setup > Users of that org, then run "
        f"{rerun(req, ctx, '--username <the right one>')}; if the username is right, {otherwise}",
    )


def maybe_mistyped(req: LoginRequest) -> str:
    return (
        f"Salesforce does not know consumer key {masked_key(req.client_id)} (yet). A new app takes 2-10 minutes "
        "to reach every server, so sfjwt-orch waits; if this app is not brand new, the key is probably mistyped: "
        "press Ctrl-C and check it."
    )


def interrupted(req: LoginRequest, report: Attempts, ctx: Context) -> SfjwtError:
    """Ctrl-C during the loop: what the last attempt said, and its fix (issue 14: a bare
    "interrupted" after minutes of waiting told nothing). The code stays INTERRUPTED (exit 130)."""
    last = report.last
    if last is None:
        return plain_interrupted()
    message, fix = explained(last, req, report, ctx)
    return SfjwtError(
        Code.INTERRUPTED,
        f"interrupted; the last attempt ({report.attempts}) said {last.code.value}: {message}",
        fix,
    )
