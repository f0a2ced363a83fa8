"""Request body framing: chunked (how the real sf posts) and Content-Length."""

from __future__ import annotations

import io

import pytest

from sfjwt_orch.emulator.httpbody import BodyError, decode_chunked, read_body


@pytest.mark.parametrize(
    ("wire", "body"),
    [
        (b"0\r\n\r\n", b""),
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", b"abcde"),
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),  # hex sizes
        (b"5;name=value\r\nhello\r\n0\r\n\r\n", b"hello"),  # chunk extension ignored
        (b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", b"hello"),  # trailers skipped
        (b"5\nhello\n0\n\n", b"hello"),  # bare LF, as lenient servers accept
    ],
    ids=["empty", "one", "two", "hex", "extension", "trailer", "lf"],
)
def test_decode_chunked(wire: bytes, body: bytes) -> None:
    reader = io.BytesIO(wire + b"NEXT")
    assert decode_chunked(reader) == body
    assert reader.read() == b"NEXT"  # stops exactly at the end of the body


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        (b"", 400),
        (b"zz\r\nhello\r\n0\r\n\r\n", 400),
        (b"5\r\nhel", 400),
        (b"5\r\nhelloXX\r\n0\r\n\r\n", 400),
        (b"5\r\nhello\r\n", 400),  # no last chunk
        (b"100001\r\n", 413),
    ],
    ids=["nothing", "bad-size", "short-data", "no-crlf", "no-last-chunk", "too-large"],
)
def test_decode_chunked_errors(wire: bytes, status: int) -> None:
    with pytest.raises(BodyError) as info:
        decode_chunked(io.BytesIO(wire))
    assert info.value.status == status


@pytest.mark.parametrize(
    ("headers", "wire", "body"),
    [
        ({}, b"ignored", b""),
        ({"content-length": "3"}, b"abcdef", b"abc"),
        ({"transfer-encoding": "chunked"}, b"2\r\nab\r\n0\r\n\r\n", b"ab"),
        ({"transfer-encoding": "Chunked", "content-length": "99"}, b"2\r\nab\r\n0\r\n\r\n", b"ab"),
    ],
    ids=["no-body", "content-length", "chunked", "chunked-wins-over-length"],
)
def test_read_body(headers: dict[str, str], wire: bytes, body: bytes) -> None:
    assert read_body(io.BytesIO(wire), headers) == body


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"transfer-encoding": "gzip, chunked"}, 501),
        ({"content-length": "-1"}, 400),
        ({"content-length": "abc"}, 400),
        ({"content-length": "10"}, 400),  # shorter than announced
        ({"content-length": str(2 << 20)}, 413),
    ],
)
def test_read_body_errors(headers: dict[str, str], status: int) -> None:
    with pytest.raises(BodyError) as info:
        read_body(io.BytesIO(b"abc"), headers)
    assert info.value.status == status
