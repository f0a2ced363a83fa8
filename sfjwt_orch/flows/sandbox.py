"""`sandbox add`: a sandbox's login derived from its production profile, then the usual login.

A sandbox is a copy of production, so its values follow from production's (Salesforce Help
"Sandbox Setup Considerations", "My Domain URL formats"):
- the username is production's with `.<sandbox name>` appended (Salesforce appends it on copy);
- the login URL is `https://<mydomain>--<name>.sandbox.my.salesforce.com` when production logs in
  at its My Domain (`<mydomain>.my.salesforce.com`) or sf reported that My Domain at production's last
  login, else the generic `https://test.salesforce.com`;
- the consumer key and the certificate are the same: a Connected App is copied with the org. A
  local External Client App is not: the sandbox then answers "External client app is not installed
  in this org", and the fix is `app create` in that sandbox.
Every derived value can be overridden by the login flags.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, usage
from sfjwt_orch.flows import login, login_request
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import profiles, state
from sfjwt_orch.store.suggest import alias_hint

# Sandbox names: letters and digits, starting with a letter, at most 10 characters (Salesforce
# Help "Create a Sandbox": "The name ... can contain only alphanumeric characters").
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,9}")
_MY_DOMAIN = re.compile(r"(?P<domain>[a-z0-9][a-z0-9-]*)\.my\.salesforce\.com", re.IGNORECASE)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise usage(
            f"invalid sandbox name {name!r}",
            "use the sandbox's name as in Setup → Sandboxes: 1-10 letters or digits, starting with a letter (e.g. uat)",
        )
    return name.lower()


def sandbox_url(production_url: str, name: str) -> str:
    """The sandbox's login URL from production's: its My Domain form when production has one."""
    host = _host(production_url or validate.PRODUCTION)
    found = _MY_DOMAIN.fullmatch(host)
    if found is None or "--" in found["domain"]:  # not a My Domain, or already a sandbox's
        return validate.SANDBOX
    return f"https://{found['domain'].lower()}--{name.lower()}.sandbox.my.salesforce.com"


def production_my_domain(profile_url: str, reported_url: str) -> str:
    """Production's login URL for deriving a sandbox's: the profile's, or, when that is the generic
    host, the My Domain sf reported at production's last login (the state's instance_url), since an
    External Client App takes only a My Domain as audience (Spring '26, login_urls.py)."""
    if _MY_DOMAIN.fullmatch(_host(profile_url or validate.PRODUCTION)) or not reported_url:
        return profile_url
    try:
        reported = _host(reported_url)
    except SfjwtError:
        return profile_url
    return f"https://{reported}" if _MY_DOMAIN.fullmatch(reported) else profile_url


def derive(production: profiles.Profile, name: str, alias: str, key_file: str) -> profiles.Profile:
    """The sandbox's profile: production's values, as a sandbox named `name` has them.
    `key_file`: production's key (its saved path, or its alias's default one)."""
    if _is_sandbox(production.instance_url):
        raise usage(
            f"{production.alias!r} logs in to a sandbox ({production.instance_url}), not production",
            "pass the production alias to --from",
        )
    return profiles.Profile(
        alias=alias,
        client_id=production.client_id,
        username=f"{production.username}.{name.lower()}" if production.username else "",
        instance_url=sandbox_url(production.instance_url, name),
        key_file=key_file,
        cert_file=production.cert_file,
        callback_url=production.callback_url,
    )


def _host(url: str) -> str:
    """The host as the one URL parser reads it (a profile's URL has passed it already when loaded)."""
    return validate.parse(url, "the production login URL", "check the production profile's instance_url").host


def _is_sandbox(url: str) -> bool:
    host = _host(url) if url else ""
    return host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com")


@dataclass(frozen=True)
class SandboxCommand:
    production: str  # --from
    name: str
    login: login_request.LoginRequest  # the login flags: the answers given override the derived ones

    @property
    def alias(self) -> str:
        return self.login.alias


@dataclass
class SandboxReport:
    """The sandbox's login report, with the sandbox's fields (`from_alias`, `sandbox_name`)."""

    login: login.LoginReport
    from_alias: str
    sandbox_name: str

    @property
    def error(self) -> SfjwtError | None:
        return self.login.error

    def to_json(self) -> dict[str, Any]:
        return self.login.to_json({"from_alias": self.from_alias, "sandbox_name": self.sandbox_name})


def run(cmd: SandboxCommand, ctx: Context) -> SandboxReport:
    """Derive, then log in as `login` does (approval and retries): the login's report with the
    sandbox's fields, its error set when it failed."""
    try:
        given = _derived(cmd, ctx)
    except SfjwtError as exc:
        failed = login.LoginReport(alias=cmd.alias, username=cmd.login.username, error=exc)
        return SandboxReport(failed, cmd.production, cmd.name)
    ctx.console.step(f"Sandbox {cmd.name!r} of {cmd.production!r}: {given.username} at {given.instance_url}")
    report = login.run(dataclasses.replace(cmd.login, profile=given), ctx)
    if report.error is not None and report.error.code is Code.APP_NOT_INSTALLED:
        report.error = _app_missing(report.username, cmd)
    return SandboxReport(report, cmd.production, cmd.name)


def _derived(cmd: SandboxCommand, ctx: Context) -> profiles.Profile:
    """The sandbox's profile: production's, derived (sandbox_url, derive), under the flags given."""
    production = profiles.load(ctx.paths, cmd.production)
    if production is None:
        raise SfjwtError(
            Code.PROFILE_NOT_FOUND,
            f"no saved profile for the production alias {cmd.production!r}{alias_hint(ctx.paths, cmd.production)}",
            f"set production up first: sfjwt-orch bootstrap --alias {cmd.production}",
        )
    key = str(login_request.default_key_file(production, ctx.paths))
    known = state.load(ctx.paths, cmd.production).instance_url
    my_domain = production_my_domain(production.instance_url, known)
    production = production.merged(profiles.Profile(production.alias, instance_url=my_domain))
    return derive(production, cmd.name, cmd.alias, key).merged(cmd.login.profile)


def _app_missing(username: str, cmd: SandboxCommand) -> SfjwtError:
    return SfjwtError(
        Code.APP_NOT_INSTALLED,
        f"the sandbox {cmd.name!r} has no copy of the app: External client app is not installed in this org "
        "(a local External Client App is not copied into sandboxes; a Connected App is)",
        f"create the app in the sandbox from its admin login: sfjwt-orch app create --alias {cmd.alias} "
        f"--target-org <sandbox admin alias> --username {username or '<the sandbox user>'}",
    )
