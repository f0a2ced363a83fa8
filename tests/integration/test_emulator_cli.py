"""`sfjwt-orch emulator serve` as a user runs it: prints where it is, serves, stops on Ctrl-C."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cli
from tests.integration.emulator.emulator_testkit import JWT_GRANT, sf_claims, sign_jwt


@dataclass
class Served:
    doc: dict[str, Any]  # the --json start-up line
    stderr: str = ""  # what it told people, once stopped
    returncode: int | None = None


@contextlib.contextmanager
def serving(cli: Cli, *args: str) -> Iterator[Served]:
    """`emulator serve --port 0 --json ARGS` running until the block ends, then stopped with Ctrl-C."""
    argv = [sys.executable, "-m", "sfjwt_orch", "emulator", "serve", "--port", "0", *args, "--json"]
    proc = subprocess.Popen(argv, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    served = Served(json.loads(proc.stdout.readline()))
    try:
        yield served
    finally:
        proc.send_signal(signal.SIGINT)
        _, served.stderr = proc.communicate(timeout=15)
        served.returncode = proc.returncode


def test_serve_prints_url_and_key_serves_and_stops_on_ctrl_c(cli: Cli) -> None:
    assert cli.run("keygen", "--alias", "rehearsal").returncode == 0
    with serving(cli, "--alias", "rehearsal", "--policy", "self-authorize") as served:
        doc = served.doc
        assert doc["ok"] and doc["url"].startswith("http://127.0.0.1:")
        assert doc["apps"][0]["policy"] == "self-authorize" and len(doc["apps"][0]["consumer_key"]) >= 18
        versions = json.loads(urllib.request.urlopen(doc["url"] + "/services/data", timeout=5).read())
        assert any(v["version"] for v in versions)
    assert served.returncode == 0, served.stderr
    assert "consumer key" in served.stderr and "Traceback" not in served.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "70000"], "--port"),
        (["--username", "not-an-email"], "is not a Salesforce username"),
        (["--cert", "/nonexistent/server.crt"], "cannot read certificate"),
        (["--pending-app", "--cert", "/nonexistent/server.crt"], "--cert contradicts it"),
        (["--log", "/nonexistent/dir/emulator.jsonl"], "cannot write --log"),
    ],
)
def test_serve_rejects_bad_input(cli: Cli, args: list[str], words: str) -> None:
    result = cli.run("emulator", "serve", *args, timeout=30)
    assert result.returncode == 2
    assert words in result.stderr and "fix:" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_an_unknown_policy_naming_the_choices(cli: Cli) -> None:
    # --policy is an Enum choice (issue 21 item 6), refused as --kind and --format are: Typer's usage
    # error naming the choices and where the help is (it was the flow's own "fix:" line before).
    result = cli.run("emulator", "serve", "--policy", "whatever", timeout=30)
    assert result.returncode == 2
    assert "'whatever' is not one of 'admin-approved', 'self-authorize'" in result.stderr
    assert "sfjwt-orch emulator serve -h" in result.stderr and "Traceback" not in result.stderr


def test_serve_names_the_file_and_field_of_a_bad_config(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "org.json"
    config.write_text(json.dumps({"org": {}, "users": [], "apps": [], "surprise": 1}))
    result = cli.run("emulator", "serve", "--app-config", str(config), timeout=30)
    assert result.returncode == 2
    assert str(config) in result.stderr and "fix:" in result.stderr


def test_serve_without_an_app_serves_an_empty_org_and_prints_its_admin_credential(cli: Cli) -> None:
    """No --alias, --cert or --app-config: an org where an admin creates the app (app create). Until
    0.2 this was a usage error ("no app to serve"). The admin's token is the emulator's own
    rehearsal credential, the one token sfjwt-orch prints, on this start-up line only."""
    with serving(cli, "--username", "ci@example.com") as served:
        doc = served.doc
        assert doc["apps"] == [] and doc["users"] == ["ci@example.com"]
        token = doc["admin"]["access_token"]
        assert doc["admin"]["username"] and token.startswith("00D") and "!" in token
        userinfo = doc["url"] + "/services/oauth2/userinfo"
        request = urllib.request.Request(userinfo, headers={"Authorization": f"Bearer {token}"})
        answer = json.loads(urllib.request.urlopen(request, timeout=5).read())
        assert answer["preferred_username"] == doc["admin"]["username"]
    assert served.returncode == 0, served.stderr
    assert "sfjwt-orch app create --alias emu --target-org admin" in served.stderr and token not in served.stderr


def test_serve_uses_the_alias_it_was_started_with(cli: Cli) -> None:
    assert cli.run("keygen", "--alias", "rehearsal").returncode == 0
    with serving(cli, "--alias", "rehearsal") as served:
        pass
    assert served.returncode == 0, served.stderr
    assert "sfjwt-orch login --alias rehearsal " in served.stderr and "--alias emu" not in served.stderr


def _post_token(url: str, assertion: str) -> int:
    body = urllib.parse.urlencode({"grant_type": JWT_GRANT, "assertion": assertion}).encode()
    try:
        with urllib.request.urlopen(url + "/services/oauth2/token", body, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_pending_app_rehearsal_upload_cert_and_the_request_log(cli: Cli, tmp_path: Path) -> None:
    """Issue 14, item 8: serve an app with no certificate, upload the one keygen made, log in."""
    log = tmp_path / "emulator.jsonl"
    made = json.loads(cli.run("keygen", "--alias", "rehearsal", "--json").stdout)
    with serving(cli, "--pending-app", "--alias", "rehearsal", "--log", str(log)) as served:
        url, port = served.doc["url"], served.doc["url"].rsplit(":", 1)[1]
        (app,) = served.doc["apps"]
        assert app["certificate"] is False
        claims = sf_claims(app["consumer_key"], "dev@example.com", url + "/")
        assertion = sign_jwt(Path(made["key_file"]), claims)
        assert _post_token(url, assertion) == 400  # no certificate yet: no JWT verifies

        uploaded = cli.run("emulator", "upload-cert", "--port", port, "--cert", made["cert_file"], "--json")
        assert uploaded.returncode == 0, uploaded.stderr
        doc = json.loads(uploaded.stdout)
        assert doc["ok"] and doc["app"] == app["name"] and len(doc["certificate_sha256"]) >= 64
        assert _post_token(url, assertion) == 200
    assert served.returncode == 0, served.stderr
    # The Try line names the alias, the bootstrap to run and the certificate it will make.
    assert f"sfjwt-orch bootstrap --alias rehearsal --client-id {app['consumer_key']}" in served.stderr
    assert f"sfjwt-orch emulator upload-cert --port {port} --cert {made['cert_file']}" in served.stderr

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    tokens = [e for e in entries if e["path"] == "/services/oauth2/token"]
    assert [(e["status"], e["outcome"]) for e in tokens] == [(400, "invalid_assertion"), (200, "ok")]
    assert all(e["grant_type"] == JWT_GRANT and e["username"] == "dev@example.com" for e in tokens)
    assert tokens[0]["error_description"] == "invalid assertion" and tokens[1]["audience"] == url + "/"
    assert [e["path"] for e in entries if e["path"].startswith("/__emulator")] == [
        "/__emulator/state",
        "/__emulator/certificate",
    ]
    text = log.read_text()
    assert assertion not in text and assertion.split(".")[2] not in text  # never the assertion
    assert "BEGIN CERTIFICATE" not in text and "access_token" not in text and "00D" not in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("what", "words", "code"),
    [
        ("nobody-listens", "no emulator answers", "USAGE"),
        ("key-as-cert", "not a PEM certificate", "CERT_INVALID"),
        ("unknown-app", "refused the upload", "USAGE"),
        ("bad-port", "--port", "USAGE"),
    ],
)
def test_upload_cert_failures(cli: Cli, what: str, words: str, code: str) -> None:
    made = json.loads(cli.run("keygen", "--alias", "rehearsal", "--json").stdout)
    with serving(cli, "--pending-app") as served:
        port = served.doc["url"].rsplit(":", 1)[1]
        argv = ["emulator", "upload-cert", "--port", port, "--cert", made["cert_file"], "--json"]
        if what == "nobody-listens":
            argv[3] = str(_free_port())
        elif what == "key-as-cert":
            argv[5] = made["key_file"]
        elif what == "unknown-app":
            argv += ["--client-id", "3MVG9NoSuchApp0000000000"]
        elif what == "bad-port":
            argv[3] = "70000"
        result = cli.run(*argv)
    assert result.returncode == 2, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == code and words in doc["error"]["message"]
    assert doc["app"] is None and "Traceback" not in result.stderr and "fix:" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_emulator_run_gives_a_program_the_rehearsals_environment(cli: Cli, tmp_path: Path) -> None:
    """Issue 24 item 12: one command instead of a NODE_OPTIONS prefix copied by hand, and the
    admin's token handed to sf as SF_ACCESS_TOKEN without being printed."""
    seen = tmp_path / "seen.json"
    probe = (
        "import json, os, sys; json.dump({k: os.environ.get(k) for k in "
        "('NODE_OPTIONS', 'SF_ACCESS_TOKEN', 'SF_DISABLE_AUTOUPDATE')}, open(sys.argv[1], 'w')); sys.exit(7)"
    )
    with serving(cli, "--username", "ci@example.com") as served:
        port = served.doc["url"].rsplit(":", 1)[1]
        ran = cli.run("emulator", "run", "--port", port, "--", sys.executable, "-c", probe, str(seen))
        assert ran.returncode == 7, ran.stderr  # the program's own exit code
        env = json.loads(seen.read_text())
        assert "loopback_guard.cjs" in env["NODE_OPTIONS"] and env["SF_DISABLE_AUTOUPDATE"] == "true"
        assert env["SF_ACCESS_TOKEN"] == served.doc["admin"]["access_token"]
        assert served.doc["admin"]["access_token"] not in ran.stdout + ran.stderr
    assert served.returncode == 0, served.stderr
    # The human output names the line that logs sf in as the admin, through emulator run.
    line = f"sfjwt-orch emulator run --port {port} -- sf org login access-token --instance-url"
    assert line in served.stderr and "SF_ACCESS_TOKEN" in served.stderr
    assert served.doc["admin"]["access_token"] not in served.stderr
    token_files = list((Path(cli.env["SFJWT_ORCH_DATA_DIR"]) / "emulator").glob("admin-token-*"))
    assert token_files == [], "the admin token is kept only while the emulator serves"
    nobody = cli.run("emulator", "run", "--port", port, "--", "true")
    assert nobody.returncode == 2 and "no emulator answers" in nobody.stderr


def test_emulator_approve_is_a_headless_person_clicking_allow(cli: Cli) -> None:
    from sfjwt_orch.salesforce import validate

    assert cli.run("keygen", "--alias", "rehearsal").returncode == 0
    with serving(cli, "--alias", "rehearsal") as served:
        url, key = served.doc["url"], served.doc["apps"][0]["consumer_key"]
        approval = validate.authorize_url(url, key, validate.DEFAULT_CALLBACK)
        done = cli.run("emulator", "approve", approval, "--json")
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert doc["ok"] and doc["approved"] and doc["redirected_to"] == validate.DEFAULT_CALLBACK
        state = json.loads(urllib.request.urlopen(url + "/__emulator/state", timeout=5).read())
        assert [a["username"] for a in state["approvals"]] == ["dev@example.com"]
    refused = cli.run("emulator", "approve", "https://login.salesforce.com/services/oauth2/authorize?x=1", "--json")
    assert refused.returncode == 2 and json.loads(refused.stdout)["error"]["code"] == "URL_REFUSED"


def test_each_served_org_has_an_org_id_of_its_own(cli: Cli) -> None:
    """Issue 24 item 12: serving again is a new org (a refreshed sandbox), not the same demo id."""
    seen = []
    for _ in range(2):
        with serving(cli, "--username", "ci@example.com") as served:
            state = json.loads(urllib.request.urlopen(served.doc["url"] + "/__emulator/state", timeout=5).read())
            seen.append(state["org_id"])
            assert served.doc["admin"]["access_token"].startswith(state["org_id"][:15] + "!")
    assert all(len(org) == 18 and org.startswith("00D") for org in seen) and seen[0] != seen[1]


def test_serve_names_the_emulated_ci_issuers_and_run_ci_makes_the_program_a_job(cli: Cli, tmp_path: Path) -> None:
    """Issue 23: a keyless rehearsal by hand. serve shows the CI issuers (for trust --issuer) and
    the commands; `emulator run --ci` hands the program a job's environment, never printing it."""
    seen = tmp_path / "seen.json"
    probe = (
        "import json, os, sys; json.dump({k: v for k, v in os.environ.items() if k.startswith(('ACTIONS_', 'GIT', "
        "'SFJWT_ORCH_ID_TOKEN'))}, open(sys.argv[1], 'w'))"
    )
    with serving(cli, "--username", "ci@example.com") as served:
        url = served.doc["url"]
        port = url.rsplit(":", 1)[1]
        issuers = served.doc["ci_issuers"]
        assert issuers == {"github": f"{url}/__ci/github", "gitlab": f"{url}/__ci/gitlab"}
        for issuer in issuers.values():
            discovery = json.loads(
                urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=5).read()
            )
            assert discovery["issuer"] == issuer

        github = cli.run("emulator", "run", "--port", port, "--ci", "github", "--claim", "repository=acme/app",
                         "--claim", "ref=refs/heads/main", "--", sys.executable, "-c", probe, str(seen))  # fmt: skip
        assert github.returncode == 0, github.stderr
        env = json.loads(seen.read_text())
        assert env["GITHUB_ACTIONS"] == "true" and env["ACTIONS_ID_TOKEN_REQUEST_URL"].startswith(issuers["github"])
        request = urllib.request.Request(
            env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=" + urllib.parse.quote(url),
            headers={"Authorization": "bearer " + env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]},
        )
        identity = json.loads(urllib.request.urlopen(request, timeout=5).read())["value"]
        claims = _claims(identity)
        assert (claims["iss"], claims["aud"]) == (issuers["github"], url)
        assert (claims["repository"], claims["ref"]) == ("acme/app", "refs/heads/main")
        assert env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] not in github.stdout + github.stderr

        gitlab = cli.run("emulator", "run", "--port", port, "--ci", "gitlab", "--claim", "project_path=acme/app",
                         "--", sys.executable, "-c", probe, str(seen))  # fmt: skip
        assert gitlab.returncode == 0, gitlab.stderr
        env = json.loads(seen.read_text())
        assert env["GITLAB_CI"] == "true" and _claims(env["SFJWT_ORCH_ID_TOKEN"])["project_path"] == "acme/app"
        assert env["SFJWT_ORCH_ID_TOKEN"] not in gitlab.stdout + gitlab.stderr

        for args, words in [
            (["--claim", "repository=acme/app"], "--claim needs --ci"),
            (["--ci", "github", "--claim", "repository"], "is not NAME=VALUE"),
            (["--ci", "jenkins"], "--ci"),
        ]:
            bad = cli.run("emulator", "run", "--port", port, *args, "--", "true")
            assert bad.returncode == 2 and words in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    assert served.returncode == 0, served.stderr
    human = " ".join(served.stderr.split())  # the console may wrap long lines
    assert f"github {issuers['github']}" in human and f"gitlab {issuers['gitlab']}" in human
    assert "trust github --alias emu --target-org admin --username ci@example.com --repo acme/app" in human
    assert f"--issuer {issuers['github']}" in human
    assert f"emulator run --port {port} --ci github --claim repository=acme/app -- sfjwt-orch login" in human


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]
