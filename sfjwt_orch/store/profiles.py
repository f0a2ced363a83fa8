"""Profiles: the user's answers, saved per alias so `sfjwt-orch login --alias NAME` is enough.

One small TOML file per alias in the config dir, human-editable, mode 0600 (it names the key's
path and the username: not secrets, but nobody else's business). It holds only what the user told
us (consumer key, username, login URL, key and certificate paths, callback URL); what the tool
learns (org id, last login) lives in the state file (state.py).

Read with the stdlib's tomllib; written with tomlkit, round-trip, and only when a value changed,
so a user's comments and hand edits survive. A `schema` number names the layout; older files are
migrated in memory (schema 0, before 0.2: `org_id` was kept here, and is handed to state.py).
A file someone broke by hand is reported with its line, and left as it was.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys.material import CERT_NAME
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import files
from sfjwt_orch.store.paths import Paths, check_alias
from sfjwt_orch.ui.console import masked_key

SCHEMA = 1
_LEARNT_IN_SCHEMA_0 = ("org_id",)  # facts older files kept beside the answers (moved to the state file)


@dataclass(frozen=True)
class Profile:
    alias: str
    client_id: str = ""
    username: str = ""
    instance_url: str = ""
    key_file: str = ""
    cert_file: str = ""
    callback_url: str = ""
    # --allow-non-salesforce-host, once given: the login URL may name a host that is not Salesforce's.
    allow_non_salesforce_host: bool = False
    # Keyless CI (sfjwt-orch trust): the CI provider and issuer the org trusts for this alias.
    oidc_provider: str = ""
    oidc_issuer: str = ""

    def merged(self, given: Profile) -> Profile:
        """`given`'s answers over these ones (flags over saved values); an answer not given ("" or
        False) keeps this one's. The alias stays."""
        over: dict[str, Any] = {name: getattr(given, name) for name in _ANSWERS if getattr(given, name)}
        return dataclasses.replace(self, **over)

    def cert_path(self, key_file: Path) -> Path:
        """The certificate: the one named, else server.crt beside the key (where keygen writes it)."""
        return Path(self.cert_file).expanduser() if self.cert_file else key_file.parent / CERT_NAME

    def answers(self) -> dict[str, str | bool]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "alias"}

    def to_json(self) -> dict[str, str | bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_ANSWERS = {f.name for f in fields(Profile)} - {"alias"}
_FLAGS = {f.name for f in fields(Profile) if f.type == "bool"}


def _check_value(value: str, where: str, fix: str) -> None:
    """A hand edit must not smuggle what no answer holds into our output (a newline in the CI YAML we
    print, an escape sequence on the terminal), nor crash us later (a NUL in a path, a character
    outside the BMP that sf and some terminals mangle): issue 15 item 6, issue 16."""
    bad = next((c for c in value if not c.isprintable() or ord(c) > 0xFFFF), None)
    if bad is not None:
        raise SfjwtError(Code.PROFILE_INVALID, f"{where} holds the character U+{ord(bad):04X}, which no answer has",
                         fix)  # fmt: skip


def _checked(profile: Profile, path: Path, text: str, fix: str) -> Profile:
    """The answers a login checks anyway, checked as the profile is read: every command sees a valid one."""
    checks: dict[str, Callable[[str], str]] = {
        "username": lambda v: validate.check_username(v, "username"),
        # The one URL parser's rules (no credentials, backslashes, %-escapes, http off loopback); the
        # host allow-list is applied where the URL is used, with the profile's opt-in.
        "instance_url": lambda v: validate.parse(v, "instance_url", "").text,
        "callback_url": lambda v: validate.parse(v, "callback_url", "").text,
    }
    for key, check in checks.items():
        value = getattr(profile, key)
        try:
            if value:
                check(value)
        except SfjwtError as exc:
            where = f"profile {path}{_line_of(text, key)}"
            raise SfjwtError(Code.PROFILE_INVALID, f"{where}: {exc.message}", fix) from None
    return profile


@dataclass(frozen=True)
class _File:
    """A profile file as read: the profile, the facts an old schema kept in it, and its text."""

    profile: Profile
    legacy: dict[str, str]
    text: str


def _read(paths: Paths, alias: str) -> _File | None:
    path = paths.profile_file(alias)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise files.file_error("read", path, exc) from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SfjwtError(Code.PROFILE_INVALID, f"profile {path} is not UTF-8 text (line {line})",
                         f"delete {path} and log in again with all flags") from None  # fmt: skip
    import tomllib  # here: a first login, which has no profile yet, is spared its import

    fix = f"correct that line in {path}, or delete the file and log in again with all flags"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SfjwtError(Code.PROFILE_INVALID, f"profile {path} is not valid TOML: {exc}", fix) from None
    values: dict[str, str | bool] = {}
    legacy: dict[str, str] = {}
    for key, value in data.items():
        if key not in _ANSWERS and key not in _LEARNT_IN_SCHEMA_0:
            continue  # `schema`, a key from a newer sfjwt-orch, or a note someone added: not ours to judge
        if key in _FLAGS and not isinstance(value, bool):
            raise SfjwtError(Code.PROFILE_INVALID, f"profile {path}{_line_of(text, key)}: {key} must be true or "
                             "false", fix)  # fmt: skip
        if key not in _FLAGS and not isinstance(value, str):
            raise SfjwtError(Code.PROFILE_INVALID, f"profile {path}{_line_of(text, key)}: {key} must be a quoted "
                             "string", fix)  # fmt: skip
        if isinstance(value, str):
            _check_value(value, f"profile {path}{_line_of(text, key)}: {key}", fix)
        if key in _ANSWERS:
            values[key] = value
        elif isinstance(value, str):
            legacy[key] = value
    answers: dict[str, Any] = values
    return _File(_checked(Profile(alias=alias, **answers), path, text, fix), legacy, text)


# The answers a rerun may replace, as a person names them (issue 24 item 5: an alias reused with other
# flags rewrote its profile without a word).
_SAID = {
    "username": "username",
    "instance_url": "login URL",
    "client_id": "consumer key",
    "key_file": "key file",
    "cert_file": "certificate",
    "callback_url": "callback URL",
}


def changes(before: Profile | None, after: Profile) -> dict[str, dict[str, str | None]]:
    """The saved answers `after` replaces or drops: {field: {"old": …, "new": … or None}}. A value
    given for the first time is no change (nothing was lost)."""
    if before is None:
        return {}
    found: dict[str, dict[str, str | None]] = {}
    for name in _SAID:
        old, new = getattr(before, name), getattr(after, name)
        if old and old != new:
            found[name] = {"old": old, "new": new or None}
    return found


def describe(found: dict[str, dict[str, str | None]]) -> str:
    """'username a → b; certificate /x → (none)': one line for people (a consumer key masked, as
    human output always shows it; --json keeps it whole)."""

    def shown(name: str, value: str | None) -> str:
        return "(none)" if not value else masked_key(value) if name == "client_id" else value

    return "; ".join(f"{_SAID[name]} {shown(name, v['old'])} → {shown(name, v['new'])}" for name, v in found.items())


def load(paths: Paths, alias: str) -> Profile | None:
    found = _read(paths, alias)
    return found.profile if found else None


def load_or_new(paths: Paths, alias: str) -> Profile:
    return load(paths, alias) or Profile(alias=alias)


def legacy_facts(paths: Paths, alias: str) -> dict[str, str]:
    """What a schema-0 profile knew that now belongs to the state file (its org id)."""
    try:
        found = _read(paths, alias)
    except SfjwtError:
        return {}
    return found.legacy if found else {}


def _line_of(text: str, key: str) -> str:
    """The ', line N' naming the first `key = …` line (tomllib names lines only for syntax errors)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return f", line {number}"
    return ""


def save(paths: Paths, profile: Profile) -> bool:
    """Write the profile if any answer differs from the file's; True when it was written.

    A new file is written from a template; an existing one is updated in place (tomlkit), so
    comments, key order and keys we do not know stay as the user left them.
    """
    check_alias(profile.alias)
    path = paths.profile_file(profile.alias)
    found = _read(paths, profile.alias)
    if found is not None and found.profile == profile and not found.legacy and _has_schema(found.text):
        return False
    files.ensure_private_dir(path.parent)
    files.atomic_write(path, _updated(found.text, profile) if found else _new(profile))
    return True


def _new(profile: Profile) -> str:
    lines = [f"# sfjwt-orch profile for alias {profile.alias!r}. Edit freely: flags override it.", f"schema = {SCHEMA}"]
    # A JSON string is a valid TOML basic string: the same escapes, the same quotes.
    lines += [f"{key} = {json.dumps(value)}" for key, value in profile.answers().items() if value]
    return "\n".join(lines) + "\n"


def _updated(text: str, profile: Profile) -> str:
    import tomlkit  # only to change an existing file (~50 ms to import): it keeps what the user wrote

    doc: Any = tomlkit.parse(text)
    doc["schema"] = SCHEMA
    for key, value in profile.answers().items():
        if value:
            doc[key] = value
        elif key in doc:
            del doc[key]
    for key in _LEARNT_IN_SCHEMA_0:
        if key in doc:
            del doc[key]  # migrated: the state file keeps it now (state.py reads it from here first)
    return str(tomlkit.dumps(doc))


def _has_schema(text: str) -> bool:
    return re.search(r"^\s*schema\s*=", text, re.MULTILINE) is not None


def list_aliases(paths: Paths) -> list[str]:
    folder = paths.profiles_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.toml"))


def load_all(paths: Paths) -> tuple[list[Profile], list[SfjwtError]]:
    """Every readable profile, and the problems of the others: one broken file must not block
    work on the rest (listing them, or cleaning up a key at the end of a CI job)."""
    profiles: list[Profile] = []
    problems: list[SfjwtError] = []
    for alias in list_aliases(paths):
        try:
            profile = load(paths, alias)
        except SfjwtError as exc:
            problems.append(exc)
            continue
        if profile is not None:
            profiles.append(profile)
    return profiles, problems


def _same_file(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is gone: compare the spelled-out paths
        return Path(a).expanduser().resolve() == b.expanduser().resolve()


def key_users(paths: Paths, key_file: Path, *, besides: str) -> list[str]:
    """The aliases other than `besides` whose profile uses `key_file` (symlinks and `..` resolved)."""
    profiles, _ = load_all(paths)
    return [p.alias for p in profiles if p.alias != besides and p.key_file and _same_file(p.key_file, key_file)]


def remove(paths: Paths, alias: str) -> bool:
    path: Path = paths.profile_file(alias)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
