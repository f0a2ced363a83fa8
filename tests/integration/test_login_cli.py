"""`sfjwt-orch login` as a process: real runner, fake sf on PATH, every outcome's exit code."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Cli, LoginArgs, sf_output

NOT_APPROVED = {"stdout": sf_output("notapproved.json.stdout"), "rc": 1}
SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}


def test_not_approved_twice_then_success(cli: Cli, login_args: LoginArgs) -> None:
    cli.scenario(NOT_APPROVED, NOT_APPROVED, SUCCESS)
    result = cli.run(
        *login_args("--timeout", "30", "--interval", "0.5", "--browser"), BROWSER=str(cli.bin / "fake-browser")
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert doc["ok"] is True and doc["attempts"] == 3 and doc["org_id"] == "00D000000000001AAA"
    url = doc["approval_url"]
    assert url.startswith("https://acme.my.salesforce.com/services/oauth2/authorize?response_type=code&")
    assert url in result.stderr  # printed for the person
    assert cli.browser_calls() == [url]  # opened once
    calls = cli.sf_calls()
    assert len(calls) == 3
    assert calls[0]["argv"][:3] == ["org", "login", "jwt"] and calls[0]["argv"][-1] == "--json"
    assert calls[0]["env"]["SF_DISABLE_TELEMETRY"] == "true"


def test_saved_profile_makes_alias_enough(cli: Cli, login_args: LoginArgs) -> None:
    cli.scenario(SUCCESS, SUCCESS)
    assert cli.run(*login_args()).returncode == 0
    result = cli.run("login", "--alias", "hub", "--json")
    assert result.returncode == 0, result.stderr
    first, second = cli.sf_calls()
    assert first["argv"] == second["argv"]


CASES = [
    ("notapproved.json.stdout", 1, "NOT_APPROVED", 4),
    ("err_client_id.json.stdout", 1, "CLIENT_ID_INVALID", 3),
    ("err_invalid_assertion.json.stdout", 1, "INVALID_ASSERTION", 3),
    ("err_not_admin_approved.json.stdout", 1, "NOT_ADMIN_APPROVED", 3),
    ("err_app_access.json.stdout", 1, "NOT_ADMIN_APPROVED", 3),
    ("err_audience.json.stdout", 1, "AUDIENCE_INVALID", 3),
    ("err_404token.json.stdout", 1, "SERVER_ERROR", 3),
    ("down.json.stdout", 1, "NETWORK", 3),
    ("slow_httptimeout.json.stdout", 1, "NETWORK", 3),
]


@pytest.mark.parametrize(("case", "rc", "code", "exit_code"), CASES)
def test_each_outcome_has_its_code_and_exit_code(
    cli: Cli, login_args: LoginArgs, case: str, rc: int, code: str, exit_code: int
) -> None:
    cli.scenario({"stdout": sf_output(case), "rc": rc})
    result = cli.run(*login_args("--timeout", "0"))
    assert result.returncode == exit_code, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == code and doc["error"]["fix"]
    assert "error: " in result.stderr and "Traceback" not in result.stderr
    assert len(cli.sf_calls()) == 1


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ({"stdout": "this is not json", "rc": 1}, "printed no JSON"),
        ({"stdout": "", "rc": 1}, "printed nothing"),
        ({"stdout": "{}", "rc": 10, "stderr": "TypeError: x is undefined"}, "crashed (TypeError): TypeError: x"),
    ],
)
def test_broken_sf_output_is_sf_failed(cli: Cli, login_args: LoginArgs, step: dict[str, object], words: str) -> None:
    cli.scenario(step)
    result = cli.run(*login_args())
    assert result.returncode == 5, result.stderr
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "SF_FAILED"
    assert words in doc["error"]["message"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; it only waits for its parent to read its status.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_hanging_sf_is_killed_with_its_children(cli: Cli, login_args: LoginArgs) -> None:
    cli.scenario({"hang": True, "spawn_child": True})
    started = time.monotonic()
    result = cli.run(*login_args(), SFJWT_ORCH_SF_TIMEOUT="2")
    assert time.monotonic() - started < 30
    assert result.returncode == 5, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "SF_FAILED"
    pids = [int(p) for p in (cli.tmp / "sf.log.pids").read_text().split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "sf or its child outlived the timeout"


def test_sf_missing_is_exit_5(cli: Cli, login_args: LoginArgs) -> None:
    (cli.bin / "sf").unlink()
    result = cli.run(*login_args())
    assert result.returncode == 5
    assert json.loads(result.stdout)["error"]["code"] == "SF_NOT_FOUND"
    assert "npm install -g @salesforce/cli" in result.stderr


@pytest.mark.parametrize("kind", ["missing", "not-executable"])
def test_sf_override_that_cannot_run_is_exit_5(cli: Cli, login_args: LoginArgs, kind: str) -> None:
    target = cli.tmp / "my-sf"
    if kind == "not-executable":
        target.write_text("#!/bin/sh\n")
    result = cli.run(*login_args(), SFJWT_ORCH_SF=str(target))
    assert result.returncode == 5
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "SF_NOT_FOUND" and "SFJWT_ORCH_SF" in doc["error"]["message"]
    assert cli.sf_calls() == []


@pytest.mark.parametrize(
    "args",
    [("login",), ("doctor", "--alias", "hub"), ("keygen", "--alias", "fresh")],
    ids=["login", "doctor", "keygen"],
)
def test_a_program_that_is_found_but_cannot_start_is_named_with_its_fix(
    cli: Cli, login_args: LoginArgs, args: tuple[str, ...]
) -> None:
    """An executable file whose interpreter does not exist: found on the path, refused by exec()."""
    broken = cli.tmp / "broken-program"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    cli.scenario(SUCCESS)
    assert cli.run(*login_args()).returncode == 0  # a profile for doctor
    argv = login_args() if args == ("login",) else [*args, "--json"]
    result = cli.run(*argv, SFJWT_ORCH_SF=str(broken), SFJWT_ORCH_OPENSSL=str(broken))
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr
    doc = json.loads(result.stdout)
    if args[0] == "doctor":  # a failed check, not a failed command
        assert (result.returncode, doc["error"]["code"]) == (6, "CHECK_FAILED")
        checks = {c["name"]: c for c in doc["checks"]}
        assert checks["sf"]["result"] == "fail" and "cannot be used" in checks["sf"]["detail"]
        assert checks["key"]["result"] == "fail"  # openssl must be able to read the key when it is there
    else:
        code = "OPENSSL_NOT_FOUND" if args[0] == "keygen" else "SF_NOT_FOUND"
        assert (result.returncode, doc["error"]["code"]) == (5, code), result.stderr
    if args[0] == "login":
        assert doc["alias"] == "hub" and doc["attempts"] == 1  # still the login document


def test_doctor_without_openssl_still_checks_the_key_and_certificate(cli: Cli, login_args: LoginArgs) -> None:
    cli.scenario(SUCCESS)
    assert cli.run(*login_args()).returncode == 0
    (cli.bin / "openssl").unlink()
    doc = json.loads(cli.run("doctor", "--alias", "hub", "--json", PATH=str(cli.bin)).stdout)
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["openssl"]["result"] == "fail"
    assert checks["key"]["result"] == "pass" and checks["key matches certificate"]["result"] == "pass"


def test_openssl_missing_is_exit_5_for_keygen_but_login_needs_none(cli: Cli, login_args: LoginArgs) -> None:
    (cli.bin / "openssl").unlink()
    result = cli.run("keygen", "--alias", "other", "--json")
    assert result.returncode == 5
    assert json.loads(result.stdout)["error"]["code"] == "OPENSSL_NOT_FOUND"
    # login checks the key in Python: a CI image without openssl can still log in.
    cli.scenario(SUCCESS)
    assert cli.run(*login_args()).returncode == 0


def test_failing_browser_does_not_stop_the_wait(cli: Cli, login_args: LoginArgs) -> None:
    cli.scenario(NOT_APPROVED, SUCCESS)
    result = cli.run(*login_args("--timeout", "30", "--interval", "0.5", "--browser"), BROWSER="false")
    assert result.returncode == 0, result.stderr
    assert "Could not open a browser" in result.stderr


def test_usage_errors_are_exit_2_without_traceback(cli: Cli, key_file: Path) -> None:
    result = cli.run("login", "--alias", "hub", "--client-id", "short", "--username", "u@example.com")
    assert result.returncode == 2
    assert "error: --client-id" in result.stderr and "fix:" in result.stderr and "Traceback" not in result.stderr
    result = cli.run("login", "--alias", "nobody")
    assert result.returncode == 2 and "no saved profile" in result.stderr
    result = cli.run("login", "--bogus-flag")
    assert result.returncode == 2 and "No such option" in result.stderr


def test_lightning_url_refused_before_sf(cli: Cli, login_args: LoginArgs) -> None:
    args = login_args()
    args[args.index("--instance-url") + 1] = "https://acme.lightning.force.com"
    result = cli.run(*args)
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "LIGHTNING_URL"
    assert cli.sf_calls() == []


def test_authorize_url_prints_only_the_url(cli: Cli) -> None:
    result = cli.run("authorize-url", "--client-id", "3MVG9CLIENTID1234567", "--sandbox")
    assert result.returncode == 0
    assert result.stdout == (
        "https://test.salesforce.com/services/oauth2/authorize?response_type=code&client_id=3MVG9CLIENTID1234567"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A1717%2FOauthRedirect\n"
    )


def _imported(stderr: str) -> set[str]:
    """Top-level packages named by -X importtime's lines on stderr."""
    lines = [line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")]
    return {name.split(".")[0] for name in lines}


def test_the_success_path_loads_neither_cryptography_nor_tomlkit(cli: Cli, login_args: LoginArgs) -> None:
    """cryptography (~70 ms) and tomlkit (~55 ms) would be most of sfjwt-orch's own cost on a ~1.5 s
    login: a key file sf logged in with before gets the quick check, and a new profile is written
    from a template. The first login of a key file does load cryptography, to check the key fully."""
    cli.scenario(SUCCESS, SUCCESS)
    first = cli.run(*login_args(), PYTHONPROFILEIMPORTTIME="1")
    assert first.returncode == 0, first.stderr
    assert "cryptography" in _imported(first.stderr)  # a key file never seen logging in: the full check
    other_alias = [a if a != "hub" else "hub2" for a in login_args()]
    key = json.loads(cli.run("profiles", "show", "hub", "--json").stdout)["profile"]["key_file"]
    second = cli.run(*other_alias, "--key-file", key, PYTHONPROFILEIMPORTTIME="1")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["ok"] is True
    assert not _imported(second.stderr) & {"cryptography", "tomlkit"}
    # Nor app create's parsers (the adapter imports them in the methods that use them), nor what
    # only a login that waits for an approval needs (the callback pages, PKCE's hashing), nor the fleet.
    for module in (
        "sfjwt_orch.tools.sf.admin",
        "sfjwt_orch.approval.pages",
        "hashlib",
        "sfjwt_orch.commands.login_fleet",
    ):
        assert f" {module}\n" not in second.stderr, module
    for argv in (["--help"], ["--version"], ["login", "--help"]):
        assert not _imported(cli.run(*argv, PYTHONPROFILEIMPORTTIME="1").stderr) & {"cryptography", "tomlkit"}


@pytest.mark.parametrize("switch", ["--verbose", "SFJWT_ORCH_DEBUG=1"])
def test_verbose_reports_each_program_run_its_exit_code_and_time(
    cli: Cli, login_args: LoginArgs, key_file: Path, switch: str
) -> None:
    import re

    cli.scenario(SUCCESS)
    args, env = (login_args("--verbose"), {}) if switch == "--verbose" else (login_args(), {"SFJWT_ORCH_DEBUG": "1"})
    result = cli.run(*args, **env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True  # stdout is still the one document
    debug = [line.removeprefix("[debug] ") for line in result.stderr.splitlines() if line.startswith("[debug] ")]
    assert any(line.startswith("run: ") and " org login jwt " in line for line in debug), debug
    assert any(re.match(r"exit 0 after \d+\.\d\d s: .* org login jwt ", line) for line in debug), debug
    body = "".join(key_file.read_text().splitlines()[1:-1])
    assert body[:40] not in result.stderr and "PRIVATE KEY" not in result.stderr
    # Without the switch, none of it.
    cli.scenario(SUCCESS)
    assert "[debug]" not in cli.run(*login_args()).stderr


def test_verbose_keygen_reports_both_openssl_runs_the_early_one_included(cli: Cli) -> None:
    """keygen's key is begun before the CLI (and the --verbose switch) is read: it is reported too."""
    import re

    result = cli.run("keygen", "--alias", "traced", "--verbose")
    assert result.returncode == 0, result.stderr
    debug = [line.removeprefix("[debug] ") for line in result.stderr.splitlines() if line.startswith("[debug] ")]
    for step in (" genpkey ", " req -new -x509 "):
        assert any(line.startswith("run: ") and step in line for line in debug), debug
        assert any(re.match(rf"exit 0 after \d+\.\d\d s: .*{step}", line) for line in debug), debug
    assert "PRIVATE KEY" not in result.stderr


@pytest.mark.parametrize("cache_folder", ["made", "impossible", "users-own", "turned-off"])
def test_sf_runs_with_nodes_compile_cache_in_a_private_folder_when_one_can_be_made(
    cli: Cli, login_args: LoginArgs, cache_folder: str
) -> None:
    data = Path(cli.env["SFJWT_ORCH_DATA_DIR"])
    if cache_folder == "impossible":
        (data / "cache").write_text("a file where the folder would go")
    env = {
        "users-own": {"NODE_COMPILE_CACHE": str(cli.tmp / "mine")},
        "turned-off": {"NODE_DISABLE_COMPILE_CACHE": "1"},
    }.get(cache_folder, {})
    cli.scenario(SUCCESS)
    result = cli.run(*login_args(), **env)
    assert result.returncode == 0, result.stderr  # a cache that cannot be made costs speed, never the login
    (call,) = cli.sf_calls()
    folder = data / "cache" / "node-compile-cache"
    if cache_folder == "made":
        assert call["env"]["NODE_COMPILE_CACHE"] == str(folder)
        assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700
        return
    assert call["env"]["NODE_COMPILE_CACHE"] == env.get("NODE_COMPILE_CACHE")  # the user's, or none
    assert not folder.exists()  # ours is not made when it is not used
    if cache_folder == "impossible":
        assert (data / "cache").read_text() == "a file where the folder would go"
