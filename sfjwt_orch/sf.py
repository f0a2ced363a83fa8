"""The Salesforce CLI: argv builders, the environment it runs in, and pure parsers/classifiers.

What `sf org login jwt --json` prints, and why the classifier looks the way it does
(see also README "Outcome codes"):
- Every auth failure is exit 1 with `name` = "JwtGrantError" and a message that wraps the
  server's `error_description`s, one line per (login URL, aud) pair sf tried:
  "... Here’s the error: JwtAuthError::Error authenticating with JWT.\\nErrors encountered:\\n<lines>".
  The OAuth `error` code itself is lost (plugin-auth `jwt.ts`, sfdx-core `authJwt`).
- sf also tries test.salesforce.com and login.salesforce.com, so the lines mix the org's answer
  with noise ("fetch failed" offline, "client identifier invalid" from the wrong org). We report
  the line from the deepest validation stage reached (Salesforce checks client id, then
  signature, then aud, then exp, then the user's approval, then IP and login hours).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sfjwt_orch.errors import Code
from sfjwt_orch.redact import redact
from sfjwt_orch.runner import CommandResult

# One sf run: sf tries up to 5 (host, aud) pairs, each bounded by HTTP_TIMEOUT, plus its start-up.
LOGIN_TIMEOUT = 150.0
HTTP_TIMEOUT_MS = "20000"


# --- argv and environment ---


@dataclass(frozen=True)
class LoginArgs:
    client_id: str
    username: str
    key_file: Path
    instance_url: str
    alias: str
    set_default: bool = False
    set_default_dev_hub: bool = False


def login_argv(sf: str, a: LoginArgs) -> list[str]:
    argv = [
        sf,
        "org",
        "login",
        "jwt",
        "--client-id",
        a.client_id,
        "--jwt-key-file",
        str(a.key_file),
        "--username",
        a.username,
        "--instance-url",
        a.instance_url,
        "--alias",
        a.alias,
    ]
    if a.set_default:
        argv.append("--set-default")
    if a.set_default_dev_hub:
        argv.append("--set-default-dev-hub")
    return [*argv, "--json"]


def display_argv(sf: str, alias: str) -> list[str]:
    return [sf, "org", "display", "--target-org", alias, "--json"]


def logout_argv(sf: str, alias: str) -> list[str]:
    return [sf, "org", "logout", "--target-org", alias, "--no-prompt", "--json"]


def config_set_argv(sf: str, key: str, alias: str) -> list[str]:
    return [sf, "config", "set", f"{key}={alias}", "--global", "--json"]


def version_argv(sf: str) -> list[str]:
    return [sf, "--version"]


def parse_version(text: str) -> str | None:
    """`@salesforce/cli/2.150.6 linux-x64 node-v24.19.0` -> "2.150.6 (node v24.19.0)"."""
    m = re.search(r"@salesforce/cli/(\S+)", text)
    if not m:
        return None
    node = re.search(r"node-(v[\d.]+)", text)
    return f"{m.group(1)} (node {node.group(1)})" if node else m.group(1)


_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
_GUARD = Path(__file__).parent / "emulator" / "loopback_guard.cjs"


def is_loopback_url(url: str) -> bool:
    from sfjwt_orch.approval import is_loopback_host

    return is_loopback_host(urlsplit(url).hostname or "")


def run_timeout(env: Mapping[str, str]) -> float:
    """Seconds one sf run may take before its process group is killed (SFJWT_ORCH_SF_TIMEOUT)."""
    try:
        value = float(env.get("SFJWT_ORCH_SF_TIMEOUT", LOGIN_TIMEOUT))
    except ValueError:
        return LOGIN_TIMEOUT
    return value if 0 < value <= 3600 else LOGIN_TIMEOUT


def sf_env(base: Mapping[str, str], instance_url: str) -> dict[str, str]:
    """The one place that decides the environment `sf` runs in (sf-cli facts, measured)."""
    env = dict(base)
    # Telemetry would send a report per run; the updater and version check spawn detached
    # children that reach the network after we are gone (SF_AUTOUPDATE_DISABLE alone is not enough).
    env.update(
        SF_DISABLE_TELEMETRY="true",
        SF_DISABLE_AUTOUPDATE="true",
        SF_AUTOUPDATE_DISABLE="true",
        SF_SKIP_NEW_VERSION_CHECK="true",
        SF_JSON_TO_STDOUT="true",
    )
    # jsforce waits 300 s on a host that accepts but never answers; sf tries up to 5 hosts.
    env.setdefault("HTTP_TIMEOUT", HTTP_TIMEOUT_MS)
    # sf writes its log file from a worker thread that it waits for before exiting: measured, ~1 s
    # more in a quarter to nine tenths of runs. Off unless the user set it (=false keeps the file).
    env.setdefault("SF_DISABLE_LOG_FILE", "true")
    # Never let a token be printed unredacted, whatever the user's shell has set.
    env.pop("SF_TEMP_SHOW_SECRETS", None)
    # sf honours proxies but ignores NO_PROXY, so an inherited proxy breaks logins to hosts the
    # proxy cannot reach (a local emulator always). Keep them only when asked.
    if base.get("SFJWT_ORCH_KEEP_PROXY") != "1":
        for name in _PROXY_VARS:
            env.pop(name, None)
    # SF_AUDIENCE_URL silently adds (host, aud) pairs; only our own variable sets it.
    for name in ("SF_AUDIENCE_URL", "SFDX_AUDIENCE_URL"):
        env.pop(name, None)
    if base.get("SFJWT_ORCH_AUDIENCE_URL"):
        env["SF_AUDIENCE_URL"] = base["SFJWT_ORCH_AUDIENCE_URL"]
    # Logging in to a loopback emulator: sf's fall-back attempts at the real Salesforce hosts
    # would leave the machine. The guard answers them locally with ENOTFOUND.
    if is_loopback_url(instance_url) and _GUARD.is_file():
        require = f'--require "{_GUARD}"'  # quoted: Node splits NODE_OPTIONS on spaces
        if str(_GUARD) not in env.get("NODE_OPTIONS", ""):
            env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} {require}".strip()
    return env


# --- parsing ---


@dataclass(frozen=True)
class LoginSuccess:
    username: str
    org_id: str
    instance_url: str
    login_url: str
    is_dev_hub: bool
    is_sandbox: bool


@dataclass(frozen=True)
class Diagnosis:
    code: Code
    message: str
    fix: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Entry:
    code: Code
    rank: int  # higher = a deeper validation stage = more specific
    patterns: tuple[str, ...]
    message: str
    fix: str


# Order matters only for lines that match several patterns: the first entry wins.
CATALOG: tuple[_Entry, ...] = (
    _Entry(
        Code.KEY_NOT_FOUND,
        100,
        ("enoent", "no such file or directory"),
        "sf cannot read the key file",
        "keep the key at the path sf was given (sf re-reads it at every token refresh)",
    ),
    _Entry(
        Code.KEY_INVALID,
        100,
        (
            "secretorprivatekey",
            "minimum key size",
            '"alg" parameter for "ec"',
            "pem routines",
            "no start line",
            "bad decrypt",
            "asymmetric key",
        ),
        "the key is not an unencrypted RSA private key of at least 2048 bits",
        "pass the unencrypted PEM server.key (check: openssl rsa -in server.key -check -noout)",
    ),
    _Entry(
        Code.LIGHTNING_URL,
        100,
        ("lightning domain",),
        "the instance URL is a Lightning (*.lightning.force.com) domain",
        "use the My Domain login URL, https://<MyDomain>.my.salesforce.com",
    ),
    _Entry(
        Code.RATE_LIMITED,
        90,
        ("number of logins exceeded", "rate_limit_exceeded", "login rate exceeded", "rate limit"),
        "Salesforce refused: too many logins for this user",
        "wait a few minutes, then log in once per job and reuse the sf auth instead of logging in per step",
    ),
    _Entry(
        Code.IP_RESTRICTED,
        90,
        ("ip restricted", "invalid login hours"),
        "Salesforce refused: this machine's IP or the time of day is outside the user's login policy",
        "add this runner's IP range to the profile's Login IP Ranges, or set the app's IP Relaxation "
        "to 'Relax IP restrictions'; check Login Hours",
    ),
    _Entry(
        Code.INACTIVE_USER,
        85,
        ("user is inactive", "inactive_user", "user is frozen"),
        "Salesforce refused: the user is inactive",
        "reactivate the user in Setup > Users, or log in as another user",
    ),
    _Entry(
        Code.INACTIVE_ORG,
        85,
        ("org is locked", "inactive_org", "closed, or suspended"),
        "Salesforce refused: the org is locked, closed or suspended (an expired scratch org or trial?)",
        "recreate the scratch org or ask the org's admin to unlock it",
    ),
    _Entry(
        Code.AUTH_FAILURE,
        80,
        ("authentication failure", "invalid user credentials"),
        "Salesforce refused the user's login (authentication failure)",
        "open Setup > Login History for the user: its Status column names the real reason "
        "(frozen user, login flow, high-assurance session)",
    ),
    _Entry(
        Code.NOT_ADMIN_APPROVED,
        70,
        ("not admin approved", "oauth_app_access_denied"),
        "Salesforce refused: the app is 'Admin approved users are pre-authorized' and this user is not",
        "in the app's Policies, add the user's profile or a permission set assigned to the user",
    ),
    _Entry(
        Code.NOT_APPROVED,
        70,
        ("hasn't approved this consumer", "has not approved this consumer", "hasn't approved"),
        "the user has not approved the app yet (user hasn't approved this consumer)",
        "open the authorize URL once as this user and click Allow, or set the app's Permitted Users to "
        "'Admin approved users are pre-authorized' and add the user's profile",
    ),
    _Entry(
        Code.EXPIRED_ASSERTION,
        60,
        ("expired authorization code",),
        "Salesforce says the signed assertion has expired",
        "sync this machine's clock (NTP): its time is far off",
    ),
    _Entry(
        Code.INVALID_ASSERTION,
        50,
        ("invalid assertion",),
        "Salesforce could not verify the JWT: the key does not match the certificate on the app",
        "upload the server.crt made with this key to the app (Use digital signatures / Enable JWT Bearer "
        "Flow), and check that --client-id is that app's consumer key",
    ),
    _Entry(
        Code.AUDIENCE_INVALID,
        40,
        ("audience is invalid", "audience validation failed"),
        "Salesforce refused the JWT's audience: the login URL does not match the org",
        "pass the org's My Domain login URL as --instance-url (sandboxes: --sandbox or "
        "https://<MyDomain>--<sandbox>.sandbox.my.salesforce.com)",
    ),
    _Entry(
        Code.SERVER_ERROR,
        30,
        (
            "error_http_",
            "html error page",
            "<html",
            "<!doctype",
            "data not available",
            "maintenance",
            "grant type not supported",
            "unsupported_grant_type",
            "service unavailable",
        ),
        "the login server answered with an error page instead of a token (maintenance, or not a Salesforce login host)",
        "check --instance-url; if it is right, Salesforce may be in maintenance: retry later",
    ),
    _Entry(
        Code.APP_NOT_INSTALLED,
        21,
        ("external client app is not installed", "app_not_found", "app must be installed"),
        "the app is not installed in this org (or has not reached every Salesforce server yet)",
        "create or install the External Client App in this org, use its My Domain as --instance-url, "
        "and allow 2-10 minutes after creating or editing it",
    ),
    _Entry(
        Code.CLIENT_ID_INVALID,
        20,
        ("client identifier invalid", "invalid_client_id"),
        "Salesforce does not know this consumer key (client identifier invalid)",
        "copy the Consumer Key again from the app (it belongs to one org: sandboxes need their own), "
        "and allow 2-10 minutes after creating the app",
    ),
    _Entry(
        Code.NETWORK,
        0,
        (
            "fetch failed",
            "enotfound",
            "econnrefused",
            "econnreset",
            "etimedout",
            "eai_again",
            "getaddrinfo",
            "self-signed certificate",
            "self signed certificate",
            "unable to get local issuer certificate",
            "certificate has expired",
            "socket hang up",
            "operation was aborted",
            "timed out",
            "timeout",
            "proxy",
            "network",
        ),
        "could not reach the Salesforce login server",
        "check the network, --instance-url, and proxy settings (set SFJWT_ORCH_KEEP_PROXY=1 to pass "
        "HTTPS_PROXY to sf; for TLS interception set NODE_EXTRA_CA_CERTS, never disable TLS checks)",
    ),
)

CATALOG_BY_CODE = {e.code: e for e in CATALOG}
# An empty line is what sf keeps of an error reply that had no error_description (e.g. a 404).
_EMPTY = _Entry(
    Code.SERVER_ERROR,
    30,
    (),
    "the login server answered without an error description (wrong host, or not a Salesforce login endpoint?)",
    "check --instance-url: use https://login.salesforce.com, https://test.salesforce.com or the org's My Domain",
)
_UNKNOWN = _Entry(
    Code.UNKNOWN,
    10,
    (),
    "sf could not log in, for a reason sfjwt-orch does not recognise",
    "read sf's message above; run sfjwt-orch doctor, and check Setup > Login History",
)


def _normalise(line: str) -> str:
    return line.replace("\u2019", "'").strip().lower()


def classify_line(line: str) -> _Entry:
    text = _normalise(line)
    if not text:
        return _EMPTY
    for entry in CATALOG:
        if any(p in text for p in entry.patterns):
            return entry
    return _UNKNOWN


def attempt_lines(message: str) -> tuple[str, ...]:
    """The per-attempt lines inside sf's wrapped message, for the current and legacy formats."""
    marker = "Errors encountered:"
    if marker in message:
        body = message.split(marker, 1)[1]
        body = body[1:] if body.startswith("\n") else body
        return _merge_html(line.strip() for line in body.split("\n"))
    legacy = re.search(r"Error authenticating with JWT config due to:\s*(.*)", message, re.DOTALL)
    if legacy:
        return (legacy.group(1).strip(),)
    here = re.search(r"Here[’']s the error:\s*(.*)", message, re.DOTALL)
    if here:
        return (here.group(1).strip(),)
    return (message.strip(),)


def _merge_html(lines: Iterable[str]) -> tuple[str, ...]:
    """An HTML error page arrives as many lines (jsforce keeps the raw body): make it one."""
    out: list[str] = []
    page: list[str] | None = None
    for line in lines:
        low = line.lower()
        if page is None and (low.startswith("<!doctype") or low.startswith("<html")):
            page = []
        if page is None:
            out.append(line)
            continue
        page.append(line)
        if "</html>" in low:
            out.append(_html_summary(" ".join(page)))
            page = None
    if page is not None:
        out.append(_html_summary(" ".join(page)))
    return tuple(out)


def _html_summary(html: str) -> str:
    title = re.search(r"<(title|h1)[^>]*>(.*?)</\1>", html, re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", title.group(2)) if title else ""
    return f"HTML error page: {' '.join(text.split())[:120] or 'no title'}"


def classify_lines(lines: tuple[str, ...]) -> Diagnosis:
    """Pick the deepest stage reached; NETWORK only when no attempt got an answer at all."""
    if not lines:
        return _diagnosis(_UNKNOWN, lines)
    entries = [classify_line(line) for line in lines]
    best = max(range(len(entries)), key=lambda i: (entries[i].rank, -i))
    return _diagnosis(entries[best], lines, lines[best])


def _diagnosis(entry: _Entry, lines: tuple[str, ...], line: str = "") -> Diagnosis:
    clean = tuple(redact(x)[:300] for x in lines)
    message = entry.message
    if entry is _UNKNOWN and line:
        message = f"{message}: {_one_line(redact(line))[:200]}"
    return Diagnosis(entry.code, message, entry.fix, clean)


def _load_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting is not sf's JSON either
        # Something (a Node warning, a plugin notice) printed before the document.
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except (ValueError, RecursionError):
                return None
        return None


def _scrubbed(result: CommandResult) -> CommandResult:
    """sf's output with tokens and key blocks removed *before* it is parsed and split into lines.

    A PEM block that sf echoes in a multi-line message would otherwise be split into one line per
    64 characters, and redact() cannot recognise a lone base64 line as part of a key.
    """
    return result._replace(stdout=redact(result.stdout), stderr=redact(result.stderr))


def _one_line(text: str) -> str:
    """Our error messages are one line: sf's multi-line text is joined with " | " (splitlines also
    breaks at CR, the ASCII separators FS/GS/RS and U+2028, which would otherwise reach the terminal)."""
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


def _excerpt(result: CommandResult) -> str:
    text = result.stderr.strip() or result.stdout.strip()
    return _one_line(redact(text))[:300] or "no output"


def sf_failed(result: CommandResult, what: str) -> Diagnosis | None:
    """The failures that are sf's own (not Salesforce's answer), common to every sf command."""
    fix = "check sf works: sf --version (reinstall with: npm install -g @salesforce/cli)"
    if result.timed_out:
        return Diagnosis(Code.SF_FAILED, f"{what} did not finish in {result.duration:.0f} s and was stopped", fix)
    if result.returncode < 0:
        return Diagnosis(Code.SF_FAILED, f"{what} was killed by signal {-result.returncode}: {_excerpt(result)}", fix)
    if not isinstance(_load_json(result.stdout), dict):
        if not (result.stdout.strip() or result.stderr.strip()):
            return Diagnosis(
                Code.SF_FAILED,
                f"{what} exited {result.returncode} and printed nothing",
                "sf 2.150 needs Node 22 or newer: check node --version and sf --version",
            )
        return Diagnosis(Code.SF_FAILED, f"{what} printed no JSON (exit {result.returncode}): {_excerpt(result)}", fix)
    return None


_HUMAN_SUCCESS = re.compile(r"Successfully authorized (\S+) with org ID (\w+)")


def _parse_human(result: CommandResult) -> LoginSuccess | Diagnosis | None:
    """sf's human output, for an sf (or a plugin) that printed no JSON despite --json."""
    ok = _HUMAN_SUCCESS.search(result.stdout)
    if ok and result.returncode == 0:
        return LoginSuccess(ok.group(1), ok.group(2), "", "", False, False)
    text = result.stderr
    if result.returncode != 0 and ("Errors encountered:" in text or "Error (" in text):
        # Drop sf's trailing "Warning: ..." lines and the blank lines before them.
        body = "\n".join(line for line in text.splitlines() if not line.startswith("Warning:")).rstrip()
        if "LightningDomain" in body:
            return _diagnosis(CATALOG_BY_CODE[Code.LIGHTNING_URL], (body,))
        return classify_lines(attempt_lines(body))
    return None


def parse_login(result: CommandResult) -> LoginSuccess | Diagnosis:
    result = _scrubbed(result)
    failed = sf_failed(result, "sf org login jwt")
    if failed is not None:
        if failed.code is Code.SF_FAILED and not result.timed_out and result.returncode >= 0:
            return _parse_human(result) or failed
        return failed
    doc = _load_json(result.stdout)
    if not isinstance(doc, dict):
        return Diagnosis(
            Code.SF_FAILED,
            f"sf org login jwt printed unexpected JSON: {_excerpt(result)}",
            "check sf works: sf --version",
        )
    res = doc.get("result")
    if doc.get("status") == 0 and result.returncode == 0 and isinstance(res, dict):
        org_id, username = res.get("orgId"), res.get("username")
        if not (isinstance(org_id, str) and isinstance(username, str)):
            return Diagnosis(
                Code.SF_FAILED, "sf reported success without an org id or username", "check sf works: sf --version"
            )
        return LoginSuccess(
            username=username,
            org_id=org_id,
            instance_url=str(res.get("instanceUrl") or ""),
            login_url=str(res.get("loginUrl") or ""),
            is_dev_hub=bool(res.get("isDevHub")),
            is_sandbox=bool(res.get("isSandbox")),
        )
    name = str(doc.get("name") or doc.get("code") or "")
    message = str(doc.get("message") or "")
    exit_code = doc.get("exitCode", result.returncode)
    if name == "LightningDomain":
        return _diagnosis(CATALOG_BY_CODE[Code.LIGHTNING_URL], (message,))
    if exit_code == 2 or name.endswith("FlagsError") or "FlagValidation" in name or name == "RequiredFlagsError":
        return Diagnosis(
            Code.SF_FAILED,
            f"sf rejected the command line: {_one_line(redact(message))[:200]}",
            "this sf may be too old or too new for sfjwt-orch: check sf --version",
        )
    if exit_code in (10, 20) and "Errors encountered" not in message:
        kind = "crashed (TypeError)" if exit_code == 10 else "hit a Salesforce internal error"
        return Diagnosis(
            Code.SF_FAILED,
            f"sf {kind}: {_one_line(redact(message))[:200] or _excerpt(result)}",
            "retry; if it persists, update sf: npm install -g @salesforce/cli",
        )
    return classify_lines(attempt_lines(message))


# --- sf org display ---


@dataclass(frozen=True)
class OrgDisplay:
    connected: bool
    status: str
    org_id: str
    instance_url: str
    username: str


def parse_display(result: CommandResult) -> OrgDisplay | Diagnosis:
    result = _scrubbed(result)
    failed = sf_failed(result, "sf org display")
    if failed is not None:
        return failed
    doc = _load_json(result.stdout)
    res = doc.get("result") if isinstance(doc, dict) else None
    if not (isinstance(doc, dict) and doc.get("status") == 0 and isinstance(res, dict)):
        message = str(doc.get("message") or "") if isinstance(doc, dict) else ""
        return Diagnosis(
            Code.SF_FAILED,
            f"sf org display failed: {_one_line(redact(message))[:200] or _excerpt(result)}",
            "log in again: sfjwt-orch login --alias NAME",
        )
    status = str(res.get("connectedStatus") or "")
    return OrgDisplay(
        connected=status == "Connected",
        status=status,
        org_id=str(res.get("id") or ""),
        instance_url=str(res.get("instanceUrl") or ""),
        username=str(res.get("username") or ""),
    )
