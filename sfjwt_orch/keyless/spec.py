"""The one declarative statement of whom an org trusts: the bound-claims spec.

`TrustSpec` says which issuer, which audience (the org's own URL, fixed at trust time), which
bindings (a repository or project, required; a ref and an environment, optional) and which user
every accepted token maps to. The Apex handler is generated from it (apex.py) and carries it, as
JSON, in a marked string literal; the emulator reads that literal from the deployed class. No
other copy of the rules exists.

Claim names are the providers' own: GitHub's `repository`, `ref`, `environment`
(docs.github.com "About security hardening with OpenID Connect", the token's claims); GitLab's
`project_path`, `ref`, `environment` (docs.gitlab.com "OpenID Connect (OIDC) Authentication Using
ID Tokens", token payload).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sfjwt_orch.errors import usage

SPEC_VERSION = 1


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


# The public issuers (GitHub: "https://token.actions.githubusercontent.com"; GitLab: the instance URL).
DEFAULT_ISSUER = {Provider.GITHUB: "https://token.actions.githubusercontent.com", Provider.GITLAB: "https://gitlab.com"}
# The claim that names the repository or project: the binding every entry must have.
SUBJECT_CLAIM = {Provider.GITHUB: "repository", Provider.GITLAB: "project_path"}
_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+$")


def keys_endpoint(provider: Provider, issuer: str) -> str:
    """Where the issuer publishes its keys: GitHub `<issuer>/.well-known/jwks`, GitLab
    `<issuer>/oauth/discovery/keys` (both named as jwks_uri by their discovery documents)."""
    base = issuer.rstrip("/")
    return f"{base}/.well-known/jwks" if provider is Provider.GITHUB else f"{base}/oauth/discovery/keys"


@dataclass(frozen=True)
class Binding:
    """One trusted repository or project, and optionally the ref and environment it must run in."""

    claims: tuple[tuple[str, str], ...]  # (claim, expected value), sorted by claim

    def to_json(self) -> dict[str, str]:
        return dict(self.claims)

    @property
    def subject(self) -> str:
        found = dict(self.claims)
        return found.get("repository") or found.get("project_path") or ""


@dataclass(frozen=True)
class TrustSpec:
    provider: Provider
    issuer: str
    audience: str
    username: str
    bindings: tuple[Binding, ...] = field(default=())

    @property
    def keys_endpoint(self) -> str:
        return keys_endpoint(self.provider, self.issuer)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SPEC_VERSION,
            "provider": self.provider.value,
            "issuer": self.issuer,
            "audience": self.audience,
            "keys_endpoint": self.keys_endpoint,
            "user": self.username,
            "bindings": [b.to_json() for b in self.bindings],
        }

    def text(self) -> str:
        """Canonical JSON (sorted keys, no spaces): what the Apex literal holds."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    def with_binding(self, binding: Binding) -> tuple[TrustSpec, bool]:
        """The spec with `binding` (replacing one for the same subject); and whether it changed."""
        kept = tuple(b for b in self.bindings if b.subject != binding.subject)
        new = replace(self, bindings=(*kept, binding))
        return new, set(new.bindings) != set(self.bindings)

    def without(self, subject: str) -> tuple[TrustSpec, bool]:
        kept = tuple(b for b in self.bindings if b.subject != subject)
        return replace(self, bindings=kept), len(kept) != len(self.bindings)


def binding(provider: Provider, subject: str, ref: str | None, environment: str | None) -> Binding:
    flag = "--repo" if provider is Provider.GITHUB else "--project"
    if not _PATH.fullmatch(subject) or (provider is Provider.GITHUB and subject.count("/") != 1):
        shape = "OWNER/NAME" if provider is Provider.GITHUB else "GROUP/NAME (subgroups allowed)"
        raise usage(f"{flag} {subject!r} is not {shape}", f"pass {flag} {shape}, e.g. {flag} acme/salesforce-ci")
    claims = [(SUBJECT_CLAIM[provider], subject)]
    if ref:
        if provider is Provider.GITHUB and not ref.startswith("refs/"):
            raise usage(f"--ref {ref!r} is not a full Git ref", "GitHub's ref claim is e.g. refs/heads/main")
        claims.append(("ref", ref))
    if environment:
        claims.append(("environment", environment))
    return Binding(tuple(sorted(claims)))


def check_issuer(issuer: str) -> str:
    """An https URL, or an http one on loopback (a rehearsal against the emulator)."""
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or parts.query or parts.fragment or (parts.scheme != "https" and not loopback):
        raise usage(
            f"--issuer {issuer!r} is not an https URL",
            "pass the issuer as its tokens name it, e.g. https://ghe.acme.com/_services/token",
        )
    return issuer.rstrip("/")


def from_json(doc: dict[str, Any]) -> TrustSpec:
    provider = Provider(doc["provider"])
    bindings = tuple(Binding(tuple(sorted((str(k), str(v)) for k, v in b.items()))) for b in doc.get("bindings", []))
    return TrustSpec(provider, str(doc["issuer"]), str(doc["audience"]), str(doc["user"]), bindings)
