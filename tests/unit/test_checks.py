"""Pure checks and builders: URLs, ids, PEM shapes, redaction, exit codes, profiles."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sfjwt_orch import approval, config, interactive, openssl
from sfjwt_orch.errors import Code, Exit, SfjwtError, exit_code_for
from sfjwt_orch.paths import Paths, check_alias
from sfjwt_orch.redact import redact
from tests.fakesecrets import fake_token, pem_block, random_body
from tests.keypairs import make_keypair


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
    assert approval.check_instance_url(url) == expected


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("login.salesforce.com", Code.USAGE),
        ("not a url", Code.USAGE),
        ("ftp://login.salesforce.com", Code.USAGE),
        ("http://acme.my.salesforce.com", Code.USAGE),
        ("https://acme.lightning.force.com", Code.LIGHTNING_URL),
        ("https://acme.my.salesforce.com/home", Code.USAGE),
        ("https://acme.my.salesforce.com?x=1", Code.USAGE),
        ("https://acme.my.salesforce.com:99999", Code.USAGE),
    ],
)
def test_instance_url_refused(url: str, code: Code) -> None:
    with pytest.raises(SfjwtError) as err:
        approval.check_instance_url(url)
    assert err.value.code is code
    assert err.value.fix


def test_lightning_fix_names_the_my_domain() -> None:
    with pytest.raises(SfjwtError) as err:
        approval.check_instance_url("https://acme.lightning.force.com")
    assert "https://acme.my.salesforce.com" in err.value.fix


@pytest.mark.parametrize("value", ["short", "has spaces in it 1234567890", "", "x" * 300])
def test_client_id_refused(value: str) -> None:
    with pytest.raises(SfjwtError):
        approval.check_client_id(value)


@pytest.mark.parametrize("value", ["not-an-email", "a@b", "a b@c.com", "@acme.com"])
def test_username_refused(value: str) -> None:
    with pytest.raises(SfjwtError):
        approval.check_username(value)


def test_username_and_client_id_accepted() -> None:
    assert approval.check_username(" ci@acme.com.uat ") == "ci@acme.com.uat"
    assert approval.check_client_id("3MVG9abcdefghijklmnop.QRS") == "3MVG9abcdefghijklmnop.QRS"


def test_authorize_url_round_trips() -> None:
    url = approval.authorize_url("https://acme.my.salesforce.com/", "3MVG9KEY", "http://localhost:1717/OauthRedirect")
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


PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n"


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
    assert {int(exit_code_for(c)) for c in Code} <= {0, 1, 2, 3, 4, 5, 130}


def test_readme_documents_every_code() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [c.value for c in Code if f"`{c.value}`" not in readme]
    assert not missing, f"README lacks outcome codes: {missing}"


def test_profile_round_trip_and_override(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    profile = config.Profile(alias="a1", client_id='we"ird\\id', username="u@example.com", key_file="/k/server.key")
    path = config.save(paths, profile)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert config.load(paths, "a1") == profile
    merged = profile.merged(username="other@example.com", client_id=None, instance_url="")
    assert (merged.username, merged.client_id, merged.instance_url) == ("other@example.com", 'we"ird\\id', "")
    assert config.list_aliases(paths) == ["a1"]
    assert config.load(paths, "nobody") is None


def test_corrupt_profile_names_file_and_line_and_is_left_alone(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    path = paths.profile_file("a1")
    path.parent.mkdir(parents=True)
    text = 'client_id = "ok"\nusername = oops no quotes\n'
    path.write_text(text)
    with pytest.raises(SfjwtError) as err:
        config.load(paths, "a1")
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


@pytest.mark.parametrize("days", [30, 36500])  # UTCTime before 2050, GeneralizedTime after (RFC 5280)
def test_read_cert_matches_openssl(tmp_path: Path, days: int) -> None:
    import subprocess
    from datetime import UTC, datetime

    from sfjwt_orch.keys import read_cert

    cert = make_keypair(tmp_path, "t", days=days).cert
    out = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-enddate", "-fingerprint", "-sha256", "-modulus"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = dict(line.split("=", 1) for line in out.splitlines())
    info = read_cert(cert)
    end = datetime.strptime(" ".join(fields["notAfter"].split()), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    assert info.not_after == end
    assert info.fingerprint_sha256 == fields["sha256 Fingerprint"]
    assert info.modulus == int(fields["Modulus"], 16)


UTC_TIME, GENERALIZED_TIME = 0x17, 0x18


@pytest.mark.parametrize(
    ("tag", "raw", "expected"),
    [
        (UTC_TIME, b"491231235959Z", (2049, 12, 31, 23, 59, 59)),  # RFC 5280: YY < 50 is 20YY
        (UTC_TIME, b"500101000000Z", (1950, 1, 1, 0, 0, 0)),  # and YY >= 50 is 19YY
        (UTC_TIME, b"240229120000Z", (2024, 2, 29, 12, 0, 0)),
        (GENERALIZED_TIME, b"20510615083000Z", (2051, 6, 15, 8, 30, 0)),
    ],
)
def test_certificate_times_are_read_as_rfc_5280_says(tag: int, raw: bytes, expected: tuple[int, ...]) -> None:
    from datetime import UTC, datetime

    from sfjwt_orch.x509 import _time

    assert _time((tag, raw)) == datetime(*expected, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tag", "raw"),
    [
        (UTC_TIME, b"230229120000Z"),  # no 29 February in 2023
        (UTC_TIME, b"241301000000Z"),  # month 13
        (UTC_TIME, b"240101240000Z"),  # hour 24
        (UTC_TIME, b"2401011200Z"),  # no seconds
        (UTC_TIME, b"240101120000"),  # no Z
        (UTC_TIME, b"240101120000+0100"),  # an offset, which RFC 5280 forbids
        (UTC_TIME, b"24-1-1120000Z"),  # signs are not digits
        (UTC_TIME, "24０1011200００Z".encode()),  # nor are fullwidth digits
        (GENERALIZED_TIME, b"240101120000Z"),  # a UTCTime in a GeneralizedTime
        (0x04, b"240101120000Z"),  # not a time at all
    ],
)
def test_malformed_certificate_times_are_refused(tag: int, raw: bytes) -> None:
    from sfjwt_orch.x509 import CertificateError, _time

    with pytest.raises(CertificateError):
        _time((tag, raw))


@pytest.mark.parametrize("text", ["", pem_block("PRIVATE KEY", ["AAAA"]), "garbage"])
def test_read_cert_refuses_non_certificates(tmp_path: Path, text: str) -> None:
    from sfjwt_orch.keys import read_cert

    path = tmp_path / "c.crt"
    path.write_text(text)
    with pytest.raises(SfjwtError) as err:
        read_cert(path)
    assert err.value.code is Code.CERT_INVALID


@pytest.mark.parametrize(
    ("argv", "bits"),
    [
        (["genrsa", "2048"], 2048),  # PKCS#8 "PRIVATE KEY" (OpenSSL 3 default)
        (["genrsa", "-traditional", "3072"], 3072),  # PKCS#1 "RSA PRIVATE KEY"
        (["genrsa", "1024"], 1024),
    ],
)
def test_private_key_modulus_matches_openssl(argv: list[str], bits: int) -> None:
    import subprocess

    from sfjwt_orch.x509 import private_key_modulus

    pem = subprocess.run(["openssl", *argv], check=True, capture_output=True, text=True).stdout
    modulus = subprocess.run(
        ["openssl", "rsa", "-noout", "-modulus"], input=pem, check=True, capture_output=True, text=True
    ).stdout.split("=")[1]
    assert private_key_modulus(pem) == int(modulus, 16)
    assert private_key_modulus(pem).bit_length() == bits


def test_private_key_modulus_refuses_ec_keys() -> None:
    import subprocess

    from sfjwt_orch.x509 import KeyFormatError, private_key_modulus

    pem = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "BEGIN PRIVATE KEY" in pem
    with pytest.raises(KeyFormatError, match="not an RSA key"):
        private_key_modulus(pem)


def test_readme_outcome_table_matches_the_exit_code_of_every_code() -> None:
    import re

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme.split("## Outcome codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", table, re.MULTILINE))
    assert set(rows) == {c.value for c in Code}, "the README table and errors.Code disagree"
    wrong = {
        code: (rows[code.value], int(exit_code_for(code)))
        for code in Code
        if int(rows[code.value]) != exit_code_for(code)
    }
    assert not wrong, f"README exit codes differ from the code's: {wrong}"


@pytest.mark.parametrize(
    ("args", "plan"),
    [
        (["keygen", "--alias", "hub"], (2048, 365, "/CN=hub")),
        (["keygen", "-a", "hub", "--force", "--json"], (2048, 365, "/CN=hub")),
        (["keygen", "--alias=my-hub.org_2", "--out-dir", "keys"], (2048, 365, "/CN=my-hub.org_2")),
        (["keygen", "--out-dir=keys", "--alias", "a", "--alias", "b"], (2048, 365, "/CN=b")),  # the last wins
        (["keygen"], None),  # no alias: the CLI says so
        (["keygen", "--alias"], None),
        (["keygen", "--alias", "../x"], None),  # nothing that is not a plain alias reaches -subj
        (["keygen", "--alias", "a/b"], None),
        (["keygen", "--alias", "hub", "--bits", "4096"], None),  # other sizes, lifetimes, subjects
        (["keygen", "--alias", "hub", "--bits=3072"], None),
        (["keygen", "--alias", "hub", "--days", "30"], None),
        (["keygen", "--alias", "hub", "--subject", "/CN=x"], None),
        (["keygen", "--alias", "hub", "--help"], None),
        (["keygen", "-h"], None),
        (["keygen", "--alias", "hub", "--frce"], None),  # a typo
        (["keygen", "-a=hub"], None),  # click would read the alias as "=hub"
        (["login", "--alias", "hub"], None),
        (["bootstrap", "--alias", "hub"], None),  # makes its pair after questions, if at all
        ([], None),
    ],
)
def test_a_pair_gets_a_head_start_only_for_a_keygen_with_the_defaults(
    args: list[str], plan: tuple[int, int, str] | None
) -> None:
    from sfjwt_orch import headstart

    assert headstart.plan(args) == plan


def test_the_head_start_makes_the_pair_keygen_defaults_to() -> None:
    import inspect

    from sfjwt_orch import headstart
    from sfjwt_orch.commands import keygen

    params = inspect.signature(keygen.run).parameters
    assert params["bits"].default.default == headstart.DEFAULT_BITS
    assert params["days"].default.default == headstart.DEFAULT_DAYS
    assert params["subject"].default.default is None  # and the subject is /CN=<alias>, as plan() makes it


def test_a_printed_fix_quotes_a_path_with_a_space(tmp_path: Path) -> None:
    """The default data folder on macOS is ~/Library/Application Support: the fix must paste as is."""
    import shlex

    from sfjwt_orch.keys import check_key_file

    pair = make_keypair(tmp_path / "Application Support", "server")
    pair.key.chmod(0o644)
    with pytest.raises(SfjwtError) as caught:
        check_key_file(pair.key)
    assert shlex.split(caught.value.fix.split(": ", 1)[1]) == ["chmod", "600", str(pair.key)]
