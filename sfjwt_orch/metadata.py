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
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from sfjwt_orch import files
from sfjwt_orch.errors import usage

Kind = Literal["eca", "connected-app"]
API_VERSION = "64.0"
MARKER = "Created by sfjwt-orch"  # in the app's description: how a rerun knows the app is ours
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_KEY_ALPHABET = string.ascii_letters + string.digits
CONSUMER_KEY_LENGTH = 72  # 64-85 characters of [A-Za-z0-9]: what Connected Apps accept, and ECAs by inference
_XMLNS = "http://soap.sforce.com/2006/04/metadata"


def check_name(name: str, flag: str) -> str:
    """A metadata API name: a letter first, then letters, digits and single underscores, at most 80."""
    if not _NAME.fullmatch(name) or "__" in name or name.endswith("_") or len(name) > 80:
        raise usage(
            f"{flag} {name!r} is not a metadata API name",
            "use a letter, then letters, digits and single underscores (at most 80, no trailing _), e.g. SfjwtOrch_ci",
        )
    return name


def default_app_name(alias: str) -> str:
    """SfjwtOrch_<alias>, with what an alias may hold but a metadata name may not made into _."""
    cleaned = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", alias)).strip("_")
    return f"SfjwtOrch_{cleaned}"[:80].rstrip("_")


def new_consumer_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(CONSUMER_KEY_LENGTH))


@dataclass(frozen=True)
class AppMetadata:
    name: str
    permission_set: str
    certificate_pem: str
    callback_url: str
    contact_email: str
    consumer_key: str | None  # None: let the org generate it (and read it back)
    kind: Kind = "eca"

    def files(self) -> dict[str, str]:
        """Relative path -> file text, package.xml included."""
        members = {"PermissionSet": self.permission_set, **self._app_members()}
        out = {f"permissionsets/{self.permission_set}.permissionset": self._permission_set()}
        out.update(self._connected_app() if self.kind == "connected-app" else self._eca())
        out["package.xml"] = package_xml(members)
        return out

    def permission_set_only(self) -> dict[str, str]:
        """The gate permission set alone: for an org that wants it deployed before the policy naming it."""
        return {
            f"permissionsets/{self.permission_set}.permissionset": self._permission_set(),
            "package.xml": package_xml({"PermissionSet": self.permission_set}),
        }

    def _app_members(self) -> dict[str, str]:
        n = self.name
        if self.kind == "connected-app":
            return {"ConnectedApp": n}
        return {
            "ExternalClientApplication": n,
            "ExtlClntAppGlobalOauthSettings": f"{n}_glbloauth",
            "ExtlClntAppOauthSettings": f"{n}_oauth",
            "ExtlClntAppOauthConfigurablePolicies": f"{n}_oauth_defaultPolicy",
            "ExtlClntAppConfigurablePolicies": f"{n}_defaultPolicy",
        }

    def _permission_set(self) -> str:
        label = f"{self.name} JWT access"[:80]
        return _doc("PermissionSet", [("hasActivationRequired", "false"), ("label", label)])

    def _eca(self) -> dict[str, str]:
        n = self.name
        key = [("consumerKey", self.consumer_key)] if self.consumer_key else []
        flags = [(f, "false") for f in ("isClientCredentialsFlowEnabled",)]
        return {
            f"externalClientApps/{n}.eca": _doc(
                "ExternalClientApplication",
                [
                    ("contactEmail", self.contact_email),
                    ("description", f"{MARKER}: JWT bearer login"),
                    ("distributionState", "Local"),
                    ("isProtected", "false"),
                    ("label", n),
                ],
            ),
            f"extlClntAppGlobalOauthSets/{n}_glbloauth.ecaGlblOauth": _doc(
                "ExtlClntAppGlobalOauthSettings",
                [
                    ("callbackUrl", self.callback_url),
                    ("certificate", self.certificate_pem.strip()),
                    *key,
                    ("externalClientApplication", n),
                    *flags,
                    ("isConsumerSecretOptional", "true"),
                    ("isIntrospectAllTokens", "false"),
                    ("isNamedUserJwtEnabled", "false"),
                    ("isPkceRequired", "false"),
                    ("isSecretRequiredForRefreshToken", "false"),
                    ("label", f"{n} Global OAuth"),
                    ("shouldRotateConsumerKey", "false"),
                    ("shouldRotateConsumerSecret", "false"),
                ],
            ),
            f"extlClntAppOauthSettings/{n}_oauth.ecaOauth": _doc(
                "ExtlClntAppOauthSettings",
                [
                    ("commaSeparatedOauthScopes", "Api,RefreshToken"),
                    ("externalClientApplication", n),
                    ("label", f"{n} OAuth"),
                ],
            ),
            f"extlClntAppOauthPolicies/{n}_oauth_defaultPolicy.ecaOauthPlcy": _doc(
                "ExtlClntAppOauthConfigurablePolicies",
                [
                    ("commaSeparatedPermissionSet", self.permission_set),
                    ("externalClientApplication", n),
                    ("ipRelaxationPolicyType", "Enforce"),
                    *flags,
                    ("isTokenExchangeFlowEnabled", "false"),
                    ("label", f"{n} OAuth Policy"),
                    ("permittedUsersPolicyType", "AdminApprovedPreAuthorized"),
                    ("refreshTokenPolicyType", "SpecificLifetime"),
                    ("refreshTokenValidityPeriod", "4"),
                    ("refreshTokenValidityUnit", "Hours"),
                    ("requiredSessionLevel", "STANDARD"),
                ],
            ),
            f"extlClntAppPolicies/{n}_defaultPolicy.ecaPlcy": _doc(
                "ExtlClntAppConfigurablePolicies",
                [
                    ("externalClientApplication", n),
                    ("isEnabled", "true"),
                    ("isOauthPluginEnabled", "true"),
                    ("label", f"{n} Policy"),
                ],
            ),
        }

    def _connected_app(self) -> dict[str, str]:
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
        return {f"connectedApps/{self.name}.connectedApp": _wrap("ConnectedApp", body)}


def _doc(root: str, fields: list[tuple[str, str]]) -> str:
    return _wrap(root, "".join(f"\n    <{k}>{escape(v)}</{k}>" for k, v in fields) + "\n")


def _wrap(root: str, body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_XMLNS}">{body}</{root}>\n'


def package_xml(members: dict[str, str]) -> str:
    types = "".join(
        f"\n    <types>\n        <members>{escape(m)}</members>\n        <name>{t}</name>\n    </types>"
        for t, m in members.items()
    )
    return _wrap("Package", f"{types}\n    <version>{API_VERSION}</version>\n")


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
