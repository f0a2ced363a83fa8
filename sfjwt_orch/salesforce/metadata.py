"""The metadata-API directory that creates a JWT app: package.xml, the app's components with the
certificate, and a small "gate" permission set that pre-authorizes it.

Pure: values in, file texts out (`AppMetadata.files()`); `write` puts them in a folder that
`sf project deploy start --metadata-dir` deploys. Names and values follow Salesforce's Metadata API
reference for the External Client App types (API 59.0+; `certificate` 60.0), and the file names
are the canonical mdapi ones (`sf project convert source` writes them so: no -meta.xml suffix).
The policy is named `<oauth settings>_defaultPolicy`: a policy of another name deployed after the
app exists fails with "duplicate value found: ExternalClientApplicationId".
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from sfjwt_orch.errors import usage
from sfjwt_orch.store import files

Kind = Literal["eca", "connected-app"]
API_VERSION = "64.0"
MARKER = "Created by sfjwt-orch"  # in the app's description: how a rerun knows the app is ours
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_KEY_ALPHABET = string.ascii_letters + string.digits
CONSUMER_KEY_LENGTH = 72  # 64-85 characters of [A-Za-z0-9]: what Connected Apps accept, and ECAs by inference
_XMLNS = "http://soap.sforce.com/2006/04/metadata"


NAME_LIMIT = 80  # Salesforce's limit on a component's full name (developer names are at most 80 characters)
# The longest suffix an app's own components add to its name (`<name>_oauth_defaultPolicy`): an ECA's
# name leaves room for it, so that every component `app create` and `rotate` write stays within 80.
_LONGEST_SUFFIX = "_oauth_defaultPolicy"
_HASH_LENGTH = 8


def app_name_limit(kind: Kind) -> int:
    """The longest app name whose components all stay within 80 characters (a Connected App is one component)."""
    return NAME_LIMIT if kind == "connected-app" else NAME_LIMIT - len(_LONGEST_SUFFIX)


def check_name(name: str, flag: str, limit: int = NAME_LIMIT) -> str:
    """A metadata API name: a letter first, then letters, digits and single underscores, at most `limit`."""
    if not _NAME.fullmatch(name) or "__" in name or name.endswith("_"):
        raise usage(
            f"{flag} {name!r} is not a metadata API name",
            "use a letter, then letters, digits and single underscores (no trailing _), e.g. SfjwtOrch_ci",
        )
    if len(name) > limit:
        why = "" if limit == NAME_LIMIT else f" (the app's components add up to {NAME_LIMIT - limit} characters to it)"
        raise usage(
            f"{flag} {name!r} is {len(name)} characters: Salesforce allows {NAME_LIMIT} in a component's name{why}",
            f"use at most {limit} characters, e.g. {shorten(name, limit)}",
        )
    return name


def check_app_name(name: str, kind: Kind) -> str:
    return check_name(name, "--name", app_name_limit(kind))


def shorten(name: str, limit: int) -> str:
    """`name` itself when it fits; else its start and 8 hex digits of its SHA-256: the same name gives
    the same result on every machine (a rerun finds its own app), and two long names that share
    their start still differ."""
    if len(name) <= limit:
        return name
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    head = name[: limit - _HASH_LENGTH - 1].rstrip("_")
    return f"{head}_{digest}"


def default_app_name(alias: str) -> str:
    """SfjwtOrch_<alias>, with what an alias may hold but a metadata name may not made into _, shortened
    (deterministically) to leave room for the names of an ECA's components; both kinds get the same name."""
    cleaned = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", alias)).strip("_")
    return shorten(f"SfjwtOrch_{cleaned}".rstrip("_"), app_name_limit("eca"))


def default_permission_set(app_name: str) -> str:
    """<app>_Jwt, shortened like an app name when the app's name is long (a Connected App's can be 80)."""
    return shorten(f"{app_name}_Jwt", NAME_LIMIT)


def component_names(name: str, kind: Kind) -> list[tuple[str, str]]:
    """(type, full name) of every component of the app named `name` (the permission set aside)."""
    if kind == "connected-app":
        return [("ConnectedApp", name)]
    return [
        ("ExternalClientApplication", name),
        settings_component(name, "eca"),
        ("ExtlClntAppOauthSettings", f"{name}_oauth"),
        ("ExtlClntAppOauthConfigurablePolicies", f"{name}_oauth_defaultPolicy"),
        ("ExtlClntAppConfigurablePolicies", f"{name}_defaultPolicy"),
    ]


def new_consumer_key() -> str:
    import secrets

    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(CONSUMER_KEY_LENGTH))


# Metadata type -> (mdapi folder, file suffix): the canonical names `sf project convert source` writes.
FOLDERS = {
    "PermissionSet": ("permissionsets", "permissionset"),
    "ExternalClientApplication": ("externalClientApps", "eca"),
    "ExtlClntAppGlobalOauthSettings": ("extlClntAppGlobalOauthSets", "ecaGlblOauth"),
    "ExtlClntAppOauthSettings": ("extlClntAppOauthSettings", "ecaOauth"),
    "ExtlClntAppOauthConfigurablePolicies": ("extlClntAppOauthPolicies", "ecaOauthPlcy"),
    "ExtlClntAppConfigurablePolicies": ("extlClntAppPolicies", "ecaPlcy"),
    "ConnectedApp": ("connectedApps", "connectedApp"),
    # keyless CI (trust): the handler, its enablement, the issuer's site (SDR's metadataRegistry.json, sf 2.150.6)
    "ApexClass": ("classes", "cls"),
    "OauthTokenExchangeHandler": ("oauthtokenexchangehandlers", "oauthtokenexchangehandler"),
    "RemoteSiteSetting": ("remoteSiteSettings", "remoteSite"),
}


def relative_path(metadata_type: str, member: str) -> str:
    folder, suffix = FOLDERS[metadata_type]
    return f"{folder}/{member}.{suffix}"


def app_type(kind: Kind) -> str:
    return "ConnectedApp" if kind == "connected-app" else "ExternalClientApplication"


def settings_component(name: str, kind: Kind) -> tuple[str, str]:
    """(type, member) of the component that holds the app's certificate and consumer key."""
    return (
        ("ConnectedApp", name) if kind == "connected-app" else ("ExtlClntAppGlobalOauthSettings", f"{name}_glbloauth")
    )


Component = tuple[str, str, str]  # (metadata type, member name, file text)


@dataclass(frozen=True)
class AppMetadata:
    name: str
    permission_set: str
    certificate_pem: str
    callback_url: str
    contact_email: str
    consumer_key: str | None  # None: let the org generate it (and read it back)
    kind: Kind = "eca"
    purpose: str = "JWT bearer login"  # in the description, after MARKER
    permission_set_label: str = "JWT access"  # after the app's name
    # keyless CI (trust): the token-exchange flow on, with no secret for it (Metadata API 64.0)
    token_exchange: bool = False
    # False: the org has the app already, and a redeploy of an ECA's header is a duplicate DeveloperName
    with_header: bool = True

    def files(self) -> dict[str, str]:
        """Relative path -> file text, package.xml included."""
        return _folder(self.components())

    def components(self) -> list[Component]:
        """The gate permission set, then the app's components."""
        return [self._permission_set(), *(self._connected_app() if self.kind == "connected-app" else self._eca())]

    def permission_set_only(self) -> dict[str, str]:
        """The gate permission set alone: for an org that wants it deployed before the policy naming it."""
        return _folder([self._permission_set()])

    def _permission_set(self) -> Component:
        label = f"{self.name} {self.permission_set_label}"[:80]
        fields = [("hasActivationRequired", "false"), ("label", label)]
        return "PermissionSet", self.permission_set, doc("PermissionSet", fields)

    def _eca(self) -> list[Component]:
        n = self.name
        app = [
            ("contactEmail", self.contact_email),
            ("description", f"{MARKER}: {self.purpose}"),
            ("distributionState", "Local"),
            ("isProtected", "false"),
            ("label", n),
        ]
        oauth = [
            ("commaSeparatedOauthScopes", "Api,RefreshToken"),
            ("externalClientApplication", n),
            ("label", f"{n} OAuth"),
        ]
        policies = [
            ("externalClientApplication", n),
            ("isEnabled", "true"),
            ("isOauthPluginEnabled", "true"),
            ("label", f"{n} Policy"),
        ]
        fields = {
            "ExternalClientApplication": app,
            "ExtlClntAppGlobalOauthSettings": self._global_oauth(),
            "ExtlClntAppOauthSettings": oauth,
            "ExtlClntAppOauthConfigurablePolicies": self._oauth_policy(),
            "ExtlClntAppConfigurablePolicies": policies,
        }
        names = component_names(n, "eca")[0 if self.with_header else 1 :]
        return [_component(t, member, fields[t]) for t, member in names]

    def _global_oauth(self) -> list[tuple[str, str]]:
        """The certificate enables the JWT bearer flow; every other flow stays off."""
        cert = [("certificate", self.certificate_pem.strip())] if self.certificate_pem.strip() else []
        key = [("consumerKey", self.consumer_key)] if self.consumer_key else []
        exchange = [("isSecretRequiredForTokenExchange", "false"), ("isTokenExchangeEnabled", "true")]
        return [
            ("callbackUrl", self.callback_url),
            *cert,
            *key,
            ("externalClientApplication", self.name),
            ("isClientCredentialsFlowEnabled", "false"),
            ("isConsumerSecretOptional", "true"),
            ("isIntrospectAllTokens", "false"),
            ("isNamedUserJwtEnabled", "false"),
            ("isPkceRequired", "false"),
            ("isSecretRequiredForRefreshToken", "false"),
            *(exchange if self.token_exchange else []),
            ("label", f"{self.name} Global OAuth"),
            ("shouldRotateConsumerKey", "false"),
            ("shouldRotateConsumerSecret", "false"),
        ]

    def _oauth_policy(self) -> list[tuple[str, str]]:
        """Admin-approved, pre-authorized through the gate permission set: no browser approval."""
        return [
            ("commaSeparatedPermissionSet", self.permission_set),
            ("externalClientApplication", self.name),
            ("ipRelaxationPolicyType", "Enforce"),
            ("isClientCredentialsFlowEnabled", "false"),
            ("isTokenExchangeFlowEnabled", "true" if self.token_exchange else "false"),
            ("label", f"{self.name} OAuth Policy"),
            ("permittedUsersPolicyType", "AdminApprovedPreAuthorized"),
            ("refreshTokenPolicyType", "SpecificLifetime"),
            ("refreshTokenValidityPeriod", "4"),
            ("refreshTokenValidityUnit", "Hours"),
            ("requiredSessionLevel", "STANDARD"),
        ]

    def _connected_app(self) -> list[Component]:
        key = f"<consumerKey>{escape(self.consumer_key)}</consumerKey>" if self.consumer_key else ""
        body = (
            f"<contactEmail>{escape(self.contact_email)}</contactEmail>"
            f"<description>{MARKER}: JWT bearer login</description><label>{self.name}</label>"
            f"<oauthConfig><callbackUrl>{escape(self.callback_url)}</callbackUrl>"
            f"<certificate>{escape(self.certificate_pem.strip())}</certificate>{key}"
            "<isAdminApproved>true</isAdminApproved><isConsumerSecretOptional>true</isConsumerSecretOptional>"
            "<scopes>Api</scopes><scopes>RefreshToken</scopes></oauthConfig>"
            "<oauthPolicy><ipRelaxation>ENFORCE</ipRelaxation>"
            "<refreshTokenPolicy>specific_lifetime:4:HOURS</refreshTokenPolicy></oauthPolicy>"
            f"<permissionSetName>{escape(self.permission_set)}</permissionSetName>"
        )
        return [("ConnectedApp", self.name, wrap("ConnectedApp", body))]


def _component(metadata_type: str, member: str, fields: list[tuple[str, str]]) -> Component:
    return metadata_type, member, doc(metadata_type, fields)


def _folder(components: list[Component]) -> dict[str, str]:
    """The mdapi folder's files for these components, package.xml included."""
    out = {relative_path(t, m): text for t, m, text in components}
    out["package.xml"] = package_xml(members_of(components))
    return out


def members_of(components: list[Component]) -> dict[str, list[str]]:
    """package.xml's members, by type, in the components' order."""
    members: dict[str, list[str]] = {}
    for t, m, _ in components:
        members.setdefault(t, []).append(m)
    return members


def doc(root: str, fields: list[tuple[str, str]]) -> str:
    """A metadata file whose elements are `fields`, in the order given (the schema's)."""
    return wrap(root, "".join(f"\n    <{k}>{escape(v)}</{k}>" for k, v in fields) + "\n")


def wrap(root: str, body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_XMLNS}">{body}</{root}>\n'


def package_xml(members: Mapping[str, str | list[str]]) -> str:
    """package.xml naming `members` (one name or several per type)."""
    types = "".join(
        "\n    <types>"
        + "".join(f"\n        <members>{escape(m)}</members>" for m in ([names] if isinstance(names, str) else names))
        + f"\n        <name>{t}</name>\n    </types>"
        for t, names in members.items()
    )
    return wrap("Package", f"{types}\n    <version>{API_VERSION}</version>\n")


def write(folder: Path, texts: dict[str, str]) -> list[Path]:
    """Write the files under `folder` (created 0700: it holds the app's certificate, not a secret,
    but nobody else's business); an existing file of the same name is replaced."""
    files.ensure_private_dir(folder, tighten=False)
    written = []
    for relative, text in texts.items():
        path = folder / relative
        files.ensure_private_dir(path.parent, tighten=False)
        files.atomic_write(path, text, mode=0o644)
        written.append(path)
    return written
