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

CALLBACK_URL = "http://localhost:1717/OauthRedirect"  # as app create's


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
        app = metadata.AppMetadata(
            self.app_name,
            self.permission_set,
            self.certificate_pem,
            CALLBACK_URL,
            self.spec.username,
            self.consumer_key,
            purpose="keyless CI login (token exchange)",
            permission_set_label="CI access",
            token_exchange=True,
            with_header=not self.app_exists,
        )
        components = [
            *app.components(),
            ("RemoteSiteSetting", self.remote_site, metadata.doc("RemoteSiteSetting", self._remote_site())),
            ("OauthTokenExchangeHandler", self.exchange_handler, self._exchange_handler()),
        ]
        out = {metadata.relative_path(t, m): text for t, m, text in components}
        handler, test = self.handler, self.test_class
        out[f"classes/{handler}.cls"] = apex.handler_class(self.spec, handler)
        out[f"classes/{handler}.cls-meta.xml"] = apex.meta_xml()
        out[f"classes/{test}.cls"] = apex.test_class(self.spec, handler, test)
        out[f"classes/{test}.cls-meta.xml"] = apex.meta_xml()
        out["package.xml"] = metadata.package_xml({**metadata.members_of(components), "ApexClass": [handler, test]})
        return out

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
        return metadata.wrap("OauthTokenExchangeHandler", body)
