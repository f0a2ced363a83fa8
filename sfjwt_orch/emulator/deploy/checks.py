"""The checks each component file passes on its own: its name, its XML, and its fields' shapes.

In the order Salesforce appears to apply them, reporting the first problem per component (a real
deploy lists one problem per failing component): the API name; well-formed XML; the root element;
each child allowed for the type at the package's API version; booleans, integers and enumeration
values; required fields. What depends on other components or on the org is ``rules.py``.

Message texts: the enumeration one is quoted from a real deploy (reference §A1,
permittedUsersPolicyType); "Element … invalid at this location in type …" and "Error parsing file:"
are the Metadata API's wording for schema errors; the others are [inferred] in the same style.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .archive import Problem, SourceFile
from .types import METADATA_NS, FieldSpec, S
from .xmlio import Node, XmlError, fields, parse

# Reference §A1 (the lightning-out template's rule): a letter, then letters, digits and single
# underscores, no trailing underscore, at most 80 characters.
_API_NAME_RE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")
_INT_RE = re.compile(r"^-?\d{1,9}$")


@dataclass(frozen=True)
class Parsed:
    """A component file that passed its own checks."""

    source: SourceFile
    root: Node
    fields: Mapping[str, tuple[str, ...]]
    version: float  # the package's API version

    @property
    def type_name(self) -> str:
        return self.source.mtype.name

    @property
    def full_name(self) -> str:
        return self.source.full_name

    def value(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0].strip() if values else None

    def values(self, name: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in self.fields.get(name, ()))


def problem(source: SourceFile, text: str, line: int | None = None, column: int | None = None) -> Problem:
    return Problem(source.mtype.name, source.file_name, source.full_name, text, line, column)


def name_rule_text(type_name: str) -> str:
    return (
        f"The {type_name} name can only contain underscores and alphanumeric characters. It must begin with "
        "a letter, not include spaces, not end with an underscore, not contain two consecutive underscores, "
        "and be at most 80 characters long."
    )


def value_problem(name: str, spec: FieldSpec, value: str) -> str | None:
    """The problem with one field's text, or None when it fits its kind."""
    if spec.kind == "boolean" and value not in ("true", "false"):
        return f"'{value}' is not a valid value for the type boolean"
    if spec.kind == "int" and not _INT_RE.match(value):
        return f"'{value}' is not a valid value for the type int"
    if spec.kind == "enum" and value not in spec.values:
        return f"'{value}' is not a valid value for the enum '{spec.enum_name}'"
    return None


def children_problem(
    type_name: str,
    children: tuple[Node, ...],
    specs: Mapping[str, FieldSpec],
    version: float,
    *,
    open_content: bool = False,
) -> str | None:
    """The first child that is unknown, out of its API versions, or of the wrong shape; then a missing required one."""
    for child in children:
        spec = specs.get(child.name)
        # A field outside its API versions is as unknown as a misspelt one.
        if child.namespace != METADATA_NS or (spec is None and not open_content) or not (spec or S).in_version(version):
            return (
                f"Error parsing file: Element {{{child.namespace or ''}}}{child.name} "
                f"invalid at this location in type {type_name}"
            )
        if spec is None:
            continue
        if spec.kind != "complex" and (text := value_problem(child.name, spec, child.text.strip())):
            return text
    present = {c.name for c in children if c.text.strip() or c.children}
    for name, spec in specs.items():
        if spec.required and spec.in_version(version) and name not in present:
            return f"Required field is missing: {name}"
    return None


def check_file(source: SourceFile, version: float) -> Parsed | Problem:
    """The component, parsed, or the first problem Salesforce would report for it on its own."""
    mtype = source.mtype
    if not _API_NAME_RE.match(source.full_name):
        return problem(source, name_rule_text(mtype.name))
    try:
        root = parse(source.data)
    except XmlError as exc:
        return problem(source, f"Error parsing file: {exc.message}", exc.line, exc.column)
    if root.name != mtype.name or root.namespace != METADATA_NS:
        return problem(
            source, f"Error parsing file: Element {{{root.namespace or ''}}}{root.name} invalid at this location"
        )
    text = children_problem(mtype.name, root.children, mtype.fields, version, open_content=mtype.open_content)
    if text is not None:
        return problem(source, text)
    return Parsed(source, root, fields(root), version)
