"""CI files as YAML text, from plain data (dicts, lists, strings): the library quotes what needs
quoting, so a value can never change the file's structure, whatever it holds.

ruamel.yaml emits YAML 1.2 (so `on:` stays a plain key, as GitHub reads it) and can write the end-of-line
comments that name the release behind a pinned commit (`uses: actions/setup-node@<sha> # v7.0.0`,
the form Dependabot keeps up to date). Imported here only: `ci export` is its one user.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any


def dump(data: Mapping[str, Any], header: Sequence[str], eol_comments: Mapping[str, str] | None = None) -> str:
    """`header` lines as `# ` comments, then `data` as block-style YAML.

    `eol_comments` maps a scalar value to the comment written after it (on the key that holds it).
    """
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.width = 100_000  # never fold a long command line: a folded `run:` is valid but hard to read
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.ignore_aliases = lambda _data: True  # no &anchors: some CI parsers refuse them
    # None as an empty value (`workflow_dispatch:`), as people write it, rather than `null`.
    yaml.representer.add_representer(type(None), lambda r, _data: r.represent_scalar("tag:yaml.org,2002:null", ""))
    out = io.StringIO()
    out.write("".join(f"# {line}".rstrip() + "\n" for line in header))
    yaml.dump(_styled(data, eol_comments or {}), out)
    return out.getvalue()


def _styled(node: Any, eol_comments: Mapping[str, str]) -> Any:
    """The data with ruamel's types: multi-line strings as literal blocks (`|`), comments attached."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(node, Mapping):
        styled = CommentedMap((key, _styled(value, eol_comments)) for key, value in node.items())
        for key, value in node.items():
            if isinstance(value, str) and value in eol_comments:
                styled.yaml_add_eol_comment(eol_comments[value], key)
        return styled
    if isinstance(node, list | tuple):
        return CommentedSeq(_styled(item, eol_comments) for item in node)
    if isinstance(node, str) and "\n" in node:
        return LiteralScalarString(node if node.endswith("\n") else node + "\n")
    return node
