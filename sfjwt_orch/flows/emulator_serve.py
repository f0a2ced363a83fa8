"""emulator serve: which org, apps and users the offline Salesforce plays, from a file or a key."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sfjwt_orch.context import Context
from sfjwt_orch.emulator import (
    EmulatorConfig,
    EmulatorError,
    demo_config,
    empty_org_config,
    guard_path,
    load_config,
    record_id,
    visit,
)
from sfjwt_orch.errors import Code, SfjwtError, usage
from sfjwt_orch.keys import material
from sfjwt_orch.salesforce import validate
from sfjwt_orch.store import files, profiles
from sfjwt_orch.store.paths import check_alias

Policy = Literal["admin-approved", "self-authorize"]


@dataclass(frozen=True)
class ServeRequest:
    port: int = 8555
    app_config: Path | None = None
    cert: Path | None = None
    alias: str | None = None
    username: str = "dev@example.com"
    policy: Policy = "admin-approved"
    dev_hub: bool = False
    pending_app: bool = False  # one app whose certificate is uploaded later (emulator upload-cert)


def check(req: ServeRequest) -> None:
    if not 0 <= req.port <= 65535:
        raise usage(f"--port {req.port} is out of range", "use 1024-65535, or 0 for any free port")
    if req.app_config is not None and (req.cert or req.alias or req.pending_app):
        raise usage(
            "--app-config cannot be combined with --cert, --alias or --pending-app", "describe the app in the file"
        )
    if req.pending_app and req.cert is not None:
        raise usage(
            "--pending-app serves an app without a certificate: --cert contradicts it",
            "drop --cert (upload it later: sfjwt-orch emulator upload-cert --port PORT --cert FILE)",
        )


def emulator_config(req: ServeRequest, ctx: Context) -> EmulatorConfig:
    """The emulator's org from --app-config (with the org id it names), or one app for --cert / the
    alias's certificate, or none, in an org with an id of its own: each `emulator serve` is a new
    org, so stopping one and serving again on the same port rehearses a refreshed sandbox (status
    then says the org behind the alias changed)."""
    made = _emulator_config(req, ctx)
    if req.app_config is not None:
        return made
    return dataclasses.replace(made, org=dataclasses.replace(made.org, org_id=record_id("00D")))


def _emulator_config(req: ServeRequest, ctx: Context) -> EmulatorConfig:
    check(req)
    try:
        if req.app_config is not None:
            return load_config(req.app_config)
        username = validate.check_username(req.username)
        if req.pending_app:
            # The app exists with its consumer key but no certificate: bootstrap makes the key pair,
            # and the person uploads the certificate (upload-cert), as in Setup.
            return demo_config(None, username=username, policy=req.policy, is_dev_hub=req.dev_hub)
        if req.cert is None and not req.alias:
            # No app: an org where an admin creates one (app create), with the integration user.
            return empty_org_config((username,), is_dev_hub=req.dev_hub)
        cert = _certificate(req, ctx)
        try:
            pem = cert.read_text(encoding="utf-8")
        except OSError as exc:
            raise SfjwtError(
                Code.CERT_INVALID,
                f"cannot read certificate {cert}: {exc.strerror}",
                "make one first: sfjwt-orch keygen --alias NAME",
            ) from None
        return demo_config(pem, username=username, policy=req.policy, is_dev_hub=req.dev_hub)
    except EmulatorError as exc:
        raise SfjwtError(Code.USAGE, exc.message, exc.fix) from None


def _certificate(req: ServeRequest, ctx: Context) -> Path:
    return req.cert if req.cert is not None else certificate_of(req.alias or "", ctx)


def certificate_of(alias: str, ctx: Context) -> Path:
    """Where the alias's certificate is: its profile's, else the one keygen / bootstrap make."""
    saved = profiles.load(ctx.paths, check_alias(alias))
    return (saved or profiles.Profile(alias)).cert_path(ctx.paths.key_dir(alias) / material.KEY_NAME)


DEFAULT_ALIAS = "emu"  # what the printed commands use when serve was not given --alias


def try_lines(
    config: EmulatorConfig, url: str, alias: str | None, ctx: Context, issuers: Mapping[str, str] | None = None
) -> list[str]:
    """The commands `emulator serve` suggests next, for the alias it was started with. Each runs in
    the rehearsal's environment through `emulator run` (the loopback guard, sf's variables, the
    admin's token): nothing to copy by hand. `issuers`: the emulated CI providers' issuer URLs, for
    the keyless rehearsal (trust, then login --oidc as a job of the trusted repository)."""
    name = alias or DEFAULT_ALIAS
    users = [u.username for u in config.users if not u.admin] or ["USERNAME"]
    port = url.rsplit(":", 1)[1]
    inside = f"sfjwt-orch emulator run --port {port} --"
    if config.apps and config.apps[0].certificate_pem is None:
        key = config.apps[0].consumer_key
        return [
            f"Try: {inside} sfjwt-orch bootstrap --alias {name} --client-id {key} --username {users[0]} "
            f"--instance-url {url}",
            "  bootstrap makes the key and certificate; upload the certificate to the app (as in Setup) with: "
            f"sfjwt-orch emulator upload-cert --port {port} --cert {certificate_of(name, ctx)}",
            "  an approval URL it prints is approved with: sfjwt-orch emulator approve 'URL' (no browser needed)",
        ]
    if config.apps:
        return [
            f"Try: {inside} sfjwt-orch login --alias {name} --client-id {config.apps[0].consumer_key} "
            f"--username {users[0]} --instance-url {url}",
            "  an approval URL it prints is approved with: sfjwt-orch emulator approve 'URL' (no browser needed)",
        ]
    if config.admin is None:
        return []
    lines = [
        f"Log sf in as the org's admin ({config.admin.username}); emulator run sets SF_ACCESS_TOKEN to the "
        "admin's access token (emulator serve --json shows it as admin.access_token):",
        f"  {inside} sf org login access-token --instance-url {url} --alias admin --no-prompt",
        f"Then: {inside} sfjwt-orch app create --alias {name} --target-org admin --username {users[0]}",
    ]
    if issuers and "github" in issuers:
        job = f"sfjwt-orch emulator run --port {port} --ci github --claim repository=acme/app --"
        lines += [
            f"Or keyless CI (docs/keyless-ci.md): {inside} sfjwt-orch trust github --alias {name} --target-org admin "
            f"--username {users[0]} --repo acme/app --issuer {issuers['github']}",
            f"  then, as a job of acme/app on the emulated GitHub: {job} sfjwt-orch login --alias {name} --oidc github",
        ]
    return lines


def guard_hint() -> str:
    """What keeps sf's fall-back attempts at the real Salesforce hosts on this machine during a
    rehearsal: the emulator's loopback guard, loaded into sf through NODE_OPTIONS."""
    return f"NODE_OPTIONS='--require \"{guard_path()}\"'"


# --------------------------------------------------------------------------- emulator upload-cert

_MAX_CERT_BYTES = 64 * 1024  # a certificate is a few KiB; anything bigger is not one


@dataclass(frozen=True)
class UploadRequest:
    port: int
    cert: Path
    client_id: str | None = None  # None: the emulator's only app


@dataclass(frozen=True)
class Uploaded:
    app: str
    certificate_sha256: str


def upload_cert(req: UploadRequest, ctx: Context) -> Uploaded:
    """Upload a certificate to an app of the emulator on 127.0.0.1:PORT, as an admin does in Setup
    (the control call ``POST /__emulator/certificate``)."""
    if not 1 <= req.port <= 65535:
        raise usage(f"--port {req.port} is out of range", "pass the port emulator serve printed")
    pem = _read_certificate(req.cert)
    base = f"http://127.0.0.1:{req.port}/__emulator"
    ref = req.client_id or _only_app(_call(f"{base}/state", None, req.port), req.port)
    answer = _call(f"{base}/certificate", {"app": ref, "certificate": pem}, req.port)
    app = answer.get("app")
    app = app if isinstance(app, dict) else {}
    return Uploaded(str(app.get("name", ref)), str(app.get("certificate_sha256") or ""))


def _read_certificate(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_CERT_BYTES + 1)
    except OSError as exc:
        raise SfjwtError(
            Code.CERT_INVALID,
            f"cannot read certificate {path}: {exc.strerror}",
            "pass the server.crt that keygen or bootstrap made (--cert FILE)",
        ) from None
    if len(data) > _MAX_CERT_BYTES or b"-----BEGIN CERTIFICATE-----" not in data:
        raise SfjwtError(
            Code.CERT_INVALID,
            f"{path} is not a PEM certificate",
            "pass the server.crt (BEGIN CERTIFICATE), never the private key",
        )
    return data.decode("ascii", errors="replace")


def _only_app(state: dict[str, Any], port: int) -> str:
    apps = [a for a in state.get("apps", []) if isinstance(a, dict)]
    if len(apps) != 1:
        raise usage(
            f"the emulator on port {port} has {len(apps)} apps: which one?",
            "name it with --client-id CONSUMER_KEY (emulator serve printed the keys)",
        )
    return str(apps[0].get("consumer_key", ""))


def _call(url: str, payload: dict[str, Any] | None, port: int, doing: str = "the upload") -> dict[str, Any]:
    """One control call. No proxy: the emulator is on this machine, and a proxy from the
    environment would otherwise receive the certificate and the request."""
    import urllib.request

    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as reply:
            answer = json.loads(reply.read(1 << 20))
    except urllib.error.HTTPError as exc:
        answer = _json_or_empty(exc.read(1 << 16))
        # Whatever listens on that port wrote these: printable characters only, and not too many.
        problem, fix = ("".join(c for c in str(answer.get(k) or "") if c.isprintable())[:200] for k in ("error", "fix"))
        if exc.code == 400 and problem.startswith("certificate:"):
            raise SfjwtError(Code.CERT_INVALID, f"the emulator refused the certificate: {problem}", fix) from None
        raise usage(
            f"the emulator on port {port} refused {doing}: {problem or f'HTTP {exc.code}'}",
            fix or "check --client-id against the keys emulator serve printed",
        ) from None
    except (OSError, ValueError) as exc:  # URLError (refused, timeout) is an OSError; bad JSON a ValueError
        raise usage(
            f"no emulator answers on 127.0.0.1:{port} ({getattr(exc, 'reason', exc)})",
            f"start one first: sfjwt-orch emulator serve --pending-app --port {port}",
        ) from None
    if not isinstance(answer, dict):
        raise usage(f"port {port} does not answer like the emulator", "pass the port emulator serve printed")
    return answer


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- emulator run / approve

# sf's own chatter a rehearsal does not need (and the update check would try the network).
_QUIET_SF = {"SF_DISABLE_AUTOUPDATE": "true", "SF_SKIP_NEW_VERSION_CHECK": "true", "SF_DISABLE_TELEMETRY": "true"}


def admin_token_file(ctx: Context, port: int) -> Path:
    """Where `emulator serve` keeps its admin's access token while it runs (0600, in a 0700 folder),
    for `emulator run` to hand to sf as SF_ACCESS_TOKEN: the token is never printed."""
    return ctx.paths.data_dir / "emulator" / f"admin-token-{port}"


def keep_admin_token(ctx: Context, port: int, token: str) -> Path:
    path = admin_token_file(ctx, port)
    files.ensure_private_dir(path.parent)
    files.atomic_write(path, token.encode("ascii"), mode=0o600)
    return path


def run_env(port: int, ctx: Context, job: CiJob | None = None) -> dict[str, str]:
    """The environment of a program run in the rehearsal: the loopback guard in NODE_OPTIONS (sf's
    fall-back attempts at the real hosts stay on this machine), sf's quiet variables, and the
    emulator admin's token as SF_ACCESS_TOKEN when the emulator on `port` has an admin. With `job`,
    also what a CI job of the emulated provider holds (GitHub's token-request variables, GitLab's
    identity token): the program runs as that job, and nothing of it is printed."""
    if not 1 <= port <= 65535:
        raise usage(f"--port {port} is out of range", "pass the port emulator serve printed")
    _call(f"http://127.0.0.1:{port}/__emulator/state", None, port)  # an emulator answers there, or USAGE
    opened = {} if job is None else _open_job(port, job)
    env = dict(ctx.env)
    guard = f'--require "{guard_path()}"'
    env["NODE_OPTIONS"] = f"{env['NODE_OPTIONS']} {guard}" if env.get("NODE_OPTIONS") else guard
    env.update(_QUIET_SF)
    with contextlib.suppress(OSError):  # an emulator with no admin, or one another user started
        env["SF_ACCESS_TOKEN"] = admin_token_file(ctx, port).read_text(encoding="ascii").strip()
    env.update(opened)
    return env


@dataclass(frozen=True)
class CiJob:
    """`emulator run --ci PROVIDER --claim NAME=VALUE ...`: the job the program runs as."""

    provider: str
    claims: tuple[str, ...] = ()  # NAME=VALUE, as given

    def __post_init__(self) -> None:
        self.claims_map()  # a --claim that is not NAME=VALUE is refused before any emulator is asked

    def claims_map(self) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for given in self.claims:
            name, sep, value = given.partition("=")
            if not sep or not name.strip():
                raise usage(f"--claim {given!r} is not NAME=VALUE", "pass e.g. --claim repository=acme/app")
            pairs[name.strip()] = value
        return pairs


def _open_job(port: int, job: CiJob) -> dict[str, str]:
    answer = _call(
        f"http://127.0.0.1:{port}/__emulator/ci-job",
        {"provider": job.provider, "claims": job.claims_map()},
        port,
        doing="the CI job",
    )
    env = answer.get("env")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise usage(f"the emulator on port {port} opened no CI job", "update sfjwt-orch: its emulator is older")
    return {str(k): v for k, v in env.items()}


def approve(url: str, *, allow: bool = True) -> str:
    """A headless person at the emulator's approval page: Allow (or Deny), then the redirect is
    followed to the callback, as a browser would. Returns where it was redirected (no query)."""
    try:
        return visit(url, allow=allow).split("?")[0]
    except ValueError as exc:
        raise SfjwtError(Code.URL_REFUSED, str(exc), "approve only the emulator's URLs (127.0.0.1)") from None
    except (RuntimeError, OSError) as exc:
        raise usage(f"the approval page did not take it: {exc}", "pass the URL sfjwt-orch printed, whole") from None
