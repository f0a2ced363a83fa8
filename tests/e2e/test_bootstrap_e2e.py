"""`sfjwt-orch bootstrap` and `--key-env` with real openssl and the real sf against the emulator.

The certificate reaches the emulator's app the way it reaches a real org: bootstrap (or keygen)
makes the key and certificate, the "person" uploads that certificate (the test starts the
emulator with it), then the login runs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_ORG_ID, DEMO_USERNAME
from tests.e2e.conftest import E2E, demo_login
from tests.fakesecrets import pem_block
from tests.keypairs import make_keypair
from tests.signals import as_foreground_job

STEPS = ["Tools", "Key and certificate", "The app in Salesforce", "Login", "Verify", "Save"]


def key_dir(e2e: E2E, alias: str) -> Path:
    return Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "keys" / alias


def profile_file(e2e: E2E, alias: str) -> Path:
    return Path(e2e.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles" / f"{alias}.toml"


def file_state(path: Path) -> tuple[str, int]:
    """What "no new key" means: the same bytes (so the same fingerprint) and the same mtime."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def step_statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in doc["steps"]}


def pem_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


# --------------------------------------------------------------------------- scripted (--no-input)


def test_scripted_bootstrap_fails_naming_flags_then_completes_and_a_rerun_only_verifies(e2e: E2E) -> None:
    alias = "ci"
    # 1. Nothing known and nobody to ask: Tools and Key run, The app stops with the flags to pass.
    first = e2e.cli("bootstrap", "--alias", alias, "--no-input", "--json")
    assert first.returncode == 2, first.stderr
    doc = json.loads(first.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == "USAGE"
    assert "--client-id and --username" in doc["error"]["message"]
    assert [(s["name"], s["status"]) for s in doc["steps"]] == [
        ("Tools", "done"),
        ("Key and certificate", "done"),
        ("The app in Salesforce", "failed"),
    ]
    key, cert = key_dir(e2e, alias) / "server.key", key_dir(e2e, alias) / "server.crt"
    assert key.stat().st_mode & 0o777 == 0o600 and cert.is_file()
    key_before, cert_before = file_state(key), file_state(cert)
    # Issue 24 item 7: the CI log shows what to do in Setup (with the certificate) before the error.
    assert first.stderr.index(f"Upload Files: {cert}") < first.stderr.index("there is no one to ask")

    # 2. The certificate is uploaded to the app; the scripted run with every flag continues.
    emu = e2e.emulator(cert_pem=cert.read_text())
    flags = ["--client-id", DEMO_CONSUMER_KEY, "--username", DEMO_USERNAME, "--instance-url", emu.url]
    second = e2e.cli("bootstrap", "--alias", alias, *flags, "--set-default", "--no-input", "--json")
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert doc["ok"] is True and doc["error"] is None
    assert doc["org_id"] == DEMO_ORG_ID and doc["attempts"] == 1
    assert [s["name"] for s in doc["steps"]] == STEPS
    assert step_statuses(doc) == {
        "Tools": "done",
        "Key and certificate": "skipped",
        "The app in Salesforce": "skipped",
        "Login": "done",
        "Verify": "done",
        "Save": "done",
    }
    verify = next(s for s in doc["steps"] if s["name"] == "Verify")
    assert "Connected" in verify["detail"] and "default org" in verify["detail"]
    assert (file_state(key), file_state(cert)) == (key_before, cert_before), "run 1's key was not reused"
    assert [r.outcome for r in emu.token_requests] == ["ok"]
    target = e2e.sf_json("config", "get", "target-org")["result"]
    assert target[0]["value"] == alias, target
    profile_text = profile_file(e2e, alias).read_text()
    assert f'key_file = "{key}"' in profile_text
    # The org id is a fact the tool learnt, kept in the state file, not among the user's answers.
    state_file = Path(e2e.env["SFJWT_ORCH_DATA_DIR"]) / "state" / f"{alias}.json"
    assert json.loads(state_file.read_text())["org_id"] == DEMO_ORG_ID and "org_id" not in profile_text

    # 3. A rerun on the working profile: nothing asked, no new key, no new login; only Verify runs.
    third = e2e.cli("bootstrap", "--alias", alias, "--no-input", "--json")
    assert third.returncode == 0, third.stderr
    doc = json.loads(third.stdout)
    assert doc["ok"] is True and doc["org_id"] == DEMO_ORG_ID
    assert step_statuses(doc) == {
        "Tools": "done",
        "Key and certificate": "skipped",
        "The app in Salesforce": "skipped",
        "Login": "skipped",
        "Verify": "done",
        "Save": "skipped",  # nothing changed: no ✓ Save (issue 24 item 3)
    }
    assert (file_state(key), file_state(cert)) == (key_before, cert_before)
    assert len(emu.token_requests) == 1, "a rerun must not log in again"
    assert profile_file(e2e, alias).read_text() == profile_text
    assert not re.search(r"^\? ", third.stderr, re.MULTILINE)  # no question was printed


def test_bootstrap_with_another_key_says_what_changed_and_keeps_key_and_certificate_a_pair(e2e: E2E) -> None:
    # Issue 24 item 5: reusing an alias with another key rewrote the profile silently and left it
    # naming the old key's certificate (doctor then suggested keygen --force, breaking the login).
    alias = "reuse"
    made = e2e.cli("keygen", "--alias", alias, "--json")
    assert made.returncode == 0, made.stderr
    old_cert = Path(json.loads(made.stdout)["cert_file"])
    emu = e2e.emulator(cert_pem=old_cert.read_text())
    flags = ["--client-id", DEMO_CONSUMER_KEY, "--username", DEMO_USERNAME, "--instance-url", emu.url, "--no-input"]
    first = e2e.cli("bootstrap", "--alias", alias, *flags, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["changed"] == {}

    new = make_keypair(e2e.tmp / "vault")  # the key the pipeline's vault holds, its certificate beside it
    emu.set_certificate(DEMO_CONSUMER_KEY, new.cert_pem)  # uploaded to the app in Setup
    second = e2e.cli("bootstrap", "--alias", alias, "--key-file", str(new.key), "--no-input", "--json")
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    old_key = key_dir(e2e, alias) / "server.key"
    assert doc["changed"] == {
        "key_file": {"old": str(old_key), "new": str(new.key)},
        "cert_file": {"old": str(old_cert), "new": str(new.cert)},
    }
    assert step_statuses(doc)["Login"] == "done", "another key is proven by a login, not skipped"
    assert f"key file {old_key} → {new.key}" in second.stderr
    assert [r.outcome for r in emu.token_requests][-1] == "ok"
    text = profile_file(e2e, alias).read_text()
    assert f'key_file = "{new.key}"' in text and f'cert_file = "{new.cert}"' in text
    doctor = e2e.cli("doctor", "--alias", alias, "--json")
    checks = {c["name"]: c["result"] for c in json.loads(doctor.stdout)["checks"]}
    assert checks["key matches certificate"] == "pass", doctor.stderr


# --------------------------------------------------------------------------- a person at a terminal


def spawn_bootstrap(e2e: E2E, *args: str, log: io.StringIO) -> pexpect.spawn:
    env = {**e2e.env, "TERM": "xterm-256color"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sfjwt_orch", "bootstrap", *args],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
        preexec_fn=as_foreground_job,
    )
    child.logfile_read = log
    return child


def finish(child: pexpect.spawn) -> int | None:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_interactive_bootstrap_reasks_and_resumes_after_ctrl_c_and_a_closed_terminal(e2e: E2E) -> None:
    alias = "person"
    key, cert = key_dir(e2e, alias) / "server.key", key_dir(e2e, alias) / "server.crt"

    # Run 1: the key is made, the checklist names the certificate to upload; Ctrl-C at the first question.
    log1 = io.StringIO()
    child = spawn_bootstrap(e2e, "--alias", alias, "--no-browser", log=log1)
    child.expect(r"Key and certificate: new key")
    # No consumer key yet: first the offer to create the app with an admin login (app create); Enter declines.
    child.expect(r"\? Admin alias in sf to create the app with \(Enter: create it yourself in Setup\): ")
    child.sendline("")
    child.expect(r"Create the app in Salesforce")
    child.expect(r"Upload Files: (\S+)")
    assert Path(child.match.group(1)) == cert
    child.expect(r"\? Consumer key: ")
    child.sendintr()
    assert finish(child) == 130, log1.getvalue()
    assert "interrupted" in log1.getvalue()
    assert key.stat().st_mode & 0o777 == 0o600
    key_before = file_state(key)

    # The person uploads server.crt to the app (here: the emulator's app gets it).
    emu = e2e.emulator(cert_pem=cert.read_text())

    # Run 2: the key is reused; a wrong consumer key is re-asked with the reason; then the terminal closes.
    log2 = io.StringIO()
    child = spawn_bootstrap(e2e, "--alias", alias, "--no-browser", log=log2)
    child.expect(r"Key and certificate: reusing")
    child.expect(r"\? Admin alias in sf")
    child.sendline("")
    child.expect(r"\? Consumer key: ")
    child.sendline("not a consumer key")
    child.expect(r"does not look like a consumer key: copy the app's Consumer Key")
    child.expect(r"\? Consumer key: ")
    child.sendline(DEMO_CONSUMER_KEY)
    child.expect(r"\? Username to log in as \(e\.g\. ci-bot@acme\.com\): ")
    child.close(force=True)  # the terminal window is closed
    assert not child.isalive() and child.exitstatus != 0
    assert file_state(key) == key_before
    # Issue 14, item 2: an answer no login has confirmed is not saved to the profile; it is kept
    # apart (the state file) and offered as the default. (Until 0.2 it went to the profile at once,
    # so a rerun used it, and the login URL, without asking.)
    assert "client_id" not in profile_file(e2e, alias).read_text()
    assert len(emu.token_requests) == 0

    # Run 3: the consumer key typed in run 2 is the default (masked), so Enter keeps it; then logs in.
    log3 = io.StringIO()
    child = spawn_bootstrap(e2e, "--alias", alias, "--no-browser", log=log3)
    child.expect(r"Key and certificate: reusing")
    masked = f"{DEMO_CONSUMER_KEY[:6]}…{DEMO_CONSUMER_KEY[-4:]} ({len(DEMO_CONSUMER_KEY)} characters)"
    child.expect_exact(f"? Consumer key [{masked}]: ")
    child.sendline("")
    child.expect(r"\? Username to log in as")
    child.sendline("ci bot")
    child.expect(r"is not a Salesforce username")
    child.expect(r"\? Username to log in as")
    child.sendline(DEMO_USERNAME)
    child.expect(
        r"\? Login URL: your My Domain \(https://NAME\.my\.salesforce\.com, as External Client Apps need\), "
        r"or 1\) https://login\.salesforce\.com  2\) https://test\.salesforce\.com \[1\]: "
    )
    child.sendline("https://acme.lightning.force.com")
    child.expect(
        r"is a Lightning domain; sf refuses those: use the My Domain login URL instead: "
        r"https://acme\.my\.salesforce\.com"
    )
    child.expect(r"\? Login URL")
    child.sendline("https://acme.my.salesforce-setup.com/lightning/setup/SetupOneHome/home")  # a Setup page
    child.expect(r"is a Setup page's domain, not a login URL: use the My Domain login URL instead: "
                 r"https://acme\.my\.salesforce\.com")  # fmt: skip
    child.expect(r"\? Login URL")
    child.sendline(emu.url)
    child.expect(r"Verify: Connected: org " + DEMO_ORG_ID)
    child.expect(rf"{alias} is ready\.")
    assert finish(child) == 0, log3.getvalue()
    transcript = log3.getvalue()
    assert DEMO_CONSUMER_KEY not in transcript and "Create the app in Salesforce" not in transcript
    assert f'client_id = "{DEMO_CONSUMER_KEY}"' in profile_file(e2e, alias).read_text()  # confirmed: saved
    assert file_state(key) == key_before, "the key made in run 1 must be the one that logs in"
    assert [r.outcome for r in emu.token_requests] == ["ok"]
    assert emu.token_requests[0].claims["iss"] == DEMO_CONSUMER_KEY  # type: ignore[index]
    display = e2e.sf_json("org", "display", "--target-org", alias)["result"]
    assert display["connectedStatus"] == "Connected" and display["username"] == DEMO_USERNAME


def test_interactive_bootstrap_waits_while_the_person_uploads_the_certificate(e2e: E2E) -> None:
    # Issue 24 item 7: after the checklist the person creates the app and pastes its key before the
    # certificate is uploaded; bootstrap waits for the upload (as rotate does) instead of failing.
    alias = "upload"
    emu = e2e.emulator()  # the app holds another certificate (the test's), not the one bootstrap makes
    log = io.StringIO()
    child = spawn_bootstrap(e2e, "--alias", alias, "--no-browser", "--interval", "1", log=log)
    child.expect(r"\? Admin alias in sf")
    child.sendline("")
    child.expect(r"Upload Files: (\S+)")
    cert = Path(child.match.group(1))
    child.expect(r"\? Consumer key: ")
    child.sendline(DEMO_CONSUMER_KEY)
    child.expect(r"\? Username to log in as")
    child.sendline(DEMO_USERNAME)
    child.expect(r"\? Login URL")
    child.sendline(emu.url)
    child.expect(r"The login waits \(up to 600 s\) for the app to hold this certificate")
    child.expect(r"The app does not verify this key yet")  # the wait, after the app's refusal
    assert emu.token_requests and all(r.outcome != "ok" for r in emu.token_requests)
    emu.set_certificate(DEMO_CONSUMER_KEY, cert.read_text())  # the person uploads it in Setup
    child.expect(r"Verify: Connected: org " + DEMO_ORG_ID)
    child.expect(rf"{alias} is ready\.")
    assert finish(child) == 0, log.getvalue()
    outcomes = [r.outcome for r in emu.token_requests]
    assert "invalid_assertion" in outcomes and outcomes[-1] == "ok"
    assert f'client_id = "{DEMO_CONSUMER_KEY}"' in profile_file(e2e, alias).read_text()


def test_interactive_bootstrap_offers_to_paste_an_unknown_consumer_key_again(e2e: E2E) -> None:
    # Issue 14, item 1: a mistyped key is not waited for; at a terminal bootstrap asks for it again.
    alias = "typo"
    made = e2e.cli("keygen", "--alias", alias, "--json")
    assert made.returncode == 0, made.stderr
    emu = e2e.emulator(cert_pem=Path(json.loads(made.stdout)["cert_file"]).read_text())
    typo = DEMO_CONSUMER_KEY[:-1] + "X"
    flags = ["--client-id", typo, "--username", DEMO_USERNAME, "--instance-url", emu.url, "--no-browser"]
    log = io.StringIO()
    child = spawn_bootstrap(e2e, "--alias", alias, *flags, log=log)
    masked = f"{typo[:6]}…{typo[-4:]} ({len(typo)} characters)"
    child.expect_exact(
        f"? Consumer key: paste it again (Enter keeps {masked}: the app is new, wait for it to propagate) [keep]: "
    )
    child.sendline(DEMO_CONSUMER_KEY)
    child.expect(rf"{alias} is ready\.")
    assert finish(child) == 0, log.getvalue()
    assert typo not in log.getvalue()  # the key is only ever shown masked
    assert [r.outcome for r in emu.token_requests][-1] == "ok"
    assert f'client_id = "{DEMO_CONSUMER_KEY}"' in profile_file(e2e, alias).read_text()


# --------------------------------------------------------------------------- --key-env


def one_line(pem: str) -> str:
    return pem.strip().replace("\n", "\\n")


ENCODINGS = {
    "raw-pem": lambda pem: pem,
    "escaped-newlines": one_line,
    "newlines-collapsed-to-spaces": lambda pem: " ".join(pem.split()),
    "base64-of-pem": lambda pem: base64.b64encode(pem.encode()).decode(),
    "base64-of-one-line-pem": lambda pem: base64.b64encode(one_line(pem).encode()).decode(),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_login_key_env_accepts_each_encoding_and_writes_a_durable_0600_key(e2e: E2E, encoding: str) -> None:
    pem = e2e.keypair.key.read_text()
    value = ENCODINGS[encoding](pem)
    emu = e2e.emulator()
    alias = "kenv"
    result = e2e.cli(
        *demo_login(emu, alias),
        "--key-env",
        "SF_JWT_KEY",
        "--json",
        SF_JWT_KEY=value,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["org_id"] == DEMO_ORG_ID
    written = key_dir(e2e, alias) / "server.key"
    assert written.stat().st_mode & 0o777 == 0o600 and key_dir(e2e, alias).stat().st_mode & 0o777 == 0o700
    assert pem_body(written.read_text()) == pem_body(pem)
    assert all(len(line) <= 64 for line in written.read_text().splitlines())
    assert pem_body(pem)[:40] not in result.stdout + result.stderr
    assert [r.outcome for r in emu.token_requests] == ["ok"]
    # sf keeps the key's path and re-reads it: the profile and sf's auth point at the durable file.
    assert f'key_file = "{written}"' in profile_file(e2e, alias).read_text()


def _truncated(pem: str) -> str:
    body = pem_body(pem)
    return pem_block("PRIVATE KEY", [body[: len(body) // 2]])


BROKEN = {
    "no-end-line": (lambda pem, cert: pem.split("-----END")[0], "no complete -----BEGIN/END----- block"),
    "mangled-body": (lambda pem, cert: pem.replace(pem_body(pem)[100:110], "%%%%%%%%%%"), "not base64"),
    "truncated-body": (lambda pem, cert: _truncated(pem), "not a usable RSA private key"),
    "base64-of-junk": (lambda pem, cert: base64.b64encode(b"hello, no key").decode(), "not of a PEM key"),
    "certificate-not-key": (lambda pem, cert: one_line(cert), "this is a certificate"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_login_key_env_refuses_a_broken_key_before_sf_and_writes_nothing(e2e: E2E, case: str) -> None:
    make, reason = BROKEN[case]
    value = make(e2e.keypair.key.read_text(), e2e.keypair.cert_pem)
    emu = e2e.emulator()
    result = e2e.cli(
        *demo_login(emu, "broken"),
        "--key-env",
        "SF_JWT_KEY",
        "--json",
        SF_JWT_KEY=value,
    )
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "KEY_INVALID" and reason in error["message"], error
    assert ".tmp-" not in error["message"], "name the variable, not a temp file the user never sees"
    assert error["fix"]
    assert not key_dir(e2e, "broken").exists(), "a refused key must leave no key folder behind"
    assert not profile_file(e2e, "broken").exists()
    assert len(emu.token_requests) == 0, "the key must be refused before sf starts"


def test_bootstrap_key_env_broken_then_good_then_broken_never_touches_the_good_key(e2e: E2E) -> None:
    alias = "pipeline"
    pem = e2e.keypair.key.read_text()
    emu = e2e.emulator()
    args = [
        "bootstrap",
        "--alias",
        alias,
        "--client-id",
        DEMO_CONSUMER_KEY,
        "--username",
        DEMO_USERNAME,
        "--instance-url",
        emu.url,
        "--key-env",
        "SF_JWT_KEY",
        "--no-input",
        "--json",
    ]
    folder = key_dir(e2e, alias)

    broken = e2e.cli(*args, SF_JWT_KEY=pem.replace(pem_body(pem)[200:208], "~~~~~~~~"))
    assert broken.returncode == 2, broken.stderr
    doc = json.loads(broken.stdout)
    assert doc["error"]["code"] == "KEY_INVALID"
    assert step_statuses(doc) == {"Tools": "done", "Key and certificate": "failed"}
    assert not folder.exists()

    good = e2e.cli(*args, SF_JWT_KEY=base64.b64encode(one_line(pem).encode()).decode())
    assert good.returncode == 0, good.stderr
    doc = json.loads(good.stdout)
    assert doc["ok"] is True and doc["org_id"] == DEMO_ORG_ID
    assert step_statuses(doc)["Login"] == "done" and step_statuses(doc)["Verify"] == "done"
    key = folder / "server.key"
    assert pem_body(key.read_text()) == pem_body(pem) and key.stat().st_mode & 0o777 == 0o600
    before, listing = file_state(key), sorted(p.name for p in folder.iterdir())

    again = e2e.cli(*args, SF_JWT_KEY=pem_block("PRIVATE KEY", ["AAAA"], newline="\\n"))
    assert again.returncode == 2, again.stderr
    assert json.loads(again.stdout)["error"]["code"] == "KEY_INVALID"
    assert file_state(key) == before and sorted(p.name for p in folder.iterdir()) == listing
    assert [r.outcome for r in emu.token_requests] == ["ok"]
    assert pem_body(pem)[:40] not in broken.stdout + broken.stderr + good.stdout + good.stderr + again.stderr
