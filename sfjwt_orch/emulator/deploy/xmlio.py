"""Metadata XML in and out: hardened parsing (defusedxml) into frozen trees, and serialising them back.

A deploy is input from the network, so it is parsed with defusedxml: no entity expansion, no DTD,
no external references. The tree is turned into frozen ``Node`` values at once, so nothing mutable
escapes. Serialising writes the layout Salesforce's retrieves have (4-space indents, one element per
line, the metadata namespace on the root) with the stdlib's escaping.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .registry import METADATA_NS

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

# What Salesforce's (Xerces) parser says for a DOCTYPE; the emulator refuses it the same way.
DOCTYPE_MESSAGE = (
    'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/disallow-doctype-decl" set to true.'
)


class XmlError(ValueError):
    """The bytes are not well-formed (or not allowed) XML; ``line``/``column`` where known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Node:
    name: str  # local name, without the namespace
    namespace: str | None
    text: str = ""
    children: tuple[Node, ...] = ()

    def child(self, name: str) -> Node | None:
        return next((c for c in self.children if c.name == name), None)

    def text_of(self, name: str) -> str | None:
        found = self.child(name)
        return None if found is None else found.text

    def with_text(self, name: str, text: str) -> Node:
        """This node with child ``name`` set to ``text`` (replaced, or added in alphabetical place)."""
        return self.with_child(Node(name, self.namespace, text))

    def with_child(self, new: Node) -> Node:
        """This node with ``new`` replacing the children of its name (or added in alphabetical place)."""
        kept = [c for c in self.children if c.name != new.name]
        index = next((i for i, c in enumerate(kept) if c.name > new.name), len(kept))
        return replace(self, children=(*kept[:index], new, *kept[index:]))


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _freeze(element: Element) -> Node:
    namespace, name = _split(element.tag)
    children = tuple(_freeze(child) for child in element)
    text = "" if children else (element.text or "").strip()
    return Node(name, namespace, text, children)


def parse(data: bytes) -> Node:
    """Parse ``data`` into a frozen tree; ``XmlError`` when it is not well-formed or not allowed."""
    import defusedxml  # type: ignore[import-untyped]  # no type stubs are published
    from defusedxml import ElementTree as SafeET

    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except SafeET.ParseError as exc:
        line, column = exc.position
        # expat says e.g. "mismatched tag: line 3, column 4"; the position goes into its own fields.
        return_message = str(exc).split(": line ", 1)[0]
        raise XmlError(return_message, line, column + 1) from None
    except defusedxml.DTDForbidden:
        raise XmlError(DOCTYPE_MESSAGE) from None
    except defusedxml.DefusedXmlException as exc:  # entities, external references
        raise XmlError(f"not allowed in metadata: {exc}") from None
    return _freeze(root)


def fields(root: Node) -> dict[str, tuple[str, ...]]:
    """Child element texts by name (repeated elements keep their order); a nested element's children
    appear as ``parent.child``."""
    found: dict[str, list[str]] = {}
    for child in root.children:
        found.setdefault(child.name, []).append(child.text)
        for grandchild in child.children:
            found.setdefault(f"{child.name}.{grandchild.name}", []).append(grandchild.text)
    return {name: tuple(values) for name, values in found.items()}


def _write(node: Node, depth: int, lines: list[str]) -> None:
    pad = "    " * depth
    if not node.children:
        lines.append(f"{pad}<{node.name}>{escape(node.text)}</{node.name}>")
        return
    lines.append(f"{pad}<{node.name}>")
    for child in node.children:
        _write(child, depth + 1, lines)
    lines.append(f"{pad}</{node.name}>")


def serialize(root: Node) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{root.name} xmlns="{METADATA_NS}">']
    for child in root.children:
        _write(child, 1, lines)
    lines.append(f"</{root.name}>")
    return ("\n".join(lines) + "\n").encode()


def element(name: str, *children: Node, text: str = "") -> Node:
    """A node in the metadata namespace (for documents the org writes itself)."""
    return Node(name, METADATA_NS, text, children)
