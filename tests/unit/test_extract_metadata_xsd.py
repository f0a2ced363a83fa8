"""scripts/extract_metadata_xsd.py on a small WSDL of the same shape as forcedotcom/wsdl's: it keeps
the asked-for types with everything they reference (bases, element types), drops the rest, and
declares one root element per metadata type, which lxml then validates with."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from lxml import etree

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "extract_metadata_xsd.py"
WSDL = """<?xml version="1.0" encoding="UTF-8"?>
<!--
Salesforce.com Metadata API version 66.0
-->
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  xmlns:tns="http://soap.sforce.com/2006/04/metadata" targetNamespace="http://soap.sforce.com/2006/04/metadata">
 <types>
  <xsd:schema elementFormDefault="qualified" targetNamespace="http://soap.sforce.com/2006/04/metadata">
   <xsd:complexType name="Unrelated"><xsd:sequence><xsd:element name="x" type="xsd:string"/></xsd:sequence></xsd:complexType>
   <xsd:complexType name="Metadata"><xsd:sequence>
     <xsd:element name="fullName" minOccurs="0" type="xsd:string"/></xsd:sequence></xsd:complexType>
   <xsd:complexType name="Widget"><xsd:complexContent><xsd:extension base="tns:Metadata"><xsd:sequence>
     <xsd:element name="colour" type="tns:Colour"/>
     <xsd:element name="size" minOccurs="0" type="xsd:int"/>
   </xsd:sequence></xsd:extension></xsd:complexContent></xsd:complexType>
   <xsd:simpleType name="Colour"><xsd:restriction base="xsd:string">
     <xsd:enumeration value="Red"/><xsd:enumeration value="Blue"/></xsd:restriction></xsd:simpleType>
  </xsd:schema>
 </types>
</definitions>
"""


def _script() -> object:
    spec = importlib.util.spec_from_file_location("extract_metadata_xsd", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_extract_keeps_the_closure_and_validates() -> None:
    version, text = _script().extract(WSDL, ("Widget", "NotInThisWsdl"))  # type: ignore[attr-defined]
    assert version == "66.0"
    assert 'name="Unrelated"' not in text
    assert all(f'name="{name}"' in text for name in ("Widget", "Metadata", "Colour"))
    schema = etree.XMLSchema(etree.fromstring(text.encode()))
    ns = 'xmlns="http://soap.sforce.com/2006/04/metadata"'
    assert schema.validate(etree.fromstring(f"<Widget {ns}><fullName>W</fullName><colour>Red</colour></Widget>"))
    assert not schema.validate(etree.fromstring(f"<Widget {ns}><colour>Green</colour></Widget>"))
    assert not schema.validate(etree.fromstring(f"<Widget {ns}><size>1</size><colour>Red</colour></Widget>"))


def test_every_vendored_extract_holds_every_type_the_registry_names() -> None:
    """Adding a type to the registry without rerunning the script fails here, not in a deploy."""
    from sfjwt_orch.emulator.deploy import registry, schema

    assert schema.versions() == (61.0, 62.0, 63.0, 64.0, 65.0, 66.0)
    assert (registry.SCHEMA_DIR / "LICENSE-forcedotcom-wsdl.txt").read_text().startswith("Copyright (c)")
    for version in schema.versions():
        path = registry.SCHEMA_DIR / f"metadata-{version:.1f}.xsd"
        assert f"Metadata API version {version:.1f}" in path.read_text().splitlines()[1]
        roots = {e.get("name") for e in etree.parse(str(path)).getroot() if e.tag.endswith("}element")}
        assert roots == {*registry.TYPES, *registry.EXTRA_SCHEMA_TYPES}, version
        assert set(registry.SCHEMA_TYPES) <= set(schema.index(version)), version
