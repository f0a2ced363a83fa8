"""``Reader``: one JSON object of a config file, read with type checks, unknown keys refused.

Used by ``config_file`` for the ``--app-config`` file and the control API's JSON bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config_checks import fail

_MISSING: Any = object()

_JSON_NAMES: Mapping[type, str] = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list",
    tuple: "a list",
    dict: "an object",
    type(None): "null",
}


class Reader:
    """Reads one JSON object, checking types and remembering which keys were used."""

    def __init__(self, raw: object, where: str, source: str) -> None:
        if not isinstance(raw, dict):
            raise fail(source, where or "top level", "must be a JSON object", "wrap the fields in { }")
        self.raw: dict[str, Any] = raw
        self.where = where
        self.source = source
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.raw:
            if default is _MISSING:
                raise fail(self.source, self._path(key), "is required", f"add {key!r} to the file")
            return default
        value = self.raw[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; a JSON true must never pass as a number (or the reverse).
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(dict.fromkeys(_JSON_NAMES.get(k, k.__name__) for k in kinds))
            raise fail(self.source, self._path(key), f"must be {names}", f"write {key!r} as {names}")
        return value

    def sub(self, key: str) -> Reader:
        return Reader(self.get(key, dict), self._path(key), self.source)

    def subs(self, key: str, default: Any = _MISSING) -> list[Reader]:
        items = self.get(key, list, default)
        return [Reader(item, f"{self._path(key)}[{i}]", self.source) for i, item in enumerate(items)]

    def strings(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        items = self.get(key, (list, tuple), default)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise fail(self.source, f"{self._path(key)}[{i}]", "must be a string", "quote the value")
        return tuple(items)

    def finish(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise fail(
                self.source,
                self._path(unknown[0]),
                "unknown key",
                "remove it or fix its spelling; allowed here: " + ", ".join(sorted(self.used)),
            )
