"""An emulated CI identity provider on loopback: GitHub Actions' and GitLab CI's OIDC issuers.

Served by the emulator under ``/__ci/<provider>`` (that URL is the issuer):

- ``GET <issuer>/.well-known/openid-configuration``: the discovery document (``issuer``,
  ``jwks_uri``, ``id_token_signing_alg_values_supported``), as both providers publish one.
- ``GET <issuer>/.well-known/jwks`` (GitHub's path) and ``<issuer>/oauth/discovery/keys`` (GitLab's):
  the JSON Web Key Set (RFC 7517) of the issuer's RSA key.
- ``GET <issuer>/_apis/token?audience=AUD`` with ``Authorization: bearer <request token>``: what
  GitHub puts in ``ACTIONS_ID_TOKEN_REQUEST_URL`` / ``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` for a job with
  ``permissions: id-token: write``; it answers ``{"count": N, "value": "<JWT>"}`` (GitHub docs,
  "Configuring OpenID Connect in cloud providers", "Requesting the JWT using environment variables").

A test or a rehearsal opens a job (``CiProviders.github_job`` / ``gitlab_job``) with the claims the
job's token carries; what a real provider signs, it signs (RS256, ``kid``). A job may also ask for
a token signed by a key outside the issuer's set, or one already expired, to rehearse refusals.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .http import Reply, Request, json_reply
from .jwt import b64url_encode

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

PREFIX = "/__ci/"
PROVIDERS = ("github", "gitlab")
GITHUB_REQUEST_PATH = "/_apis/token"
_LIFETIME = 300  # GitHub's and GitLab's ID tokens live minutes; five is enough for a job's login


def is_ci_path(path: str) -> bool:
    return path.startswith(PREFIX)


def _new_key() -> RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()

    def encode(n: int) -> str:
        return b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": encode(numbers.n), "e": encode(numbers.e)}


def sign(key: RSAPrivateKey, kid: str, claims: Mapping[str, Any]) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signing_input = ".".join(
        b64url_encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, dict(claims))
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url_encode(signature)}"


@dataclass(frozen=True)
class Job:
    """One CI job: the claims its identity token carries (iss, aud, iat, nbf, exp are added)."""

    provider: str
    claims: Mapping[str, Any]
    foreign_key: bool = False  # sign with a key that is not in the issuer's set
    lifetime: int = _LIFETIME  # seconds; <= 0: the token is expired when issued
    audience: str | None = None  # overrides the audience the job asks for


@dataclass
class CiProviders:
    """The issuers' keys and the jobs open now (one per request token)."""

    clock: Any = time.time
    _keys: dict[str, tuple[str, RSAPrivateKey]] = field(default_factory=dict)
    _foreign: tuple[str, RSAPrivateKey] | None = None
    _jobs: dict[str, Job] = field(default_factory=dict)
    minted: list[str] = field(default_factory=list)  # every identity token handed out (tests' leak scans)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(self, provider: str) -> tuple[str, RSAPrivateKey]:
        with self._lock:
            if provider not in self._keys:
                self._keys[provider] = (f"{provider}-{secrets.token_hex(4)}", _new_key())
            return self._keys[provider]

    def _foreign_key(self) -> tuple[str, RSAPrivateKey]:
        with self._lock:
            if self._foreign is None:
                # Same kid shape as the issuer's: only the signature tells them apart.
                self._foreign = (f"foreign-{secrets.token_hex(4)}", _new_key())
            return self._foreign

    def open_job(self, job: Job) -> str:
        """Register a job; returns its request token (GitHub's ACTIONS_ID_TOKEN_REQUEST_TOKEN)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._jobs[token] = job
        return token

    def mint(self, issuer: str, job: Job, audience: str) -> str:
        """The identity token a job's request gets."""
        kid, key = self._foreign_key() if job.foreign_key else self._key(job.provider)
        if job.foreign_key:
            kid = self._key(job.provider)[0]  # claims to be the issuer's key
        now = int(self.clock())
        claims = {
            "iss": issuer,
            "aud": job.audience if job.audience is not None else audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + job.lifetime if job.lifetime > 0 else now - 60,
            "jti": secrets.token_hex(8),
            **job.claims,
        }
        token = sign(key, kid, claims)
        with self._lock:
            self.minted.append(token)
        return token

    # ------------------------------------------------------------------ HTTP

    def handle(self, base_url: str, req: Request) -> Reply:
        rest = req.path[len(PREFIX) :]
        provider, _, path = rest.partition("/")
        if provider not in PROVIDERS:
            return json_reply(404, {"message": "Not Found"}, outcome="ci_not_found")
        issuer = f"{base_url}{PREFIX}{provider}"
        path = "/" + path
        if path == "/.well-known/openid-configuration":
            keys = "/.well-known/jwks" if provider == "github" else "/oauth/discovery/keys"
            doc = {
                "issuer": issuer,
                "jwks_uri": issuer + keys,
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
            return json_reply(200, doc, outcome="ci_discovery")
        if path in ("/.well-known/jwks", "/oauth/discovery/keys"):
            kid, key = self._key(provider)
            return json_reply(200, {"keys": [_jwk(key, kid)]}, outcome="ci_jwks")
        if provider == "github" and path == GITHUB_REQUEST_PATH:
            return self._github_token(issuer, req)
        return json_reply(404, {"message": "Not Found"}, outcome="ci_not_found")

    def _github_token(self, issuer: str, req: Request) -> Reply:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        with self._lock:
            job = self._jobs.get(token) if scheme.lower() == "bearer" else None
        if job is None:
            # GitHub answers an unknown or missing request token with 401 [inferred: no public
            # source gives the body; the status is what actions/toolkit's oidc-utils reports].
            return json_reply(401, {"message": "Bad credentials"}, outcome="ci_unauthorized")
        audience = req.query.get("audience", "")
        value = self.mint(issuer, job, audience)
        return json_reply(200, {"count": len(value), "value": value}, outcome="ci_id_token")


def issuer_url(base_url: str, provider: str) -> str:
    return f"{base_url}{PREFIX}{provider}"


def job_env(
    providers: CiProviders, base_url: str, job: Job, *, variable: str = "SFJWT_ORCH_ID_TOKEN"
) -> dict[str, str]:
    """What the job's environment holds. GitHub: the request URL (with its own query, as GitHub's
    has ``?api-version=2.0``, so a client appends ``&audience=``) and request token. GitLab: the
    ``id_tokens`` variable, minted now for the job's audience (GitLab signs it when the job starts)."""
    issuer = issuer_url(base_url, job.provider)
    if job.provider == "github":
        token = providers.open_job(job)
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{issuer}{GITHUB_REQUEST_PATH}?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": token,
            "GITHUB_ACTIONS": "true",
        }
    return {variable: providers.mint(issuer, job, job.audience or ""), "GITLAB_CI": "true"}
