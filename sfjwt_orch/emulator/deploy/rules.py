"""The checks that look past one file: at the org's switches, the other components of the deploy,
and what the org holds already. Run under the org's lock, after ``checks.check_file``.

Texts quoted from real orgs: the Spring '26 connected-app block (Help article 005228017, "New
Connected Apps Can No Longer Be Created in Spring '26"; the deploy error's wording as several public
repositories quote it alike, none named here), "The consumer key
is already taken." (forcedotcom/devops-center-feedback#256), "You cannot provide a Consumer Key"
(trailheadapps/ready-to-fly#29, SFDO-Tooling/CumulusCI#2943), "duplicate value found:
ExternalClientApplicationId duplicates value on record with id: …" (a third-party report; no
openable source found). "Not available for deploy for this organization" and "In field: F - no T
named N found" are the Metadata API's usual wording for a type the org has not enabled and for a
missing reference (no primary source found). Three cases have no public text at all (ECAs
disabled, a name clash, a bad certificate); those texts are [inferred].
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..certificate import CertificateError, load_certificate
from ..model import Switches
from ..org_setup import OrgSetup
from . import schema
from .archive import Problem
from .checks import Parsed, problem
from .registry import ECA_TYPES, SCOPE_ENUM

CONNECTED_APP_BLOCKED = (
    "You can't create a connected app. To enable connected app creation, contact Salesforce Customer Support."
)
NOT_ORG_ENABLED = "Not available for deploy for this organization"
KEY_REFUSED = "You cannot provide a Consumer Key"
KEY_TAKEN = "The consumer key is already taken."
_CONSUMER_KEY_RE = re.compile(r"^[\x21-\x7e]{18,256}$")
_ID_RE = re.compile(r"^0PS[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


def _split(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _duplicate(field: str, record_id: str) -> str:
    return f"duplicate value found: {field} duplicates value on record with id: {record_id}"


class _Deploy:
    """One deploy's components, and the org they land in."""

    def __init__(self, parsed: Sequence[Parsed], setup: OrgSetup, switches: Switches) -> None:
        self.parsed = parsed
        self.setup = setup
        self.switches = switches
        self.names = {(p.type_name, p.full_name.casefold()) for p in parsed}

    def in_deploy(self, type_name: str, name: str) -> bool:
        return (type_name, name.casefold()) in self.names

    def exists(self, type_name: str, name: str) -> bool:
        """A component of the org, or one this deploy makes."""
        return self.in_deploy(type_name, name) or self.setup.component(type_name, name) is not None

    def permission_set_exists(self, ref: str) -> bool:
        if self.switches.permission_set_ids_only:
            return bool(_ID_RE.match(ref)) and self.setup.permission_set(ref) is not None
        in_deploy = self.in_deploy("PermissionSet", ref) and not self.switches.permission_set_deploy_first
        return self.setup.permission_set(ref) is not None or in_deploy

    def consumer_key_problem(self, key: str | None, existing_key: str | None) -> str | None:
        """The problem with a deployed consumerKey; ``existing_key`` is the key of the app being updated."""
        if key is None or key == existing_key:
            return None
        if self.switches.consumer_key_refused or existing_key is not None:
            return KEY_REFUSED
        if not _CONSUMER_KEY_RE.match(key):
            return "The consumer key must be 18 to 256 characters, with no spaces."  # [inferred]
        if self.setup.app(key) is not None:
            return KEY_TAKEN
        return None


def _certificate_problem(pem: str | None) -> str | None:
    if not pem:
        return None
    try:
        load_certificate(pem)
    except CertificateError as exc:
        return f"Invalid certificate: {exc}"  # [inferred]: no public source gives Salesforce's text
    return None


# --------------------------------------------------------------------------- per type


def _eca_header(d: _Deploy, p: Parsed) -> str | None:
    existing = d.setup.component(p.type_name, p.full_name)
    if existing is not None:
        # The app exists already: Salesforce's unique-name violation (a redeploy does not take it over).
        return _duplicate("DeveloperName", existing.record_id)
    return None


def _eca_part(d: _Deploy, p: Parsed) -> str | None:
    """A settings or policy component: its app must exist, and an app has one of each kind."""
    named = p.value("externalClientApplication") or ""
    eca = named.casefold()
    if (
        not d.in_deploy("ExternalClientApplication", eca)
        and d.setup.component("ExternalClientApplication", eca) is None
    ):
        return f"In field: externalClientApplication - no ExternalClientApplication named {named} found"
    name = p.full_name.casefold()
    for other in d.setup.components(p.type_name):
        same_eca = (other.field("externalClientApplication") or "").casefold() == eca
        if other.full_name.casefold() == name and not same_eca:
            return _duplicate("DeveloperName", other.record_id)
        if same_eca and other.full_name.casefold() != name:
            # E.g. a policy named otherwise than the one generated on first deploy (Help
            # xcloud.meta_enable_oauth_plugin: the policies file "is generated ... during deployment").
            return _duplicate("ExternalClientApplicationId", other.record_id)
    earlier = d.parsed[: d.parsed.index(p)]
    for other_parsed in earlier:
        if (
            other_parsed.type_name == p.type_name
            and (other_parsed.value("externalClientApplication") or "").casefold() == eca
        ):
            # Two of a kind for one app in one deploy: nothing has an id yet to name [inferred].
            return (
                f"duplicate value found: ExternalClientApplicationId duplicates {other_parsed.full_name} in this deploy"
            )
    return None


def _global_oauth(d: _Deploy, p: Parsed) -> str | None:
    existing = d.setup.component(p.type_name, p.full_name)
    existing_key = None if existing is None else existing.field("consumerKey")
    return _certificate_problem(p.value("certificate")) or d.consumer_key_problem(p.value("consumerKey"), existing_key)


def _scope_problem(scopes: list[str], version: float) -> str | None:
    """An ECA's commaSeparatedOauthScopes is a plain string in the schema; its names are taken to be a
    ConnectedApp's scope enumeration of the same API version [inferred: no enumeration is published for
    the ECA field]."""
    schema_version = schema.schema_version(version)
    allowed = () if schema_version is None else schema.index(schema_version)[SCOPE_ENUM].enum
    for scope in scopes:
        if allowed and scope not in allowed:
            return f"'{scope}' is not a valid value for the enum '{SCOPE_ENUM}'"
    return None


def _oauth_settings(d: _Deploy, p: Parsed) -> str | None:
    if text := _scope_problem(_split(p.value("commaSeparatedOauthScopes")), p.version):
        return text
    link = p.value("oauthLink")
    existing = d.setup.component(p.type_name, p.full_name)
    if link and (existing is None or existing.field("oauthLink") != link):
        # Help xcloud.deploy_external_client_app_with_global_settings_file: a wrong oauthLink fails the deploy.
        return f"In field: oauthLink - no OAuth link named {link} found"  # [inferred]
    return None


def _references(d: _Deploy, field: str, refs: Sequence[str], kind: str) -> str | None:
    profiles = {name.casefold() for name in d.setup.profiles()}
    for ref in refs:
        if kind == "PermissionSet" and not d.permission_set_exists(ref):
            if d.switches.permission_set_ids_only and not _ID_RE.match(ref):
                return f"In field: {field} - '{ref}' is not a valid permission set ID"  # [inferred]
            return f"In field: {field} - no PermissionSet named {ref} found"
        if kind == "Profile" and ref.casefold() not in profiles:
            return f"In field: {field} - no Profile named {ref} found"
    return None


def _oauth_policies(d: _Deploy, p: Parsed) -> str | None:
    return _references(
        d, "commaSeparatedPermissionSet", _split(p.value("commaSeparatedPermissionSet")), "PermissionSet"
    ) or _references(d, "commaSeparatedProfile", _split(p.value("commaSeparatedProfile")), "Profile")


def _connected_app(d: _Deploy, p: Parsed) -> str | None:
    existing = d.setup.component(p.type_name, p.full_name)
    if existing is None and d.switches.connected_app_creation_blocked:
        return CONNECTED_APP_BLOCKED
    oauth = p.root.child("oauthConfig")
    if oauth is not None:
        # The schema checked the oauthConfig's elements and scopes already.
        existing_key = None if existing is None else existing.field("oauthConfig.consumerKey")
        text = _certificate_problem(p.value("oauthConfig.certificate")) or d.consumer_key_problem(
            p.value("oauthConfig.consumerKey"), existing_key
        )
        if text:
            return text
    return _references(d, "permissionSetName", p.values("permissionSetName"), "PermissionSet") or _references(
        d, "profileName", p.values("profileName"), "Profile"
    )


def _token_exchange_handler(d: _Deploy, p: Parsed) -> str | None:
    """The handler's Apex class and the apps it is enabled for exist, in the org or in this deploy.

    The handler "also consists of an Apex class" named by ``tokenHandlerApex`` (Metadata API Developer
    Guide, OauthTokenExchangeHandler), and each enablement is an OauthTokenExchHandlerApp record whose
    ExternalClientApplicationId is a lookup to the app (Object Reference, OauthTokenExchHandlerApp): a
    lookup cannot name what does not exist. That the deploy fails, and its wording, are our model (the
    Metadata API's usual text for a missing reference; no page shows this type's)."""
    handler = p.value("tokenHandlerApex") or ""
    if not d.exists("ApexClass", handler):
        return f"In field: tokenHandlerApex - no ApexClass named {handler} found"
    for app in p.values("enablements.externalClientApp"):
        if not d.exists("ExternalClientApplication", app):
            return f"In field: externalClientApp - no ExternalClientApplication named {app} found"
    return None


_RULES: dict[str, Callable[[_Deploy, Parsed], str | None]] = {
    "ExternalClientApplication": _eca_header,
    "ExtlClntAppGlobalOauthSettings": lambda d, p: _eca_part(d, p) or _global_oauth(d, p),
    "ExtlClntAppOauthSettings": lambda d, p: _eca_part(d, p) or _oauth_settings(d, p),
    "ExtlClntAppOauthConfigurablePolicies": lambda d, p: _eca_part(d, p) or _oauth_policies(d, p),
    "ExtlClntAppConfigurablePolicies": _eca_part,
    "ConnectedApp": _connected_app,
    "OauthTokenExchangeHandler": _token_exchange_handler,
}


def check_rules(parsed: Sequence[Parsed], setup: OrgSetup, switches: Switches) -> list[Problem]:
    """The problems of components that passed their own checks; call under ``setup.transaction()``."""
    deploy = _Deploy(parsed, setup, switches)
    problems: list[Problem] = []
    for p in parsed:
        if p.type_name in ECA_TYPES and switches.external_client_apps_disabled:
            problems.append(problem(p.source, NOT_ORG_ENABLED))
            continue
        rule = _RULES.get(p.type_name)
        text = None if rule is None else rule(deploy, p)
        if text is not None:
            problems.append(problem(p.source, text))
    return problems
