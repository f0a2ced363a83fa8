"""The metadata-API directory `trust` deploys: one package, pure (values in, file texts out).

- The External Client App with token exchange on and no secret required for it
  (ExtlClntAppGlobalOauthSettings `isTokenExchangeEnabled`, `isSecretRequiredForTokenExchange`;
  ExtlClntAppOauthConfigurablePolicies `isTokenExchangeFlowEnabled`, Metadata API 64.0), admin
  approved and pre-authorized through the gate permission set, as `app create` makes it. An app
  `app create` made keeps its certificate, so its JWT login keeps working beside the exchange.
- The handler and its test class (ApexClass: `classes/X.cls` + `classes/X.cls-meta.xml`).
- The OauthTokenExchangeHandler that enables the handler for the app (`tokenHandlerApex`,
  `isEnabled`, `isJwtSupported`, `enablements` with `externalClientApp` and `apexExecutionUser`),
  folder `oauthtokenexchangehandlers`, suffix `oauthtokenexchangehandler` (SDR's
  metadataRegistry.json, sf 2.150.6).
- A RemoteSiteSetting for the issuer: "Before any Apex callout can call an external site, that
  site must be registered in the Remote Site Settings page, or the callout fails" (Apex Developer
  Guide, "Adding Remote Site Settings"). Whether validateJWTWithKeysEndpoint's fetch of the keys is
  held to that rule is not documented; registering the issuer's origin is what the callout rule asks,
  and costs nothing when it is not needed. Folder `remoteSiteSettings`, suffix `remoteSite`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from sfjwt_orch.keyless import apex
from sfjwt_orch.keyless.spec import TrustSpec
from sfjwt_orch.salesforce import metadata

FOLDERS = {
    **metadata.FOLDERS,
    "ApexClass": ("classes", "cls"),
    "OauthTokenExchangeHandler": ("oauthtokenexchangehandlers", "oauthtokenexchangehandler"),
    "RemoteSiteSetting": ("remoteSiteSettings", "remoteSite"),
}
_XMLNS = "http://soap.sforce.com/2006/04/metadata"


@dataclass(frozen=True)
class TrustPackage:
    app_name: str
    permission_set: str
    spec: TrustSpec
    execution_user: str  # the handler runs as this user (the admin who trusts)
    consumer_key: str | None
    certificate_pem: str = ""  # the app's certificate when app create made it (its JWT login stays)
    # The org has the app already: its header is left out (a redeploy of an ECA's header is a
    # duplicate DeveloperName); its settings and policies are updated in place.
    app_exists: bool = False

    @property
    def handler(self) -> str:
        return apex.class_names(self.app_name)[0]

    @property
    def test_class(self) -> str:
        return apex.class_names(self.app_name)[1]

    @property
    def exchange_handler(self) -> str:
        return f"{self.app_name[:74].rstrip('_')}_Xchg"

    @property
    def remote_site(self) -> str:
        return f"{self.app_name[:73].rstrip('_')}_Issuer"

    def files(self) -> dict[str, str]:
        n = self.app_name
        handler, test = self.handler, self.test_class
        components: list[tuple[str, str, str]] = [
            ("PermissionSet", self.permission_set, _doc("PermissionSet", _permission_set(n))),
            (
                "ExtlClntAppGlobalOauthSettings",
                f"{n}_glbloauth",
                _doc("ExtlClntAppGlobalOauthSettings", self._global()),
            ),
            ("ExtlClntAppOauthSettings", f"{n}_oauth", _doc("ExtlClntAppOauthSettings", self._oauth())),
            (
                "ExtlClntAppOauthConfigurablePolicies",
                f"{n}_oauth_defaultPolicy",
                _doc("ExtlClntAppOauthConfigurablePolicies", self._policy()),
            ),
            (
                "ExtlClntAppConfigurablePolicies",
                f"{n}_defaultPolicy",
                _doc("ExtlClntAppConfigurablePolicies", self._plcy()),
            ),
            ("RemoteSiteSetting", self.remote_site, _doc("RemoteSiteSetting", self._remote_site())),
            ("OauthTokenExchangeHandler", self.exchange_handler, self._exchange_handler()),
        ]
        if not self.app_exists:
            components.insert(1, ("ExternalClientApplication", n, _doc("ExternalClientApplication", self._header())))
        out = {_path(t, m): text for t, m, text in components}
        out[f"classes/{handler}.cls"] = apex.handler_class(self.spec, handler)
        out[f"classes/{handler}.cls-meta.xml"] = apex.meta_xml()
        out[f"classes/{test}.cls"] = apex.test_class(self.spec, handler, test)
        out[f"classes/{test}.cls-meta.xml"] = apex.meta_xml()
        members: dict[str, list[str]] = {}
        for t, m, _ in components:
            members.setdefault(t, []).append(m)
        members["ApexClass"] = [handler, test]
        out["package.xml"] = _package(members)
        return out

    def _header(self) -> list[tuple[str, str]]:
        return [
            ("contactEmail", self.spec.username),
            ("description", f"{metadata.MARKER}: keyless CI login (token exchange)"),
            ("distributionState", "Local"),
            ("isProtected", "false"),
            ("label", self.app_name),
        ]

    def _global(self) -> list[tuple[str, str]]:
        cert = [("certificate", self.certificate_pem.strip())] if self.certificate_pem.strip() else []
        key = [("consumerKey", self.consumer_key)] if self.consumer_key else []
        return [
            ("callbackUrl", "http://localhost:1717/OauthRedirect"),
            *cert,
            *key,
            ("externalClientApplication", self.app_name),
            ("isClientCredentialsFlowEnabled", "false"),
            ("isConsumerSecretOptional", "true"),
            ("isIntrospectAllTokens", "false"),
            ("isNamedUserJwtEnabled", "false"),
            ("isPkceRequired", "false"),
            ("isSecretRequiredForRefreshToken", "false"),
            ("isSecretRequiredForTokenExchange", "false"),
            ("isTokenExchangeEnabled", "true"),
            ("label", f"{self.app_name} Global OAuth"),
            ("shouldRotateConsumerKey", "false"),
            ("shouldRotateConsumerSecret", "false"),
        ]

    def _oauth(self) -> list[tuple[str, str]]:
        return [
            ("commaSeparatedOauthScopes", "Api,RefreshToken"),
            ("externalClientApplication", self.app_name),
            ("label", f"{self.app_name} OAuth"),
        ]

    def _policy(self) -> list[tuple[str, str]]:
        return [
            ("commaSeparatedPermissionSet", self.permission_set),
            ("externalClientApplication", self.app_name),
            ("ipRelaxationPolicyType", "Enforce"),
            ("isClientCredentialsFlowEnabled", "false"),
            ("isTokenExchangeFlowEnabled", "true"),
            ("label", f"{self.app_name} OAuth Policy"),
            ("permittedUsersPolicyType", "AdminApprovedPreAuthorized"),
            ("refreshTokenPolicyType", "SpecificLifetime"),
            ("refreshTokenValidityPeriod", "4"),
            ("refreshTokenValidityUnit", "Hours"),
            ("requiredSessionLevel", "STANDARD"),
        ]

    def _plcy(self) -> list[tuple[str, str]]:
        return [
            ("externalClientApplication", self.app_name),
            ("isEnabled", "true"),
            ("isOauthPluginEnabled", "true"),
            ("label", f"{self.app_name} Policy"),
        ]

    def _remote_site(self) -> list[tuple[str, str]]:
        parts = urlsplit(self.spec.keys_endpoint)
        return [
            ("description", f"{metadata.MARKER}: the CI issuer's published keys"),
            ("disableProtocolSecurity", "false"),
            ("isActive", "true"),
            ("url", f"{parts.scheme}://{parts.netloc}"),
        ]

    def _exchange_handler(self) -> str:
        e = escape
        enablement = (
            "\n    <enablements>"
            f"\n        <apexExecutionUser>{e(self.execution_user)}</apexExecutionUser>"
            f"\n        <externalClientApp>{e(self.app_name)}</externalClientApp>"
            "\n        <isDefault>true</isDefault>"
            "\n    </enablements>"
        )
        fields = [
            ("description", f"{metadata.MARKER}: {self.spec.provider.value} identity tokens"),
            ("developerName", self.exchange_handler),  # required by the schema (metadata.wsdl, API 61+)
            ("isAccessTokenSupported", "false"),
            ("isEnabled", "true"),
            ("isIdTokenSupported", "false"),
            ("isJwtSupported", "true"),
            ("isProtected", "false"),
            ("isRefreshTokenSupported", "false"),
            ("isSaml2Supported", "false"),
            ("isUserCreationAllowed", "false"),
            ("masterLabel", f"{self.app_name} token exchange"[:80]),
            ("tokenHandlerApex", self.handler),
        ]
        parts = [(k, f"\n    <{k}>{e(v)}</{k}>") for k, v in fields] + [("enablements", enablement)]
        body = "".join(text for _, text in sorted(parts)) + "\n"  # the schema's order: by name
        return _wrap("OauthTokenExchangeHandler", body)


def _permission_set(app_name: str) -> list[tuple[str, str]]:
    return [("hasActivationRequired", "false"), ("label", f"{app_name} CI access"[:80])]


def _path(metadata_type: str, member: str) -> str:
    folder, suffix = FOLDERS[metadata_type]
    return f"{folder}/{member}.{suffix}"


def _doc(root: str, fields: list[tuple[str, str]]) -> str:
    return _wrap(root, "".join(f"\n    <{k}>{escape(v)}</{k}>" for k, v in fields) + "\n")


def _wrap(root: str, body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_XMLNS}">{body}</{root}>\n'


def _package(members: dict[str, list[str]]) -> str:
    types = "".join(
        "\n    <types>"
        + "".join(f"\n        <members>{escape(m)}</members>" for m in names)
        + f"\n        <name>{t}</name>\n    </types>"
        for t, names in members.items()
    )
    return _wrap("Package", f"{types}\n    <version>{apex.API_VERSION}</version>\n")
