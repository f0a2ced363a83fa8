"""SOAP envelopes for the Metadata API: reading a call, writing a response or a fault.

What jsforce needs from a response (jsforce/jsforce ``src/soap.ts`` and ``src/http-api.ts``):
``Content-Type`` ``text/xml``; prefixed ``soapenv:Envelope`` and ``soapenv:Body``; no attributes on
the Body (the namespaces sit on the Envelope); the operation's ``<xResponse><result>`` inside. A
fault is HTTP 500 with ``faultcode`` ``sf:CODE``, which sf shows as ``{"name": "sf:CODE",
"message": faultstring}``. Requests are parsed with defusedxml (``deploy.xmlio``): they are input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .deploy.registry import METADATA_NS
from .deploy.xmlio import Node, XmlError, parse

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XML_TYPE = "text/xml;charset=UTF-8"

# A value a response holds: text, a flag, a number, a nested element (a mapping), a repeated one (a
# list), or None for an element left out. Typed loosely: results are built as plain dicts.
Value = object

_ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{METADATA_NS}" xmlns:sf="{METADATA_NS}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
)
_ENVELOPE_CLOSE = "</soapenv:Body></soapenv:Envelope>"


class SoapError(ValueError):
    """The request is not a SOAP call the emulator can read."""


@dataclass(frozen=True)
class Call:
    operation: str  # the Body's first element, e.g. "deploy"
    session_id: str | None  # SessionHeader/sessionId: the Metadata API's only credential
    body: Node  # that first element


def parse_call(data: bytes) -> Call:
    try:
        envelope = parse(data)
    except XmlError as exc:
        raise SoapError(f"the request is not well-formed XML: {exc.message}") from None
    body = envelope.child("Body")
    if envelope.name != "Envelope" or envelope.namespace != SOAP_NS or body is None or not body.children:
        raise SoapError("the request is not a SOAP envelope with a body")
    header = envelope.child("Header")
    session = None if header is None else header.child("SessionHeader")
    session_id = None if session is None else session.text_of("sessionId")
    return Call(body.children[0].name, session_id, body.children[0])


def _xml(tag: str, value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    if isinstance(value, (int, float, str)):
        return f"<{tag}>{escape(str(value))}</{tag}>"
    if isinstance(value, Mapping):
        return f"<{tag}>{''.join(_xml(k, v) for k, v in value.items())}</{tag}>"
    if isinstance(value, Sequence):
        return "".join(_xml(tag, item) for item in value)
    raise TypeError(f"cannot write {type(value).__name__} into a SOAP response")


def response(operation: str, results: Value) -> bytes:
    """``<operationResponse>`` holding ``results`` as ``<result>`` (a list gives one per item)."""
    inner = _xml("result", results)
    return f"{_ENVELOPE_OPEN}<{operation}Response>{inner}</{operation}Response>{_ENVELOPE_CLOSE}".encode()


def fault(code: str, message: str) -> bytes:
    """A SOAP fault; ``code`` is e.g. ``sf:INVALID_SESSION_ID`` or ``soapenv:Client``."""
    inner = f"<faultcode>{escape(code)}</faultcode><faultstring>{escape(message)}</faultstring>"
    return f"{_ENVELOPE_OPEN}<soapenv:Fault>{inner}</soapenv:Fault>{_ENVELOPE_CLOSE}".encode()


def flag(node: Node, name: str, default: bool) -> bool:
    """A boolean child of a request element (``true``/``false``; absent: ``default``)."""
    text = node.text_of(name)
    return default if text is None else text.strip().lower() == "true"
