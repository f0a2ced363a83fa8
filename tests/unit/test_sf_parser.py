"""The sf output parser and classifier, over outputs captured from real sf runs (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfjwt_orch.errors import Code
from sfjwt_orch.tools import sf as sfadapter
from sfjwt_orch.tools.runner import CommandResult
from sfjwt_orch.tools.sf import admin, catalog, parse
from sfjwt_orch.tools.sf import env as sfenv
from tests.fakesecrets import fake_token

OUT = Path(__file__).parents[1] / "data" / "sf-outputs"


def captured(case: str) -> CommandResult:
    """A CommandResult rebuilt from the files of one real sf run."""
    rc_file = OUT / f"{case}.rc"
    rc = int(rc_file.read_text().strip() or 0) if rc_file.exists() else 0
    stdout = OUT / f"{case}.stdout"
    stderr = OUT / f"{case}.stderr"
    return CommandResult(
        argv=("sf", "org", "login", "jwt"),
        returncode=rc,
        stdout=stdout.read_text() if stdout.exists() else "",
        stderr=stderr.read_text() if stderr.exists() else "",
        duration=1.0,
    )


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("notapproved.json", Code.NOT_APPROVED),
        ("notapproved.human", Code.NOT_APPROVED),
        ("err_client_id.json", Code.CLIENT_ID_INVALID),
        ("err_client_id.human", Code.CLIENT_ID_INVALID),
        ("err_invalid_assertion.json", Code.INVALID_ASSERTION),
        ("err_invalid_assertion.human", Code.INVALID_ASSERTION),
        ("err_not_admin_approved.json", Code.NOT_ADMIN_APPROVED),
        ("err_not_admin_approved.human", Code.NOT_ADMIN_APPROVED),
        ("err_app_access.json", Code.NOT_ADMIN_APPROVED),
        ("err_app_access.human", Code.NOT_ADMIN_APPROVED),
        ("err_audience.json", Code.AUDIENCE_INVALID),
        ("err_audience.human", Code.AUDIENCE_INVALID),
        ("err_404token.json", Code.SERVER_ERROR),
        ("down.json", Code.NETWORK),
        ("down.human", Code.NETWORK),
        ("proxy_env.json", Code.NETWORK),
        ("slow_httptimeout.json", Code.NETWORK),
        ("slow_httptimeout.human", Code.NETWORK),
    ],
)
def test_real_failures_are_classified(case: str, code: Code) -> None:
    outcome = parse.parse_login(captured(case))
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.code is code
    assert outcome.message and outcome.fix
    assert "<sf-install>" not in outcome.message  # no stack traces in what people read


def test_real_failure_keeps_every_attempt_line() -> None:
    outcome = parse.parse_login(captured("notapproved.json"))
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.lines == (
        "user hasn't approved this consumer",
        "fetch failed",
        "fetch failed",
        "user hasn't approved this consumer",
        "user hasn't approved this consumer",
    )


def test_real_success_json() -> None:
    outcome = parse.parse_login(captured("success.login"))
    assert outcome == parse.LoginSuccess(
        username="user@example.com",
        org_id="00D000000000001AAA",
        instance_url="http://127.0.0.1:8555",
        login_url="http://127.0.0.1:8555/",
        is_dev_hub=False,
        is_sandbox=False,
    )


def test_real_success_human() -> None:
    outcome = parse.parse_login(captured("success.login_human"))
    assert isinstance(outcome, parse.LoginSuccess)
    assert (outcome.username, outcome.org_id) == ("user@example.com", "00D000000000001AAA")


def _wrapped(lines: list[str], *, legacy: bool = False) -> str:
    prefix = (
        "We encountered a JSON web token error, which is likely not an issue with Salesforce CLI. Here’s the error: "
    )
    inner = "Error authenticating with JWT.\nErrors encountered:\n" + "\n".join(lines)
    return prefix + (inner if legacy else "JwtAuthError::" + inner)


def _result(doc: dict[str, object] | None, rc: int = 1, stdout: str | None = None, stderr: str = "") -> CommandResult:
    text = json.dumps(doc) if stdout is None else stdout
    return CommandResult(("sf",), rc, text, stderr, 1.0)


def _failure(message: str, name: str = "JwtGrantError", exit_code: int = 1) -> CommandResult:
    return _result({"name": name, "message": message, "exitCode": exit_code, "status": exit_code}, rc=exit_code)


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        # The org's own answer beats the noise from sf's fall-back hosts.
        (
            ["user hasn't approved this consumer", "client identifier invalid", "client identifier invalid"],
            Code.NOT_APPROVED,
        ),
        (["client identifier invalid", "fetch failed", "user hasn’t approved this consumer"], Code.NOT_APPROVED),
        (["audience is invalid  [audience=x login=y]", "client identifier invalid"], Code.AUDIENCE_INVALID),
        (["invalid assertion", "audience is invalid  [audience=x login=y]"], Code.INVALID_ASSERTION),
        (["expired authorization code", "invalid assertion"], Code.EXPIRED_ASSERTION),
        (["user is not admin approved to access this app", "client identifier invalid"], Code.NOT_ADMIN_APPROVED),
        (["External client app is not installed in this org", "fetch failed"], Code.APP_NOT_INSTALLED),
        (["client identifier invalid", "client identifier invalid"], Code.CLIENT_ID_INVALID),
        (["IP restricted or invalid login hours", "user hasn't approved this consumer"], Code.IP_RESTRICTED),
        (["user is inactive", "client identifier invalid"], Code.INACTIVE_USER),
        (["Org is locked, closed, or suspended"], Code.INACTIVE_ORG),
        (["authentication failure", "client identifier invalid"], Code.AUTH_FAILURE),
        (["Number of logins exceeded", "fetch failed"], Code.RATE_LIMITED),
        (
            ["fetch failed", "request to https://x/services/oauth2/token failed, reason: getaddrinfo ENOTFOUND x"],
            Code.NETWORK,
        ),
        (["self-signed certificate in certificate chain"] * 3, Code.NETWORK),
        (["<html><body>Down for maintenance</body></html>", "fetch failed"], Code.SERVER_ERROR),
        (["ERROR_HTTP_503", "client identifier invalid"], Code.SERVER_ERROR),
        (["secretOrPrivateKey must be an asymmetric key when using RS256"] * 5, Code.KEY_INVALID),
        (["secretOrPrivateKey has a minimum key size of 2048 bits for RS256"] * 5, Code.KEY_INVALID),
        (['"alg" parameter for "ec" key type must be one of: ES256, ES384, ES512.'] * 5, Code.KEY_INVALID),
        (["something nobody has seen before", "fetch failed"], Code.UNKNOWN),
    ],
)
def test_mixed_lines_report_the_deepest_stage(lines: list[str], code: Code) -> None:
    outcome = parse.parse_login(_failure(_wrapped(lines)))
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.code is code


def test_no_lines_at_all_is_unknown() -> None:
    assert catalog.classify_lines(()).code is Code.UNKNOWN


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (_wrapped(["user hasn't approved this consumer", "client identifier invalid"], legacy=True), Code.NOT_APPROVED),
        ("Error authenticating with JWT config due to: user hasn't approved this consumer", Code.NOT_APPROVED),
        (
            "ERROR running force:auth:jwt:grant: This org appears to have a problem with its OAuth configuration. "
            "Reason: invalid_grant - invalid assertion",
            Code.INVALID_ASSERTION,
        ),
        (
            "An error occurred authorizing this org. name: invalid_grant message: user hasn't approved this consumer",
            Code.NOT_APPROVED,
        ),
        (
            "We encountered a JSON web token error, which is likely not an issue with Salesforce CLI. Here’s the error: "
            "Error::ENOENT: no such file or directory, open '/tmp/gone/server.key'",
            Code.KEY_NOT_FOUND,
        ),
    ],
)
def test_legacy_wrappers(message: str, code: Code) -> None:
    outcome = parse.parse_login(_failure(message))
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.code is code


@pytest.mark.parametrize(
    ("result", "code", "words"),
    [
        (
            _result(
                {
                    "name": "LightningDomain",
                    "message": "Invalid instance URL. It should NOT be a lightning domain.",
                    "exitCode": 1,
                }
            ),
            Code.LIGHTNING_URL,
            "Lightning",
        ),
        (
            _result({"name": "NonExistentFlagsError", "message": "Nonexistent flag: --nope", "exitCode": 2}, rc=2),
            Code.SF_FAILED,
            "rejected the command line",
        ),
        (
            _result({"name": "TypeError", "message": "Cannot read properties of undefined", "exitCode": 10}, rc=10),
            Code.SF_FAILED,
            "crashed",
        ),
        (
            # sf 2.150.6 when a 200 token reply lacks instance_url and id (the emulator's incomplete_reply).
            _result(
                {
                    "name": "JwtGrantError",
                    "message": "We encountered a JSON web token error, which is likely not an issue with "
                    "Salesforce CLI. Here\u2019s the error: UnexpectedValueTypeError::Value is not a string",
                    "exitCode": 10,
                },
                rc=10,
            ),
            Code.SERVER_ERROR,
            "token reply lacked fields",
        ),
        (_result(None, rc=1, stdout="", stderr=""), Code.SF_FAILED, "printed nothing"),
        (
            _result(None, rc=1, stdout="Segmentation fault\n", stderr="node: bad things"),
            Code.SF_FAILED,
            "printed no JSON",
        ),
        (_result(None, rc=0, stdout="<html>proxy says hi</html>"), Code.SF_FAILED, "printed no JSON"),
        (CommandResult(("sf",), -9, "", "", 3.0), Code.SF_FAILED, "killed by signal 9"),
        (CommandResult(("sf",), -15, "", "", 120.0, timed_out=True), Code.SF_FAILED, "did not finish"),
        (_result({"status": 0, "result": {"orgId": "00D"}}, rc=0), Code.SF_FAILED, "without an org id"),
        # issue 15, item 9: sf misbehaving, not a server error
        (_result({"status": 0}, rc=0), Code.SF_FAILED, "success without a result"),
        (_result({"status": 0, "result": None}, rc=0), Code.SF_FAILED, "success without a result"),
        (_result({"status": 0, "result": []}, rc=0), Code.SF_FAILED, "success without a result"),
    ],
)
def test_sf_own_failures(result: CommandResult, code: Code, words: str) -> None:
    outcome = parse.parse_login(result)
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.code is code
    assert words in outcome.message


def test_json_after_a_warning_line_is_still_read() -> None:
    doc = json.loads((OUT / "success.login.stdout").read_text())
    noisy = "(node:123) Warning: something deprecated\n" + json.dumps(doc)
    outcome = parse.parse_login(CommandResult(("sf",), 0, noisy, "", 1.0))
    assert isinstance(outcome, parse.LoginSuccess)


def test_unknown_json_keys_are_ignored() -> None:
    doc = json.loads((OUT / "success.login.stdout").read_text())
    doc["result"]["somethingNew"] = {"nested": [1, 2]}
    doc["brandNewTopLevel"] = True
    outcome = parse.parse_login(CommandResult(("sf",), 0, json.dumps(doc), "", 1.0))
    assert isinstance(outcome, parse.LoginSuccess)


def test_tokens_in_sf_output_never_reach_the_diagnosis() -> None:
    token = fake_token()
    outcome = parse.parse_login(_result(None, rc=1, stdout=f"weird: {token}", stderr=""))
    assert isinstance(outcome, catalog.Diagnosis)
    assert token not in outcome.message
    assert "[REDACTED TOKEN]" in outcome.message


def test_login_argv_has_no_secrets_and_ends_with_json(tmp_path: Path) -> None:
    from sfjwt_orch.flows.login_request import LoginRequest, Wait, login_request
    from sfjwt_orch.store.profiles import Profile

    profile = Profile("a1", "CID1234567890ABCDEFG", "u@example.com", "https://login.salesforce.com")
    plain = login_request(profile, tmp_path / "server.key", Wait())
    req = LoginRequest(plain.profile, plain.wait, set_default=True, set_default_dev_hub=True)
    argv = sfadapter.login_argv(req)
    assert argv[:3] == ["org", "login", "jwt"]
    assert argv[argv.index("--jwt-key-file") + 1] == str(tmp_path / "server.key")  # a path, never the key
    assert "--set-default" in argv and "--set-default-dev-hub" in argv
    assert argv[-1] == "--json"


def test_sf_env_quiet_local_and_without_inherited_proxy_or_audience() -> None:
    base = {
        "PATH": "/bin",
        "HTTPS_PROXY": "http://proxy:3128",
        "http_proxy": "http://p:1",
        "SF_AUDIENCE_URL": "x",
        "SF_TEMP_SHOW_SECRETS": "true",
        "NODE_OPTIONS": "--max-old-space-size=512",
    }
    env = sfenv.sf_env(base)
    for name in ("SF_DISABLE_TELEMETRY", "SF_DISABLE_AUTOUPDATE", "SF_AUTOUPDATE_DISABLE", "SF_SKIP_NEW_VERSION_CHECK"):
        assert env[name] == "true"
    assert env["HTTP_TIMEOUT"].isdigit()
    assert env["SF_DISABLE_LOG_FILE"] == "true"  # sf's log worker costs up to 1 s at exit
    assert sfenv.sf_env({"SF_DISABLE_LOG_FILE": "false"})["SF_DISABLE_LOG_FILE"] == "false"
    for name in ("HTTPS_PROXY", "http_proxy", "SF_AUDIENCE_URL", "SF_TEMP_SHOW_SECRETS"):
        assert name not in env
    assert env["NODE_OPTIONS"] == "--max-old-space-size=512"  # no guard for a real host
    assert base["HTTPS_PROXY"] == "http://proxy:3128"  # the caller's mapping is not changed


def test_sf_env_keeps_proxy_and_sets_audience_when_asked() -> None:
    base = {
        "HTTPS_PROXY": "http://proxy:3128",
        "SFJWT_ORCH_KEEP_PROXY": "1",
        "SFJWT_ORCH_AUDIENCE_URL": "https://test.salesforce.com",
    }
    env = sfenv.sf_env(base)
    assert env["HTTPS_PROXY"] == "http://proxy:3128"
    assert env["SF_AUDIENCE_URL"] == "https://test.salesforce.com"


def test_sf_env_passes_node_options_through_untouched() -> None:
    # The emulator's loopback guard is handed in by whoever starts the emulator (tests, demo) through
    # NODE_OPTIONS; the adapter knows nothing about it and must keep what it is given.
    guard = '--x --require "/opt/my tools/loopback_guard.cjs"'
    assert sfenv.sf_env({"NODE_OPTIONS": guard})["NODE_OPTIONS"] == guard
    assert "NODE_OPTIONS" not in sfenv.sf_env({})


def test_sf_env_turns_on_nodes_compile_cache_unless_the_user_chose_one() -> None:
    cache = Path("/home/u/.cache/sfjwt-orch/node-compile-cache")
    assert sfenv.sf_env({}, compile_cache=cache)["NODE_COMPILE_CACHE"] == str(cache)
    assert sfenv.sf_env({"NODE_COMPILE_CACHE": "/mine"}, compile_cache=cache)["NODE_COMPILE_CACHE"] == "/mine"
    assert "NODE_COMPILE_CACHE" not in sfenv.sf_env({})  # no folder for it (one could not be made)
    off = sfenv.sf_env({"NODE_DISABLE_COMPILE_CACHE": "1"}, compile_cache=cache)
    assert "NODE_COMPILE_CACHE" not in off  # the user turned it off (Node's own switch, passed on as given)


def test_parse_display_connected() -> None:
    doc = {
        "status": 0,
        "result": {
            "id": "00D000000000001AAA",
            "connectedStatus": "Connected",
            "instanceUrl": "http://127.0.0.1:1",
            "username": "u@example.com",
            "accessToken": fake_token(),
        },
    }
    outcome = parse.parse_display(CommandResult(("sf",), 0, json.dumps(doc), "", 1.0))
    assert outcome == parse.OrgDisplay(True, "Connected", "00D000000000001AAA", "http://127.0.0.1:1", "u@example.com")


def test_an_html_page_becomes_one_line() -> None:
    page = [
        "<!DOCTYPE html>",
        "<html><head><title>Down for Maintenance</title></head>",
        "<body>",
        "<p>Back soon</p>",
        "</body></html>",
    ]
    outcome = parse.parse_login(_failure(_wrapped([*page, "fetch failed", "fetch failed", *page, *page])))
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.code is Code.SERVER_ERROR
    assert outcome.lines == (
        "HTML error page: Down for Maintenance",
        "fetch failed",
        "fetch failed",
        "HTML error page: Down for Maintenance",
        "HTML error page: Down for Maintenance",
    )


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("http://127.0.0.1:8555/", "http://127.0.0.1:8555/"),
        ("https://user:pw@evil.example", ""),  # credentials in a URL are never shown or saved
        ("javascript:alert(1)", ""),
        ("https://acme.my.salesforce.com\x1b[2J", ""),  # control characters would reach the terminal
        ("https://acme.my.salesforce.com:99999", ""),
        ("", ""),
    ],
)
def test_urls_sf_reports_go_through_the_same_parser(reported: str, kept: str) -> None:
    doc = {"status": 0, "result": {"orgId": "00D000000000001AAA", "username": "u@example.com", "instanceUrl": reported}}
    outcome = parse.parse_login(CommandResult(("sf",), 0, json.dumps(doc), "", 1.0))
    assert isinstance(outcome, parse.LoginSuccess) and outcome.instance_url == kept


# --- sf's own files broken (issue 15, item 4): outputs of the real sf 2.150.6, state_* in sf-outputs ---


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("state_alias_garbage.login.json", "Expected property name"),
        ("state_alias_dir.login.json", "EISDIR"),
        ("state_sfdx_file.login.json", "EEXIST"),
        ("state_key_garbage.login.json", "AuthInfoOverwriteError"),
        ("state_key_dir.login.json", "AuthInfoOverwriteError"),
        ("state_fresh_key_garbage.login.json", "Invalid file permissions for secret file"),
    ],
)
def test_broken_sf_state_in_a_login_is_sf_state_broken(case: str, said: str) -> None:
    outcome = parse.classify(captured(case), parse.parse_login)  # the adapter's one path (Sf._call)
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.code is Code.SF_STATE_BROKEN, outcome
    assert said in outcome.message and said in outcome.decided
    assert "See more help" not in outcome.message and "Here" not in outcome.message


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("state_alias_garbage.display.json", "Expected property name"),
        ("state_alias_dir.display.json", "EISDIR"),
        ("state_sfdx_file.display.json", "EEXIST"),
        ("state_key_garbage.display.json", "is not valid JSON"),
        ("state_key_dir.display.json", "Invalid file permissions for secret file"),
        ("state_key_gone.display.json", "Failed to decipher auth data"),
    ],
)
def test_broken_sf_state_in_org_display_is_sf_state_broken_not_log_in_again(case: str, said: str) -> None:
    outcome = parse.classify(captured(case), parse.parse_display)
    assert isinstance(outcome, catalog.Diagnosis)
    assert outcome.code is Code.SF_STATE_BROKEN, outcome
    assert said in outcome.message and "Parsing --target-org" not in outcome.message


@pytest.mark.parametrize(
    "parser",
    [admin.parse_deploy, admin.parse_retrieve, admin.parse_assign, admin.parse_list_metadata, parse.parse_config_set],
)
def test_broken_sf_state_is_sf_state_broken_for_every_command(parser: Any) -> None:
    # Issue 21 item 3: sf reads alias.json to resolve --target-org whatever the command; its answer
    # (here `org display`'s, captured from the real sf) is recognised on the one path, not per parser.
    outcome = parse.classify(captured("state_alias_garbage.display.json"), parser)
    assert isinstance(outcome, catalog.Diagnosis) and outcome.code is Code.SF_STATE_BROKEN, outcome


def test_a_login_that_healed_a_lost_key_json_is_a_success() -> None:
    # With key.json gone sf makes a new one and logs in; only the older stored logins are lost.
    assert isinstance(parse.classify(captured("state_key_gone.login.json"), parse.parse_login), parse.LoginSuccess)


@pytest.mark.parametrize(
    "message",
    [
        # A server's reply that is not JSON reaches us as an attempt line, never as sf's own state.
        "Error authenticating with JWT.\nErrors encountered:\nUnexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
        "Error authenticating with JWT.\nErrors encountered:\nuser hasn't approved this consumer",
    ],
)
def test_server_answers_are_never_sf_state_broken(message: str) -> None:
    outcome = parse.classify(_failure(message, name="JwtAuthError"), parse.parse_login)
    assert isinstance(outcome, catalog.Diagnosis) and outcome.code is not Code.SF_STATE_BROKEN


def test_sf_http_timeout_follows_the_limit_of_one_run() -> None:
    # issue 15, item 8: a server that never answers cannot hold sf longer than the run's own limit.
    assert sfenv.run_timeout({}) == 45.0 and sfenv.sf_env({})["HTTP_TIMEOUT"] == "45000"
    assert sfenv.sf_env({"SFJWT_ORCH_SF_TIMEOUT": "10"})["HTTP_TIMEOUT"] == "10000"
    assert sfenv.sf_env({}, 2.5)["HTTP_TIMEOUT"] == "2500"
    assert sfenv.sf_env({"HTTP_TIMEOUT": "7000"}, 30)["HTTP_TIMEOUT"] == "7000"  # the user's own setting wins
