"""Did you mean …? for a name the tool knows (a saved alias): one helper, used wherever a profile is
looked up by the alias a person typed (login, rotate, ci export, sandbox add --from, logout, doctor,
status). difflib's ratio, as Python's own "Did you mean" for names does in spirit."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from sfjwt_orch.store import profiles
from sfjwt_orch.store.paths import Paths

# 0.6 is difflib's default: "ci" vs "cj" or "my-hub" vs "my_hub" match, unrelated names do not.
CUTOFF = 0.6


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name closest to `word`, if one is close enough and is not `word` itself."""
    matches = difflib.get_close_matches(word, [k for k in known if k != word], n=1, cutoff=CUTOFF)
    return matches[0] if matches else None


def alias_hint(paths: Paths, alias: str) -> str:
    """' (did you mean 'NAME'?)' when `alias` is not saved but is close to a saved one, else ''."""
    saved = profiles.list_aliases(paths)
    if alias in saved:
        return ""
    near = closest(alias, saved)
    return f" (did you mean {near!r}?)" if near else ""
