"""``retrieve`` and ``checkRetrieveStatus``: the org's components back as a zip.

``sf project retrieve start -m "Type:Name" --target-metadata-dir D`` asks for named members; the
answer holds a package.xml and one file per component, in the mdapi layout (``unpackaged/`` as the
root unless ``singlePackage``), each as the org stores it: a generated consumerKey is in the global
OAuth settings file, which is how a deployer reads back a key Salesforce chose (as public deploy
scripts do; the setting is ExtlClntAppGlobalOauthSettings.consumerKey in forcedotcom/wsdl).
A member the org lacks gets Salesforce's retrieve warning "Entity of type 'T' named 'N' cannot be found".
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from .. import ids, soap
from ..org_setup import Component, OrgSetup
from .registry import METADATA_NS, TYPES
from .results import file_properties, iso
from .xmlio import Node


@dataclass(frozen=True)
class RetrieveOutcome:
    retrieve_id: str
    zip_bytes: bytes
    properties: tuple[dict[str, Any], ...]
    messages: tuple[dict[str, str], ...]


def _requested(request: Node) -> tuple[list[tuple[str, str]], str]:
    """(type, member) pairs and the package version of a RetrieveRequest's ``unpackaged``."""
    unpackaged = request.child("unpackaged")
    if unpackaged is None:
        return [], request.text_of("apiVersion") or ""
    pairs = [
        (types.text_of("name") or "", member.text)
        for types in unpackaged.children
        if types.name == "types"
        for member in types.children
        if member.name == "members"
    ]
    return pairs, unpackaged.text_of("version") or request.text_of("apiVersion") or ""


def _package_xml(found: list[Component], version: str) -> bytes:
    by_type: dict[str, list[str]] = {}
    for component in found:
        by_type.setdefault(component.type_name, []).append(component.full_name)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<Package xmlns="{METADATA_NS}">']
    for type_name in sorted(by_type):
        lines.append("    <types>")
        lines.extend(f"        <members>{name}</members>" for name in sorted(by_type[type_name]))
        lines.extend((f"        <name>{type_name}</name>", "    </types>"))
    lines.extend((f"    <version>{version}</version>", "</Package>"))
    return ("\n".join(lines) + "\n").encode()


def run_retrieve(setup: OrgSetup, request: Node, default_version: float) -> RetrieveOutcome:
    pairs, version = _requested(request)
    version = version or f"{default_version:.1f}"
    root = "" if soap.flag(request, "singlePackage", False) else "unpackaged/"
    found: list[Component] = []
    messages: list[dict[str, str]] = []
    for type_name, member in pairs:
        matches = list(setup.components(type_name)) if member == "*" else [setup.component(type_name, member)]
        hits = [c for c in matches if c is not None]
        if not hits and member != "*":
            messages.append(
                {
                    "fileName": f"{root}package.xml",
                    "problem": f"Entity of type '{type_name}' named '{member}' cannot be found",
                }
            )
        found.extend(c for c in hits if c not in found)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for component in found:
            archive.writestr(root + TYPES[component.type_name].file_path(component.full_name), component.xml)
        archive.writestr(f"{root}package.xml", _package_xml(found, version))
    now = iso(setup.now())
    package = {
        "createdById": "",
        "createdByName": "",
        "createdDate": now,
        "fileName": f"{root}package.xml",
        "fullName": f"{root}package.xml",
        "id": "",
        "lastModifiedById": "",
        "lastModifiedByName": "",
        "lastModifiedDate": now,
        "manageableState": "unmanaged",
        "type": "Package",
    }
    properties = (*(file_properties(c, root) for c in found), package)
    return RetrieveOutcome(ids.record_id(ids.RETRIEVE_REQUEST), buffer.getvalue(), properties, tuple(messages))


def retrieve_result(outcome: RetrieveOutcome, *, done: bool, include_zip: bool) -> dict[str, Any]:
    """A RetrieveResult: in progress (``done`` False) or final, with the zip when asked."""
    return {
        "done": done,
        "fileProperties": list(outcome.properties),
        "id": outcome.retrieve_id,
        "messages": list(outcome.messages),
        "status": "Succeeded" if done else "InProgress",
        "success": done,
        "zipFile": base64.b64encode(outcome.zip_bytes).decode() if done and include_zip else None,
    }
