"""Helpers for the emulator tests: real openssl keys, JWT signing, and a plain HTTP client.

Keys and certificates are generated into a temporary directory at test time (never committed).
JWTs are signed with `openssl dgst -sha256 -sign`, so the emulator's RS256 check (pyca/cryptography)
is tested against signatures it did not make.
"""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests import keypairs
from tests.keypairs import KeyPair

OPENSSL = "/usr/bin/openssl"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def make_keypair(directory: Path, name: str = "server") -> KeyPair:
    return keypairs.make_keypair(directory, name, days=2)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(key: Path, claims: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
    head = b64url(json.dumps(header or {"alg": "RS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signing_input = f"{head}.{body}".encode()
    signature = subprocess.run(
        [OPENSSL, "dgst", "-sha256", "-sign", str(key)], input=signing_input, check=True, capture_output=True
    ).stdout
    return f"{head}.{body}.{b64url(signature)}"


def sf_claims(client_id: str, username: str, aud: str, **extra: Any) -> dict[str, Any]:
    """Claims exactly as sf builds them: exp = Date.now() + 300, i.e. in milliseconds; iat in seconds."""
    now = time.time()
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": username,
        "aud": aud,
        "exp": int(now * 1000) + 300,
        "iat": int(now),
    }
    claims.update(extra)
    return claims


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    chunked: bool = False,
) -> Response:
    """One HTTP request, redirects NOT followed (tests look at Location themselves)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        send_headers = dict(headers or {})
        if chunked:
            send_headers["Transfer-Encoding"] = "chunked"
            # An iterable body is sent chunk by chunk; split it so several chunks go over the wire.
            data = body or b""
            pieces = [data[i : i + 100] for i in range(0, len(data), 100)]
            conn.request(method, path, body=iter(pieces), headers=send_headers, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=send_headers)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def get(url: str, headers: Mapping[str, str] | None = None) -> Response:
    return request("GET", url, headers=headers)


def post_form(url: str, params: Mapping[str, str], *, chunked: bool = False) -> Response:
    return request(
        "POST",
        url,
        body=urlencode(params).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        chunked=chunked,
    )


def post_json(url: str, payload: Any, content_type: str = "application/json") -> Response:
    return request("POST", url, body=json.dumps(payload).encode(), headers={"Content-Type": content_type})


def token_request(base_url: str, assertion: str, *, chunked: bool = True) -> Response:
    # chunked by default: that is how the real sf sends it.
    return post_form(
        f"{base_url}/services/oauth2/token",
        {"grant_type": JWT_GRANT, "assertion": assertion},
        chunked=chunked,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Form:
    action: str = ""
    method: str = ""
    inputs: dict[str, str] | None = None
    buttons: list[tuple[str, str]] | None = None


class FormParser(HTMLParser):
    """Collects the first <form>: its action, method, inputs and submit buttons, as a browser would."""

    def __init__(self) -> None:
        super().__init__()
        self.form: Form | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form is None:
            self.form = Form(action=a.get("action", ""), method=a.get("method", "get").lower(), inputs={}, buttons=[])
            self._in_form = True
        elif self._in_form and self.form is not None:
            if tag == "input" and "name" in a:
                assert self.form.inputs is not None
                self.form.inputs[a["name"]] = a.get("value", "")
            elif tag == "button" and a.get("type", "submit") == "submit":
                assert self.form.buttons is not None
                self.form.buttons.append((a.get("name", ""), a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def parse_form(html: str) -> Form:
    parser = FormParser()
    parser.feed(html)
    assert parser.form is not None, "no <form> in the page"
    return parser.form


def submit(base_url: str, form: Form, button_value: str, **overrides: str) -> Response:
    """Submit ``form`` by clicking the submit button whose value is ``button_value``."""
    assert form.inputs is not None and form.buttons is not None
    fields = dict(form.inputs)
    fields.update(overrides)
    name = next(n for n, v in form.buttons if v == button_value)
    fields[name] = button_value
    assert form.method == "post"
    return post_form(base_url + form.action, fields)


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
