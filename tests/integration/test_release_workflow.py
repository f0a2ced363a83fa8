"""The release workflow (.github/workflows/release.yml) passes the published GitHub workflow schema
(check-jsonschema's vendored copy, offline, as the files `ci export` writes do), and keeps the
promises the README makes of it: it runs on a version tag, tests before it builds, and publishes
with trusted publishing (an OIDC token), never a stored token."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from tests.integration.test_ci_schema import validate

WORKFLOW = Path(__file__).parents[2] / ".github" / "workflows" / "release.yml"


def test_the_release_workflow_passes_the_published_schema() -> None:
    validate(WORKFLOW, "github")


def test_the_release_workflow_tests_then_publishes_with_trusted_publishing() -> None:
    doc = YAML(typ="safe").load(WORKFLOW.read_text())
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    build, publish = doc["jobs"]["build"], doc["jobs"]["publish"]
    runs = [step.get("run", "") for step in build["steps"]]
    assert runs.index("bash scripts/test") < next(i for i, r in enumerate(runs) if "python -m build" in r)
    assert publish["needs"] == "build" and publish["permissions"] == {"id-token": "write"}
    uses = [step["uses"] for step in publish["steps"]]
    assert uses[-1].startswith("pypa/gh-action-pypi-publish@")
    assert "password" not in publish["steps"][-1].get("with", {})  # no token: trusted publishing
    assert "secrets." not in WORKFLOW.read_text()
