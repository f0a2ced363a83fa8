"""bootstrap's questions: what to ask, the defaults it offers, and where unconfirmed answers wait.

An answer reaches the profile only once a login with it works (flows.login.remember); until then
it is kept in the state file (state.unconfirmed) and offered as the default of the next run, so a
Ctrl-C at one question never turns an earlier answer, or a default nobody chose, into a saved one
(issue 14, item 2).
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sfjwt_orch.context import Context
from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.flows import login_request
from sfjwt_orch.flows.login_request import LoginRequest
from sfjwt_orch.keys import certs
from sfjwt_orch.salesforce import validate
from sfjwt_orch.salesforce.advice import DEV_HUB
from sfjwt_orch.store import profiles, state
from sfjwt_orch.ui.console import masked_key


class Asker(Protocol):
    def ask(self, question: str, check: Callable[[str], str], default: str = "", shown: str = "") -> str:
        """`shown`: how the default is written in the question (a consumer key is masked)."""
        ...


def checklist(callback_url: str, cert_file: Path, fingerprint: str) -> str:
    """The Setup steps for a JWT app (SFDX guide: sfdx_dev_auth_eca), short enough to follow at a
    prompt (issue 14: a 20-line wall came before the first question)."""
    dev_hub = textwrap.fill(DEV_HUB, width=100, initial_indent="Note: ", subsequent_indent="  ", break_on_hyphens=False)
    return f"""\
Create the app in Salesforce (once per org), an External Client App:
  1. Setup > External Client App Manager > New External Client App > Enable OAuth, callback {callback_url}
     scopes api, web, refresh_token offline_access
  2. Enable JWT Bearer Flow > Upload Files: {cert_file}
     (SHA-256 {fingerprint})
  3. Create; Policies > Permitted Users: "Admin approved users are pre-authorized", and add the
     user's profile or permission set (no browser approval is then needed)
  4. Settings > OAuth Settings > Consumer Key and Secret: copy the Consumer Key
{dev_hub}"""


def show_checklist(profile: profiles.Profile, key_file: Path, ctx: Context) -> None:
    cert = profile.cert_path(key_file)
    ctx.console.info(checklist(login_request.callback_url(profile), cert, fingerprint_of(cert)))


def fingerprint_of(cert: Path) -> str:
    return certs.read_cert(cert).fingerprint_sha256 if cert.exists() else "n/a"


def check_login_url(answer: str, allow_any_host: bool = False) -> str:
    choices = {"1": validate.PRODUCTION, "2": validate.SANDBOX}
    return validate.check_instance_url(choices.get(answer, answer), allow_any_host=allow_any_host)


ANSWERS = ("client_id", "username", "instance_url")


def ask(
    alias: str,
    given: profiles.Profile,
    ask_all: bool,
    profile: profiles.Profile,
    ctx: Context,
    asker: Asker,
    key_file: Path,
) -> tuple[profiles.Profile, bool]:
    """Ask for each answer that is neither saved nor given as a flag (every one not given as a flag
    with --ask); the saved answer, else the unconfirmed one from a previous run, is the default.
    Returns the profile with the answers, and whether anything was asked."""
    pending = state.unconfirmed(state.load(ctx.paths, alias))
    wanted = [n for n in ANSWERS if not getattr(given, n) and (ask_all or not getattr(profile, n))]
    answers: dict[str, str] = {}
    for name in wanted:
        default = getattr(profile, name) or pending.get(name, "")
        if name == "client_id":
            if not default:
                show_checklist(profile, key_file, ctx)
            shown = masked_key(default) if default else ""
            answers[name] = asker.ask("Consumer key", validate.check_client_id, default, shown)
        elif name == "username":
            answers[name] = asker.ask("Username to log in as (e.g. ci-bot@acme.com)", validate.check_username, default)
        else:
            answers[name] = asker.ask(
                # Spring '26: an External Client App takes only the My Domain as audience (login_urls.py).
                f"Login URL: your My Domain (https://NAME.my.salesforce.com, as External Client Apps need), "
                f"or 1) {validate.PRODUCTION}  2) {validate.SANDBOX}",
                functools.partial(check_login_url, allow_any_host=profile.allow_non_salesforce_host),
                default or "1",
            )
        keep_unconfirmed(ctx, alias, {**pending, **answers})  # a Ctrl-C at the next question keeps it
    asked = profiles.Profile(
        alias, answers.get("client_id", ""), answers.get("username", ""), answers.get("instance_url", "")
    )
    return profile.merged(asked), bool(wanted)


def keep_unconfirmed(ctx: Context, alias: str, answers: dict[str, str]) -> None:
    """Answers no login has confirmed yet go to the state file, never to the profile."""
    saved = profiles.load_or_new(ctx.paths, alias)
    kept = {k: v for k, v in answers.items() if k in ANSWERS and v and v != getattr(saved, k)}
    before = state.load(ctx.paths, alias)
    problem = state.save(ctx.paths, state.with_unconfirmed(before, kept))
    if problem:
        ctx.console.warn(f"could not keep your answers for the next run in sfjwt-orch's state file ({problem})")


def reenter_key(login_req: LoginRequest, exc: SfjwtError, ctx: Context, asker: Asker) -> LoginRequest:
    """The org does not know the consumer key: a person may paste it again (a typo is the likelier
    cause), or keep it, telling us the app is new, and wait for it to propagate."""
    ctx.console.warn(exc.message)
    kept = masked_key(login_req.client_id)
    answer = asker.ask(
        f"Consumer key: paste it again (Enter keeps {kept}: the app is new, wait for it to propagate)",
        validate.check_client_id,
        login_req.client_id,
        "keep",
    )
    if answer == login_req.client_id:
        return login_req.for_new_app()
    keep_unconfirmed(ctx, login_req.alias, {"client_id": answer, "username": login_req.username,
                                             "instance_url": login_req.instance_url})  # fmt: skip
    return login_req.with_client_id(answer)
