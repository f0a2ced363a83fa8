"""The one exception tree: every expected failure has a stable code, a fix and an exit code.

The codes and exit codes are a public contract (scripts branch on them): they are listed in the
README and tested one by one. Add codes; never rename or renumber them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Protocol


class Exit(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2  # bad usage or input: fix the command line or the files it names
    REFUSED = 3  # Salesforce (or the network to it) refused the login
    NOT_APPROVED = 4  # the one-time approval was still missing when the wait ended
    TOOL = 5  # sf or openssl is missing or broken
    ATTENTION = 6  # doctor or status ran and found a problem (each listed with its fix)
    INTERRUPTED = 130


class Code(StrEnum):
    # Salesforce answered, and said no.
    NOT_APPROVED = "NOT_APPROVED"
    NOT_ADMIN_APPROVED = "NOT_ADMIN_APPROVED"
    CLIENT_ID_INVALID = "CLIENT_ID_INVALID"
    APP_NOT_INSTALLED = "APP_NOT_INSTALLED"
    AUDIENCE_INVALID = "AUDIENCE_INVALID"
    INVALID_ASSERTION = "INVALID_ASSERTION"
    EXPIRED_ASSERTION = "EXPIRED_ASSERTION"
    AUTH_FAILURE = "AUTH_FAILURE"
    IP_RESTRICTED = "IP_RESTRICTED"
    INACTIVE_USER = "INACTIVE_USER"
    # "not approved" where an approval cannot be missing (the app pre-authorizes, or the person has just
    # approved): the username is likely wrong or not a user of this org (issue 24 item 4).
    USERNAME_SUSPECT = "USERNAME_SUSPECT"
    INACTIVE_ORG = "INACTIVE_ORG"
    RATE_LIMITED = "RATE_LIMITED"
    NETWORK = "NETWORK"
    SERVER_ERROR = "SERVER_ERROR"
    UNKNOWN = "UNKNOWN"
    # Creating the app (app create): what the org said to the admin's deploy and assignment.
    INTEGRATION_USER_NOT_FOUND = "INTEGRATION_USER_NOT_FOUND"
    DEPLOY_FAILED = "DEPLOY_FAILED"
    ECA_DISABLED = "ECA_DISABLED"
    CONNECTED_APP_BLOCKED = "CONNECTED_APP_BLOCKED"
    PERMSET_ASSIGN_FAILED = "PERMSET_ASSIGN_FAILED"
    # The org or the admin may not read an ECA's OAuth settings through the Metadata API (Spring '26 gates).
    CONSUMER_SECRETS_BLOCKED = "CONSUMER_SECRETS_BLOCKED"
    # Found locally, before or instead of a request.
    KEY_INVALID = "KEY_INVALID"
    KEY_NOT_FOUND = "KEY_NOT_FOUND"
    KEY_EXISTS = "KEY_EXISTS"
    CERT_INVALID = "CERT_INVALID"
    LIGHTNING_URL = "LIGHTNING_URL"
    URL_REFUSED = "URL_REFUSED"  # a URL two parsers could read differently, credentials, a host not Salesforce's
    USAGE = "USAGE"
    PROFILE_NOT_FOUND = "PROFILE_NOT_FOUND"
    PROFILE_INVALID = "PROFILE_INVALID"
    FILE_ERROR = "FILE_ERROR"
    LOCKED = "LOCKED"
    ADMIN_ORG_NOT_FOUND = "ADMIN_ORG_NOT_FOUND"
    APP_EXISTS = "APP_EXISTS"
    # The programs we drive.
    SF_NOT_FOUND = "SF_NOT_FOUND"
    SF_FAILED = "SF_FAILED"
    SF_STATE_BROKEN = "SF_STATE_BROKEN"  # sf's own files (~/.sfdx) are broken: sf cannot log in or read a login
    OPENSSL_NOT_FOUND = "OPENSSL_NOT_FOUND"
    OPENSSL_FAILED = "OPENSSL_FAILED"
    # doctor and status: the checks ran, and one failed (each check or alias says which, with its fix).
    CHECK_FAILED = "CHECK_FAILED"
    # Keyless CI (login --oidc): the job's identity token, and the org's token exchange.
    OIDC_NO_ID_TOKEN = "OIDC_NO_ID_TOKEN"  # the job has no identity token: the workflow lacks the permission
    OIDC_PROVIDER_FAILED = "OIDC_PROVIDER_FAILED"  # the CI provider did not hand out the token
    OIDC_CLAIM_MISMATCH = "OIDC_CLAIM_MISMATCH"  # a claim is not the one the org trusts
    OIDC_SIGNATURE = "OIDC_SIGNATURE"  # the token does not verify against the issuer's keys
    OIDC_EXCHANGE_DISABLED = "OIDC_EXCHANGE_DISABLED"  # no handler, or token exchange off, for the app
    OIDC_NOT_PREAUTHORIZED = "OIDC_NOT_PREAUTHORIZED"  # the mapped user is not pre-authorized for the app
    # Ours.
    INTERRUPTED = "INTERRUPTED"
    INTERNAL = "INTERNAL"


# Every code's exit code, written out: a new code without one fails its test (tests/unit/test_checks.py)
# instead of landing silently on some default.
EXIT_OF: dict[Code, Exit] = {
    Code.NOT_APPROVED: Exit.NOT_APPROVED,
    **{c: Exit.REFUSED for c in (
        Code.NOT_ADMIN_APPROVED, Code.CLIENT_ID_INVALID, Code.APP_NOT_INSTALLED, Code.AUDIENCE_INVALID,
        Code.INVALID_ASSERTION, Code.EXPIRED_ASSERTION, Code.AUTH_FAILURE, Code.IP_RESTRICTED, Code.INACTIVE_USER,
        Code.USERNAME_SUSPECT, Code.INACTIVE_ORG, Code.RATE_LIMITED, Code.NETWORK, Code.SERVER_ERROR, Code.UNKNOWN,
        # app create: the org refused the admin's deploy or assignment (Salesforce said no, as to a login)
        Code.INTEGRATION_USER_NOT_FOUND, Code.DEPLOY_FAILED, Code.ECA_DISABLED, Code.CONNECTED_APP_BLOCKED,
        Code.PERMSET_ASSIGN_FAILED, Code.CONSUMER_SECRETS_BLOCKED,
        # login --oidc: the CI provider or the org's token exchange said no
        Code.OIDC_PROVIDER_FAILED, Code.OIDC_CLAIM_MISMATCH, Code.OIDC_SIGNATURE, Code.OIDC_EXCHANGE_DISABLED,
        Code.OIDC_NOT_PREAUTHORIZED,
    )},
    **{c: Exit.USAGE for c in (
        Code.KEY_INVALID, Code.KEY_NOT_FOUND, Code.KEY_EXISTS, Code.CERT_INVALID, Code.LIGHTNING_URL,
        Code.URL_REFUSED, Code.USAGE, Code.PROFILE_NOT_FOUND, Code.PROFILE_INVALID, Code.FILE_ERROR, Code.LOCKED,
        Code.ADMIN_ORG_NOT_FOUND, Code.APP_EXISTS, Code.OIDC_NO_ID_TOKEN,
    )},
    **{c: Exit.TOOL for c in (
        Code.SF_NOT_FOUND, Code.SF_FAILED, Code.SF_STATE_BROKEN, Code.OPENSSL_NOT_FOUND, Code.OPENSSL_FAILED,
    )},
    Code.CHECK_FAILED: Exit.ATTENTION,
    Code.INTERRUPTED: Exit.INTERRUPTED,
    Code.INTERNAL: Exit.UNEXPECTED,
}  # fmt: skip


def exit_code_for(code: Code) -> Exit:
    """The exit code of an outcome code (README: "Exit codes")."""
    return EXIT_OF[code]


class SfjwtError(Exception):
    """An expected failure: one line of message, one concrete fix, a stable code. It carries the
    error only: what the command had done when it failed travels in its result (`Result`)."""

    def __init__(self, code: Code, message: str, fix: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix = fix

    @property
    def exit_code(self) -> int:
        return int(exit_code_for(self.code))

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message, "fix": self.fix}


def envelope(fields: Mapping[str, Any], error: SfjwtError | None = None) -> dict[str, Any]:
    """Every --json document, on success and on failure: {"ok": ..., <the command's fields>, "error":
    null or {code, message, fix}}. `ok` is whether there is no error (doctor and status report theirs
    without raising it)."""
    body = {key: value for key, value in fields.items() if key not in ("ok", "error")}
    return {"ok": error is None, **body, "error": error_json(error)}


def usage(message: str, fix: str) -> SfjwtError:
    return SfjwtError(Code.USAGE, message, fix)


def interrupted() -> SfjwtError:
    """Ctrl-C (or SIGTERM, SIGHUP) where nothing more is known: exit 130."""
    return SfjwtError(Code.INTERRUPTED, "interrupted", "nothing was left half-written; run the command again")


def error_json(error: SfjwtError | None) -> dict[str, str] | None:
    return error.to_json() if error else None


class Result(Protocol):
    """What a flow returns, and a command hands back to the error boundary (cli), success or
    failure alike: its fields, and the error it ended with (None: it worked). The boundary prints
    `envelope(result.to_json(), result.error)` with --json, the error's message and fix, and
    returns the error's exit code."""

    @property
    def error(self) -> SfjwtError | None: ...

    def to_json(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Document:
    """A command's result that is plain fields: a command without a report type of its own, or the
    command's document shape for an error raised before its flow returned (a bad flag, Ctrl-C).
    `said`: the command has told the person its error its own way (doctor's checks), so the
    boundary prints only the document and the exit code. `keep_tokens`: see Console.emit_json."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    error: SfjwtError | None = None
    said: bool = False
    keep_tokens: bool = False

    def to_json(self) -> Mapping[str, Any]:
        return self.fields
