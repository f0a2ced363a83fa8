"""A deploy's zip: where its package.xml is, what package.xml names, and which files hold the members.

SDR zips an mdapi directory with every entry under a root ``zip/`` (``zip/package.xml``,
``zip/externalClientApps/X.eca``) and sends ``singlePackage=false``; a source-format deploy has no
root and sends ``singlePackage=true`` (forcedotcom/source-deploy-retrieve ``src/client/metadataApiDeploy.ts``).
File names in results keep the root, as
Salesforce's do; sf strips it. Problems found here are the ones Salesforce reports against
``package.xml``, in the wording deploy logs quote (e.g. jenkinsci/salesforce-migration-assistant-plugin#26).
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import schema
from .registry import METADATA_NS, TYPES, MetadataType
from .xmlio import XmlError, parse

# A deploy of an app is a few kilobytes; these bound what a hostile zip can make the emulator hold.
_MAX_ENTRIES = 2_000
_MAX_FILE_BYTES = 1 << 20
_MAX_TOTAL_BYTES = 8 << 20


class ArchiveError(ValueError):
    """The ZipFile is not a zip the emulator can read (the deploy fails as a whole)."""


@dataclass(frozen=True)
class Problem:
    """One component failure: what checkDeployStatus reports in ``componentFailures``."""

    component_type: str  # "" for package.xml itself
    file_name: str
    full_name: str
    text: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class SourceFile:
    mtype: MetadataType
    full_name: str
    file_name: str  # as results name it: zip/externalClientApps/X.eca
    data: bytes
    content: bytes | None = None  # a type with a content file: that file (classes/X.cls)


@dataclass(frozen=True)
class Archive:
    package_file: str  # zip/package.xml
    version: float
    files: tuple[SourceFile, ...]
    problems: tuple[Problem, ...]


def _entries(zip_b64: str) -> dict[str, bytes]:
    try:
        raw = base64.b64decode("".join(zip_b64.split()), validate=True)
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > _MAX_ENTRIES or sum(i.file_size for i in infos) > _MAX_TOTAL_BYTES:
            raise ArchiveError("the zip file is too large")
        if any(i.file_size > _MAX_FILE_BYTES for i in infos):
            raise ArchiveError("a file in the zip is too large")
        return {i.filename: archive.read(i) for i in infos}
    except (binascii.Error, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, RuntimeError) as exc:
        raise ArchiveError(f"the zip file cannot be read: {exc}") from None


def _root(names: list[str], single_package: bool) -> str | None:
    """The folder package.xml sits in ("" or "zip/"), or None when there is none."""
    if "package.xml" in names:
        return ""
    if single_package:
        return None
    roots = sorted(n[: -len("package.xml")] for n in names if n.endswith("/package.xml") and n.count("/") == 1)
    return roots[0] if roots else None


def _version(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


def _members(package: bytes, package_file: str) -> tuple[list[tuple[str, str]], str | None, list[Problem]]:
    """(type, member) pairs in package.xml order, its <version>, and its problems."""
    try:
        root = parse(package)
    except XmlError as exc:
        return (
            [],
            None,
            [Problem("", package_file, "package.xml", f"Error parsing file: {exc.message}", exc.line, exc.column)],
        )
    if root.name != "Package" or root.namespace != METADATA_NS:
        text = f"Error parsing file: Element {{{root.namespace or ''}}}{root.name} invalid at this location"
        return [], None, [Problem("", package_file, "package.xml", text)]
    pairs: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for types in (c for c in root.children if c.name == "types"):
        name = types.text_of("name") or ""
        if name not in TYPES:
            problems.append(
                Problem("", package_file, "package.xml", f"Unknown type name '{name}' specified in package.xml")
            )
            continue
        pairs.extend((name, m.text) for m in types.children if m.name == "members" and m.text)
    return pairs, root.text_of("version"), problems


def _find(entries: dict[str, bytes], root: str, mtype: MetadataType, member: str) -> list[tuple[str, str]]:
    """(full name, path) of the files holding ``member`` (``*``: every file of the type's folder)."""
    folder = f"{root}{mtype.folder}/"
    suffixes: tuple[str, ...] = (
        f".{mtype.suffix}",
        f".{mtype.suffix}-meta.xml",
    )  # sfdx-hardis's -meta.xml names deploy too
    if mtype.has_content:
        suffixes = (f".{mtype.suffix}-meta.xml",)  # the XML; the content file is read beside it
    if member == "*":
        found = []
        for path in sorted(entries):
            rest = path[len(folder) :] if path.startswith(folder) else ""
            for suffix in suffixes:
                if rest.endswith(suffix) and "/" not in rest:
                    found.append((rest[: -len(suffix)], path))
        return found
    return [(member, folder + member + s) for s in suffixes if folder + member + s in entries][:1]


def zip_directory(directory: Path) -> str:
    """An mdapi directory zipped as SDR zips it for ``--metadata-dir`` (every entry under ``zip/``),
    base64-encoded like a deploy's ZipFile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, "zip/" + path.relative_to(directory).as_posix())
    return base64.b64encode(buffer.getvalue()).decode()


def read_archive(zip_b64: str, *, single_package: bool, default_version: float) -> Archive:
    """Read a deploy's base64 ZipFile. Raises ``ArchiveError`` when it is not a readable zip."""
    entries = _entries(zip_b64)
    root = _root(sorted(entries), single_package)
    if root is None:
        return Archive(
            "package.xml", default_version, (), (Problem("", "package.xml", "package.xml", "No package.xml found"),)
        )
    package_file = f"{root}package.xml"
    pairs, version_text, problems = _members(entries[package_file], package_file)
    files: list[SourceFile] = []
    seen: set[tuple[str, str]] = set()
    version = _version(version_text, default_version)
    if pairs and schema.schema_version(version) is None:
        # No schema older than the oldest extract is vendored: an emulator limit, not Salesforce's.
        oldest = schema.versions()[0]
        text = f"The emulator checks Metadata API versions {oldest:.1f} and later; package.xml declares {version:.1f}"
        problems.append(Problem("", package_file, "package.xml", text))
        pairs = []
    for type_name, member in pairs:
        mtype = TYPES[type_name]
        since = schema.first_version(type_name)
        if since is None or since > version:
            # The type does not exist yet at the package's API version: Salesforce's text for a type
            # it does not know (quoted in scolladon/sfdc-generate-package#8 and
            # jenkinsci/salesforce-migration-assistant-plugin#26).
            unknown = f"Unknown type name '{type_name}' specified in package.xml"
            if all(p.text != unknown for p in problems):
                problems.append(Problem("", package_file, "package.xml", unknown))
            continue
        found = _find(entries, root, mtype, member)
        if not found and member != "*":
            problems.append(
                Problem(
                    type_name,
                    package_file,
                    member,
                    f"An object '{member}' of type {type_name} was named in package.xml, "
                    "but was not found in zipped directory",
                )
            )
        for full_name, path in found:
            if (type_name, full_name.casefold()) not in seen:
                seen.add((type_name, full_name.casefold()))
                content = entries.get(path.removesuffix("-meta.xml")) if mtype.has_content else None
                files.append(SourceFile(mtype, full_name, path, entries[path], content))
    return Archive(package_file, version, tuple(files), tuple(problems))
