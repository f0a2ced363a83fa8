"""Salesforce's own Metadata API schema, one vendored extract per API version, and the problems it finds.

The extracts in ``schema/`` come from ``resources/metadata.wsdl`` of https://github.com/forcedotcom/wsdl
(one commit per API version; BSD-3-Clause, licence beside them) through
``scripts/extract_metadata_xsd.py``. A component is validated by libxml2's XML Schema validator
(lxml) against the schema of its package.xml's API version, so element names, their order, enum
values, simple types and required elements are the schema's, not a hand-kept table.

libxml2's messages are translated into the Metadata API's wording:

- an element the type does not have at this version, or out of its sequence place:
  ``Error parsing file: Element {ns}X invalid at this location in type T``. No openable primary
  source was found for this text: it is the wording several public projects' notes quote from real
  deploys (e.g. "Element {http://soap.sforce.com/2006/04/metadata}types invalid at this location in
  type EmailServicesFunction"), found by searching GitHub for "invalid at this location in type".
- an element the type gains only in a later API version: ``Property 'X' not valid in version V``
  (quoted in trailheadapps/dreamhouse-sfdx#57 and scolladon/sfdc-git-package#12).
- a missing required element: ``Required field is missing: X`` (SFDO-Tooling/CumulusCI#695).
- an enumeration: ``'V' is not a valid value for the enum 'E'`` (ForceCLI/force#457).
- a boolean, int or double that does not parse: ``'V' is not a valid value for the type T``; no real
  text was found for this case, the wording follows the enum one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from .registry import SCHEMA_DIR

if TYPE_CHECKING:
    from lxml import etree

_XS = "{http://www.w3.org/2001/XMLSchema}"
_FILE_RE = re.compile(r"^metadata-(\d+\.\d)\.xsd$")
_NAME_RE = re.compile(r"Element '\{[^}]*\}([A-Za-z0-9_]+)'")
_EXPECTED_RE = re.compile(r"Expected is(?: one of)? \( ([^)]*) \)")
_ENUM_RE = re.compile(r"\[facet 'enumeration'\] The value '([^']*)'")
_ATOMIC_RE = re.compile(r"'([^']*)' is not a valid value of the atomic type 'xs:([a-zA-Z]+)'")


@dataclass(frozen=True)
class Child:
    name: str
    type: str  # "xsd:string", "tns:PermittedUsersPolicyType", ...
    required: bool


@dataclass(frozen=True)
class TypeInfo:
    children: tuple[Child, ...] = ()  # in sequence order, a base type's elements first
    enum: tuple[str, ...] = ()  # a simple type's enumeration

    def child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name == name), None)


@cache
def versions() -> tuple[float, ...]:
    """The API versions with a vendored schema, oldest first."""
    found = (_FILE_RE.match(p.name) for p in SCHEMA_DIR.iterdir())
    return tuple(sorted(float(m.group(1)) for m in found if m))


def schema_version(version: float) -> float | None:
    """The vendored schema that speaks for ``version``: its own, or the newest older one (a version
    newer than every extract is checked against the newest); None below the oldest."""
    older = [v for v in versions() if v <= version]
    return older[-1] if older else None


def _path(version: float) -> str:
    return str(SCHEMA_DIR / f"metadata-{version:.1f}.xsd")


@cache
def _validator(version: float) -> etree.XMLSchema:
    from lxml import etree

    return etree.XMLSchema(etree.parse(_path(version), _parser()))


def _parser() -> etree.XMLParser:
    from lxml import etree

    # Hardened as defusedxml is: no entities, no DTD, no network (a component is input from the network).
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _elements(node: etree._Element, index_of: dict[str, etree._Element]) -> list[Child]:
    """A complex type's elements in sequence order: those of the type it extends (``Metadata``: fullName) first."""
    found: list[Child] = []
    extension = next(node.iter(f"{_XS}extension"), None)
    base = "" if extension is None else extension.get("base", "")
    if base.startswith("tns:") and base[4:] in index_of:
        found.extend(_elements(index_of[base[4:]], index_of))
    for element in node.iter(f"{_XS}element"):
        found.append(Child(element.get("name", ""), element.get("type", ""), element.get("minOccurs") != "0"))
    return found


@cache
def index(version: float) -> dict[str, TypeInfo]:
    """Every type of one extract: a complex type's elements in order, a simple type's enumeration."""
    from lxml import etree

    root = etree.parse(_path(version), _parser()).getroot()
    complex_types = {str(n.get("name")): n for n in root.iter(f"{_XS}complexType")}
    out = {name: TypeInfo(children=tuple(_elements(node, complex_types))) for name, node in complex_types.items()}
    for simple in root.iter(f"{_XS}simpleType"):
        values = tuple(str(e.get("value")) for e in simple.iter(f"{_XS}enumeration"))
        out[str(simple.get("name"))] = TypeInfo(enum=values)
    return out


def first_version(type_name: str, element: str | None = None) -> float | None:
    """The oldest vendored API version that has the type (and that element of it)."""
    for version in versions():
        info = index(version).get(type_name)
        if info is not None and (element is None or info.child(element) is not None):
            return version
    return None


@dataclass(frozen=True)
class Violation:
    text: str
    line: int | None = None


def _type_of(element: etree._Element, root_type: str, version: float) -> str:
    """The schema type an element of the document has (its parent chain walked from the root)."""
    chain = [element, *element.iterancestors()][::-1]
    type_name = root_type
    for node in chain[1:]:
        child = index(version).get(type_name, TypeInfo()).child(_local(node))
        if child is None:
            return ""
        type_name = child.type.split(":", 1)[-1]
    return type_name


def _local(node: etree._Element) -> str:
    tag = str(node.tag)
    return tag.rsplit("}", 1)[-1]


def _translate(message: str, element: etree._Element, root_type: str, version: float) -> str:
    name = _local(element)
    if enum := _ENUM_RE.search(message):
        return f"'{enum.group(1)}' is not a valid value for the enum '{_type_of(element, root_type, version)}'"
    if atomic := _ATOMIC_RE.search(message):
        return f"'{atomic.group(1)}' is not a valid value for the type {atomic.group(2)}"
    if "Missing child element" in message and (expected := _EXPECTED_RE.search(message)):
        missing = _NAME_RE.search(f"Element '{expected.group(1).split(',')[0].strip()}'")
        return f"Required field is missing: {missing.group(1) if missing else expected.group(1)}"
    parent = element.getparent()
    parent_type = root_type if parent is None else _type_of(parent, root_type, version)
    if "This element is not expected" in message and parent is not None:
        info = index(version).get(parent_type, TypeInfo())
        present = {_local(sibling) for sibling in parent}
        expected = _EXPECTED_RE.search(message)
        names = [] if expected is None else [n.strip().rsplit("}", 1)[-1] for n in expected.group(1).split(",")]
        skipped = [n for n in names if (c := info.child(n)) is not None and c.required and n not in present]
        if skipped:
            return f"Required field is missing: {skipped[0]}"
        if info.child(name) is None and any(
            (later := index(v).get(parent_type)) is not None and later.child(name) is not None
            for v in versions()
            if v > version
        ):
            return f"Property '{name}' not valid in version {version:.1f}"
    ns = str(element.tag)[1:].split("}", 1)[0] if str(element.tag).startswith("{") else ""
    return f"Error parsing file: Element {{{ns}}}{name} invalid at this location in type {parent_type}"


def validate(type_name: str, data: bytes, version: float) -> Violation | None:
    """The first problem Salesforce's schema of ``version`` finds in a component file, or None.

    ``data`` has passed ``xmlio.parse`` already (well-formed, no DOCTYPE, the right root)."""
    from lxml import etree

    document = etree.fromstring(data, _parser()).getroottree()
    validator = _validator(version)
    if validator.validate(document):
        return None
    error = validator.error_log[0]
    found = document.xpath(error.path) if error.path else []
    element = found[0] if isinstance(found, list) and found and isinstance(found[0], etree._Element) else None
    if element is None:
        return Violation(f"Error parsing file: {error.message}", error.line)
    return Violation(_translate(error.message, element, type_name, version), error.line)


__all__ = ["Child", "TypeInfo", "Violation", "first_version", "index", "schema_version", "validate", "versions"]
