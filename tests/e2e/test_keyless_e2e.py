"""Keyless CI, end to end (issue 23): `trust github` deploys the token-exchange app and its Apex
handler through the real sf to the emulator; a CI-like run in its own home and folders, with the
emulated GitHub identity provider and no saved profile, logs in with `login --oidc github`, and
`sf org display` shows the CI user connected. Tokens from another repository, ref or environment,
an expired one, one for another audience and one signed by a key outside the issuer's set are each
refused, naming the failing claim (or the signature). No output and no file holds a token or a key."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.emulator import Emulator
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.e2e

USER = "ci@example.com"
REPO = "acme/salesforce-app"
REF = "refs/heads/main"
ENVIRONMENT = "production"


def org(e2e: E2E) -> Emulator:
    """An org with no app, and sf logged in as its admin under the alias `admin` (the run's set-up,
    tests/e2e/setups.py, copied for this test)."""
    emu, _ = e2e.from_setup("admin")
    return emu


def trust(e2e: E2E, emu: Emulator, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = e2e.cli(
        "trust", "github", "--alias", "ci", "--target-org", "admin", "--username", USER,
        "--issuer", emu.ci_issuer("github"), "--json", *extra,
    )  # fmt: skip
    return result.returncode, json.loads(result.stdout), result.stdout + result.stderr


class Job:
    """A CI job: its own HOME, config, data and working folders, and the provider's variables."""

    def __init__(self, e2e: E2E, root: Path, ci_env: dict[str, str]) -> None:
        self.home, self.work = root / "home", root / "work"
        for folder in (self.home, self.work, root / "config", root / "data"):
            folder.mkdir(parents=True)
        self.env = {
            **e2e.env,
            "HOME": str(self.home),
            "SFJWT_ORCH_CONFIG_DIR": str(root / "config"),
            "SFJWT_ORCH_DATA_DIR": str(root / "data"),
            "CI": "true",
            **ci_env,
        }
        self.sf = e2e.sf
        self.outputs: list[str] = []

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "sfjwt_orch", *args],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        self.outputs.append(result.stdout + result.stderr)
        return result

    def login(self, client_id: str, url: str) -> tuple[int, dict[str, Any]]:
        result = self.run("login", "--alias", "ci", "--oidc", "github", "--client-id", client_id,
                          "--instance-url", url, "--json")  # fmt: skip
        return result.returncode, json.loads(result.stdout)

    def files(self) -> list[Path]:
        return [p for folder in (self.home, self.work) for p in folder.rglob("*") if p.is_file()]


def claims(**changes: str) -> dict[str, str]:
    base = {"repository": REPO, "repository_owner": "acme", "ref": REF, "environment": ENVIRONMENT}
    base["sub"] = f"repo:{REPO}:environment:{ENVIRONMENT}"
    return {**base, **changes}


def test_trust_github_then_a_ci_job_logs_in_with_no_key_and_wrong_tokens_are_refused(e2e: E2E) -> None:
    emu = org(e2e)
    rc, doc, output = trust(e2e, emu, "--repo", REPO, "--ref", REF, "--environment", ENVIRONMENT)
    assert rc == 0, output
    assert doc["ok"] is True and doc["created"] is True and doc["login_url"] == emu.url
    assert doc["bound_claims"] == [{"environment": ENVIRONMENT, "ref": REF, "repository": REPO}]
    assert doc["issuer"] == emu.ci_issuer("github")
    deploy = next(r for r in emu.requests if r.params.get("operation") == "deploy")
    assert deploy.status == 200
    assert emu.permission_sets_of(USER) == (f"{doc['app_name']}_Jwt",)
    made = [p for d in ("SFJWT_ORCH_DATA_DIR", "SFJWT_ORCH_CONFIG_DIR") for p in Path(e2e.env[d]).rglob("*")]
    assert made and not [p for p in made if p.is_file() and b"PRIVATE KEY" in p.read_bytes()], "trust makes no key"

    job = Job(e2e, e2e.tmp / "job", emu.ci_job("github", claims()))
    rc, login = job.login(doc["client_id"], doc["login_url"])
    assert rc == 0, job.outputs[-1]
    assert login["ok"] is True and login["username"] == USER and login["org_id"] == emu.config.org.org_id
    shown = subprocess.run([job.sf, "org", "display", "--target-org", "ci", "--json"], env=job.env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    result = json.loads(shown.stdout)["result"]
    assert result["connectedStatus"] == "Connected" and result["username"] == USER
    job.outputs.append(shown.stdout + shown.stderr)
    for path in job.files():
        assert b"PRIVATE KEY" not in path.read_bytes(), f"{path} holds private-key material"

    refused = {
        "repository": (claims(repository="acme/other"), {}, "OIDC_CLAIM_MISMATCH", "claim repository"),
        "ref": (claims(ref="refs/heads/feature"), {}, "OIDC_CLAIM_MISMATCH", f"claim ref: expected '{REF}'"),
        "environment": (claims(environment="staging"), {}, "OIDC_CLAIM_MISMATCH", "claim environment"),
        "expired": (claims(), {"lifetime": 0}, "OIDC_CLAIM_MISMATCH", "claim exp"),
        "audience": (claims(), {"audience": "https://other.example.com"}, "OIDC_CLAIM_MISMATCH", "claim aud"),
        "foreign key": (claims(), {"foreign_key": True}, "OIDC_SIGNATURE", "signature"),
    }
    for case, (job_claims, options, code, named) in refused.items():
        bad = Job(e2e, e2e.tmp / f"job-{case.replace(' ', '-')}", emu.ci_job("github", job_claims, **options))
        rc, failed = bad.login(doc["client_id"], doc["login_url"])
        assert rc == 3 and failed["ok"] is False, (case, failed)
        assert failed["error"]["code"] == code and named in failed["error"]["message"], (case, failed)
        job.outputs.extend(bad.outputs)

    # Nothing printed or kept a token: not the access tokens the org issued, not the identity tokens.
    secrets = [*emu.issued_tokens, *emu.ci.minted, job.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]]
    assert len(emu.ci.minted) == 1 + len(refused)
    for text in [*job.outputs, output]:
        for secret in secrets:
            assert secret not in text
    for path in job.files():
        data = path.read_bytes()
        assert not any(s.encode() in data for s in secrets), f"{path} holds a token in plain text"


def test_a_job_without_the_id_token_permission_is_told_the_yaml_to_add(e2e: E2E) -> None:
    emu = org(e2e)
    job = Job(e2e, e2e.tmp / "job", {})
    rc, doc = job.login("3MVG9CLIENTID1234567", emu.url)
    assert rc == 2 and doc["error"]["code"] == "OIDC_NO_ID_TOKEN"
    assert "id-token: write" in doc["error"]["fix"]


def test_rerun_is_idempotent_a_second_repository_is_trusted_and_remove_withdraws_it(e2e: E2E) -> None:
    emu = org(e2e)
    rc, first, output = trust(e2e, emu, "--repo", REPO)
    assert rc == 0, output
    rc, again, output = trust(e2e, emu, "--repo", REPO)
    assert rc == 0, output
    assert again["created"] is False and again["client_id"] == first["client_id"]
    rc, second, output = trust(e2e, emu, "--repo", "acme/second")
    assert rc == 0, output
    assert [b["repository"] for b in second["bound_claims"]] == [REPO, "acme/second"]
    job = Job(e2e, e2e.tmp / "job-second", emu.ci_job("github", claims(repository="acme/second")))
    rc, login = job.login(first["client_id"], first["login_url"])
    assert rc == 0, job.outputs[-1]
    rc, removed, output = trust(e2e, emu, "--repo", "acme/second", "--remove")
    assert rc == 0, output
    assert [b["repository"] for b in removed["bound_claims"]] == [REPO]
    job = Job(e2e, e2e.tmp / "job-removed", emu.ci_job("github", claims(repository="acme/second")))
    rc, login = job.login(first["client_id"], first["login_url"])
    assert rc == 3 and login["error"]["code"] == "OIDC_CLAIM_MISMATCH"
    assert f"expected one of repository '{REPO}'" in login["error"]["message"]


def test_trust_gitlab_then_a_job_logs_in_with_its_id_tokens_variable(e2e: E2E) -> None:
    emu = org(e2e)
    result = e2e.cli(
        "trust", "gitlab", "--alias", "ci", "--target-org", "admin", "--username", USER, "--project", "acme/sub/app",
        "--ref", "main", "--issuer", emu.ci_issuer("gitlab"), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["bound_claims"] == [{"project_path": "acme/sub/app", "ref": "main"}]
    gitlab = {"project_path": "acme/sub/app", "ref": "main", "ref_type": "branch", "namespace_path": "acme/sub"}

    def login(job_claims: dict[str, str], name: str) -> tuple[int, dict[str, Any], Job]:
        job = Job(e2e, e2e.tmp / name, emu.ci_job("gitlab", job_claims, audience=doc["login_url"]))
        result = job.run("login", "--alias", "ci", "--oidc", "gitlab", "--client-id", doc["client_id"],
                         "--instance-url", doc["login_url"], "--json")  # fmt: skip
        return result.returncode, json.loads(result.stdout), job

    rc, ok, job = login(gitlab, "job")
    assert rc == 0 and ok["username"] == USER, job.outputs
    shown = subprocess.run([job.sf, "org", "display", "--target-org", "ci", "--json"], env=job.env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert json.loads(shown.stdout)["result"]["connectedStatus"] == "Connected"
    rc, refused, _ = login({**gitlab, "ref": "feature"}, "job-feature")
    assert rc == 3 and refused["error"]["code"] == "OIDC_CLAIM_MISMATCH"
    assert "claim ref: expected 'main', received 'feature'" in refused["error"]["message"]
    bare = Job(e2e, e2e.tmp / "job-bare", {"GITLAB_CI": "true"})
    result = bare.run("login", "--alias", "ci", "--oidc", "gitlab", "--client-id", doc["client_id"],
                      "--instance-url", doc["login_url"], "--json")  # fmt: skip
    error = json.loads(result.stdout)["error"]
    assert result.returncode == 2 and error["code"] == "OIDC_NO_ID_TOKEN"
    assert f"aud: {doc['login_url']}" in error["fix"] and "SFJWT_ORCH_ID_TOKEN" in error["fix"]
    for text in [*job.outputs, *bare.outputs]:
        assert not [t for t in [*emu.ci.minted, *emu.issued_tokens] if t in text]


def test_trust_dry_run_writes_the_package_and_contacts_no_org(e2e: E2E) -> None:
    emu = org(e2e)
    before = len(emu.requests)
    rc, doc, output = trust(e2e, emu, "--repo", REPO, "--dry-run", "--output-dir", str(e2e.tmp / "md"))
    assert rc == 0, output
    assert doc["dry_run"] is True and doc["client_id"] is None and len(emu.requests) == before
    written = {str(Path(f).relative_to(e2e.tmp / "md")) for f in doc["files"]}
    assert {"package.xml", "classes/SfjwtOrch_ci_Tx.cls", "classes/SfjwtOrch_ci_TxTest.cls-meta.xml"} <= written
    assert emu.deploy(e2e.tmp / "md", check_only=True).success  # what it wrote is what the org takes
    handler = (
        e2e.tmp / "md" / "oauthtokenexchangehandlers" / "SfjwtOrch_ci_Xchg.oauthtokenexchangehandler"
    ).read_text()
    # The execution user is the admin sf's alias names, read from sf's own files (no org contacted).
    assert f"<apexExecutionUser>{emu.admin_user.username}</apexExecutionUser>" in handler
    assert not list(Path(e2e.env["SFJWT_ORCH_CONFIG_DIR"]).rglob("ci.toml")), "--dry-run saves no profile"


def test_login_oidc_refuses_a_url_two_parsers_read_apart_before_any_token_is_fetched(e2e: E2E) -> None:
    emu = org(e2e)
    job = Job(e2e, e2e.tmp / "job", emu.ci_job("github", claims()))
    result = job.run("login", "--alias", "ci", "--oidc", "github", "--client-id", "3MVG9CLIENTID1234567",
                     "--instance-url", f"{emu.url}\\@login.salesforce.com", "--json")  # fmt: skip
    assert result.returncode == 2 and json.loads(result.stdout)["error"]["code"] == "URL_REFUSED"
    assert emu.ci.minted == [] and emu.token_requests == ()  # no identity token fetched, nothing exchanged


def test_a_keyless_rehearsal_by_hand_with_emulator_serve_and_run(e2e: E2E) -> None:
    """What docs/keyless-ci.md tells a person to type: `emulator serve` shows the emulated CI
    issuers; through `emulator run`, sf logs in as the admin, `trust github` names the emulated
    issuer, and a job of the trusted repository (`emulator run --ci github`) logs in with
    `login --oidc github`; a job of another repository is refused. The real sf throughout."""
    serve = [sys.executable, "-m", "sfjwt_orch", "emulator", "serve", "--port", "0", "--username", USER, "--json"]
    served = subprocess.Popen(serve, env=e2e.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert served.stdout is not None
    try:
        doc = json.loads(served.stdout.readline())
        url, issuer = doc["url"], doc["ci_issuers"]["github"]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return e2e.cli("emulator", "run", "--port", url.rsplit(":", 1)[1], *args)

        admin = run("--", e2e.sf, "org", "login", "access-token", "--instance-url", url, "--alias", "admin",
                    "--no-prompt", "--json")  # fmt: skip
        assert json.loads(admin.stdout)["status"] == 0, admin.stderr
        trusted = run("--", sys.executable, "-m", "sfjwt_orch", "trust", "github", "--alias", "ci", "--target-org",
                      "admin", "--username", USER, "--repo", REPO, "--issuer", issuer, "--json")  # fmt: skip
        assert trusted.returncode == 0, trusted.stdout + trusted.stderr
        assert json.loads(trusted.stdout)["issuer"] == issuer

        login = ("--", sys.executable, "-m", "sfjwt_orch", "login", "--alias", "ci", "--oidc", "github", "--json")
        job = run("--ci", "github", "--claim", f"repository={REPO}", *login)
        assert job.returncode == 0, job.stdout + job.stderr
        assert json.loads(job.stdout)["username"] == USER
        shown = json.loads(run("--", e2e.sf, "org", "display", "--target-org", "ci", "--json").stdout)["result"]
        assert shown["connectedStatus"] == "Connected" and shown["username"] == USER

        other = run("--ci", "github", "--claim", "repository=acme/other", *login)
        error = json.loads(other.stdout)["error"]
        assert (
            other.returncode == 3 and error["code"] == "OIDC_CLAIM_MISMATCH" and "claim repository" in error["message"]
        )
        for result in (admin, trusted, job, other):  # the admin's token went to sf through the environment only
            assert doc["admin"]["access_token"] not in result.stdout + result.stderr
    finally:
        served.send_signal(signal.SIGINT)
        _, stderr = served.communicate(timeout=30)
    assert served.returncode == 0, stderr
    assert issuer in stderr  # the human output names the issuer too
