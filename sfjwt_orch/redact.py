"""Scrub secrets from any text before it is shown, logged or put in JSON.

sf redacts access tokens in `--json` since mid-2026, but older versions, SF_TEMP_SHOW_SECRETS and
stack traces do not, so everything sf prints passes through here before a person can see it.
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
)


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
