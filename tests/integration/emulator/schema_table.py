"""Deploy cases generated from Salesforce's schema (the vendored forcedotcom/wsdl extracts): one valid
component per element of every type sfjwt-orch creates, and invalid variants (an element not in the
schema, two elements out of order, a bad enum value, an element newer than the package's version).

The expected problem texts are built here from the schema's facts (type, element, enum type) in the
Metadata API's wording, independently of the emulator's translation of libxml2's messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sfjwt_orch.emulator.deploy import registry, schema
from sfjwt_orch.emulator.deploy.schema import Child
from tests.integration.emulator.metadata_kit import NAME, NS, PERMSET, eca_files, package_xml

NEWEST = schema.versions()[-1]
OLDEST = schema.versions()[0]
CONNECTED_APP = "LegacyApp"
ECA_FILES = {  # type -> (member, path) in eca_files()
    "ExternalClientApplication": (NAME, f"externalClientApps/{NAME}.eca"),
    "ExtlClntAppGlobalOauthSettings": (
        f"{NAME}_glbloauth",
        f"extlClntAppGlobalOauthSets/{NAME}_glbloauth.ecaGlblOauth",
    ),
    "ExtlClntAppOauthSettings": (f"{NAME}_oauth", f"extlClntAppOauthSettings/{NAME}_oauth.ecaOauth"),
    "ExtlClntAppOauthConfigurablePolicies": (
        f"{NAME}_oauth_defaultPolicy",
        f"extlClntAppOauthPolicies/{NAME}_oauth_defaultPolicy.ecaOauthPlcy",
    ),
    "ExtlClntAppConfigurablePolicies": (f"{NAME}_defaultPolicy", f"extlClntAppPolicies/{NAME}_defaultPolicy.ecaPlcy"),
    "PermissionSet": (PERMSET, f"permissionsets/{PERMSET}.permissionset"),
}
CREATED_TYPES = (*ECA_FILES, "ConnectedApp")  # every type app create writes
# Elements whose text the org checks against what it holds (rules.py), so a sample string cannot do.
REFERENCES = {
    "externalClientApplication": NAME,
    "commaSeparatedPermissionSet": PERMSET,
    "commaSeparatedProfile": "System Administrator",
    "profileName": "System Administrator",
    "permissionSetName": PERMSET,
    "commaSeparatedOauthScopes": "Api,RefreshToken",
    "consumerKey": "K" * 72,
    "fullName": "",  # filled with the component's own name
}
# Elements a sample value cannot make valid, each with the rule that refuses it (a real org does too).
RULE_CHECKED = {
    (
        "ExtlClntAppOauthSettings",
        "oauthLink",
    ): "a wrong oauthLink fails the deploy (Help: deploy_external_client_app_with_global_settings_file)",
}


def simple_value(type_ref: str, version: float, cert_pem: str, name: str) -> str:
    kind = type_ref.split(":", 1)[-1]
    if name == "certificate" or name.endswith("Certificate"):
        return cert_pem
    if type_ref.startswith("tns:"):
        return schema.index(version)[kind].enum[0]
    return {"boolean": "false", "int": "1", "double": "1.0", "long": "1", "dateTime": "2026-01-01T00:00:00Z",
            "date": "2026-01-01", "base64Binary": "eA=="}.get(kind, "x")  # fmt: skip


def is_complex(child: Child, version: float) -> bool:
    info = schema.index(version).get(child.type.split(":", 1)[-1])
    return child.type.startswith("tns:") and info is not None and not info.enum


def element_xml(child: Child, version: float, cert_pem: str, member: str, depth: int = 0) -> str:
    """One element with a valid sample value (a complex one with its required children)."""
    if is_complex(child, version):
        info = schema.index(version)[child.type.split(":", 1)[-1]]
        inner = "".join(
            element_xml(c, version, cert_pem, member, depth + 1) for c in info.children if c.required and depth < 6
        )
        return f"<{child.name}>{inner}</{child.name}>"
    value = REFERENCES.get(child.name)
    if child.name == "fullName":
        value = member
    if value is None:
        value = simple_value(child.type, version, cert_pem, child.name)
    return f"<{child.name}>{escape(value)}</{child.name}>"


def document(type_name: str, children: list[Child], version: float, cert_pem: str, member: str) -> str:
    body = "".join(element_xml(c, version, cert_pem, member) for c in children)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{type_name} xmlns="{NS}">{body}</{type_name}>\n'


def with_elements(type_name: str, names: set[str], version: float) -> list[Child]:
    """The type's required elements and ``names``, in the schema's order."""
    info = schema.index(version)[type_name]
    return [c for c in info.children if c.required or c.name in names]


def files_for(type_name: str, text: str, cert_pem: str, version: float) -> dict[str, str]:
    """A whole deploy with ``text`` as the component of ``type_name`` (the rest as app create makes it)."""
    if type_name == "ConnectedApp":
        files = {
            f"connectedApps/{CONNECTED_APP}.connectedApp": text,
            f"permissionsets/{PERMSET}.permissionset": document(
                "PermissionSet", with_elements("PermissionSet", set(), version), version, cert_pem, PERMSET
            ),
        }
        files["package.xml"] = package_xml({"ConnectedApp": [CONNECTED_APP], "PermissionSet": [PERMSET]}, f"{version}")
        return files
    files = eca_files(cert_pem, version=f"{version}")
    files[ECA_FILES[type_name][1]] = text
    return files


def member_of(type_name: str) -> str:
    return CONNECTED_APP if type_name == "ConnectedApp" else ECA_FILES[type_name][0]


@dataclass(frozen=True)
class Case:
    id: str
    type_name: str
    version: float
    make: Callable[[str], dict[str, str]]  # certificate PEM -> the deploy's files
    problem: str | None  # None: the deploy succeeds


def valid_cases(version: float = NEWEST) -> Iterator[Case]:
    for type_name in CREATED_TYPES:
        member = member_of(type_name)
        for child in schema.index(version)[type_name].children:
            if (type_name, child.name) in RULE_CHECKED:
                continue
            children = with_elements(type_name, {child.name}, version)

            def make(cert: str, t: str = type_name, c: list[Child] = children, m: str = member) -> dict[str, str]:
                return files_for(t, document(t, c, version, cert, m), cert, version)

            yield Case(f"{type_name}.{child.name}@{version}", type_name, version, make, None)


def _adjacent_optional_pair(type_name: str, version: float) -> tuple[Child, Child]:
    """Two optional simple elements with nothing required between them in the sequence."""
    children = schema.index(version)[type_name].children

    def plain(c: Child) -> bool:
        return not c.required and not is_complex(c, version) and c.name not in (*REFERENCES, "module")

    for i, a in enumerate(children):
        for b in children[i + 1 :]:
            if b.required:
                break
            if plain(a) and plain(b):
                return a, b
    raise AssertionError(f"{type_name} has no two optional simple elements to swap")


def _text(type_name: str, version: float, cert: str, extra: str = "", order: list[Child] | None = None) -> str:
    member = member_of(type_name)
    children = order if order is not None else with_elements(type_name, set(), version)
    body = "".join(element_xml(c, version, cert, member) for c in children) + extra
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{type_name} xmlns="{NS}">{body}</{type_name}>\n'


def invalid_cases(version: float = NEWEST) -> Iterator[Case]:
    for type_name in CREATED_TYPES:
        yield Case(
            f"{type_name}.unknown-element",
            type_name,
            version,
            lambda cert, t=type_name: files_for(t, _text(t, version, cert, "<notInTheSchema>x</notInTheSchema>"), cert, version),
            f"Error parsing file: Element {{{NS}}}notInTheSchema invalid at this location in type {type_name}",
        )  # fmt: skip
        first, second = _adjacent_optional_pair(type_name, version)
        valid = with_elements(type_name, {first.name, second.name}, version)
        at = valid.index(first)
        order = [*valid[:at], second, first, *valid[at + 2 :]]  # the pair swapped: `first` breaks the sequence
        yield Case(
            f"{type_name}.out-of-order",
            type_name,
            version,
            lambda cert, t=type_name, o=order: files_for(t, _text(t, version, cert, order=o), cert, version),
            f"Error parsing file: Element {{{NS}}}{first.name} invalid at this location in type {type_name}",
        )
        enums = [
            c for c in schema.index(version)[type_name].children
            if c.type.startswith("tns:") and schema.index(version)[c.type[4:]].enum
        ]  # fmt: skip
        if enums:
            bad = enums[0]
            text_of = _with_value(type_name, bad, "NotAValue", version)
            yield Case(
                f"{type_name}.bad-enum-{bad.name}",
                type_name,
                version,
                lambda cert, t=type_name, f=text_of: files_for(t, f(cert), cert, version),
                f"'NotAValue' is not a valid value for the enum '{bad.type[4:]}'",
            )


def _with_value(type_name: str, child: Child, value: str, version: float) -> Callable[[str], str]:
    def text(cert: str) -> str:
        member = member_of(type_name)
        children = with_elements(type_name, {child.name}, version)
        body = "".join(
            f"<{c.name}>{value}</{c.name}>" if c.name == child.name else element_xml(c, version, cert, member)
            for c in children
        )
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<{type_name} xmlns="{NS}">{body}</{type_name}>\n'

    return text


def too_low_cases() -> Iterator[Case]:
    """Each element of a created type that appears after the oldest vendored version, deployed one
    version before it appears: Salesforce's 'Property ... not valid in version ...'."""
    for type_name in CREATED_TYPES:
        for child in schema.index(NEWEST)[type_name].children:
            since = schema.first_version(type_name, child.name)
            if since is None or since <= OLDEST or (type_name, child.name) in RULE_CHECKED:
                continue
            low = max(v for v in schema.versions() if v < since)
            children = with_elements(type_name, {child.name}, since)

            def make(
                cert: str, t: str = type_name, c: list[Child] = children, v: float = low, s: float = since
            ) -> dict[str, str]:
                return files_for(t, document(t, c, s, cert, member_of(t)), cert, v)

            yield Case(
                f"{type_name}.{child.name}@{low}", type_name, low, make, f"Property '{child.name}' not valid in version {low}"
            )  # fmt: skip


__all__ = ["CREATED_TYPES", "Case", "invalid_cases", "registry", "too_low_cases", "valid_cases"]
