"""Scrub secrets from any text before it is shown, logged or put in JSON.

sf redacts access tokens in `--json` since mid-2026, but older versions, SF_TEMP_SHOW_SECRETS and
stack traces do not, so everything sf prints passes through here before a person can see it.
The console (console.py) runs every line it shows through here, and `clean` below.
"""

from __future__ import annotations

import re

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL),
        "[REDACTED PRIVATE KEY]",
    ),
    # A Salesforce session id / access token: org id, '!', then the opaque part. No word boundary
    # before it, and '!' inside it: a token glued to other text (`sid00D…`) or to another token
    # must still go whole (fail closed).
    (re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._!\-]+"), "[REDACTED TOKEN]"),
    (
        re.compile(r'("(?:accessToken|access_token|refreshToken|refresh_token|clientSecret)"\s*:\s*)"[^"]*"'),
        r'\1"[REDACTED]"',
    ),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9._!\-]{16,}"), r"\1[REDACTED]"),
    # A PEM block in base64 ("-----BEGIN" encodes to LS0tLS1CRUdJTi), as CI secrets hold keys: a key
    # passed by value (`--key-env "$SF_JWT_KEY"`, an easy slip) must not be echoed (issue 16 item 3).
    # Wrapped lines (base64's 76 columns) go too.
    (re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=\r\n]*"), "[REDACTED BASE64 KEY]"),
    # Credentials in a URL (https://user:password@host), whatever the URL's source: up to the last
    # `@` before a space or quote, since a password may hold `/` or `@` unescaped (issue 15 item 5).
    # Only when the text after `://` looks like userinfo (an `@` before any `/`, or `user:` with a
    # non-numeric "port"), so a pinned pip source such as git+https://host/org/repo@v1.2 stays whole.
    (
        re.compile(
            r"\b([A-Za-z][A-Za-z0-9+.\-]*://)"
            r"(?=[^\s\"'<>/@]*@|[^\s\"'<>/@:]*:[^\s\"'<>/@]*[^\s\"'<>/@\d])"
            r"[^\s\"'<>]*@"
        ),
        r"\1[REDACTED]@",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


# C0 and C1 control characters (ESC starts terminal escape sequences: a title change, an OSC 52
# clipboard write, a cursor move that forges "✓ Logged in"), DEL, and the bidirectional overrides
# that make text read differently from what it holds. Newlines and tabs stay.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Text we did not write (sf's messages, a callback's error, a profile value), safe for a terminal."""
    return _CONTROL.sub("", text)
