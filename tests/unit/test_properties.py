"""Properties, fuzzed with hypothesis: the parsers never crash and always answer with a known code,
keys survive every encoding a secret store makes of them, URLs round-trip, secrets never survive
redaction.
"""

from __future__ import annotations

import base64
import json
import re
import string
from urllib.parse import parse_qs, urlsplit

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import material
from sfjwt_orch.salesforce import validate
from sfjwt_orch.tools.runner import CommandResult
from sfjwt_orch.tools.sf import catalog, parse
from sfjwt_orch.ui.redact import redact
from tests.fakesecrets import fake_token, pem_block, random_body

# The autouse isolated_env fixture only points dirs at tmp_path; no example depends on per-test state.
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
WRAP = "Here’s the error: JwtAuthError::Error authenticating with JWT.\nErrors encountered:\n"
TOKEN = fake_token()
PEM_BODY = tuple(random_body(2))
PEM = pem_block("RSA PRIVATE KEY", list(PEM_BODY))
GLUED = fake_token("00D5g000004XyZ1")  # for the explicit examples below
CODES = set(Code)


# --- strategies ---

PATTERNS = sorted({p for entry in catalog.CATALOG for p in entry.patterns})
lines = st.one_of(
    st.text(max_size=60),
    st.sampled_from(PATTERNS),
    st.sampled_from(PATTERNS).map(str.upper),
    st.just(""),
    st.just(TOKEN),
    st.just(PEM),
)
messages = st.one_of(
    st.text(),
    st.lists(lines, max_size=6).map(lambda ls: WRAP + "\n".join(ls)),
    st.lists(lines, max_size=6).map("\n".join),
    st.text().map(lambda t: "Error authenticating with JWT config due to: " + t),
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
results = st.fixed_dictionaries(
    {},
    optional={
        "orgId": st.sampled_from(["00D000000000001AAA"]) | values,
        "username": st.emails() | values,
        "instanceUrl": values,
        "loginUrl": values,
        "isDevHub": values,
        "isSandbox": values,
        "accessToken": st.just(TOKEN),
        "privateKey": st.just(PEM),
    },
)
docs = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from([0, 1, 2]) | values,
        "result": results | values,
        "name": st.sampled_from(
            ["JwtGrantError", "LightningDomain", "RequiredFlagsError", "FlagsError", "FlagValidationError", "TypeError"]
        )
        | values,
        "message": messages | values,
        "exitCode": st.sampled_from([0, 1, 2, 10, 20]) | values,
        "code": values,
        "warnings": values,
        "stack": st.just(f"at {TOKEN}\n{PEM}"),
    },
).flatmap(lambda known: st.dictionaries(st.text(max_size=8), values, max_size=3).map(lambda extra: {**extra, **known}))
stdouts = st.one_of(
    st.text(),
    messages,
    docs.map(json.dumps),
    st.tuples(st.text(max_size=20), docs.map(json.dumps), st.text(max_size=20)).map("".join),  # noise around JSON
)
stderrs = st.one_of(st.text(), messages.map(lambda m: f"Error (1): {m}\nWarning: something\n"))
returncodes = st.sampled_from([0, 1, 2, 10, 20, 127, -9, -11]) | st.integers(-64, 255)


def _assert_diagnosis(out: catalog.Diagnosis) -> None:
    assert out.code in CODES
    assert isinstance(out.message, str) and out.message and isinstance(out.fix, str) and out.fix
    assert len(out.message.splitlines()) == 1, "an error message must stay one line"
    assert all(isinstance(line, str) and len(line) <= 300 for line in out.lines)


# --- the sf output parser and classifier ---


@FAST
@given(stdout=stdouts, stderr=stderrs, rc=returncodes, timed_out=st.booleans())
@example(stdout="[" * 100_000, stderr="", rc=1, timed_out=False)  # nesting deeper than json can recurse
@example(stdout="{" + "[" * 100_000 + "}", stderr="", rc=1, timed_out=False)
def test_parse_login_never_raises_and_always_maps_to_a_known_code(
    stdout: str, stderr: str, rc: int, timed_out: bool
) -> None:
    out = parse.parse_login(CommandResult(("sf",), rc, stdout, stderr, 1.0, timed_out))
    if isinstance(out, parse.LoginSuccess):
        assert rc == 0 and not timed_out and out.org_id and out.username
    else:
        _assert_diagnosis(out)


@FAST
@given(stdout=stdouts, stderr=stderrs, rc=returncodes, timed_out=st.booleans())
def test_parse_display_never_raises(stdout: str, stderr: str, rc: int, timed_out: bool) -> None:
    out = parse.parse_display(CommandResult(("sf",), rc, stdout, stderr, 1.0, timed_out))
    if isinstance(out, catalog.Diagnosis):
        _assert_diagnosis(out)
    else:
        assert isinstance(out.connected, bool) and isinstance(out.org_id, str)


@FAST
@given(st.lists(lines, max_size=8).map(tuple))
def test_classify_lines_always_gives_a_known_code_for_every_line(attempts: tuple[str, ...]) -> None:
    out = catalog.classify_lines(attempts)
    _assert_diagnosis(out)
    assert len(out.lines) == len(attempts)
    if any(catalog.classify_line(line).code is Code.NOT_APPROVED for line in attempts):
        assert out.code is not Code.NETWORK  # an answer from Salesforce beats "no answer"


@FAST
@given(messages)
def test_attempt_lines_never_raises(message: str) -> None:
    out = catalog.attempt_lines(message)
    assert isinstance(out, tuple) and out and all(isinstance(line, str) for line in out)


@FAST
@given(before=st.lists(lines, max_size=4), after=st.lists(lines, max_size=4), human=st.booleans())
def test_no_token_or_key_line_survives_the_parser(before: list[str], after: list[str], human: bool) -> None:
    message = WRAP + "\n".join([*before, f"refused for {TOKEN}", PEM, *after])
    result = (
        CommandResult(("sf",), 1, "", f"Error (1): {message}", 1.0)
        if human
        else CommandResult(("sf",), 1, json.dumps({"status": 1, "name": "JwtGrantError", "message": message}), "", 1.0)
    )
    out = parse.parse_login(result)
    assert isinstance(out, catalog.Diagnosis)
    shown = "\n".join([out.message, out.fix, *out.lines])
    assert TOKEN.split("!")[1] not in shown
    assert not [line for line in PEM_BODY if line in shown]


# --- keys.normalise_pem ---


def _assert_well_formed_pem(pem: str) -> None:
    assert pem.endswith("\n")
    rows = pem[:-1].split("\n")
    begin = re.fullmatch(r"-----BEGIN ([A-Z ]+)-----", rows[0])
    assert begin is not None, rows[0]
    assert rows[-1] == f"-----END {begin.group(1)}-----"
    body = rows[1:-1]
    assert body and all(len(row) == 64 for row in body[:-1]) and 1 <= len(body[-1]) <= 64
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", "".join(body))


labels = st.sampled_from(["PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "CERTIFICATE", "A", "X Y"])
pemish = st.builds(
    lambda begin, body, end, sep, pre, post: f"{pre}-----BEGIN {begin}-----{sep}{body}{sep}-----END {end}-----{post}",
    labels,
    st.text(alphabet=B64 + "= \n", max_size=200),
    labels | labels,
    st.sampled_from(["\n", "\\n", " ", "", "\r\n"]),
    st.text(max_size=5),
    st.text(max_size=5),
)
key_texts = st.one_of(
    st.text(),
    pemish,
    pemish.map(lambda t: base64.b64encode(t.encode()).decode()),
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
)


@FAST
@given(key_texts)
@example("-----BEGIN A-----\\n" + "QUJD" * 40 + "\\n-----END A-----")
def test_normalise_pem_returns_well_formed_pem_or_key_invalid(raw: str) -> None:
    try:
        pem = material.normalise_pem(raw)
    except SfjwtError as exc:
        assert exc.code is Code.KEY_INVALID and exc.fix and "\n" not in exc.message
        return
    _assert_well_formed_pem(pem)
    assert material.normalise_pem(pem) == pem  # idempotent


# --- URLs ---

dns_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
https_urls = st.builds(
    lambda host, domain, port, slash: f"https://{host}.{domain}{port}{slash}",
    st.lists(dns_label, min_size=1, max_size=4).map(".".join),
    st.sampled_from(validate.SALESFORCE_DOMAINS),  # other hosts are refused (URL_REFUSED) since issue 16
    st.sampled_from(["", ":443"]) | st.integers(1, 65535).map(lambda p: f":{p}"),
    st.sampled_from(["", "/"]),
)
loopback_urls = st.builds(
    lambda host, port: f"http://{host}:{port}",
    st.sampled_from(["localhost", "127.0.0.1", "127.8.9.10", "[::1]"]),
    st.integers(1, 65535),
)


@FAST
@given(instance=https_urls | loopback_urls, client_id=st.text(), callback=st.text())
@example(
    instance="https://login.salesforce.com", client_id="3MVG9&x=1#frag +%20", callback="http://localhost:1717/?a=b&c"
)
def test_authorize_url_round_trips_through_urllib(instance: str, client_id: str, callback: str) -> None:
    try:
        base = validate.check_instance_url(instance)
    except SfjwtError:
        assume(False)  # a Lightning host drawn by chance
        return
    url = validate.authorize_url(base, client_id, callback)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == base
    assert parts.path == "/services/oauth2/authorize" and parts.fragment == ""
    assert parse_qs(parts.query, keep_blank_values=True, strict_parsing=True) == {
        "response_type": ["code"],
        "client_id": [client_id],
        "redirect_uri": [callback],
    }


url_texts = st.builds(
    lambda scheme, rest: scheme + rest, st.sampled_from(["https://", "http://", "ftp://", ""]), st.text()
)


@FAST
@given(url_texts)
@example("https://[::1")
@example("https://acme.my.salesforce.com\n/evil")
def test_url_checks_refuse_only_with_usage_and_one_line(url: str) -> None:
    for check, codes in (
        (validate.check_instance_url, {Code.USAGE, Code.LIGHTNING_URL, Code.URL_REFUSED}),
        (validate.check_callback_url, {Code.USAGE, Code.URL_REFUSED}),
    ):
        try:
            accepted = check(url)
        except SfjwtError as exc:
            assert exc.code in codes and "\n" not in exc.message and "\n" not in exc.fix
            continue
        assert not any(c.isspace() for c in accepted) and urlsplit(accepted).hostname


# --- redaction ---

tokens = st.builds(
    lambda org, tail: f"00D{org}!{tail}",
    st.text(alphabet=ALNUM, min_size=12, max_size=15),
    st.text(alphabet=ALNUM + "._-", min_size=16, max_size=120),
)


@FAST
@given(prefix=st.text(), token=tokens, suffix=st.text())
@example(prefix="sid", token=GLUED, suffix="")  # glued to a word
@example(prefix=fake_token(), token=GLUED, suffix="")  # two, glued
def test_redact_removes_any_salesforce_token(prefix: str, token: str, suffix: str) -> None:
    secret = token.split("!", 1)[1]
    assume(secret not in prefix and secret not in suffix)
    out = redact(prefix + token + suffix)
    assert token not in out and secret not in out


@FAST
@given(
    prefix=st.text(),
    suffix=st.text(),
    sep=st.sampled_from(["\n", "\r\n", "\\n", " "]),
    label=st.sampled_from(
        ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"]
    ),
    body=st.lists(st.text(alphabet=B64, min_size=24, max_size=64), min_size=1, max_size=8),
)
def test_redact_removes_any_private_key_block(prefix: str, suffix: str, sep: str, label: str, body: list[str]) -> None:
    assume(not [row for row in body if row in prefix or row in suffix])
    pem = f"-----BEGIN {label}-----{sep}{sep.join(body)}{sep}-----END {label}-----"
    out = redact(prefix + pem + suffix)
    assert not [row for row in body if row in out]
