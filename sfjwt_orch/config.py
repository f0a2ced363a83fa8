"""Profiles: what a login needs, saved per alias so `sfjwt-orch login --alias NAME` is enough.

One small TOML file per alias in the config dir, human-editable, mode 0600 (it names the key's
path and the username, which are not secrets but are nobody else's business). Written
atomically; a file someone broke by hand is reported with its line, and left as it was.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from sfjwt_orch import files
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.paths import Paths, check_alias


@dataclass(frozen=True)
class Profile:
    alias: str
    client_id: str = ""
    username: str = ""
    instance_url: str = ""
    key_file: str = ""
    cert_file: str = ""
    callback_url: str = ""
    org_id: str = ""

    def merged(self, **overrides: str | None) -> Profile:
        """Flags override saved values; a flag not given (None or "") keeps the saved one."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v})

    def to_toml(self) -> str:
        lines = [
            f"# sfjwt-orch profile for alias {self.alias!r}. Edit freely: command-line flags override it.",
        ]
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                lines.append(f"{f.name} = {json.dumps(value)}")  # a JSON string is a valid TOML basic string
        return "\n".join(lines) + "\n"


_KNOWN = {f.name for f in fields(Profile)}


def load(paths: Paths, alias: str) -> Profile | None:
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
    import tomllib  # here: a first login, which has no profile yet, is spared its ~2 ms import

    fix = f"correct that line in {path}, or delete the file and log in again with all flags"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SfjwtError(Code.PROFILE_INVALID, f"profile {path} is not valid TOML: {exc}", fix) from None
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in _KNOWN:
            continue  # written by a newer sfjwt-orch, or a note someone added: not ours to judge
        if not isinstance(value, str):
            raise SfjwtError(Code.PROFILE_INVALID, f"profile {path}{_line_of(text, key)}: {key} must be a quoted "
                             "string", fix)  # fmt: skip
        values[key] = value
    values["alias"] = alias
    return Profile(**values)


def _line_of(text: str, key: str) -> str:
    """The ', line N' naming the first `key = …` line (tomllib names lines only for syntax errors)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return f", line {number}"
    return ""


def save(paths: Paths, profile: Profile) -> Path:
    check_alias(profile.alias)
    path = paths.profile_file(profile.alias)
    files.ensure_private_dir(path.parent)
    files.atomic_write(path, profile.to_toml())
    return path


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
