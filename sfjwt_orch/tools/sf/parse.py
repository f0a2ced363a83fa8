"""Pure parsers of what sf prints: a finished run in, a typed result or a Diagnosis out.

Every parser decodes sf's output once (`Output`) and redacts it once, before anything is split
into lines: a PEM block that sf echoes in a multi-line message would otherwise be split into one
line per 64 characters, and a lone base64 line is not recognisable as part of a key. Unknown JSON
keys are ignored: sf may add fields at any time. Classification looks at structure first
(`status`, `name`, `exitCode`), then at the message text (catalog.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sfjwt_orch.errors import Code
from sfjwt_orch.salesforce.validate import reported_url
from sfjwt_orch.tools.runner import CommandResult
from sfjwt_orch.tools.sf.catalog import (
    CATALOG_BY_CODE,
    INCOMPLETE_REPLY,
    Diagnosis,
    attempt_lines,
    classify_lines,
    diagnosis,
    one_line,
)
from sfjwt_orch.tools.sf.node import crash_at_start, crash_fix
from sfjwt_orch.ui.redact import redact

T = TypeVar("T")

_CHECK_SF = "check sf works: sf --version (reinstall with: npm install -g @salesforce/cli)"


@dataclass(frozen=True)
class LoginSuccess:
    username: str
    org_id: str
    instance_url: str
    login_url: str
    is_dev_hub: bool
    is_sandbox: bool


@dataclass(frozen=True)
class OrgDisplay:
    connected: bool
    status: str
    org_id: str
    instance_url: str
    username: str


@dataclass(frozen=True)
class Output:
    """One sf run's output, redacted, with its JSON document decoded (None when there is none)."""

    result: CommandResult
    doc: dict[str, Any] | None

    @classmethod
    def of(cls, result: CommandResult) -> Output:
        clean = replace(result, stdout=redact(result.stdout), stderr=redact(result.stderr))
        doc = _load_json(clean.stdout)
        return cls(clean, doc if isinstance(doc, dict) else None)

    @property
    def ok(self) -> bool:
        return self.doc is not None and self.doc.get("status") == 0 and self.result.returncode == 0

    @property
    def payload(self) -> dict[str, Any] | None:
        res = self.doc.get("result") if self.doc else None
        return res if isinstance(res, dict) else None

    @property
    def message(self) -> str:
        return str(self.doc.get("message") or "") if self.doc else ""

    @property
    def name(self) -> str:
        return str(self.doc.get("name") or self.doc.get("code") or "") if self.doc else ""

    def excerpt(self) -> str:
        text = self.result.stderr.strip() or self.result.stdout.strip()
        return one_line(text)[:300] or "no output"


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


def sf_failed(out: Output, what: str) -> Diagnosis | None:
    """The failures that are sf's own (not Salesforce's answer), common to every sf command."""
    result = out.result
    if result.timed_out:
        return Diagnosis(
            Code.SF_FAILED,
            f"{what} did not finish within the limit for one sf run ({result.duration:.0f} s: --attempt-timeout, "
            "or SFJWT_ORCH_SF_TIMEOUT) and was stopped",
            "check the network and --instance-url; on a slow link or org raise the limit: --attempt-timeout 120",
        )
    if result.returncode < 0:
        return Diagnosis(
            Code.SF_FAILED, f"{what} was killed by signal {-result.returncode}: {out.excerpt()}", _CHECK_SF
        )
    if out.doc is None and result.returncode != 0 and (crash := crash_at_start(result.stderr)) is not None:
        # Reinstalling sf on the same Node crashes the same way (issue 22: sf 2.146.3 on Node 20). The
        # fix names the Node that sf's HTTP client declares, read from sf's own folder (node.py).
        return Diagnosis(Code.SF_FAILED, crash.message(what), crash_fix(crash))
    if out.doc is None:
        if not (result.stdout.strip() or result.stderr.strip()):
            return Diagnosis(
                Code.SF_FAILED,
                f"{what} exited {result.returncode} and printed nothing",
                "sf 2.150 needs Node 22 or newer: check node --version and sf --version",
            )
        return Diagnosis(
            Code.SF_FAILED, f"{what} printed no JSON (exit {result.returncode}): {out.excerpt()}", _CHECK_SF
        )
    return None


# --- sf's own files (~/.sfdx) that it cannot read: captured in tests/data/sf-outputs/state_* ---

# What sf 2.150 says when its alias.json, key.json or folder is broken. It wraps them as a JWT error
# ("Here's the error: SyntaxError::…") or as a flag error ("Parsing --target-org …", exit 2), so they
# would otherwise read as a refused login or a bad command line.
_STATE_BROKEN = (
    "failed to decipher auth data",  # key.json lost or replaced: stored logins cannot be decrypted
    "authinfooverwriteerror",  # the same, met while saving a new login for a username sf has
    "invalid file permissions for secret file",  # key.json not a 0600 file
    "eexist: file already exists, mkdir",  # ~/.sfdx is a file
    "enotdir",
    "eisdir: illegal operation on a directory",  # alias.json is a folder
    "in json at position",  # alias.json (or another state file) is not JSON
    "is not valid json",
    "unexpected end of json input",
)


def classify(result: CommandResult, parse: Callable[[CommandResult], T | Diagnosis]) -> T | Diagnosis:
    """What any sf command did: sf failing on its own files (~/.sfdx) first, whatever the command
    (a deploy or a config set meets them as a login does), then the command's own parser."""
    if result.returncode > 0 and not result.timed_out and (broken := state_broken(Output.of(result))) is not None:
        return broken
    return parse(result)


def state_broken(out: Output) -> Diagnosis | None:
    """SF_STATE_BROKEN when sf failed on its own files; never for a server's answers (those come as
    "Errors encountered" lines). Which file it was is for the adapter to find (local.py)."""
    text = f"{out.name} {out.message}".lower()
    if "errors encountered" in text or not any(p in text for p in _STATE_BROKEN):
        return None
    said = one_line(
        re.sub(r"^.*Here[’']s the error:\s*|^Parsing --target-org\s*|See more help with --help", "", out.message)
    )
    return Diagnosis(
        Code.SF_STATE_BROKEN,
        f"sf cannot read its own files in ~/.sfdx: {said[:200]}",
        "move the broken file aside (sfjwt-orch doctor names it); sf rebuilds alias.json and its folder",
        (said[:300],),
        said[:300],
    )


# --- sf org login jwt ---

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
            return diagnosis(CATALOG_BY_CODE[Code.LIGHTNING_URL], (body,))
        return classify_lines(attempt_lines(body))
    return None


def parse_login(result: CommandResult) -> LoginSuccess | Diagnosis:
    out = Output.of(result)
    failed = sf_failed(out, "sf org login jwt")
    if failed is not None:
        if out.doc is None and not out.result.timed_out and out.result.returncode >= 0:
            return _parse_human(out.result) or failed
        return failed
    res = out.payload
    if out.ok and res is None:  # sf says it worked but shows nothing: sf misbehaving, not Salesforce refusing
        return Diagnosis(Code.SF_FAILED, "sf reported success without a result (no org id or username)", _CHECK_SF)
    if out.ok and res is not None:
        org_id, username = res.get("orgId"), res.get("username")
        if not (isinstance(org_id, str) and isinstance(username, str)):
            return Diagnosis(Code.SF_FAILED, "sf reported success without an org id or username", _CHECK_SF)
        return LoginSuccess(
            username=username,
            org_id=org_id,
            instance_url=reported_url(str(res.get("instanceUrl") or "")),
            login_url=reported_url(str(res.get("loginUrl") or "")),
            is_dev_hub=bool(res.get("isDevHub")),
            is_sandbox=bool(res.get("isSandbox")),
        )
    return _login_refused(out)


def _login_refused(out: Output) -> Diagnosis:
    name, message = out.name, out.message
    exit_code = out.doc.get("exitCode", out.result.returncode) if out.doc else out.result.returncode
    if name == "LightningDomain":
        return diagnosis(CATALOG_BY_CODE[Code.LIGHTNING_URL], (message,))
    if exit_code == 2 or name.endswith("FlagsError") or "FlagValidation" in name:
        return Diagnosis(
            Code.SF_FAILED,
            f"sf rejected the command line: {one_line(message)[:200]}",
            "this sf may be too old or too new for sfjwt-orch: check sf --version",
        )
    if exit_code == 10 and any(p in message.lower() for p in INCOMPLETE_REPLY.patterns):
        return diagnosis(INCOMPLETE_REPLY, (message,), message)
    if exit_code in (10, 20) and "Errors encountered" not in message:
        kind = "crashed (TypeError)" if exit_code == 10 else "hit a Salesforce internal error"
        return Diagnosis(
            Code.SF_FAILED,
            f"sf {kind}: {one_line(message)[:200] or out.excerpt()}",
            "retry; if it persists, update sf: npm install -g @salesforce/cli",
        )
    return classify_lines(attempt_lines(message))


# --- sf org display ---


def parse_display(result: CommandResult) -> OrgDisplay | Diagnosis:
    out = Output.of(result)
    failed = sf_failed(out, "sf org display")
    if failed is not None:
        return failed
    res = out.payload
    if not out.ok or res is None:
        return Diagnosis(
            Code.SF_FAILED,
            f"sf org display failed: {one_line(out.message)[:200] or out.excerpt()}",
            "log in again: sfjwt-orch login --alias NAME",
        )
    status = str(res.get("connectedStatus") or "")
    return OrgDisplay(
        connected=status == "Connected",
        status=status,
        org_id=str(res.get("id") or ""),
        instance_url=reported_url(str(res.get("instanceUrl") or "")),
        username=str(res.get("username") or ""),
    )


# --- sf org logout, sf config set, sf --version ---


def parse_logout(result: CommandResult) -> bool | Diagnosis:
    """True when sf logged the alias out, False when sf held nothing for it (the goal is met too)."""
    out = Output.of(result)
    failed = sf_failed(out, "sf org logout")
    if failed is not None:
        return failed
    if out.ok:
        return True
    # Exit 1 with NoAuthFoundForTargetOrgError: there was nothing to log out.
    if out.result.returncode == 1 and "NoAuthFound" in out.name:
        return False
    return Diagnosis(Code.SF_FAILED, f"sf org logout failed: {one_line(out.message)[:200] or out.excerpt()}", "")


def parse_config_set(result: CommandResult) -> Diagnosis | None:
    """None when sf set the value: its exit code says so (what it prints is not needed)."""
    if result.returncode == 0 and not result.timed_out:
        return None
    out = Output.of(result)
    return sf_failed(out, "sf config set") or Diagnosis(
        Code.SF_FAILED, f"sf config set failed: {one_line(out.message)[:200] or out.excerpt()}", ""
    )


def parse_sf_version(result: CommandResult) -> str | Diagnosis:
    """sf --version: its version, else why it did not say it."""
    found = parse_version(result.stdout) if result.returncode == 0 else None
    return found or Diagnosis(
        Code.SF_FAILED, f"sf --version did not say its version (exit {result.returncode})", _CHECK_SF
    )


def parse_version(text: str) -> str | None:
    """`@salesforce/cli/2.150.6 linux-x64 node-v24.19.0` -> "2.150.6 (node v24.19.0)"."""
    m = re.search(r"@salesforce/cli/(\S+)", text)
    if not m:
        return None
    node = re.search(r"node-(v[\d.]+)", text)
    return f"{m.group(1)} (node {node.group(1)})" if node else m.group(1)
