"""The SOQL the real sf sends, answered over in-memory records.

sf's queries are few and simple: ``SELECT f1, f2 FROM Object [WHERE F = 'v' [AND G = 'w']] [LIMIT n]``
(the Dev Hub probe, the Organization query after a login, and ``sf org assign permset``'s User and
PermissionSet lookups). That grammar is all this module reads; anything else gets the REST API's
MALFORMED_QUERY. Text comparisons ignore case, as Salesforce's do for names and usernames.
Pure: the caller supplies the records of each object it knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Table:
    """An object's columns (canonical spelling) and its records (keyed by those spellings, with "Id")."""

    columns: tuple[str, ...]
    records: Sequence[Record]


# The table of an object by its name (any case), or None for an object the org does not have.
Tables = Callable[[str], Table | None]

_QUERY_RE = re.compile(
    r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?$",
    re.IGNORECASE | re.DOTALL,
)
# One condition: Field = 'text', with \' and \\ escapes inside the quotes (SOQL's string literal).
_CONDITION_RE = re.compile(r"\s*(?P<field>\w+)\s*=\s*'(?P<value>(?:[^'\\]|\\.)*)'\s*", re.DOTALL)
_AND_RE = re.compile(r"AND\b", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    conditions: tuple[tuple[str, str], ...]
    limit: int | None


def rest_error(error_code: str, message: str) -> list[dict[str, str]]:
    return [{"message": message, "errorCode": error_code}]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _conditions(where: str) -> tuple[tuple[str, str], ...] | None:
    found: list[tuple[str, str]] = []
    position = 0
    while True:
        match = _CONDITION_RE.match(where, position)
        if match is None:
            return None
        found.append((match.group("field"), _unescape(match.group("value"))))
        position = match.end()
        if position == len(where):
            return tuple(found)
        joined = _AND_RE.match(where, position)
        if joined is None:
            return None
        position = joined.end()


def parse(soql: str) -> Query | None:
    """The query, or None when it is outside the grammar above."""
    match = _QUERY_RE.match(" ".join(soql.split()))
    if match is None:
        return None
    where = match.group("where")
    conditions = () if where is None else _conditions(where)
    if conditions is None:
        return None
    limit = match.group("limit")
    return Query(
        fields=tuple(f.strip() for f in match.group("fields").split(",")),
        sobject=match.group("object"),
        conditions=conditions,
        limit=None if limit is None else int(limit),
    )


def _invalid_type(soql: str, sobject: str) -> list[dict[str, str]]:
    # What Salesforce says for an object the org does not have, e.g. ScratchOrgInfo outside a Dev Hub.
    column = max(soql.find(sobject), 0)
    return rest_error(
        "INVALID_TYPE",
        f"\n{soql}\n{' ' * column}^\nERROR at Row:1:Column:{column + 1}\n"
        f"sObject type '{sobject}' is not supported. If you are attempting to use a custom object, "
        "be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
    )


def _no_column(name: str, sobject: str) -> tuple[int, Any]:
    return 400, rest_error("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")


def run(soql: str, tables: Tables, version: str) -> tuple[int, Any]:
    """(HTTP status, body) of ``GET /services/data/vNN.0/query?q=<soql>``."""
    query = parse(soql)
    if query is None:
        return 400, rest_error("MALFORMED_QUERY", f"unexpected token: {soql[:80]!r}")
    table = tables(query.sobject)
    if table is None:
        return 400, _invalid_type(soql, query.sobject)
    sobject = query.sobject
    columns = {name.casefold(): name for name in table.columns}
    for name in (*query.fields, *(field for field, _ in query.conditions)):
        if name.casefold() not in columns:
            return _no_column(name, sobject)
    matching = [
        r
        for r in table.records
        if all(str(r[columns[f.casefold()]]).casefold() == v.casefold() for f, v in query.conditions)
    ]
    if query.limit is not None:
        matching = matching[: query.limit]
    rows = []
    for record in matching:
        row: dict[str, Any] = {
            "attributes": {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"}
        }
        row.update({columns[f.casefold()]: record[columns[f.casefold()]] for f in query.fields})
        rows.append(row)
    return 200, {"totalSize": len(rows), "done": True, "records": rows}
