"""Pure checks and builders: URLs, ids, PEM shapes, redaction, exit codes, profiles."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sfjwt_orch.errors import Code, Exit, SfjwtError, exit_code_for
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import profiles
from sfjwt_orch.store.paths import Paths, check_alias
from sfjwt_orch.tools import openssl
from sfjwt_orch.ui import interactive
from sfjwt_orch.ui.redact import redact
from tests import documents
from tests.fakesecrets import fake_token, pem_block, random_body


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://login.salesforce.com/", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com"),
        ("http://127.0.0.1:8555", "http://127.0.0.1:8555"),
        ("http://localhost:8555/", "http://localhost:8555"),
    ],
)
def test_instance_url_accepted(url: str, expected: str) -> None:
    assert validate.check_instance_url(url) == expected


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("login.salesforce.com", Code.USAGE),
        ("not a url", Code.USAGE),
        ("ftp://login.salesforce.com", Code.USAGE),
        ("http://acme.my.salesforce.com", Code.URL_REFUSED),  # http on a host not this machine: a policy
        ("https://acme.lightning.force.com", Code.LIGHTNING_URL),
        ("https://acme.my.salesforce.com/home", Code.USAGE),
        ("https://acme.my.salesforce.com?x=1", Code.USAGE),
        ("https://acme.my.salesforce.com:99999", Code.USAGE),
    ],
)
def test_instance_url_refused(url: str, code: Code) -> None:
    with pytest.raises(SfjwtError) as err:
        validate.check_instance_url(url)
    assert err.value.code is code
    assert err.value.fix


def test_lightning_fix_names_the_my_domain() -> None:
    with pytest.raises(SfjwtError) as err:
        validate.check_instance_url("https://acme.lightning.force.com")
    assert "https://acme.my.salesforce.com" in err.value.fix


@pytest.mark.parametrize("value", ["short", "has spaces in it 1234567890", "", "x" * 300])
def test_client_id_refused(value: str) -> None:
    with pytest.raises(SfjwtError):
        validate.check_client_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "not-an-email",
        "a@b",
        "a b@c.com",
        "@acme.com",
        "../../x@acme.com",  # sf builds its auth file's path from the username
        "a/b@acme.com",
        "a\\b@acme.com",
        "$(id)@acme.com",
        "a(b)@acme.com",
        "a\tb@acme.com",
        "a\x1b[2J@acme.com",
        "a\n@acme.com",
        "x" * 70 + "@acme.com.uat",  # 83 characters: Salesforce allows 80
        "a..b@acme.com",
        "ünï@acme.com",
    ],
)
def test_username_refused(value: str) -> None:
    with pytest.raises(SfjwtError) as err:
        validate.check_username(value)
    assert err.value.code is Code.USAGE and "\n" not in err.value.message and "\x1b" not in err.value.message


@pytest.mark.parametrize(
    "value",
    ["o'brien@acme.com", "a`id`@acme.com", "a$HOME@acme.com", "a+b{c}|d~e@acme.com.uat"],
)
def test_username_grammar_accepts_atext(value: str) -> None:
    """RFC 5322 atext is accepted (and quoted in every command we print), except / \\ ( ) and spaces."""
    assert validate.check_username(value) == value


def test_username_and_client_id_accepted() -> None:
    assert validate.check_username(" ci@acme.com.uat ") == "ci@acme.com.uat"
    assert validate.check_client_id("3MVG9abcdefghijklmnop.QRS") == "3MVG9abcdefghijklmnop.QRS"


def test_authorize_url_round_trips() -> None:
    url = validate.authorize_url("https://acme.my.salesforce.com/", "3MVG9KEY", "http://localhost:1717/OauthRedirect")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "acme.my.salesforce.com", "/services/oauth2/authorize")
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["3MVG9KEY"],
        "redirect_uri": ["http://localhost:1717/OauthRedirect"],
    }
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A1717%2FOauthRedirect" in url


@pytest.mark.parametrize("alias", ["../x", "a/b", "", ".hidden", "a" * 65, "x..y", "sp ace"])
def test_alias_with_path_characters_refused(alias: str) -> None:
    with pytest.raises(SfjwtError) as err:
        check_alias(alias)
    assert err.value.code is Code.USAGE


PEM_BODY = "\n".join(random_body(2)) + "\n"  # random bytes: no key material in the repository


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("\x00\x01\x02garbage", "binary"),
        (pem_block("CERTIFICATE", ["MIIB"]), "certificate"),
        (pem_block("PUBLIC KEY", ["MIIB"]), "public key"),
        (pem_block("ENCRYPTED PRIVATE KEY", ["MIIB"]), "passphrase"),
        (pem_block("RSA PRIVATE KEY", ["Proc-Type: 4,ENCRYPTED", "DEK-Info: x", "", "MIIB"]), "passphrase"),
        (pem_block("EC PRIVATE KEY", ["MHcC"]), "EC key"),
        (pem_block("OPENSSH PRIVATE KEY", ["b3Bl"]), "OpenSSH"),
        (pem_block("PRIVATE KEY", random_body(2), newline=" "), "line breaks"),
        ("just some text", "no PEM"),
    ],
)
def test_pem_problems(text: str, words: str) -> None:
    problem = openssl.pem_problem(text)
    assert problem is not None and words in problem


@pytest.mark.parametrize("kind", ["PRIVATE KEY", "RSA PRIVATE KEY"])
def test_pem_plausible_keys_pass(kind: str) -> None:
    assert openssl.pem_problem(f"-----BEGIN {kind}-----\n{PEM_BODY}-----END {kind}-----\n") is None
    assert (
        openssl.pem_problem(
            f"-----BEGIN {kind}-----\r\n{PEM_BODY.replace(chr(10), chr(13) + chr(10))}-----END {kind}-----\r\n"
        )
        is None
    )


@pytest.mark.parametrize("subject", ["CN=x", "/CN", "", "/=x"])
def test_subject_refused(subject: str) -> None:
    with pytest.raises(SfjwtError):
        openssl.check_subject(subject)


@pytest.mark.parametrize(
    ("args", "begun"),
    [
        (["keygen", "--alias", "hub"], True),
        (["keygen", "--alias", "hub", "--force", "--json", "--days", "30"], True),  # --days: the certificate's
        (["keygen", "--alias", "hub", "--bits", "4096"], False),  # another size: begun after the parse
        (["keygen", "--alias", "hub", "--bits=2048"], False),
        (["keygen", "--help"], False),
        (["keygen", "-h"], False),
        (["login", "--alias", "hub"], False),
        (["bootstrap", "--alias", "keygen"], False),
        ([], False),
    ],
)
def test_which_command_lines_begin_keygens_key_before_the_cli(args: list[str], begun: bool) -> None:
    from sfjwt_orch.__main__ import begins_key

    assert begins_key(args) is begun


def test_redact_tokens_keys_and_json_fields() -> None:
    token, body = fake_token(), random_body(1)
    text = (
        f'token {token} and "accessToken": "abc" and "access_token":"q" '
        "Authorization: Bearer abcdefghijklmnopqrstuvwx "
        f"{pem_block('PRIVATE KEY', body).rstrip()} tail, Enable JWT Bearer Flow"
    )
    out = redact(text)
    for secret in (token.split("!")[1], '"abc"', '"q"', "abcdefghijklmnopqrstuvwx", body[0]):
        assert secret not in out
    assert out.endswith("tail, Enable JWT Bearer Flow")


def test_every_code_has_a_documented_exit_code() -> None:
    expected = {
        Code.NOT_APPROVED: Exit.NOT_APPROVED,
        Code.SF_NOT_FOUND: Exit.TOOL,
        Code.OPENSSL_NOT_FOUND: Exit.TOOL,
        Code.SF_FAILED: Exit.TOOL,
        Code.KEY_INVALID: Exit.USAGE,
        Code.KEY_NOT_FOUND: Exit.USAGE,
        Code.LIGHTNING_URL: Exit.USAGE,
        Code.USAGE: Exit.USAGE,
        Code.INTERRUPTED: Exit.INTERRUPTED,
        Code.INTERNAL: Exit.UNEXPECTED,
        Code.NETWORK: Exit.REFUSED,
        Code.CLIENT_ID_INVALID: Exit.REFUSED,
        Code.UNKNOWN: Exit.REFUSED,
    }
    for code, exit_code in expected.items():
        assert exit_code_for(code) is exit_code
    assert {int(exit_code_for(c)) for c in Code} <= {0, 1, 2, 3, 4, 5, 6, 130}


def test_every_code_has_its_exit_code_written_out() -> None:
    # Issue 21 item 7: no default any more (it mapped app create's codes to 3 without saying so);
    # a code added without an exit code fails here.
    from sfjwt_orch.errors import EXIT_OF

    assert set(EXIT_OF) == set(Code), f"codes without an exit code: {set(Code) - set(EXIT_OF)}"
    meanings = {exit_code: {c for c, e in EXIT_OF.items() if e is exit_code} for exit_code in Exit}
    assert meanings[Exit.UNEXPECTED] == {Code.INTERNAL}, "exit 1 means a bug, and only that"
    assert meanings[Exit.ATTENTION] == {Code.CHECK_FAILED}


def test_readme_documents_every_code() -> None:
    docs = documents.all_text()
    missing = [c.value for c in Code if f"`{c.value}`" not in docs]
    assert not missing, f"README (with its docs/ pages) lacks outcome codes: {missing}"


def test_profile_round_trip_and_override(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    profile = profiles.Profile(alias="a1", client_id='we"ird\\id', username="u@example.com", key_file="/k/server.key")
    assert profiles.save(paths, profile) is True
    path = paths.profile_file("a1")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert profiles.load(paths, "a1") == profile
    merged = profile.merged(profiles.Profile(alias="a1", username="other@example.com"))  # "": not given
    assert (merged.username, merged.client_id, merged.instance_url) == ("other@example.com", 'we"ird\\id', "")
    assert profiles.list_aliases(paths) == ["a1"]
    assert profiles.load(paths, "nobody") is None


def test_corrupt_profile_names_file_and_line_and_is_left_alone(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    path = paths.profile_file("a1")
    path.parent.mkdir(parents=True)
    text = 'client_id = "ok"\nusername = oops no quotes\n'
    path.write_text(text)
    with pytest.raises(SfjwtError) as err:
        profiles.load(paths, "a1")
    assert err.value.code is Code.PROFILE_INVALID
    assert str(path) in err.value.message and "line 2" in err.value.message
    assert path.read_text() == text


@pytest.mark.parametrize(
    ("env", "ci"),
    [
        ({}, False),
        ({"CI": "true"}, True),
        ({"CI": "false"}, False),
        ({"GITHUB_ACTIONS": "true"}, True),
        ({"JENKINS_URL": "http://j"}, True),
        ({"CI": "0"}, False),
    ],
)
def test_ci_detection(env: dict[str, str], ci: bool) -> None:
    assert interactive.is_ci(env) is ci


def test_browser_flag_wins_and_default_needs_a_person() -> None:
    assert interactive.should_open_browser(True, {"CI": "true"}) is True
    assert interactive.should_open_browser(False, {"BROWSER": "x"}) is False
    # pytest's stdin is not a terminal: no person, so no browser by default.
    assert interactive.should_open_browser(None, {"BROWSER": "x", "DISPLAY": ":0"}) is False


def test_readme_outcome_table_matches_the_exit_code_of_every_code() -> None:
    import re

    page = documents.readme_pages()["docs/outcomes.md"]
    table = page.split("# Outcome codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", table, re.MULTILINE))
    assert set(rows) == {c.value for c in Code}, "the outcome table (docs/outcomes.md) and errors.Code disagree"
    wrong = {
        code: (rows[code.value], int(exit_code_for(code)))
        for code in Code
        if int(rows[code.value]) != exit_code_for(code)
    }
    assert not wrong, f"README exit codes differ from the code's: {wrong}"
