"""Bad input, as a process: every row is refused with its exit code, its outcome code, one message line
and one fix line, no traceback, sf never asked to log in, and not one byte on disk changed.

Every row starts from the same working set-up: a key pair from keygen in the data dir and a full
profile for alias `hub`, so "nothing changed" is measured against files that a failed run could hurt.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.keys import material
from tests.integration.conftest import Cli, sf_output
from tests.integration.keymaterial import KeySet
from tests.integration.procs import snapshot

CID = "3MVG9CLIENTID1234567"
USER = "user@example.com"
URL = "https://acme.my.salesforce.com"
LOGIN = ("login", "--alias", "hub", "--json")
KEYGEN = ("keygen", "--alias", "hub", "--json")
BOOTSTRAP = (
    "bootstrap",
    "--alias",
    "hub",
    "--client-id",
    CID,
    "--username",
    USER,
    "--instance-url",
    URL,
    "--no-input",
    "--json",
)
VERSION = {"stdout": "@salesforce/cli/2.150.6 linux-x64 node-v22.11.0\n", "rc": 0}
NOT_APPROVED = {"stdout": sf_output("notapproved.json.stdout"), "rc": 1}
SUCCESS = {"stdout": sf_output("success.login.stdout"), "rc": 0}
DISPLAY = {
    "stdout": json.dumps(
        {
            "status": 0,
            "result": {
                "connectedStatus": "Connected",
                "id": "00D000000000001AAA",
                "instanceUrl": URL,
                "username": USER,
            },
        }
    ),
    "rc": 0,
}


@dataclass
class World:
    cli: Cli
    keyset: KeySet
    inputs: Path
    config: Path
    data: Path

    @property
    def key(self) -> Path:
        return self.data / "keys" / "hub" / "server.key"

    @property
    def profile(self) -> Path:
        return self.config / "profiles" / "hub.toml"

    def put(self, name: str, data: bytes | Path, mode: int = 0o600) -> Path:
        path = self.inputs / name
        path.write_bytes(data.read_bytes() if isinstance(data, Path) else data)
        path.chmod(mode)
        return path


Prepare = Callable[[World], object]


def _noop(w: World) -> None:
    pass


@dataclass(frozen=True)
class Row:
    argv: tuple[str, ...]  # {inputs}, {key}, {profile} are filled in
    code: Code
    words: tuple[str, ...] = ()  # each must be in the message ({...} filled in too)
    fix: str = ""  # must be in the fix
    prepare: Prepare = _noop
    env: dict[str, str] = field(default_factory=dict)
    # bootstrap's first step runs `sf --version` by design; nothing may ever ask sf to log in.
    sf_version_first: bool = False


def key_row(prepare: Prepare, *words: str, code: Code = Code.KEY_INVALID, fix: str = "") -> Row:
    return Row((*LOGIN, "--key-file", "{inputs}/key.pem"), code, words, fix, prepare)


def _unreadable(w: World) -> None:
    w.put("key.pem", w.keyset.key, mode=0o000)


def _corrupt_profile(text: bytes) -> Prepare:
    return lambda w: w.profile.write_bytes(text)


ROWS = [
    pytest.param(
        Row(("login", "--alias", "nobody", "--json"), Code.PROFILE_NOT_FOUND, ("'nobody'",), "--client-id"),
        id="unknown-alias",
    ),
    pytest.param(Row(("login", "--alias", "../x", "--json"), Code.USAGE, ("invalid alias",)), id="alias-dotdot"),
    pytest.param(Row(("login", "--alias", "a/b", "--json"), Code.USAGE, ("invalid alias",)), id="alias-slash"),
    pytest.param(Row(("login", "--alias", "", "--json"), Code.USAGE, ("invalid alias",)), id="alias-empty"),
    pytest.param(
        Row((*LOGIN, "--client-id", "3MVG9 CLIENT ID 1234567"), Code.USAGE, ("--client-id",), "no spaces"),
        id="client-id-spaces",
    ),
    pytest.param(Row((*LOGIN, "--client-id", "3MVG9"), Code.USAGE, ("--client-id",)), id="client-id-short"),
    pytest.param(
        Row((*LOGIN, "--username", "not-an-email"), Code.USAGE, ("--username 'not-an-email'",)), id="username-not-email"
    ),
    pytest.param(
        Row((*LOGIN, "--instance-url", "acme.my.salesforce.com"), Code.USAGE, ("not a URL",)), id="url-no-scheme"
    ),
    pytest.param(
        Row((*LOGIN, "--instance-url", "https://not a url"), Code.USAGE, ("not a URL",)), id="url-with-spaces"
    ),
    pytest.param(Row((*LOGIN, "--instance-url", "https://[::1"), Code.USAGE, ("not a URL",)), id="url-broken-ipv6"),
    pytest.param(
        Row(
            (*LOGIN, "--instance-url", "http://acme.my.salesforce.com"),
            Code.URL_REFUSED,  # exit 2 as before; since issue 16 the code names the URL policy
            ("http://",),
            "https://acme.my.salesforce.com",
        ),
        id="url-http-not-loopback",
    ),
    pytest.param(
        Row(
            (*LOGIN, "--instance-url", "https://acme.lightning.force.com"),
            Code.LIGHTNING_URL,
            ("Lightning",),
            "https://acme.my.salesforce.com",
        ),
        id="url-lightning",
    ),
    pytest.param(
        Row((*LOGIN, "--instance-url", f"{URL}/lightning/page/home"), Code.USAGE, ("path or query",), URL),
        id="url-with-path",
    ),
    pytest.param(
        Row((*LOGIN, "--instance-url", f"{URL}?startURL=x"), Code.USAGE, ("path or query",), URL), id="url-with-query"
    ),
    # Issue 16 item 1, issue 15 item 5: the one URL parser (sf's own, WHATWG) refuses what could be read two ways.
    pytest.param(
        Row(
            (*LOGIN, "--instance-url", "https://evil.example\\@login.salesforce.com"),
            Code.URL_REFUSED,
            ("backslash",),
        ),
        id="url-backslash",
    ),
    pytest.param(
        Row(
            (*LOGIN, "--instance-url", "https://login.salesforce.com%2F.evil.example"), Code.URL_REFUSED, ("%-escapes",)
        ),
        id="url-percent-escape",
    ),
    pytest.param(
        Row((*LOGIN, "--instance-url", "https://ci:S3cr3tPw@acme.my.salesforce.com"), Code.URL_REFUSED, ("password",)),
        id="url-credentials",
    ),
    pytest.param(
        Row(
            (*LOGIN, "--instance-url", "https://login.salesforce.com.evil.example"),
            Code.URL_REFUSED,
            ("not a Salesforce host",),
            "--allow-non-salesforce-host",
        ),
        id="url-not-salesforce",
    ),
    pytest.param(
        Row((*LOGIN, "--callback-url", "http://localhost:99999/cb"), Code.USAGE, ("invalid port",)),
        id="callback-bad-port",
    ),
    pytest.param(Row((*LOGIN, "--timeout", "-1"), Code.USAGE, ("--timeout -1",)), id="timeout-negative"),
    pytest.param(Row((*LOGIN, "--timeout", "1e9"), Code.USAGE, ("--timeout",)), id="timeout-absurd"),
    pytest.param(Row((*LOGIN, "--timeout", "nan"), Code.USAGE, ("--timeout",)), id="timeout-nan"),
    pytest.param(Row((*LOGIN, "--timeout", "soon"), Code.USAGE, ("--timeout",)), id="timeout-not-a-number"),
    pytest.param(Row((*LOGIN, "--interval", "-1"), Code.USAGE, ("--interval -1",)), id="interval-negative"),
    pytest.param(Row((*LOGIN, "--interval", "0"), Code.USAGE, ("--interval 0",)), id="interval-zero"),
    pytest.param(Row((*LOGIN, "--interval", "1e9"), Code.USAGE, ("--interval",)), id="interval-absurd"),
    # The key, checked before sf starts.
    pytest.param(key_row(_noop, "does not exist", code=Code.KEY_NOT_FOUND, fix="keygen"), id="key-missing"),
    pytest.param(key_row(lambda w: (w.inputs / "key.pem").mkdir(), "is a folder"), id="key-is-a-directory"),
    pytest.param(key_row(lambda w: w.put("key.pem", b""), "empty"), id="key-empty"),
    pytest.param(
        key_row(_unreadable, "not readable", fix="chmod 600 {inputs}/key.pem"),
        id="key-unreadable",
        marks=pytest.mark.skipif(
            os.geteuid() == 0,
            reason="running as root, which reads a chmod 000 file; "
            "test_unreadable_key_is_refused_with_the_chmod_fix covers it in-process",
        ),
    ),
    pytest.param(
        key_row(lambda w: w.put("key.pem", w.keyset.cert), "certificate", fix="not the certificate"),
        id="key-is-a-certificate",
    ),
    pytest.param(
        key_row(lambda w: w.put("key.pem", w.keyset.public_key), "public key", fix="private key"),
        id="key-is-a-public-key",
    ),
    pytest.param(
        key_row(lambda w: w.put("key.pem", w.keyset.encrypted_key), "passphrase", fix="openssl rsa -in"),
        id="key-encrypted-pkcs8",
    ),
    pytest.param(
        key_row(lambda w: w.put("key.pem", w.keyset.encrypted_traditional), "passphrase", fix="openssl rsa -in"),
        id="key-encrypted-traditional",
    ),
    pytest.param(key_row(lambda w: w.put("key.pem", w.keyset.ec_traditional), "EC key", fix="RSA"), id="key-ec"),
    pytest.param(key_row(lambda w: w.put("key.pem", w.keyset.ec_key), "not an RSA key", fix="RSA"), id="key-ec-pkcs8"),
    pytest.param(key_row(lambda w: w.put("key.pem", w.keyset.rsa1024), "1024 bits", fix="keygen"), id="key-rsa-1024"),
    pytest.param(
        key_row(lambda w: w.put("key.pem", w.keyset.one_line_key), "line breaks", fix="newlines"),
        id="key-pem-newlines-stripped",
    ),
    pytest.param(key_row(lambda w: w.put("key.pem", w.keyset.garbage), "binary"), id="key-binary-garbage"),
    pytest.param(
        key_row(
            lambda w: w.put("key.pem", w.keyset.key, mode=0o644),
            "readable by other users",
            fix="chmod 600 {inputs}/key.pem",
        ),
        id="key-mode-0644",
    ),
    pytest.param(
        key_row(
            lambda w: w.put("key.pem", w.keyset.key, mode=0o640),
            "readable by other users",
            fix="chmod 600 {inputs}/key.pem",
        ),
        id="key-mode-0640",
    ),
    # keygen.
    pytest.param(
        Row((*KEYGEN, "--force", "--bits", "1024"), Code.USAGE, ("--bits 1024",), "--bits 2048"), id="keygen-bits-1024"
    ),
    pytest.param(Row((*KEYGEN, "--force", "--days", "0"), Code.USAGE, ("--days 0",)), id="keygen-days-0"),
    pytest.param(Row((*KEYGEN, "--force", "--days", "100000"), Code.USAGE, ("--days",)), id="keygen-days-absurd"),
    pytest.param(Row((*KEYGEN, "--force", "--subject", "CN=x"), Code.USAGE, ("subject",)), id="keygen-bad-subject"),
    pytest.param(Row(KEYGEN, Code.KEY_EXISTS, ("{key}",), "--force"), id="keygen-key-exists"),
    pytest.param(
        Row(
            (*KEYGEN, "--out-dir", "{inputs}/a-file/keys"),
            Code.FILE_ERROR,
            ("{inputs}/a-file/keys",),
            prepare=lambda w: w.put("a-file", b"not a folder\n"),
        ),
        id="keygen-out-dir-under-a-file",
    ),
    pytest.param(Row(("keygen", "--alias", "a/b", "--json"), Code.USAGE, ("invalid alias",)), id="keygen-bad-alias"),
    pytest.param(
        Row(
            (*KEYGEN, "--force"),
            Code.PROFILE_INVALID,
            ("{profile}", "line 2"),
            prepare=_corrupt_profile(b'# mine\nclient_id = "3MVG9\n'),
        ),
        id="keygen-corrupted-profile",
    ),
    pytest.param(
        Row(
            (*KEYGEN, "--force"),
            Code.OPENSSL_NOT_FOUND,
            ("SFJWT_ORCH_OPENSSL",),
            env={"SFJWT_ORCH_OPENSSL": "{inputs}/no-openssl"},
        ),
        id="keygen-openssl-override-missing",
    ),
    # The saved profile, broken by hand: named with its line, and left exactly as it was.
    pytest.param(
        Row(
            LOGIN,
            Code.PROFILE_INVALID,
            ("{profile}", "line 2"),
            "{profile}",
            _corrupt_profile(b'# mine\nclient_id = "3MVG9\nusername = "u@x.com"\n'),
        ),
        id="profile-not-toml",
    ),
    pytest.param(
        Row(
            LOGIN,
            Code.PROFILE_INVALID,
            ("{profile}", "line 3", "client_id"),
            "{profile}",
            _corrupt_profile(b'# mine\nusername = "u@x.com"\nclient_id = 5\n'),
        ),
        id="profile-number",
    ),
    pytest.param(
        Row(
            LOGIN,
            Code.PROFILE_INVALID,
            ("{profile}", "UTF-8"),
            "{profile}",
            _corrupt_profile(b"client_id = 'x'\n\xff\xfe\x00\x01"),
        ),
        id="profile-binary",
    ),
    # The programs we drive.
    pytest.param(
        Row(LOGIN, Code.SF_NOT_FOUND, ("SFJWT_ORCH_SF",), "SFJWT_ORCH_SF", env={"SFJWT_ORCH_SF": "{inputs}/no-sf"}),
        id="sf-override-missing",
    ),
    pytest.param(
        Row(
            LOGIN,
            Code.SF_NOT_FOUND,
            ("not executable",),
            "SFJWT_ORCH_SF",
            lambda w: w.put("sf", b"#!/bin/sh\nexit 0\n", mode=0o644),
            env={"SFJWT_ORCH_SF": "{inputs}/sf"},
        ),
        id="sf-override-not-executable",
    ),
    pytest.param(
        Row(
            LOGIN,
            Code.SF_NOT_FOUND,
            ("SFJWT_ORCH_SF",),
            "SFJWT_ORCH_SF",
            lambda w: (w.inputs / "d").mkdir(),
            env={"SFJWT_ORCH_SF": "{inputs}/d"},
        ),
        id="sf-override-directory",
    ),
    # bootstrap with a key and certificate of one's own.
    pytest.param(
        Row(
            (*BOOTSTRAP, "--key-file", "{key}", "--cert-file", "{inputs}/app.crt"),
            Code.CERT_INVALID,
            ("{inputs}/app.crt", "does not belong to"),
            "certificate made with this key",
            lambda w: w.put("app.crt", w.keyset.other_cert, 0o644),
            sf_version_first=True,
        ),
        id="bootstrap-cert-of-another-key",
    ),
    pytest.param(
        Row(
            (*BOOTSTRAP, "--key-file", "{key}", "--cert-file", "{key}"),
            Code.CERT_INVALID,
            ("not a usable certificate",),
            sf_version_first=True,
        ),
        id="bootstrap-key-as-certificate",
    ),
    pytest.param(Row((*BOOTSTRAP, "--bits", "1024"), Code.USAGE, ("--bits 1024",)), id="bootstrap-bits-1024"),
    pytest.param(
        Row(
            (
                "app",
                "create",
                "--alias",
                "hub",
                "--target-org",
                "nobody",
                "--username",
                USER,
                "--dry-run",
                "--output-dir",
                "{inputs}/md",
                "--json",
            ),
            Code.ADMIN_ORG_NOT_FOUND,
            ("'nobody'",),
            "sf org login web --alias nobody",
        ),
        id="app-create-dry-run-unknown-admin-alias",
    ),
    pytest.param(
        Row(
            (
                "app",
                "create",
                "--alias",
                "hub",
                "--target-org",
                "admin",
                "--username",
                USER,
                "--name",
                "9lives",
                "--json",
            ),
            Code.USAGE,
            ("--name '9lives'",),
        ),
        id="app-create-bad-name",
    ),
    pytest.param(Row((*BOOTSTRAP, "--days", "0"), Code.USAGE, ("--days 0",)), id="bootstrap-days-0"),
    # authorize-url.
    pytest.param(
        Row(
            ("authorize-url", "--client-id", CID, "--instance-url", "https://x.lightning.force.com", "--json"),
            Code.LIGHTNING_URL,
            ("Lightning",),
        ),
        id="authorize-url-lightning",
    ),
    pytest.param(
        Row(
            ("authorize-url", "--client-id", CID, "--callback-url", "http://[x/cb", "--json"),
            Code.USAGE,
            ("--callback-url",),
        ),
        id="authorize-url-broken-callback",
    ),
]


@pytest.fixture
def world(cli: Cli, keyset: KeySet, isolated_env: dict[str, Path]) -> World:
    w = World(cli, keyset, cli.tmp / "inputs", isolated_env["config"], isolated_env["data"])
    w.inputs.mkdir()
    folder = w.key.parent
    folder.mkdir(parents=True, mode=0o700)
    shutil.copy(keyset.key, w.key)
    w.key.chmod(0o600)
    shutil.copy(keyset.cert, folder / "server.crt")
    (folder / "server.crt").chmod(0o644)
    w.profile.parent.mkdir(parents=True, mode=0o700)
    w.profile.write_text(
        f'client_id = "{CID}"\nusername = "{USER}"\ninstance_url = "{URL}"\nkey_file = "{w.key}"\n'
        f'cert_file = "{folder / "server.crt"}"\n'
    )
    w.profile.chmod(0o600)
    return w


@pytest.mark.parametrize("row", ROWS)
def test_bad_input_is_refused_cleanly_and_changes_nothing(world: World, row: Row) -> None:
    row.prepare(world)
    fill = {"inputs": str(world.inputs), "key": str(world.key), "profile": str(world.profile)}
    argv = [a.format(**fill) for a in row.argv]
    env = {k: v.format(**fill) for k, v in row.env.items()}
    if row.sf_version_first:
        world.cli.scenario(VERSION)
    roots = (world.config, world.data, world.inputs, world.cli.tmp / "home")
    before = snapshot(*roots)

    result = world.cli.run(*argv, **env)

    expected_exit = SfjwtError(row.code, "", "").exit_code
    assert result.returncode == expected_exit, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document
    assert doc["ok"] is False and doc["error"]["code"] == row.code.value, doc
    message, fix = doc["error"]["message"], doc["error"]["fix"]
    for words in row.words:
        assert words.format(**fill) in message
    assert row.fix.format(**fill) in fix
    # One message line and one fix line, the same for people as in the JSON; never a traceback.
    assert "\n" not in message and "\n" not in fix and fix
    lines = result.stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert lines[errors[0]] == f"error: {message}"
    assert lines[errors[0] + 1] == f"  fix: {fix}"
    assert "Traceback" not in result.stderr + result.stdout
    # Local problems never reach sf (bootstrap's Tools step only asks for its version).
    assert [c["argv"] for c in world.cli.sf_calls()] == ([["--version"]] if row.sf_version_first else [])
    # Nothing on disk changed: not the key, not the profile (even a broken one), not the inputs.
    assert snapshot(*roots) == before
    locks = world.data / "locks"
    assert not locks.exists() or {p.suffix for p in locks.iterdir()} <= {".lock"}


def test_unreadable_key_is_refused_with_the_chmod_fix(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chmod 000 row, in-process: root reads any file, so the PermissionError is raised for it."""
    key = world.put("key.pem", world.keyset.key, mode=0o000)
    real = os.open

    def refuse(file: str | os.PathLike[str], *args: int) -> int:  # the key is read with a bounded os.open
        if os.fspath(file) == str(key):
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, *args)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(SfjwtError) as err:
        material.check_key_file(key)
    assert err.value.code is Code.KEY_INVALID and err.value.exit_code == 2
    assert "not readable" in err.value.message and f"chmod 600 {key}" in err.value.fix


def test_expired_certificate_warns_and_bootstrap_goes_on(world: World) -> None:
    """Salesforce keeps accepting JWTs signed for an expired app certificate, so bootstrap warns (as
    doctor reports it) and logs in; refusing would block a login that works."""
    cert = world.put("expired.crt", world.keyset.expired_cert, 0o644)
    world.cli.scenario(VERSION, SUCCESS, DISPLAY)
    result = world.cli.run(*BOOTSTRAP, "--key-file", str(world.key), "--cert-file", str(cert))
    assert result.returncode == 0, result.stderr
    assert f"certificate {cert} expired on 2020-01-02" in result.stderr
    assert "sfjwt-orch rotate --alias hub" in result.stderr  # the fix names rotate since rotation exists
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    key_step = next(s for s in doc["steps"] if s["name"] == "Key and certificate")
    assert "expired on 2020-01-02" in key_step["detail"]
    assert [c["argv"][:3] for c in world.cli.sf_calls()] == [
        ["--version"],
        ["org", "login", "jwt"],
        ["org", "display", "--target-org"],
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _browser_login(world: World, browser: str) -> tuple[subprocess.CompletedProcess[str], float]:
    world.cli.scenario(NOT_APPROVED, SUCCESS)
    callback = f"http://127.0.0.1:{_free_port()}/OauthRedirect"
    started = time.monotonic()
    result = world.cli.run(
        *LOGIN,
        "--browser",
        "--timeout",
        "30",
        "--interval",
        "0.5",
        "--callback-url",
        callback,
        BROWSER=browser,
        timeout=40,
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize("kind", ["missing-command", "exits-non-zero"])
def test_failing_browser_warns_and_the_login_goes_on(world: World, kind: str) -> None:
    browser = str(world.inputs / "no-such-browser")
    if kind == "exits-non-zero":
        browser = str(world.put("broken-browser", b"#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n", 0o755))
    result, _ = _browser_login(world, browser)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["attempts"] == 2
    assert doc["approval_url"] in result.stderr  # printed before the browser was tried
    assert "Could not open a browser: open the URL above yourself." in result.stderr


def test_hanging_browser_never_holds_up_the_login(world: World) -> None:
    """A browser command that never returns: the login goes on after a few seconds and finishes.

    Decision: the still-running browser is left alone (in its own session, so a Ctrl-C in our
    terminal does not reach it either). A launcher still running after the grace period is
    indistinguishable from a real browser that stays open for the approval; killing it would
    close the user's window mid-login. It must not hold our output pipes, or `$(sfjwt-orch …)`
    would wait for it: this run captures stdout/stderr through pipes and still ends.
    """
    pidfile = world.inputs / "browser.pid"
    browser = world.put(
        "hanging-browser", f"#!/bin/sh\necho $$ > {pidfile}\nexec {shutil.which('sleep')} 600\n".encode(), 0o755
    )
    try:
        result, took = _browser_login(world, str(browser))
        assert result.returncode == 0, result.stderr
        assert took < 20, f"the login took {took:.1f} s with a hanging browser"
        assert json.loads(result.stdout)["attempts"] == 2
        assert "Opened it in your browser." in result.stderr
        pid = int(pidfile.read_text())
        os.kill(pid, 0)  # still running after we finished: left alone, as decided above
        assert os.getsid(pid) == pid  # in its own session: not in our process group, not killed with us
    finally:
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_matrix_covers_every_local_code() -> None:
    """Each outcome code a local check can give appears in the matrix at least once."""
    # LOCKED: test_faults.py. APP_EXISTS is exit 2 but the org's answer, not a local check: tests/cli and e2e.
    # OIDC_NO_ID_TOKEN is the CI job's environment, not an input: tests/cli/test_keyless_cli.py and e2e.
    local = {c for c in Code if SfjwtError(c, "", "").exit_code == 2} - {
        Code.LOCKED,
        Code.APP_EXISTS,
        Code.OIDC_NO_ID_TOKEN,
    }
    seen = {p.values[0].code for p in ROWS}
    assert local <= seen, sorted(c.value for c in local - seen)
