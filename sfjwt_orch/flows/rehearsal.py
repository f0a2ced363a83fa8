"""emulator serve: which org, apps and users the offline Salesforce plays, from a file or a key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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


def check(req: ServeRequest) -> None:
    if not 0 <= req.port <= 65535:
        raise usage(f"--port {req.port} is out of range", "use 1024-65535, or 0 for any free port")
    if req.policy not in POLICIES:
        raise usage(f"--policy {req.policy!r} is not known", "use --policy admin-approved or --policy self-authorize")
    if req.app_config is not None and (req.cert or req.alias):
        raise usage("--app-config cannot be combined with --cert or --alias", "describe the app in the file")


def emulator_config(req: ServeRequest, ctx: Context) -> EmulatorConfig:
    """The emulator's org from --app-config, or one app for --cert / the alias's certificate."""
    from sfjwt_orch.emulator import EmulatorError, demo_config, empty_org_config, load_config

    check(req)
    try:
        if req.app_config is not None:
            return load_config(req.app_config)
        if req.cert is None and not req.alias:
            # No app: an org where an admin creates one (app create), with the integration user.
            return empty_org_config((validate.check_username(req.username),), is_dev_hub=req.dev_hub)
        cert = _certificate(req, ctx)
        try:
            pem = cert.read_text(encoding="utf-8")
        except OSError as exc:
            raise SfjwtError(
                Code.CERT_INVALID,
                f"cannot read certificate {cert}: {exc.strerror}",
                "make one first: sfjwt-orch keygen --alias NAME",
            ) from None
        return demo_config(
            pem, username=validate.check_username(req.username), policy=req.policy, is_dev_hub=req.dev_hub
        )
    except EmulatorError as exc:
        raise SfjwtError(Code.USAGE, exc.message, exc.fix) from None


def _certificate(req: ServeRequest, ctx: Context) -> Path:
    if req.cert is not None:
        return req.cert
    saved = config.load(ctx.paths, check_alias(req.alias or ""))
    return (
        Path(saved.cert_file).expanduser()
        if saved and saved.cert_file
        else ctx.paths.key_dir(req.alias or "") / keys.CERT_NAME
    )


def guard_hint() -> str:
    """What keeps sf's fall-back attempts at the real Salesforce hosts on this machine during a
    rehearsal: the emulator's loopback guard, loaded into sf through NODE_OPTIONS."""
    from sfjwt_orch.emulator import guard_path

    return f"NODE_OPTIONS='--require \"{guard_path()}\"'"
