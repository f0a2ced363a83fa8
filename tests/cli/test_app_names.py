"""Issue 22 item 2: whatever the alias or --name, every component `app create` writes has a name
Salesforce accepts (at most 80 characters, its developer-name rule) and validates against the official
Metadata API schema of the version its package.xml declares (the emulator's vendored forcedotcom/wsdl
extracts). --dry-run writes the files without an org, so it is where they are checked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from sfjwt_orch.emulator.deploy import registry, schema
from sfjwt_orch.salesforce import metadata
from tests.cli.conftest import World

USER = "ci-bot@acme.com"
NAME_RULE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")  # at most 80, the developer-name rule
NS = {"m": registry.METADATA_NS}
ALIASES = [
    "ci",
    "a" * 50,  # SfjwtOrch_ + 50 = 60: the longest default that needs no shortening
    "b" * 51,
    "prod-eu.west_2--" + "x" * 40,
    "Z" * 64,  # the longest alias allowed (paths.check_alias)
    "9" + "-" * 62 + "9",
]


def _known_admin(world: World) -> None:
    sfdx = Path(world.ctx.env["HOME"]) / ".sfdx"
    sfdx.mkdir(exist_ok=True)
    (sfdx / "alias.json").write_text(json.dumps({"orgs": {"admin": "admin@acme.com"}}))
    (sfdx / "admin@acme.com.json").write_text(json.dumps({"instanceUrl": "https://acme.my.salesforce.com/"}))


def _dry_run(world: World, out: Path, *args: str) -> dict[str, str]:
    _known_admin(world)
    base = ("app", "create", "--target-org", "admin", "--username", USER, "--dry-run", "--output-dir", str(out))
    result = world.invoke(*base, *args, "--json")
    assert result.code == 0, result.stderr
    world.done()  # no sf run at all
    return {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}


def _check_against_the_schema(files: dict[str, str]) -> list[str]:
    """Every member of package.xml: its name passes the rule, its file validates; the member names."""
    package = ET.fromstring(files["package.xml"])
    version = float(package.findtext("m:version", namespaces=NS) or "0")
    assert schema.schema_version(version) == version, f"no vendored schema for {version}"
    members = []
    for types in package.findall("m:types", NS):
        type_name = types.findtext("m:name", namespaces=NS) or ""
        for member in (m.text or "" for m in types.findall("m:members", NS)):
            assert NAME_RULE.match(member), f"{type_name} {member!r} ({len(member)} characters)"
            path = registry.TYPES[type_name].file_path(member)
            assert schema.validate(type_name, files[path].encode(), version) is None, (path, version)
            members.append(member)
    assert len(files) == len(members) + 1  # nothing written that package.xml does not name
    return members


@pytest.mark.parametrize("kind", ["eca", "connected-app"])
@pytest.mark.parametrize("alias", ALIASES, ids=lambda a: f"{len(a)}-chars")
def test_dry_run_files_validate_and_no_name_passes_80(world: World, tmp_path: Path, kind: str, alias: str) -> None:
    files = _dry_run(world, tmp_path / "md", "--alias", alias, "--kind", kind)
    members = _check_against_the_schema(files)
    assert len(members) == (6 if kind == "eca" else 2)
    assert metadata.default_app_name(alias) in members  # the name a rerun looks for


@pytest.mark.parametrize("kind", ["eca", "connected-app"])
def test_the_longest_name_allowed_validates(world: World, tmp_path: Path, kind: str) -> None:
    name = "N" + "x" * (metadata.app_name_limit(kind) - 1)
    files = _dry_run(world, tmp_path / "md", "--alias", "ci", "--kind", kind, "--name", name)
    assert name in _check_against_the_schema(files)


def test_a_name_one_too_long_is_refused_before_anything_is_written(world: World, tmp_path: Path) -> None:
    _known_admin(world)
    name = "N" * 61
    out = tmp_path / "md"
    base = ("app", "create", "--alias", "ci", "--target-org", "admin", "--username", USER)
    result = world.invoke(*base, "--name", name, "--dry-run", "--output-dir", str(out), "--json")
    assert result.code == 2, result.stderr
    error = result.doc["error"]
    assert error["code"] == "USAGE" and "61 characters" in error["message"] and "at most 60" in error["fix"]
    assert not out.exists()
    world.done()
