"""Secrets: keys are written private, never put on a command line, and neither keys nor tokens
that sf prints ever reach our output, our JSON or our crash log.

(A group/world-readable key is refused before use with the chmod fix: the key-mode rows of
test_bad_input_matrix.py. doctor reporting it: tests/e2e/test_doctor_ci_e2e.py.)
"""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch import cli as sfjwt_cli
from sfjwt_orch.salesforce import validate
from sfjwt_orch.tools.runner import Process, ProcessRunner
from tests.integration.conftest import KEY_ENV_LOGIN, Cli, LoginArgs, sf_output
from tests.integration.keymaterial import PEM, PEM_BODY, TOKEN, TOKEN_SECRET, KeySet, leaked

CID = "3MVG9CLIENTID1234567"
SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}
WRAP = "Here’s the error: JwtAuthError::Error authenticating with JWT.\nErrors encountered:\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_env_writes_a_0600_key_in_a_0700_folder_and_sf_only_gets_its_path(cli: Cli, keyset: KeySet) -> None:
    cli.scenario(SUCCESS)
    result = cli.run(
        *KEY_ENV_LOGIN,
        "--json",
        SF_JWT_KEY=base64.b64encode(keyset.key.read_bytes()).decode(),
    )
    assert result.returncode == 0, result.stderr
    data, config = Path(cli.env["SFJWT_ORCH_DATA_DIR"]), Path(cli.env["SFJWT_ORCH_CONFIG_DIR"])
    key = data / "keys" / "ci" / "server.key"
    assert key.read_bytes() == keyset.key.read_bytes()  # decoded and rebuilt to the very same PEM
    assert mode(key) == 0o600 and mode(key.parent) == 0o700
    profile = config / "profiles" / "ci.toml"
    assert mode(profile) == 0o600 and mode(profile.parent) == 0o700
    assert mode(data / "locks" / "ci.lock") == 0o600 and mode(data / "locks") == 0o700
    (call,) = cli.sf_calls()
    argv = call["argv"]
    assert argv[argv.index("--jwt-key-file") + 1] == str(key)
    body = keyset.key.read_text().splitlines()[1:-1]
    assert not [line for line in body if any(line in arg for arg in argv)]
    assert "BEGIN" not in result.stdout + result.stderr


def test_no_key_or_token_on_any_command_line(
    cli: Cli, keyset: KeySet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every argv the runner starts (openssl, sf) and the browser's, for a login whose key comes from
    the environment and whose sf prints a token: paths and the URL only (`ps` shows argv to all)."""
    seen: list[tuple[str, ...]] = []
    real_start = ProcessRunner.start  # every process the runner starts goes through start (run included)

    def recording_start(
        self: ProcessRunner, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> Process:
        seen.append(tuple(argv))
        return real_start(self, argv, env=env, cwd=cwd)

    monkeypatch.setattr(ProcessRunner, "start", recording_start)
    for name in ("PATH", "FAKE_SF_SCENARIO", "FAKE_SF_LOG"):
        monkeypatch.setenv(name, cli.env[name])
    monkeypatch.setenv("SF_JWT_KEY", keyset.key.read_text().replace("\n", "\\n"))  # one-line PEM
    monkeypatch.setenv("BROWSER", str(cli.bin / "fake-browser"))
    not_approved = json.loads(sf_output("notapproved.json.stdout"))
    not_approved["message"] += f"\nsession {TOKEN}"
    cli.scenario({"stdout": json.dumps(not_approved), "rc": 1}, SUCCESS)
    rc = sfjwt_cli.main(
        [
            *KEY_ENV_LOGIN,
            "--browser",
            "--timeout",
            "30",
            "--interval",
            "0.5",
            "--callback-url",
            "https://app.example.com/callback",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    programs = [Path(argv[0]).name for argv in seen]
    assert "openssl" in programs and programs.count("sf") == 2  # the key was checked, sf ran twice
    body = keyset.key.read_text().splitlines()[1:-1]
    argvs = [*seen, *(tuple(c["argv"]) for c in cli.sf_calls()), tuple(cli.browser_calls())]
    for argv in argvs:
        text = "\0".join(argv)
        assert "BEGIN" not in text and TOKEN_SECRET not in text
        assert not [line for line in body if line in text], argv
    assert cli.browser_calls() == [json.loads(out)["approval_url"]]
    assert leaked(out + err) == []


SHAPES = {
    # sf's JSON error; its message echoes a token and a key block among the attempt lines.
    "json-not-approved": (
        {
            "stdout": json.dumps(
                {
                    "status": 1,
                    "name": "JwtGrantError",
                    "exitCode": 1,
                    "message": f"{WRAP}odd reply for {TOKEN}\n{PEM}user hasn't approved this consumer",
                }
            ),
            "rc": 1,
        },
        "NOT_APPROVED",
        4,
    ),
    "json-unknown": (
        {
            "stdout": json.dumps(
                {"status": 1, "name": "JwtGrantError", "exitCode": 1, "message": f"{WRAP}{PEM}strange {TOKEN}"}
            ),
            "rc": 1,
        },
        "UNKNOWN",
        3,
    ),
    "human-stderr": (
        {"stdout": "", "stderr": f"Error (1): {WRAP}{TOKEN} refused\n{PEM}\nWarning: x\n", "rc": 1},
        "UNKNOWN",
        3,
    ),
    "not-json": ({"stdout": f"Warning: token {TOKEN}\n{PEM}", "stderr": f"{PEM}", "rc": 1}, "SF_FAILED", 5),
    "exit-10": (
        {
            "stdout": json.dumps(
                {"status": 10, "name": "TypeError", "exitCode": 10, "message": f"TypeError near {TOKEN} in {PEM}"}
            ),
            "rc": 10,
        },
        "SF_FAILED",
        5,
    ),
    "flags-error": (
        {
            "stdout": json.dumps(
                {"status": 2, "name": "FlagsError", "exitCode": 2, "message": f"bad flag {TOKEN}\n{PEM}"}
            ),
            "rc": 2,
        },
        "SF_FAILED",
        5,
    ),
    "success-with-secrets": (
        {
            "stdout": json.dumps(
                {
                    "status": 0,
                    "result": {
                        "accessToken": TOKEN,
                        "refreshToken": TOKEN,
                        "privateKey": PEM,
                        "orgId": "00D000000000001AAA",
                        "username": "user@example.com",
                        "instanceUrl": "https://acme.my.salesforce.com",
                    },
                }
            ),
            "rc": 0,
        },
        None,
        0,
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_secrets_sf_prints_never_reach_any_output(cli: Cli, login_args: LoginArgs, shape: str) -> None:
    step, code, exit_code = SHAPES[shape]
    cli.scenario(step)
    result = cli.run(*login_args("--timeout", "0"))
    assert result.returncode == exit_code, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["error"] or {}).get("code") == code
    assert leaked(result.stdout + result.stderr) == [], shape
    if code is not None:  # what sf said is still shown, with the secrets cut out
        assert "[REDACTED" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    logs = Path(cli.env["SFJWT_ORCH_DATA_DIR"]) / "logs"
    assert not logs.exists() or leaked("".join(p.read_text() for p in logs.iterdir())) == []


def test_an_unexpected_error_shows_no_traceback_or_locals_and_logs_it_redacted(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def exploding(instance_url: str, client_id: str, callback_url: str) -> str:
        access_token = TOKEN  # locals a pretty traceback would print
        private_key = PEM
        raise RuntimeError("signing failed for " + access_token + " with " + private_key)

    monkeypatch.setattr(validate, "authorize_url", exploding)
    app = sfjwt_cli.build_app([])
    assert app.pretty_exceptions_enable is False and app.pretty_exceptions_show_locals is False
    log = isolated_env["data"] / "logs" / "crash.log"
    for json_mode in (False, True):
        rc = sfjwt_cli.main(["authorize-url", "--client-id", CID, *(["--json"] if json_mode else [])])
        out, err = capsys.readouterr()
        assert rc == 1
        assert f"error: unexpected error (RuntimeError); details in {log}" in err
        assert "fix: please report it" in err
        for shown in (out, err):
            assert "Traceback" not in shown and "access_token" not in shown and leaked(shown) == []
        if json_mode:
            assert json.loads(out)["error"]["code"] == "INTERNAL"
    text = log.read_text()
    assert text.count("Traceback (most recent call last)") == 2
    assert "in exploding" in text and "RuntimeError: signing failed for [REDACTED TOKEN]" in text
    assert "[REDACTED PRIVATE KEY]" in text
    assert leaked(text) == [] and "access_token = " not in text
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_redaction_helpers_know_every_secret_part() -> None:
    """The secrets the tests above look for are the ones they plant (a guard against vacuous passes)."""
    planted: dict[str, Any] = {"token": TOKEN, "pem": PEM}
    assert TOKEN_SECRET in planted["token"] and all(line in planted["pem"] for line in PEM_BODY)
    assert sorted(leaked(f"{TOKEN} {PEM}")) == sorted([TOKEN, TOKEN_SECRET, *PEM_BODY])
