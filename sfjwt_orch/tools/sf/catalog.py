"""What Salesforce's refusals mean: the error table and the classifier of sf's per-attempt lines.

`sf org login jwt` wraps the server's `error_description`s, one line per (login URL, aud) pair it
tried: "... Here’s the error: JwtAuthError::Error authenticating with JWT.\\nErrors encountered:\\n<lines>".
The OAuth `error` code itself is lost (plugin-auth `jwt.ts`, sfdx-core `authJwt`). sf also tries
test.salesforce.com and login.salesforce.com, so the lines mix the org's answer with noise
("fetch failed" offline, "client identifier invalid" from the wrong org). We report the line from
the deepest validation stage reached: Salesforce checks the client id, then the signature, then
aud, then exp, then the user's approval, then IP and login hours.

Pure: text in, Diagnosis out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sfjwt_orch.errors import Code


@dataclass(frozen=True)
class Diagnosis:
    code: Code
    message: str
    fix: str
    lines: tuple[str, ...] = ()  # every attempt's line, for --verbose and --json's sf_lines
    decided: str = ""  # the line that decided the outcome (the others are sf's fall-back hosts)


@dataclass(frozen=True)
class Entry:
    code: Code
    rank: int  # higher = a deeper validation stage = more specific
    patterns: tuple[str, ...]
    message: str
    fix: str


# Order matters only for lines that match several patterns: the first entry wins.
CATALOG: tuple[Entry, ...] = (
    Entry(
        Code.KEY_NOT_FOUND,
        100,
        ("enoent", "no such file or directory"),
        "sf cannot read the key file",
        "keep the key at the path sf was given (sf re-reads it at every token refresh)",
    ),
    Entry(
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
    Entry(
        Code.LIGHTNING_URL,
        100,
        ("lightning domain",),
        "the instance URL is a Lightning (*.lightning.force.com) domain",
        "use the My Domain login URL, https://<MyDomain>.my.salesforce.com",
    ),
    Entry(
        Code.RATE_LIMITED,
        90,
        ("number of logins exceeded", "rate_limit_exceeded", "login rate exceeded", "rate limit"),
        "Salesforce refused: too many logins for this user (login rate exceeded)",
        # Salesforce Help 000312767 / 000381578: 3,600 logins per user per hour, refused until the
        # hour's count drops. sfjwt-orch never retries this refusal (flows/login.py).
        "wait up to an hour: Salesforce allows 3,600 logins per user per hour and refuses more until the "
        "hour's count drops; then log in once per job and reuse the sf auth instead of logging in per step",
    ),
    Entry(
        Code.IP_RESTRICTED,
        90,
        ("ip restricted", "invalid login hours"),
        "Salesforce refused: this machine's IP or the time of day is outside the user's login policy",
        "add this runner's IP range to the profile's Login IP Ranges, or set the app's IP Relaxation "
        "to 'Relax IP restrictions'; check Login Hours",
    ),
    Entry(
        Code.INACTIVE_USER,
        85,
        ("user is inactive", "inactive_user", "user is frozen"),
        "Salesforce refused: the user is inactive",
        "reactivate the user in Setup > Users, or log in as another user",
    ),
    Entry(
        Code.INACTIVE_ORG,
        85,
        ("org is locked", "inactive_org", "closed, or suspended"),
        "Salesforce refused: the org is locked, closed or suspended (an expired scratch org or trial?)",
        "recreate the scratch org or ask the org's admin to unlock it",
    ),
    Entry(
        Code.AUTH_FAILURE,
        80,
        ("authentication failure", "invalid user credentials"),
        "Salesforce refused the user's login (authentication failure)",
        "open Setup > Login History for the user: its Status column names the real reason "
        "(frozen user, login flow, high-assurance session)",
    ),
    Entry(
        Code.NOT_ADMIN_APPROVED,
        70,
        ("not admin approved", "oauth_app_access_denied"),
        "Salesforce refused: the app is 'Admin approved users are pre-authorized' and this user is not",
        "in the app's Policies, add the user's profile or a permission set assigned to the user",
    ),
    Entry(
        Code.NOT_APPROVED,
        70,
        ("hasn't approved this consumer", "has not approved this consumer", "hasn't approved"),
        "the user has not approved the app yet (user hasn't approved this consumer)",
        "open the authorize URL once as this user and click Allow, or set the app's Permitted Users to "
        "'Admin approved users are pre-authorized' and add the user's profile",
    ),
    Entry(
        Code.EXPIRED_ASSERTION,
        60,
        ("expired authorization code",),
        "Salesforce says the signed assertion has expired",
        "sync this machine's clock (NTP): its time is far off",
    ),
    Entry(
        Code.INVALID_ASSERTION,
        50,
        ("invalid assertion",),
        "Salesforce could not verify the JWT: the key does not match the certificate on the app",
        "upload the server.crt made with this key to the app (Use digital signatures / Enable JWT Bearer "
        "Flow), and check that --client-id is that app's consumer key",
    ),
    Entry(
        Code.AUDIENCE_INVALID,
        40,
        ("audience is invalid", "audience validation failed"),
        "Salesforce refused the JWT's audience: the login URL does not match the org",
        "pass the org's My Domain login URL as --instance-url (sandboxes: --sandbox or "
        "https://<MyDomain>--<sandbox>.sandbox.my.salesforce.com)",
    ),
    Entry(
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
    Entry(
        Code.APP_NOT_INSTALLED,
        21,
        ("external client app is not installed", "app_not_found", "app must be installed"),
        "the app is not installed in this org (or has not reached every Salesforce server yet)",
        "create or install the External Client App in this org, use its My Domain as --instance-url, "
        "and allow 2-10 minutes after creating or editing it",
    ),
    Entry(
        Code.CLIENT_ID_INVALID,
        20,
        ("client identifier invalid", "invalid_client_id"),
        "Salesforce does not know this consumer key (client identifier invalid)",
        "copy the Consumer Key again from the app (it belongs to one org: sandboxes need their own), "
        "and allow 2-10 minutes after creating the app",
    ),
    Entry(
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
EMPTY = Entry(
    Code.SERVER_ERROR,
    30,
    (),
    "the login server answered without an error description (wrong host, or not a Salesforce login endpoint?)",
    "check --instance-url: use https://login.salesforce.com, https://test.salesforce.com or the org's My Domain",
)
# sf (exit 10) when a 200 token reply lacks instance_url or id: @salesforce/ts-types' ensureString
# fails with "UnexpectedValueTypeError::Value is not a string" (observed with sf 2.150.6 against the
# emulator's incomplete_reply). The server is at fault, not sf.
INCOMPLETE_REPLY = Entry(
    Code.SERVER_ERROR,
    30,
    ("unexpectedvaluetypeerror",),
    "the login server's token reply lacked fields sf needs (instance_url, id): not a Salesforce login endpoint?",
    "check --instance-url (and any proxy in the way): use the org's My Domain or https://login.salesforce.com",
)
# A retrieve of ExtlClntAppGlobalOauthSettings (an ECA's consumer key and certificate) needs the org
# setting and the user permission named below (Metadata API Developer Guide, ExtlClntAppGlobalOauthSettings,
# "Special Access Rules"; Help 005197683 for the permission). No public source quotes the refusal a real
# org sends: we match the Metadata API's INSUFFICIENT_ACCESS naming the type, or either Setup label.
CONSUMER_SECRETS = Entry(
    Code.CONSUMER_SECRETS_BLOCKED,
    80,
    ("consumer secrets via metadata", "consumer secrets in metadata"),
    "the org does not let this admin read the External Client App's OAuth settings through the Metadata API",
    "in Setup > External Client App Settings turn on 'Allow Access to OAuth Consumer Secrets via Metadata API', "
    "and give the admin the permission 'View External Client Apps Consumer Secrets in Metadata' "
    "(a permission set), then run this again",
)


def is_consumer_secrets_refusal(message: str) -> bool:
    text = _normalise(message)
    gated = "insufficient_access" in text and "extlclntappglobaloauthsettings" in text
    return gated or any(p in text for p in CONSUMER_SECRETS.patterns)


UNKNOWN = Entry(
    Code.UNKNOWN,
    10,
    (),
    "sf could not log in, for a reason sfjwt-orch does not recognise",
    "read sf's message above; run sfjwt-orch doctor, and check Setup > Login History",
)


def _normalise(line: str) -> str:
    return line.replace("\u2019", "'").strip().lower()


def classify_line(line: str) -> Entry:
    text = _normalise(line)
    if not text:
        return EMPTY
    for entry in CATALOG:
        if any(p in text for p in entry.patterns):
            return entry
    return UNKNOWN


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
        return diagnosis(UNKNOWN, lines)
    entries = [classify_line(line) for line in lines]
    best = max(range(len(entries)), key=lambda i: (entries[i].rank, -i))
    return diagnosis(entries[best], lines, lines[best])


def diagnosis(entry: Entry, lines: tuple[str, ...], line: str = "") -> Diagnosis:
    """The outcome of `entry`, carrying sf's lines (already redacted by the parser) for --verbose."""
    message = entry.message
    if entry is UNKNOWN and line:
        message = f"{message}: {one_line(line)[:200]}"
    return Diagnosis(entry.code, message, entry.fix, tuple(x[:300] for x in lines), line[:300])


def one_line(text: str) -> str:
    """Our error messages are one line: sf's multi-line text is joined with " | " (splitlines also
    breaks at CR, the ASCII separators FS/GS/RS and U+2028, which would otherwise reach the terminal)."""
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())
