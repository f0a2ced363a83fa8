"""``emulator serve --log FILE``: one JSON line per request answered, so a person can see what sf did.

Each line holds when, who (the client's address), the method and path, the status and outcome,
and for token requests the grant type, the user and audience the assertion named, and the
``error`` / ``error_description`` answered. Never a token, an assertion, a key, a certificate,
a query string or a body: those are credentials or too large to read (issue 14, item 8).
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .http import Reply, Request


def log_entry(request: Request, reply: Reply, at: float) -> dict[str, Any]:
    claims = reply.claims or {}
    entry: dict[str, Any] = {
        "at": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds"),
        "client": request.client,
        "method": request.method,
        "path": request.path,
        "status": reply.status,
        "outcome": reply.outcome,
        "grant_type": reply.params.get("grant_type"),
        "username": claims.get("prn", claims.get("sub")),
        "audience": claims.get("aud"),
        "error": reply.error,
        "error_description": reply.error_description,
    }
    # Only plain short values: a claim is whatever the client signed, never copied whole.
    for name in ("username", "audience"):
        if not isinstance(entry[name], str):
            entry[name] = None if entry[name] is None else "<not a string>"
        else:
            entry[name] = entry[name][:200]
    return entry


class JsonLinesLog:
    """An append-only JSON-lines file, safe to write from the server's handler threads."""

    def __init__(self, path: Path) -> None:
        # O_APPEND: lines from concurrent handlers never interleave; a second serve can share the file.
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, line)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
