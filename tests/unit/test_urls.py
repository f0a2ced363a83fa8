"""The one URL parser (validate.parse, on the WHATWG parser sf's Node uses): what it refuses, what it
rebuilds, and the host allow-list. Issue 16 item 1 and issue 15 item 5."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from sfjwt_orch.errors import Code, SfjwtError, exit_code_for
from sfjwt_orch.salesforce import validate
from sfjwt_orch.ui.redact import redact

# (given, code or the URL handed to sf, words the message must hold)
REFUSED = [
    # Two parsers, two hosts: Node reads `\` as `/` (host evil.example), urlsplit as userinfo.
    ("https://evil.example\\@login.salesforce.com", Code.URL_REFUSED, "backslash"),
    ("https://login.salesforce.com\\.evil.example", Code.URL_REFUSED, "backslash"),
    # %-escapes in the host hide which host it is.
    ("https://login.salesforce.com%2F.evil.example", Code.URL_REFUSED, "%-escapes"),
    ("https://login.salesforce.com%5C.evil.example", Code.URL_REFUSED, "%-escapes"),
    ("https://login%2Esalesforce.com", Code.URL_REFUSED, "%-escapes"),
    # Credentials (issue 15 item 5), and an empty userinfo that still moves the host.
    ("https://ci:S3cr3t@login.salesforce.com", Code.URL_REFUSED, "password"),
    ("https://evil.example@login.salesforce.com", Code.URL_REFUSED, "password"),
    ("https://@login.salesforce.com", Code.URL_REFUSED, "password"),
    # IDN look-alikes: Cyrillic a (U+0430) and o (U+043E); a look-alike already in punycode.
    ("https://sаlesforce.com", Code.URL_REFUSED, "non-ASCII"),
    ("https://login.sаlesforce.com", Code.URL_REFUSED, "non-ASCII"),
    ("https://lоgin.salesforce.com", Code.URL_REFUSED, "non-ASCII"),
    ("https://login.xn--slesforce-0yh.com", Code.URL_REFUSED, "non-ASCII"),
    # Not Salesforce's, though it reads like it.
    ("https://evilsalesforce.com", Code.URL_REFUSED, "not a Salesforce host"),
    ("https://login.salesforce.com.evil.example", Code.URL_REFUSED, "not a Salesforce host"),
    ("https://salesforce.com.evil.example:443", Code.URL_REFUSED, "not a Salesforce host"),
    ("https://203.0.113.3", Code.URL_REFUSED, "not a Salesforce host"),
    ("https://login.salesforce.com.", Code.URL_REFUSED, "ends with a dot"),
    ("https://a$b.my.salesforce.com", Code.URL_REFUSED, "no DNS name"),
    # http only on this machine.
    ("http://login.salesforce.com", Code.URL_REFUSED, "http://"),
    ("http://10.0.0.1:8555", Code.URL_REFUSED, "http://"),
    # Not URLs at all, or more than an origin.
    ("https:login.salesforce.com", Code.USAGE, "not a URL"),
    ("https:///login.salesforce.com", Code.USAGE, "not a URL"),
    ("https://login.salesforce.com:99999", Code.USAGE, "invalid port"),
    ("https://acme.my.salesforce.com/secur/frontdoor.jsp", Code.USAGE, "path"),
    ("https://acme.my.salesforce.com#x", Code.USAGE, "fragment"),
    ("https://acme.lightning.force.com", Code.LIGHTNING_URL, "Lightning"),
    ("https://acme.lightning.crmforce.mil", Code.LIGHTNING_URL, "Lightning"),
]

ACCEPTED = [
    ("https://login.salesforce.com", "https://login.salesforce.com"),
    ("HTTPS://Login.Salesforce.COM:443/", "https://login.salesforce.com"),  # rebuilt: case, default port
    ("https://acme--uat.sandbox.my.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com"),
    ("https://acme.scratch.my.salesforce.com", "https://acme.scratch.my.salesforce.com"),
    ("https://acme.my.salesforce.mil", "https://acme.my.salesforce.mil"),  # Government Cloud Plus - Defense
    ("https://acme.my.sfcrmproducts.cn", "https://acme.my.sfcrmproducts.cn"),  # Salesforce on Alibaba Cloud
    ("https://na1.cloudforce.com", "https://na1.cloudforce.com"),
    ("https://acme.my.site.force.com", "https://acme.my.site.force.com"),
    # Loopback, as the WHATWG parser (and so Node) normalises it: the emulator's URLs stay allowed.
    ("http://127.1:8555", "http://127.0.0.1:8555"),
    ("http://2130706433:8555", "http://127.0.0.1:8555"),
    ("http://0x7f.0.0.1:8555/", "http://127.0.0.1:8555"),
    ("http://127.8.9.10:1", "http://127.8.9.10:1"),
    ("http://[::1]:8555", "http://[::1]:8555"),
    ("http://LOCALHOST:8555", "http://localhost:8555"),
]


@pytest.mark.parametrize(("url", "code", "why"), REFUSED)
def test_instance_url_refused_with_the_reason(url: str, code: Code, why: str) -> None:
    with pytest.raises(SfjwtError) as err:
        validate.check_instance_url(url)
    assert err.value.code is code, err.value.message
    assert why in err.value.message and err.value.fix
    assert exit_code_for(code) == 2
    assert "S3cr3t" not in err.value.message + err.value.fix  # never echoed, even before redaction


@pytest.mark.parametrize(("url", "rebuilt"), ACCEPTED)
def test_instance_url_rebuilt_from_its_parsed_parts(url: str, rebuilt: str) -> None:
    assert validate.check_instance_url(url) == rebuilt


def test_non_salesforce_host_only_with_the_opt_in() -> None:
    with pytest.raises(SfjwtError) as err:
        validate.check_instance_url("https://sf-proxy.acme.example")
    assert err.value.code is Code.URL_REFUSED and validate.ALLOW_FLAG in err.value.fix
    assert validate.check_instance_url("https://SF-Proxy.acme.example:8443/", allow_any_host=True) == (
        "https://sf-proxy.acme.example:8443"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@login.salesforce.com",  # the opt-in is about the host, not the parsing
        "https://user:pw@sf-proxy.acme.example",
        "http://sf-proxy.acme.example",
        "https://sаlesforce.com",
    ],
)
def test_the_opt_in_never_lets_an_ambiguous_url_through(url: str) -> None:
    with pytest.raises(SfjwtError) as err:
        validate.check_instance_url(url, allow_any_host=True)
    assert err.value.code is Code.URL_REFUSED


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://localhost:1717/OauthRedirect", "http://localhost:1717/OauthRedirect"),
        ("http://localhost:1717", "http://localhost:1717"),  # as registered: redirect_uri must match exactly
        ("http://127.1:1717/cb?x=1", "http://127.0.0.1:1717/cb?x=1"),
        ("https://app.acme.com/oauth/callback", "https://app.acme.com/oauth/callback"),
    ],
)
def test_callback_url_rebuilt(url: str, kept: str) -> None:
    assert validate.check_callback_url(url) == kept


@pytest.mark.parametrize(
    "url",
    ["http://app.acme.com/cb", "http://evil.example\\@localhost:1717/", "http://u:p@localhost:1717/", "ftp://x/"],
)
def test_callback_url_refused(url: str) -> None:
    with pytest.raises(SfjwtError) as err:
        validate.check_callback_url(url)
    assert err.value.code in (Code.URL_REFUSED, Code.USAGE)


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("https://ACME.my.salesforce.com/", "https://acme.my.salesforce.com/"),
        ("http://127.0.0.1:8555/", "http://127.0.0.1:8555/"),
        ("https://evil.example", ""),  # a token endpoint that reports a host not Salesforce's
        ("https://evil.example\\@acme.my.salesforce.com", ""),
        ("https://u:p@acme.my.salesforce.com", ""),
        ("http://acme.my.salesforce.com", ""),
    ],
)
def test_reported_url_goes_through_the_same_rules(reported: str, kept: str) -> None:
    assert validate.reported_url(reported) == kept


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    # RFC 7636 appendix B's example.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert validate.pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = validate.authorize_url(validate.PRODUCTION, "3MVG9KEY", validate.DEFAULT_CALLBACK, "st", digest)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge"] == [digest] and query["code_challenge_method"] == ["S256"]


@pytest.mark.parametrize(
    "text",
    [
        "sf said: connect ECONNREFUSED https://user:s3cret@acme.my.salesforce.com/services/oauth2/token",
        '{"instanceUrl": "https://user:s3cret@acme.my.salesforce.com"}',
        "--instance-url 'https://ci:s3cret/x@evil.example' is not a URL",  # a / in the password
    ],
)
def test_userinfo_redacted_whatever_the_source(text: str) -> None:
    out = redact(text)
    assert "s3cret" not in out and "[REDACTED]@" in out


@pytest.mark.parametrize(
    "text",
    [
        "pip install git+https://github.com/acme/sfjwt-orch@v0.1.0",  # a pinned tag, not a user
        "https://acme.my.salesforce.com:8443/path@x",
        "see https://login.salesforce.com/ (mail ci@acme.com)",
    ],
)
def test_urls_without_userinfo_are_left_whole(text: str) -> None:
    assert redact(text) == text
