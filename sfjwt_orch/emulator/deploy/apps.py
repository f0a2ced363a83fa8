"""From deployed components to the apps the token endpoint knows.

An External Client App is five components tied together by their ``externalClientApplication``
field; it becomes a JWT app once it has global OAuth settings (consumer key, certificate). Its OAuth
policy says who may use it: ``AdminApprovedPreAuthorized`` makes it admin-approved, admitting users
who hold a listed permission set or profile (resolved at each token request, so a later
``sf org assign permset`` counts); ``AllSelfAuthorized`` needs the user's own approval. A
ConnectedApp says the same with ``oauthConfig/isAdminApproved`` and ``permissionSetName`` /
``profileName``. An app created by a deploy propagates for ``Switches.deploy_propagation_seconds``.
"""

from __future__ import annotations

from dataclasses import replace

from ..certificate import AppCertificate, CertificateError, load_certificate
from ..model import DEFAULT_CALLBACK_URL, App, Policy, Switches
from ..org_setup import Component, OrgSetup, RegisteredApp
from .registry import ECA_PART_TYPES


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").replace("\n", ",").split(",") if item.strip())


def _certificate(pem: str | None) -> AppCertificate | None:
    try:
        return load_certificate(pem) if pem else None
    except CertificateError:  # deploys check certificates first; a config edit may not have
        return None


def eca_parts(setup: OrgSetup, eca: str) -> dict[str, Component]:
    """The settings and policy components of ECA ``eca``, by type."""
    return {
        c.type_name: c
        for type_name in ECA_PART_TYPES
        for c in setup.components(type_name)
        if (c.field("externalClientApplication") or "").casefold() == eca.casefold()
    }


def _registration(
    setup: OrgSetup, source: str, app: App, certificate: AppCertificate | None, switches: Switches, now: float
) -> RegisteredApp:
    previous = setup.find_app(source)
    if previous is not None and previous.source is not None:
        # An update: the app keeps its age (it has propagated already, or is still on its way).
        app = replace(app, propagation_seconds=previous.app.propagation_seconds)
        return RegisteredApp(app, certificate, previous.since, source)
    return RegisteredApp(
        replace(app, propagation_seconds=switches.deploy_propagation_seconds), certificate, now, source
    )


def eca_app(setup: OrgSetup, eca: str, switches: Switches, now: float) -> RegisteredApp | None:
    header = setup.component("ExternalClientApplication", eca)
    parts = eca_parts(setup, eca)
    settings = parts.get("ExtlClntAppGlobalOauthSettings")
    key = None if settings is None else settings.field("consumerKey")
    if header is None or settings is None or not key:
        return None
    enabled = parts.get("ExtlClntAppConfigurablePolicies")
    if enabled is not None and "false" in (enabled.field("isEnabled"), enabled.field("isOauthPluginEnabled")):
        return None  # the app or its OAuth plugin is switched off: it answers as unknown
    policy_component = parts.get("ExtlClntAppOauthConfigurablePolicies")
    permitted = None if policy_component is None else policy_component.field("permittedUsersPolicyType")
    policy: Policy = "admin-approved" if permitted == "AdminApprovedPreAuthorized" else "self-authorize"
    pem = settings.field("certificate") or ""
    app = App(
        name=header.field("label") or header.full_name,
        consumer_key=key,
        certificate_pem=pem,
        callback_urls=_split(settings.field("callbackUrl")) or (DEFAULT_CALLBACK_URL,),
        policy=policy,
        eca=True,
        description=header.field("description") or "",
        permission_sets=()
        if policy_component is None
        else _split(policy_component.field("commaSeparatedPermissionSet")),
        profiles=() if policy_component is None else _split(policy_component.field("commaSeparatedProfile")),
    )
    return _registration(setup, header.full_name, app, _certificate(pem), switches, now)


def connected_app(setup: OrgSetup, component: Component, switches: Switches, now: float) -> RegisteredApp | None:
    key = component.field("oauthConfig.consumerKey")
    if not key:
        return None
    admin_approved = component.field("oauthConfig.isAdminApproved") == "true"
    pem = component.field("oauthConfig.certificate") or ""
    app = App(
        name=component.field("label") or component.full_name,
        consumer_key=key,
        certificate_pem=pem,
        callback_urls=_split(component.field("oauthConfig.callbackUrl")) or (DEFAULT_CALLBACK_URL,),
        policy="admin-approved" if admin_approved else "self-authorize",
        eca=False,
        description=component.field("description") or "",
        permission_sets=(*component.fields.get("permissionSetName", ()),),
        profiles=component.fields.get("profileName", ()),
    )
    return _registration(setup, component.full_name, app, _certificate(pem), switches, now)


def refresh(setup: OrgSetup, ecas: set[str], connected_apps: set[str], switches: Switches, now: float) -> None:
    """Re-derive the apps of the ECAs and connected apps a deploy touched."""
    found: list[tuple[str, RegisteredApp | None]] = [(eca, eca_app(setup, eca, switches, now)) for eca in ecas]
    for name in connected_apps:
        component = setup.component("ConnectedApp", name)
        found.append((name, None if component is None else connected_app(setup, component, switches, now)))
    for source, reg in found:
        if reg is None:
            setup.unregister(source)
        else:
            setup.register(reg)


def upload_certificate(setup: OrgSetup, ref: str, certificate_pem: str, now: float) -> RegisteredApp:
    """Upload or replace an app's certificate, as an admin does in Setup: the app (configured or
    deployed) verifies JWTs with the new one at once, and a deployed app's settings component holds
    it, so a retrieve shows it. Raises ``CertificateError`` or ``EmulatorError``."""
    with setup.transaction():
        reg = setup.set_certificate(ref, certificate_pem)
        if reg.source is None:
            return reg
        if reg.app.eca:
            target = eca_parts(setup, reg.source).get("ExtlClntAppGlobalOauthSettings")
        else:
            target = setup.component("ConnectedApp", reg.source)
        if target is not None:
            root = target.root
            if reg.app.eca:
                root = root.with_text("certificate", certificate_pem)
            else:
                oauth = root.child("oauthConfig")
                if oauth is not None:
                    root = root.with_child(oauth.with_text("certificate", certificate_pem))
            setup.put_component(replace(target, root=root, modified_at=now))
        return reg
