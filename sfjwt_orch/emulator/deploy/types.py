"""The metadata types the emulator deploys and retrieves, and the fields each may hold.

Folders, suffixes and first API versions are the reference's §A1 table (SDR
``metadataRegistry.json`` and the Metadata API Developer Guide pages ``meta_<type>.htm``). Field
lists, required fields and enumerations are from the same pages; a field the page gives a version
range for carries it (``certificate`` from 60.0; a policy's ``isNamedUserJwtEnabled`` only at
61.0-63.0, sfdx-hardis commit c698968f). A type whose children the emulator does not check
(PermissionSet has dozens) says so with ``open_content``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

METADATA_NS = "http://soap.sforce.com/2006/04/metadata"

Kind = Literal["string", "boolean", "int", "enum", "complex"]

ECA_TYPES = (
    "ExternalClientApplication",
    "ExtlClntAppGlobalOauthSettings",
    "ExtlClntAppOauthSettings",
    "ExtlClntAppOauthConfigurablePolicies",
    "ExtlClntAppConfigurablePolicies",
)
# The settings and policy types hang off one ECA each, through their externalClientApplication field.
ECA_PART_TYPES = ECA_TYPES[1:]


@dataclass(frozen=True)
class FieldSpec:
    kind: Kind = "string"
    required: bool = False
    enum_name: str = ""
    values: tuple[str, ...] = ()
    since: float = 0.0
    until: float | None = None  # last API version that has the field

    def in_version(self, version: float) -> bool:
        return self.since <= version and (self.until is None or version <= self.until)


@dataclass(frozen=True)
class MetadataType:
    name: str
    folder: str
    suffix: str
    since: float
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    open_content: bool = False  # children not listed in ``fields`` are accepted unchecked
    # A type with a content file (ApexClass: ``classes/X.cls`` beside ``classes/X.cls-meta.xml``):
    # the XML is in ``-meta.xml`` and the content is kept as the component's ``content`` field,
    # as MetadataWithContent has it (the Metadata API WSDL).
    has_content: bool = False

    def file_path(self, full_name: str) -> str:
        """The mdapi path, e.g. ``externalClientApps/X.eca`` (no ``-meta.xml``: reference §A1)."""
        return f"{self.folder}/{full_name}.{self.suffix}"


S = FieldSpec()
B = FieldSpec("boolean")
I = FieldSpec("int")  # noqa: E741 (a one-letter table alias, like S and B)
C = FieldSpec("complex")
REQUIRED = FieldSpec(required=True)


def _enum(name: str, *values: str, required: bool = False) -> FieldSpec:
    return FieldSpec("enum", required=required, enum_name=name, values=values)


_ECA = MetadataType(
    "ExternalClientApplication",
    "externalClientApps",
    "eca",
    59.0,
    {
        "contactEmail": S,
        "contactPhone": S,
        "description": S,
        # AutoInstalled and Managed are "for internal use only" but listed.
        "distributionState": _enum("ExtlClntAppDistState", "Local", "Packaged", "AutoInstalled", "Managed"),
        "iconUrl": S,
        "infoUrl": S,
        "isProtected": B,
        "label": REQUIRED,
        "logoUrl": S,
        "managedType": S,
        "orgScopedExternalApp": S,
    },
)

_GLOBAL_OAUTH = MetadataType(
    "ExtlClntAppGlobalOauthSettings",
    "extlClntAppGlobalOauthSets",
    "ecaGlblOauth",
    59.0,
    {
        "callbackUrl": S,
        "certificate": FieldSpec(since=60.0),
        "consumerKey": S,
        "consumerSecret": S,
        "externalClientApplication": REQUIRED,
        "idTokenConfig": C,
        "isClientCredentialsFlowEnabled": FieldSpec("boolean", since=60.0),
        "isCodeCredentialEnabled": B,
        "isCodeCredentialPostOnly": B,
        "isConsumerSecretOptional": B,
        "isDeviceFlowEnabled": B,
        "isIntrospectAllTokens": B,
        "isNamedUserJwtEnabled": B,
        "isPkceRequired": B,
        "isRefreshTokenRotationEnabled": B,
        "isSecretRequiredForRefreshToken": B,
        "isSecretRequiredForTokenExchange": B,
        "isTokenExchangeEnabled": B,
        "label": S,
        "shouldRotateConsumerKey": B,
        "shouldRotateConsumerSecret": B,
    },
)

_OAUTH = MetadataType(
    "ExtlClntAppOauthSettings",
    "extlClntAppOauthSettings",
    "ecaOauth",
    59.0,
    {
        "areAttributesIncludedInAssetToken": FieldSpec("boolean", since=61.0),
        "areCustomPermsIncludedInAssetToken": FieldSpec("boolean", since=61.0),
        "assetTokenAudiences": S,
        "assetTokenSigningCertificate": S,
        "assetTokenValidity": I,
        "commaSeparatedOauthScopes": S,
        "customAttributes": C,
        "externalClientApplication": REQUIRED,
        "idTokenConfig": C,
        "label": S,
        "oauthLink": S,
        "singleLogoutUrl": S,
    },
)

_OAUTH_POLICIES = MetadataType(
    "ExtlClntAppOauthConfigurablePolicies",
    "extlClntAppOauthPolicies",
    "ecaOauthPlcy",
    59.0,
    {
        "apexHandler": FieldSpec(since=61.0),
        "clientCredentialsFlowUser": FieldSpec(since=60.0),
        "commaSeparatedCustomScopes": FieldSpec(since=61.0),
        "commaSeparatedPermissionSet": S,
        "commaSeparatedProfile": S,
        "customAttributes": C,
        "externalClientApplication": REQUIRED,
        "ipRelaxationPolicyType": _enum(
            "IpRelaxationPolicyType", "Enforce", "Bypass", "Bypass_2factor", "Enforce_RelaxRefresh"
        ),
        "isClientCredentialsFlowEnabled": FieldSpec("boolean", since=60.0),
        "isGuestCodeCredFlowEnabled": B,
        "isNamedUserJwtEnabled": FieldSpec("boolean", since=61.0, until=63.0),
        "isTokenExchangeFlowEnabled": FieldSpec("boolean", since=60.0),
        "label": S,
        "permittedUsersPolicyType": _enum(
            "PermittedUsersPolicyType", "AdminApprovedPreAuthorized", "AllSelfAuthorized"
        ),
        "policyAction": _enum("PolicyAction", "Block", "RaiseSessionLevel"),
        "refreshTokenPolicyType": S,
        "refreshTokenValidityPeriod": I,
        "refreshTokenValidityUnit": S,
        "requiredSessionLevel": S,
        "sessionTimeoutInMinutes": I,
        "singleLogoutUrl": S,
        "startUrl": S,
    },
)

_POLICIES = MetadataType(
    "ExtlClntAppConfigurablePolicies",
    "extlClntAppPolicies",
    "ecaPlcy",
    60.0,
    {
        "externalClientApplication": REQUIRED,
        "isEnabled": FieldSpec("boolean", required=True),
        "isOauthPluginEnabled": B,
        "isSamlPluginEnabled": B,
        "isCanvasPluginEnabled": B,
        "isPushPluginEnabled": B,
        "label": S,
    },
)

_PERMISSION_SET = MetadataType(
    "PermissionSet",
    "permissionsets",
    "permissionset",
    22.0,
    {"description": S, "hasActivationRequired": B, "label": REQUIRED, "license": S},
    open_content=True,
)

_CONNECTED_APP = MetadataType(
    "ConnectedApp",
    "connectedApps",
    "connectedApp",
    29.0,
    {
        **{name: C for name in ("attributes", "canvas", "canvasConfig", "ipRanges", "mobileAppConfig", "samlConfig")},
        **{name: C for name in ("oauthConfig", "oauthPolicy", "sessionPolicy")},
        **{name: S for name in ("contactPhone", "description", "iconUrl", "infoUrl", "logoUrl", "mobileStartUrl")},
        **{name: S for name in ("plugin", "pluginExecutionUser", "startUrl")},
        "contactEmail": REQUIRED,
        "label": REQUIRED,
        # jsforce's schema says permissionSetName; sfdx-hardis wrote permissionsetName (reference §A3).
        "permissionSetName": S,
        "permissionsetName": S,
        "profileName": S,
    },
)

# Keyless CI (issue 23): the handler class, its enablement and the issuer's remote site. Fields from
# the Metadata API Developer Guide (meta_apexclass, meta_oauthtokenexchangehandler,
# meta_remotesitesetting); folders and suffixes from SDR's metadataRegistry.json (sf 2.150.6).
_APEX_CLASS = MetadataType(
    "ApexClass",
    "classes",
    "cls",
    10.0,
    {"apiVersion": S, "content": S, "packageVersions": C, "status": _enum("ApexCodeUnitStatus", "Active", "Deleted")},
    has_content=True,
)

_TOKEN_EXCHANGE_HANDLER = MetadataType(
    "OauthTokenExchangeHandler",
    "oauthtokenexchangehandlers",
    "oauthtokenexchangehandler",
    64.0,
    {
        "description": S,
        "enablements": C,
        **{name: B for name in ("isAccessTokenSupported", "isContactCreationAllowed", "isEnabled")},
        **{name: B for name in ("isIdTokenSupported", "isJwtSupported", "isProtected", "isRefreshTokenSupported")},
        **{name: B for name in ("isSaml2Supported", "isUserCreationAllowed")},
        "masterLabel": REQUIRED,
        "tokenHandlerApex": REQUIRED,
    },
)

_REMOTE_SITE = MetadataType(
    "RemoteSiteSetting",
    "remoteSiteSettings",
    "remoteSite",
    19.0,
    {"description": S, "disableProtocolSecurity": B, "isActive": B, "url": REQUIRED},
)

TYPES: Mapping[str, MetadataType] = {
    t.name: t
    for t in (
        _ECA,
        _GLOBAL_OAUTH,
        _OAUTH,
        _OAUTH_POLICIES,
        _POLICIES,
        _PERMISSION_SET,
        _CONNECTED_APP,
        _APEX_CLASS,
        _TOKEN_EXCHANGE_HANDLER,
        _REMOTE_SITE,
    )
}

# ConnectedApp's oauthConfig: jsforce's ConnectedAppOauthConfig (callbackUrl required).
CONNECTED_APP_OAUTH: Mapping[str, FieldSpec] = {
    "callbackUrl": REQUIRED,
    "certificate": S,
    "consumerKey": S,
    "consumerSecret": S,
    "idTokenConfig": C,
    "isAdminApproved": B,
    "isConsumerSecretOptional": B,
    "isIntrospectAllTokens": B,
    "isPkceRequired": B,
    "isSecretRequiredForRefreshToken": B,
    "scopes": S,
    "singleLogoutUrl": S,
}

# The OAuth scope names (the Metadata API's ConnectedAppOauthAccessScope); an ECA's
# commaSeparatedOauthScopes lists the same names [inferred, reference §A1].
OAUTH_SCOPES = frozenset(
    {
        "Address",
        "Api",
        "Basic",
        "CDPCalculatedInsight",
        "CDPIdentityResolution",
        "CDPIngest",
        "CDPProfile",
        "CDPQuery",
        "CDPSegment",
        "Chatter",
        "ChatbotApi",
        "Content",
        "CustomApplications",
        "CustomPermissions",
        "Email",
        "Forecasting",
        "Full",
        "Interaction",
        "Lightning",
        "OfflineAccess",
        "OpenID",
        "Pardot",
        "Phone",
        "Profile",
        "RefreshToken",
        "Visualforce",
        "Wave",
        "Web",
    }
)
