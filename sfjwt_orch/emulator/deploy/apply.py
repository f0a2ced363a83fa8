"""Writing a checked deploy into the org.

What the org adds on the way in, as Salesforce does: a permission set gets its ``0PS`` id; an ECA
header gets ``orgScopedExternalApp`` (``<OrgId>:<name>``, "generated on first deploy"); global OAuth
settings without a ``consumerKey`` get a generated one (readable by a retrieve); a new OAuth
settings component without a policy gets ``<settings name>_defaultPolicy`` with default values
("generated with default values during deployment", Help xcloud.meta_enable_oauth_plugin). Then the
apps of the ECAs and connected apps the deploy touched are re-derived (``apps.refresh``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .. import ids
from ..model import Switches, User
from ..org_setup import Component, OrgSetup
from . import apps
from .checks import Parsed
from .xmlio import Node, element

# Types in the order they are written: what others refer to first.
_ORDER = (
    "PermissionSet",
    "ExternalClientApplication",
    "ExtlClntAppGlobalOauthSettings",
    "ExtlClntAppOauthSettings",
    "ExtlClntAppOauthConfigurablePolicies",
    "ExtlClntAppConfigurablePolicies",
    "ConnectedApp",
    "ApexClass",
    "RemoteSiteSetting",
    "OauthTokenExchangeHandler",
)


@dataclass(frozen=True)
class Applied:
    parsed: Parsed
    record_id: str
    created: bool


def _finish(p: Parsed, root: Node, existing: Component | None, org_id: str) -> Node:
    """The component as the org stores it, with what the org generates filled in."""
    if p.source.content is not None:
        return root.with_text("content", base64.b64encode(p.source.content).decode())
    if p.type_name == "ExternalClientApplication" and not p.value("orgScopedExternalApp"):
        return root.with_text("orgScopedExternalApp", f"{org_id}:{p.full_name}")
    if p.type_name == "ExtlClntAppGlobalOauthSettings" and not p.value("consumerKey"):
        kept = None if existing is None else existing.field("consumerKey")
        return root.with_text("consumerKey", kept or ids.consumer_key())
    oauth = root.child("oauthConfig")
    if p.type_name == "ConnectedApp" and oauth is not None and not p.value("oauthConfig.consumerKey"):
        kept = None if existing is None else existing.field("oauthConfig.consumerKey")
        return root.with_child(oauth.with_text("consumerKey", kept or ids.consumer_key()))
    return root


def _store(setup: OrgSetup, p: Parsed, user: User, org_id: str, now: float) -> Applied:
    existing = setup.component(p.type_name, p.full_name)
    if p.type_name == "PermissionSet":
        record_id = setup.put_permission_set(p.full_name, p.value("label") or p.full_name).perm_set_id
    else:
        record_id = existing.record_id if existing else ids.record_id(ids.COMPONENT_PREFIXES[p.type_name])
    root = _finish(p, p.root, existing, org_id)
    if existing is not None:
        setup.put_component(replace(existing, root=root, modified_at=now))
    else:
        setup.put_component(Component(p.type_name, p.full_name, record_id, root, now, now, user))
    return Applied(p, record_id, existing is None)


def _default_policy(setup: OrgSetup, eca: str, user: User, now: float) -> None:
    parts = apps.eca_parts(setup, eca)
    settings = parts.get("ExtlClntAppOauthSettings")
    if settings is None or "ExtlClntAppOauthConfigurablePolicies" in parts:
        return
    name = f"{settings.full_name}_defaultPolicy"
    root = element(
        "ExtlClntAppOauthConfigurablePolicies",
        element("externalClientApplication", text=eca),
        element("ipRelaxationPolicyType", text="Enforce"),
        element("isClientCredentialsFlowEnabled", text="false"),
        element("isTokenExchangeFlowEnabled", text="false"),
        element("label", text=name),
        element("permittedUsersPolicyType", text="AllSelfAuthorized"),
        element("refreshTokenPolicyType", text="Infinite"),
    )
    record_id = ids.record_id(ids.COMPONENT_PREFIXES["ExtlClntAppOauthConfigurablePolicies"])
    setup.put_component(Component("ExtlClntAppOauthConfigurablePolicies", name, record_id, root, now, now, user))


def apply(
    parsed: Sequence[Parsed], setup: OrgSetup, user: User, switches: Switches, org_id: str, now: float
) -> list[Applied]:
    """Write ``parsed`` (all checked) into the org; call under ``setup.transaction()``.
    Returns one ``Applied`` per component, in the order given."""
    done: dict[int, Applied] = {}
    for type_name in _ORDER:
        for index, p in enumerate(parsed):
            if p.type_name == type_name:
                done[index] = _store(setup, p, user, org_id, now)
    ecas = {
        p.full_name if p.type_name == "ExternalClientApplication" else p.value("externalClientApplication") or ""
        for p in parsed
        if p.type_name.startswith(("ExternalClientApplication", "ExtlClntApp"))
    }
    for eca in ecas:
        _default_policy(setup, eca, user, now)
    connected = {p.full_name for p in parsed if p.type_name == "ConnectedApp"}
    apps.refresh(setup, ecas, connected, switches, now)
    return [done[i] for i in range(len(parsed))]
