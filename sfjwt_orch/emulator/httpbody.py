"""Reading an HTTP/1.1 request body, including ``Transfer-Encoding: chunked``.

The real sf (undici) posts the token request with ``Transfer-Encoding: chunked`` and no
``Content-Length``; ``http.server`` leaves the body on the socket untouched, so the emulator must
decode the chunks itself (RFC 9112 §7.1). Pure over a binary reader, so tests can feed ``BytesIO``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import BinaryIO

MAX_BODY_BYTES = 1 << 20  # a JWT request is ~1 KB; anything this big is a bug or abuse
_MAX_LINE = 8192
_HEX_RE = re.compile(rb"^[0-9A-Fa-f]{1,8}$")


class BodyError(ValueError):
    """The body is malformed or too large; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if not line:
        raise BodyError("body ended early")
    if len(line) > _MAX_LINE:
        raise BodyError("chunk line too long")
    return line


def decode_chunked(reader: BinaryIO, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read a chunked body: ``size[;ext] CRLF data CRLF`` ... ``0 CRLF [trailers] CRLF``."""
    data = bytearray()
    while True:
        size_text = _line(reader).split(b";", 1)[0].strip()  # chunk extensions are allowed and ignored
        if not _HEX_RE.match(size_text):
            raise BodyError("bad chunk size")
        size = int(size_text, 16)
        if size == 0:
            # Trailer fields until the empty line; we keep none of them.
            while _line(reader).strip():
                pass
            return bytes(data)
        if len(data) + size > limit:
            raise BodyError("request body too large", status=413)
        chunk = reader.read(size)
        if len(chunk) != size:
            raise BodyError("body ended early")
        data += chunk
        if _line(reader).strip():
            raise BodyError("chunk data not followed by CRLF")


def read_body(reader: BinaryIO, headers: Mapping[str, str], limit: int = MAX_BODY_BYTES) -> bytes:
    """Read the request body as framed by ``headers`` (keys lower-case)."""
    transfer_encoding = headers.get("transfer-encoding")
    if transfer_encoding is not None:
        codings = [c.strip().lower() for c in transfer_encoding.split(",") if c.strip()]
        # RFC 9112 §6.3: chunked must be last; other codings (gzip...) are not something any
        # Salesforce client sends, so refusing them beats guessing.
        if codings != ["chunked"]:
            raise BodyError(f"unsupported Transfer-Encoding {transfer_encoding!r}", status=501)
        return decode_chunked(reader, limit)
    length_text = headers.get("content-length")
    if length_text is None:
        return b""
    if not re.fullmatch(r"[0-9]{1,12}", length_text.strip()):
        raise BodyError("bad Content-Length")
    length = int(length_text)
    if length > limit:
        raise BodyError("request body too large", status=413)
    body = reader.read(length)
    if len(body) != length:
        raise BodyError("body ended early")
    return body
