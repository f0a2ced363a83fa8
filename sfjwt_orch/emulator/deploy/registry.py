"""The metadata types the emulator deploys and retrieves: where their files sit, nothing about their fields.

A type's folder and suffix are source-deploy-retrieve's registry (forcedotcom/source-deploy-retrieve
``src/registry/metadataRegistry.json``, ``directoryName`` and ``suffix``). What a component may hold
(its elements, their order, enumerations, required elements, and the API version each first appears
in) is Salesforce's own schema: the vendored extracts of forcedotcom/wsdl in ``schema/`` (see
``schema.py``).

Adding a type is one line here: in ``TYPES`` when the emulator should deploy it, or in
``EXTRA_SCHEMA_TYPES`` when only its schema is wanted; then rerun ``scripts/extract_metadata_xsd.py``
on each API version's WSDL (the script's docstring says how to get them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
SCHEMA_DIR = Path(__file__).with_name("schema")

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
class MetadataType:
    name: str
    folder: str
    suffix: str
    # A type with a content file (ApexClass: ``classes/X.cls`` beside ``classes/X.cls-meta.xml``):
    # the XML is in ``-meta.xml`` and the content is kept as the component's ``content`` field, as
    # MetadataWithContent has it (the Metadata API WSDL).
    has_content: bool = False

    def file_path(self, full_name: str) -> str:
        """The mdapi path, e.g. ``externalClientApps/X.eca`` (mdapi format has no ``-meta.xml`` here)."""
        return f"{self.folder}/{full_name}.{self.suffix}"


TYPES: Mapping[str, MetadataType] = {
    t.name: t
    for t in (
        MetadataType("ExternalClientApplication", "externalClientApps", "eca"),
        MetadataType("ExtlClntAppGlobalOauthSettings", "extlClntAppGlobalOauthSets", "ecaGlblOauth"),
        MetadataType("ExtlClntAppOauthSettings", "extlClntAppOauthSettings", "ecaOauth"),
        MetadataType("ExtlClntAppOauthConfigurablePolicies", "extlClntAppOauthPolicies", "ecaOauthPlcy"),
        MetadataType("ExtlClntAppConfigurablePolicies", "extlClntAppPolicies", "ecaPlcy"),
        MetadataType("PermissionSet", "permissionsets", "permissionset"),
        MetadataType("ConnectedApp", "connectedApps", "connectedApp"),
        # Keyless CI (issue 23): the token-exchange handler class, its enablement, the issuer's remote site.
        MetadataType("ApexClass", "classes", "cls", has_content=True),
        MetadataType("OauthTokenExchangeHandler", "oauthtokenexchangehandlers", "oauthtokenexchangehandler"),
        MetadataType("RemoteSiteSetting", "remoteSiteSettings", "remoteSite"),
    )
}

# Types whose schema is vendored though the emulator does not deploy them yet (the token-exchange
# handler and its Apex class: the keyless CI work deploys those; SDR: classes/*.cls with a
# -meta.xml, oauthtokenexchangehandlers/*.oauthtokenexchangehandler).
EXTRA_SCHEMA_TYPES: tuple[str, ...] = ()

# The scope names of a ConnectedApp's oauthConfig; an ECA's commaSeparatedOauthScopes is checked
# against the same enumeration (rules.py).
SCOPE_ENUM = "ConnectedAppOauthAccessScope"

SCHEMA_TYPES = (*TYPES, *EXTRA_SCHEMA_TYPES, SCOPE_ENUM)
