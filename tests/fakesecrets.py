"""Fake secrets, made at test time: never a literal that could be mistaken for a real key or token.

A token has the Salesforce session-id shape (org id, '!', opaque part); a PEM block has the shape
of a key with random base64 lines. Both are fresh on every test run.
"""

from __future__ import annotations

import base64
import os
import secrets
import string


def fake_token(org_id: str | None = None) -> str:
    """A session id shaped like Salesforce's: 00D + 15 characters, '!', an opaque part."""
    org = org_id or "00D" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(15))
    return f"{org}!{secrets.token_urlsafe(24).replace('-', '.')}"


def pem_block(label: str, body_lines: list[str], newline: str = "\n") -> str:
    """A PEM block with `label` (e.g. "PRIVATE KEY") around the given body lines."""
    return newline.join([f"-----BEGIN {label}-----", *body_lines, f"-----END {label}-----"]) + newline


def random_body(lines: int = 3) -> list[str]:
    """Base64 lines of 64 characters of random bytes (the last one shorter)."""
    text = base64.b64encode(os.urandom(48 * lines - 16)).decode()
    return [text[i : i + 64] for i in range(0, len(text), 64)]
