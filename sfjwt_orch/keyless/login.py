"""login --oidc github|gitlab: a CI job logs in with its identity token, and no key exists anywhere.

1. The job's identity token, as the provider documents it. GitHub Actions (a job with
   `permissions: id-token: write`): GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` with
   `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` answers `{"value": JWT}` (GitHub docs,
   "Configuring OpenID Connect in cloud providers"). GitLab CI: an `id_tokens` entry puts the JWT in
   the variable it names (GitLab docs, "OpenID Connect (OIDC) Authentication Using ID Tokens"); ours
   is SFJWT_ORCH_ID_TOKEN. The audience is the org's URL, as `trust` fixed it.
2. The token exchange (RFC 8693) at the org's token endpoint: `grant_type=urn:ietf:params:oauth:
   grant-type:token-exchange`, `subject_token`, `subject_token_type=urn:ietf:params:oauth:token-type:jwt`,
   `client_id` (no secret: trust turns `isSecretRequiredForTokenExchange` off). No `token_handler`:
   trust enables its handler as the app's default (`isDefault`), which runs when none is named
   (Salesforce Help, "Configure the OAuth 2.0 Token Exchange Flow").
3. The access token goes to `sf org login access-token --instance-url URL --alias A --no-prompt`
   through the environment only (SF_ACCESS_TOKEN, which plugin-auth's access-token command reads
   with --no-prompt): never on a command line, never printed, never written by us to a file. sf
   keeps its own auth file, as after any login; the login is not refreshed (docs/keyless-ci.md).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request  # noqa: TID253 - this module is banned at module level in its stead
from dataclasses import dataclass
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, error_json, usage
from sfjwt_orch.keyless.spec import Provider
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import profiles
from sfjwt_orch.tools.sf import Diagnosis, OrgDisplay
from sfjwt_orch.tools.sf.env import run_timeout, sf_env
from sfjwt_orch.tools.sf.parse import LoginSuccess, parse_login

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
GITLAB_VARIABLE = "SFJWT_ORCH_ID_TOKEN"
_HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class OidcLoginRequest:
    alias: str
    provider: Provider
    client_id: str
    instance_url: str


@dataclass
class OidcLoginReport:
    alias: str
    provider: str
    username: str = ""
    org_id: str = ""
    instance_url: str = ""
    error: SfjwtError | None = None  # how the login failed (None: it worked)

    def to_json(self) -> dict[str, Any]:
        error = self.error
        return {
            "ok": error is None,
            "alias": self.alias,
            "provider": self.provider,
            "username": self.username or None,
            "org_id": self.org_id or None,
            "instance_url": self.instance_url or None,
            "error": error_json(error),
        }


def request_for(
    alias: str, provider: str, client_id: str | None, instance_url: str | None, ctx: Context
) -> OidcLoginRequest:
    """The flags, else the saved profile (the admin's machine; a CI job passes the flags)."""
    try:
        chosen = Provider(provider)
    except ValueError:
        raise usage(f"--oidc {provider!r} is not known", "use --oidc github or --oidc gitlab") from None
    saved = profiles.load(ctx.paths, alias) or profiles.Profile(alias)
    key = client_id or saved.client_id
    url = (instance_url or saved.instance_url).rstrip("/")
    if not key or not url:
        missing = "--client-id" if not key else "--instance-url"
        raise usage(
            f"{missing} is missing, and no saved profile gives it",
            "pass --client-id KEY --instance-url URL (sfjwt-orch trust prints both; ci export --oidc writes them)",
        )

    # The one URL parser (issue 16): the token goes only to the host the parser names.
    checked = validate.check_instance_url(url, allow_any_host=saved.allow_non_salesforce_host)
    return OidcLoginRequest(alias, chosen, validate.check_client_id(key), checked)


def log_in(req: OidcLoginRequest, ctx: Context) -> OidcLoginReport:
    """The report, its `error` set when the token, the exchange or sf said no."""
    report = OidcLoginReport(req.alias, req.provider.value, instance_url=req.instance_url)
    try:
        identity = identity_token(req.provider, req.instance_url, ctx)
        access = exchange(req, identity)
        _hand_to_sf(req, access, ctx, report)
    except SfjwtError as exc:
        report.error = exc
    return report


# ----------------------------------------------------------------------------- the identity token


def missing_token_fix(provider: Provider, audience: str) -> str:
    if provider is Provider.GITHUB:
        return (
            "add to the job (or the workflow) in the GitHub Actions YAML:\n"
            "  permissions:\n    id-token: write\n    contents: read"
        )
    return f"add to the job in .gitlab-ci.yml:\n  id_tokens:\n    {GITLAB_VARIABLE}:\n      aud: {audience}"


def identity_token(provider: Provider, audience: str, ctx: Context) -> str:
    if provider is Provider.GITLAB:
        token = ctx.take_env(GITLAB_VARIABLE)
        if not token:
            raise SfjwtError(
                Code.OIDC_NO_ID_TOKEN,
                f"the job has no identity token: ${GITLAB_VARIABLE} is empty (no id_tokens entry names it)",
                missing_token_fix(provider, audience),
            )
        return token
    url = ctx.env.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    bearer = ctx.env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if not url or not bearer:
        raise SfjwtError(
            Code.OIDC_NO_ID_TOKEN,
            "the job has no identity token: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set "
            "(the workflow lacks the id-token permission)",
            missing_token_fix(provider, audience),
        )
    full = url + ("&" if "?" in url else "?") + urllib.parse.urlencode({"audience": audience})
    request = urllib.request.Request(full, headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"})
    status, doc = _call(request)
    value = doc.get("value") if isinstance(doc, dict) else None
    if status != 200 or not isinstance(value, str) or not value:
        raise SfjwtError(
            Code.OIDC_PROVIDER_FAILED,
            f"GitHub did not hand out the job's identity token (HTTP {status})",
            "rerun the job; if it persists, check the workflow's permissions (id-token: write) and GitHub's status",
        )
    return value


def _call(request: urllib.request.Request) -> tuple[int, Any]:
    """(status, decoded JSON body or None). A network failure is NETWORK."""
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT) as reply:
            status, body = reply.status, reply.read(1 << 20)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        host = urllib.parse.urlsplit(request.full_url).hostname
        raise SfjwtError(
            Code.NETWORK, f"could not reach {host}: {getattr(exc, 'reason', exc)}", "check the URL and the network"
        ) from None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


# ----------------------------------------------------------------------------- the exchange


def exchange(req: OidcLoginRequest, identity: str) -> str:
    if urllib.parse.urlsplit(req.instance_url).scheme not in ("https", "http"):
        raise usage(f"--instance-url {req.instance_url!r} is not a URL", "pass the org's My Domain URL (https://…)")
    body = urllib.parse.urlencode(
        {
            "grant_type": GRANT_TYPE,
            "subject_token": identity,
            "subject_token_type": JWT_TOKEN_TYPE,
            "client_id": req.client_id,
        }
    ).encode()
    request = urllib.request.Request(
        f"{req.instance_url}/services/oauth2/token",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    status, doc = _call(request)
    doc = doc if isinstance(doc, dict) else {}
    token = doc.get("access_token")
    if status == 200 and isinstance(token, str) and token:
        return token
    raise refusal(str(doc.get("error") or ""), str(doc.get("error_description") or ""), status, req)


def refusal(error: str, description: str, status: int, req: OidcLoginRequest) -> SfjwtError:
    """The org's answer, classified (the handler's refusals name the claim: `claim X: …`)."""
    said = f"{error}: {description}" if description else error or f"HTTP {status}"
    trust = f"sfjwt-orch trust {req.provider.value} --alias {req.alias} …"
    if description.startswith("claim "):
        return SfjwtError(
            Code.OIDC_CLAIM_MISMATCH,
            f"the org refused the job's identity token: {description}",
            f"run the job where the org trusts it, or trust this one as an admin: {trust}",
        )
    if description.startswith("signature"):
        return SfjwtError(
            Code.OIDC_SIGNATURE,
            f"the org refused the job's identity token: {description}",
            "check --issuer at trust time (GitHub Enterprise Server and self-managed GitLab have their own), "
            "and that the org may reach the issuer's keys (its Remote Site Setting)",
        )
    if error == "unsupported_grant_type" or "handler" in description:
        return SfjwtError(
            Code.OIDC_EXCHANGE_DISABLED,
            f"the app does not allow the token exchange ({said})",
            f"enable it by running, as an admin: {trust}",
        )
    if error == "invalid_app_access" or "admin approved" in description:
        return SfjwtError(
            Code.OIDC_NOT_PREAUTHORIZED,
            f"the CI user is not pre-authorized for the app ({said})",
            f"rerun {trust} (it assigns the app's permission set to the user)",
        )
    if error in ("invalid_client_id", "app_not_found"):
        return SfjwtError(
            Code.CLIENT_ID_INVALID,
            f"the org does not know the app ({said})",
            "check --client-id (trust prints it); a new app takes a few minutes to reach every server",
        )
    return SfjwtError(
        Code.UNKNOWN, f"the org refused the token exchange ({said})", "rerun with --verbose; see docs/keyless-ci.md"
    )


# ----------------------------------------------------------------------------- sf


def _hand_to_sf(req: OidcLoginRequest, access_token: str, ctx: Context, report: OidcLoginReport) -> None:
    argv = [ctx.sf().find(), "org", "login", "access-token", "--instance-url", req.instance_url, "--alias", req.alias]
    argv += ["--no-prompt", "--json"]
    env = sf_env({**ctx.env, "SF_ACCESS_TOKEN": access_token})  # the token travels in the environment only
    outcome = parse_login(ctx.runner.run(argv, timeout=run_timeout(ctx.env), env=env))
    if isinstance(outcome, Diagnosis):
        raise SfjwtError(outcome.code, f"sf could not log in with the exchanged token: {outcome.message}", outcome.fix)
    assert isinstance(outcome, LoginSuccess)
    report.username, report.org_id = outcome.username, outcome.org_id
    shown = ctx.sf().display(req.alias)
    if not (isinstance(shown, OrgDisplay) and shown.connected):
        status = shown.status if isinstance(shown, OrgDisplay) else shown.message
        raise SfjwtError(
            Code.SF_FAILED,
            f"sf logged in, but sf org display says {status or 'not connected'}",
            f"check the org: sf org display --target-org {req.alias}",
        )
