"""emulator serve: which org, apps and users the offline Salesforce plays, from a file or a key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sfjwt_orch import config, keys, validate
from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError, usage
from sfjwt_orch.paths import check_alias

if TYPE_CHECKING:
    from sfjwt_orch.emulator import EmulatorConfig

Policy = Literal["admin-approved", "self-authorize"]
POLICIES: tuple[Policy, ...] = ("admin-approved", "self-authorize")


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
    if req.policy not in POLICIES:
        raise usage(f"--policy {req.policy!r} is not known", "use --policy admin-approved or --policy self-authorize")
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
    """The emulator's org from --app-config, or one app for --cert / the alias's certificate."""
    from sfjwt_orch.emulator import EmulatorError, demo_config, empty_org_config, load_config

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
    saved = config.load(ctx.paths, check_alias(alias))
    return (saved or config.Profile(alias)).cert_path(ctx.paths.key_dir(alias) / keys.KEY_NAME)


DEFAULT_ALIAS = "emu"  # what the printed commands use when serve was not given --alias


def try_lines(config: EmulatorConfig, url: str, alias: str | None, ctx: Context) -> list[str]:
    """The commands `emulator serve` suggests next, for the alias it was started with."""
    name = alias or DEFAULT_ALIAS
    guard = guard_hint()
    users = [u.username for u in config.users if not u.admin] or ["USERNAME"]
    port = url.rsplit(":", 1)[1]
    if config.apps and config.apps[0].certificate_pem is None:
        key = config.apps[0].consumer_key
        return [
            f"Try: {guard} sfjwt-orch bootstrap --alias {name} --client-id {key} --username {users[0]} "
            f"--instance-url {url}",
            "  bootstrap makes the key and certificate; upload the certificate to the app (as in Setup) with: "
            f"sfjwt-orch emulator upload-cert --port {port} --cert {certificate_of(name, ctx)}",
        ]
    if config.apps:
        return [
            f"Try: {guard} sfjwt-orch login --alias {name} --client-id {config.apps[0].consumer_key} "
            f"--username {users[0]} --instance-url {url}"
        ]
    if config.admin is None:
        return []
    return [
        f"Try: {guard} sf org login access-token --instance-url {url} --alias admin --no-prompt "
        "(with SF_ACCESS_TOKEN set to the admin token: emulator serve --json prints it), then: "
        f"{guard} sfjwt-orch app create --alias {name} --target-org admin --username {users[0]}"
    ]


def guard_hint() -> str:
    """What keeps sf's fall-back attempts at the real Salesforce hosts on this machine during a
    rehearsal: the emulator's loopback guard, loaded into sf through NODE_OPTIONS."""
    from sfjwt_orch.emulator import guard_path

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


def _call(url: str, payload: dict[str, Any] | None, port: int) -> dict[str, Any]:
    """One control call. No proxy: the emulator is on this machine, and a proxy from the
    environment would otherwise receive the certificate and the request."""
    import urllib.error
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
            f"the emulator on port {port} refused the upload: {problem or f'HTTP {exc.code}'}",
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
