"""The checks each component file passes on its own: its name, its XML, and Salesforce's schema.

In the order Salesforce appears to apply them, reporting the first problem per component (a real
deploy lists one problem per failing component): the API name; well-formed XML; the root element;
then the official schema of the package's API version (``schema.py``: elements, order, enums,
simple types, required elements, the version an element first appears in). What depends on other
components or on the org is ``rules.py``.

"Error parsing file:" is the prefix Salesforce gives XML problems (quoted in
hardisgroupcom/sfdx-hardis#352: "Error parsing file: Content is not allowed in prolog. (1:1)").
The API-name text is [inferred] from the rule Salesforce's own Setup pages state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import schema
from .archive import Problem, SourceFile
from .registry import METADATA_NS
from .xmlio import Node, XmlError, fields, parse

# Salesforce's developer-name rule, as Salesforce's own templates enforce it (forcedotcom/
# salesforcedx-templates ``src/generators/lightningOutGenerator.ts``): a letter, then letters, digits
# and single underscores, no trailing underscore, at most 80 characters.
_API_NAME_RE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")


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
    schema_version = schema.schema_version(version)
    if schema_version is not None and (violation := schema.validate(mtype.name, source.data, schema_version)):
        return problem(source, violation.text, violation.line)
    return Parsed(source, root, fields(root), version)
