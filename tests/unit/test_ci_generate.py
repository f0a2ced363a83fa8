"""The CI file generator (sfjwt_orch/ci): pure tables and data, no processes. The files themselves are
checked against the published schemas in tests/integration/test_ci_schema.py."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from sfjwt_orch.ci import github, gitlab, plan, render, text
from sfjwt_orch.ci.plan import Plan, Target
from sfjwt_orch.errors import Code, SfjwtError

SPEC = "git+https://github.com/acme/sfjwt-orch@v0.1.0"


def target(alias: str, key_var: str | None = None) -> Target:
    return Target(alias, "3MVG9CLIENTID1234567", f"ci@acme.com.{alias}", "https://acme.my.salesforce.com",
                  key_var or plan.key_var_for(alias))  # fmt: skip


def single(sf_version: str = plan.SF_VERSION) -> Plan:
    return Plan((target("hub", plan.SINGLE_KEY_VAR),), SPEC, sf_version, matrix=False)


def fleet(count: int) -> Plan:
    return Plan(tuple(target(f"org{n}") for n in range(count)), SPEC, plan.SF_VERSION, matrix=True)


def load(doc: str) -> Any:
    return YAML(typ="safe", pure=True).load(doc)


@pytest.mark.parametrize(
    ("alias", "name"),
    [("hub", "SF_JWT_KEY_HUB"), ("my-org", "SF_JWT_KEY_MY_ORG"), ("acme.uat-2", "SF_JWT_KEY_ACME_UAT_2"),
     ("Prod_EU", "SF_JWT_KEY_PROD_EU"), ("9lives", "SF_JWT_KEY_9LIVES")],
)  # fmt: skip
def test_key_var_for(alias: str, name: str) -> None:
    assert plan.key_var_for(alias) == name


@pytest.mark.parametrize("pair", [("my-org", "my.org"), ("my-org", "MY_ORG"), ("a.b", "A-B")])
def test_two_aliases_on_one_secret_name_are_refused_naming_both(pair: tuple[str, str]) -> None:
    with pytest.raises(SfjwtError) as caught:
        plan.check_key_vars(["hub", *pair])
    assert caught.value.code is Code.USAGE
    assert repr(pair[0]) in caught.value.message and repr(pair[1]) in caught.value.message


def test_distinct_aliases_pass() -> None:
    plan.check_key_vars(["hub", "uat", "my-org", "my-org2"])


@pytest.mark.parametrize(("count", "size", "sizes"), [(1, 256, [1]), (256, 256, [256]), (257, 256, [256, 1]),
                                                      (401, 200, [200, 200, 1])])  # fmt: skip
def test_chunks_keep_order_and_split_at_the_limit(count: int, size: int, sizes: list[int]) -> None:
    targets = [target(f"o{n}") for n in range(count)]
    parts = plan.chunks(targets, size)
    assert [len(p) for p in parts] == sizes
    assert [t for p in parts for t in p] == targets


PINNED = [
    "git+https://github.com/acme/sfjwt-orch@v0.1.0",
    "git+https://github.com/acme/sfjwt-orch@8f2c1d0e9b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
    "git+ssh://git@github.com/acme/sfjwt-orch.git@v0.1.0",
    "https://files.acme.com/sfjwt_orch-0.1.0-py3-none-any.whl",
    "https://files.acme.com/sfjwt_orch-0.1.0-py3-none-any.whl#sha256=" + "a" * 64,
    "dist/sfjwt_orch-0.1.0-py3-none-any.whl",
    "sfjwt-orch==0.1.0",
    "sfjwt_orch===0.1.0",
]
REFUSED = [
    ("", "needs --pip-spec"),
    ("sfjwt-orch", "not pinned"),
    ("sfjwt-orch>=0.1", "not pinned"),
    ("git+https://github.com/acme/sfjwt-orch", "not pinned to a tag or commit"),
    ("git+https://github.com/acme/sfjwt-orch.git", "not pinned to a tag or commit"),
    ("git+http://github.com/acme/sfjwt-orch@v1", "not pinned to a tag or commit"),
    ("http://files.acme.com/sfjwt_orch-0.1.0-py3-none-any.whl", "not an https URL"),
    ("https://github.com/acme/sfjwt-orch", "does not name one wheel"),
    ("sfjwt-orch==0.1.0; rm -rf ~", "shell characters"),
    ("$SFJWT_ORCH_PIP_SPEC", "shell characters"),
    ("sfjwt-orch==0.1.0\nrun: x", "shell characters"),
    ('x"y', "shell characters"),
]


@pytest.mark.parametrize("spec", PINNED)
def test_pinned_install_sources_are_accepted(spec: str) -> None:
    assert plan.check_pip_spec(spec, "github") == spec


@pytest.mark.parametrize(("spec", "said"), REFUSED)
def test_undefined_or_unpinned_install_sources_are_refused(spec: str, said: str) -> None:
    with pytest.raises(SfjwtError) as caught:
        plan.check_pip_spec(spec, "gitlab")
    assert caught.value.code is Code.USAGE and caught.value.exit_code == 2
    assert said in caught.value.message and "--pip-spec" in caught.value.fix


@pytest.mark.parametrize(("version", "ok"), [("2.150.6", True), ("2.99.0", True), ("2.150", False),
                                             ("latest", False), ("^2.150.6", False)])  # fmt: skip
def test_sf_version_must_be_exact(version: str, ok: bool) -> None:
    if ok:
        assert plan.check_sf_version(version) == version
    else:
        with pytest.raises(SfjwtError, match="not an exact version"):
            plan.check_sf_version(version)


# --- GitHub Actions ---


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_github_single_job_sets_up_node_and_python_installs_pinned_tools_then_logs_in() -> None:
    wf = github.workflow(single())
    job = wf["jobs"]["salesforce-login"]
    steps = steps_of(job)
    assert [s.get("uses", "").split("@")[0] for s in steps[:2]] == ["actions/setup-node", "actions/setup-python"]
    assert int(steps[0]["with"]["node-version"]) >= 22
    install = steps[2]["run"]
    assert f"npm install --global @salesforce/cli@{plan.SF_VERSION}" in install and SPEC in install
    assert "--key-env SF_JWT_KEY" in steps[3]["run"] and steps[4]["run"].startswith("sf org display --target-org")
    assert "logout" in steps[5]["run"] and "always()" in steps[5]["if"]
    assert job["env"]["SFJWT_ALIAS"] == "hub" and job["env"]["SF_CLIENT_ID"] == "3MVG9CLIENTID1234567"


def secrets_used(node: Any, where: str = "") -> list[str]:
    """Every place (a path of keys) whose value reads the secrets context."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in secrets_used(v, f"{where}/{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in secrets_used(v, f"{where}/{i}")]
    return [where] if isinstance(node, str) and "secrets" in node else []


@pytest.mark.parametrize("the_plan", [single(), fleet(3)], ids=["single", "fleet"])
def test_github_key_secret_is_only_in_the_login_steps_env(the_plan: Plan) -> None:
    wf = github.workflow(the_plan)
    assert secrets_used(wf) == ["/jobs/salesforce-login/steps/3/env/SF_JWT_KEY"]
    install = steps_of(wf["jobs"]["salesforce-login"])[2]
    assert "env" not in install and "Install" in install["name"]


def test_github_sf_version_override_is_what_the_job_installs() -> None:
    install = steps_of(github.workflow(single("2.151.0"))["jobs"]["salesforce-login"])[2]["run"]
    assert "@salesforce/cli@2.151.0" in install and plan.SF_VERSION not in install


def test_github_fleet_is_one_matrix_entry_per_alias_each_with_its_own_secret() -> None:
    job = github.workflow(fleet(3))["jobs"]["salesforce-login"]
    include = job["strategy"]["matrix"]["include"]
    assert [(e["alias"], e["key_secret"]) for e in include] == [(f"org{n}", f"SF_JWT_KEY_ORG{n}") for n in range(3)]
    assert job["strategy"]["fail-fast"] is False
    assert steps_of(job)[3]["env"] == {"SF_JWT_KEY": "${{ secrets[matrix.key_secret] }}"}


@pytest.mark.parametrize(("count", "jobs"), [(256, 1), (257, 2), (600, 3)])
def test_github_fleet_past_the_matrix_limit_is_split_into_jobs(count: int, jobs: int) -> None:
    p = fleet(count)
    wf = github.workflow(p)
    assert list(wf["jobs"]) == github.job_ids(p) and len(wf["jobs"]) == jobs
    entries = [e["alias"] for job in wf["jobs"].values() for e in job["strategy"]["matrix"]["include"]]
    assert entries == [t.alias for t in p.targets]
    assert all(len(job["strategy"]["matrix"]["include"]) <= github.MATRIX_LIMIT for job in wf["jobs"].values())


# --- GitLab CI ---


def test_gitlab_single_job_installs_everything_without_the_key_and_logs_in_with_it() -> None:
    job = gitlab.pipeline(single())["salesforce-login"]
    assert job["image"].startswith("node:") and int(job["image"].split(":")[1].split("-")[0]) >= 22
    assert job["variables"]["SFJWT_KEY_VAR"] == "SF_JWT_KEY"
    installs = [line for line in job["script"] if any(w in line for w in ("apt-get", "venv", "pip", "npm"))]
    assert len(installs) == 4 and all(line.startswith("env -u SF_JWT_KEY ") for line in installs)
    assert any(f"@salesforce/cli@{plan.SF_VERSION}" in line for line in installs)
    login = next(line for line in job["script"] if line.startswith("sfjwt-orch login"))
    assert '--key-env "$SFJWT_KEY_VAR"' in login
    assert "--shred-key" in job["after_script"][0]


def test_gitlab_fleet_unsets_every_key_of_the_file_in_every_install_command() -> None:
    p = fleet(201)
    pipeline = gitlab.pipeline(p)
    assert list(pipeline) == ["salesforce-login-1", "salesforce-login-2"] == gitlab.job_ids(p)
    no_keys = "env " + " ".join(f"-u SF_JWT_KEY_ORG{n}" for n in range(201)) + " "
    for job in pipeline.values():
        installs = [line for line in job["script"] if "install" in line or "venv" in line]
        assert installs and all(line.startswith(no_keys) for line in installs)
    matrices = [job["parallel"]["matrix"] for job in pipeline.values()]
    assert [len(m) for m in matrices] == [200, 1] and matrices[1] == [{"SFJWT_ALIAS": "org200"}]


def test_gitlab_fleet_values_table_names_each_aliases_values_and_key_variable() -> None:
    table = gitlab.pipeline(fleet(2))["salesforce-login"]["script"][0]
    assert table.startswith('case "$SFJWT_ALIAS" in\n') and table.rstrip().endswith("esac")
    assert "org1) SF_CLIENT_ID=3MVG9CLIENTID1234567 SF_USERNAME=ci@acme.com.org1" in table
    assert "SFJWT_KEY_VAR=SF_JWT_KEY_ORG1 ;;" in table and "exit 2" in table


# --- the text ---


@pytest.mark.parametrize("fmt", ["github", "gitlab"])
@pytest.mark.parametrize("the_plan", [single(), fleet(2), fleet(300)], ids=["single", "fleet", "split"])
def test_the_yaml_reads_back_as_the_generated_data(fmt: render.CiFormat, the_plan: Plan) -> None:
    doc = render.render(the_plan, fmt, "sfjwt-orch ci export hub")
    data = github.workflow(the_plan) if fmt == "github" else gitlab.pipeline(the_plan)
    assert load(doc) == data
    assert doc.startswith(f"# {plan.MARKER}")


def test_the_header_lists_each_secret_name_for_its_alias() -> None:
    header = render.header(fleet(2), "github", "sfjwt-orch ci export --aliases org0,org1")
    assert "  SF_JWT_KEY_ORG0  for org0" in header and "  SF_JWT_KEY_ORG1  for org1" in header
    assert any("gh secret set" in line for line in header)


HOSTILE = ["a: b", "x #y", "- item", "'q'", '"d"', "${{ secrets.X }}", "yes", "on", "0123", "*ref", "&anchor",
           "line1\nline2: x\n", "{a: 1}", "[1, 2]", "@at", "`tick`", "% pct", "! tag", "| bar"]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_cannot_change_the_files_structure(value: str) -> None:
    data = {"job": {"env": {"V": value}, "steps": [{"run": value}, value]}}
    assert load(text.dump(data, ["a comment: # x"])) == data


def test_pinned_actions_carry_their_release_as_a_comment() -> None:
    doc = render.render(single(), "github", "x")
    assert f"uses: {github.SETUP_NODE}  # v7.0.0" in doc
    assert all(len(ref.split("@")[1]) == 40 for ref in github.RELEASES)
