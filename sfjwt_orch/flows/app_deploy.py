"""The org side of app create: the admin org, the key pair, whether the app exists, and the deploy
with its fallbacks (the permission set first; a consumer key the org generates, read back).

Shared with certificate rotation, which deploys a new certificate the same way.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from sfjwt_orch.context import Context
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.flows import login_request
from sfjwt_orch.keys import material, pair
from sfjwt_orch.salesforce import metadata
from sfjwt_orch.store import profiles
from sfjwt_orch.tools import sf
from sfjwt_orch.tools.openssl import DEFAULT_DAYS
from sfjwt_orch.tools.sf import SfFailed
from sfjwt_orch.tools.sf.admin import Deployed
from sfjwt_orch.tools.sf.local import org_url, username_of


@dataclass(frozen=True)
class AppCreateRequest:
    """What `app create` (and `trust`, which deploys through it) was asked: the app and its org."""

    alias: str
    target_org: str
    username: str
    name: str
    permission_set: str
    kind: metadata.Kind = "eca"
    wait: login_request.Wait = field(default_factory=lambda: login_request.Wait(timeout=600.0))
    dry_run: bool = False
    output_dir: Path | None = None


def _admin_missing(target_org: str, why: str) -> SfjwtError:
    return SfjwtError(
        Code.ADMIN_ORG_NOT_FOUND,
        f"sf knows no org for the admin alias {target_org!r}{why}",
        f"log in as an admin of the org first: sf org login web --alias {target_org} "
        "--instance-url https://login.salesforce.com (or your My Domain URL), then run this again",
    )


@dataclass(frozen=True)
class AdminOrg:
    """Where the admin org is and who is logged in to it, from one `sf org display` (or sf's local files)."""

    url: str
    username: str  # "" when sf did not say


def admin_org(target_org: str, ctx: Context, *, offline: bool) -> AdminOrg:
    """The admin org's instance URL (the integration user logs in there) and its user. `offline`
    reads sf's local files instead of asking the org (--dry-run contacts no org)."""
    if offline:
        url = org_url(target_org, ctx.env)
        if url is None:
            raise _admin_missing(target_org, " on this machine")
        return AdminOrg(url, username_of(target_org, ctx.env))
    try:
        shown = ctx.sf().display(target_org)
    except SfFailed as failed:
        raise failed.unless_local(_admin_missing(target_org, "")) from None
    if not (shown.connected and shown.instance_url):
        raise _admin_missing(target_org, f" that works (sf org display says {shown.status or 'not connected'})")
    return AdminOrg(shown.instance_url.rstrip("/"), shown.username or "")


def admin_org_url(target_org: str, ctx: Context, *, offline: bool) -> str:
    return admin_org(target_org, ctx, offline=offline).url


def key_pair(alias: str, ctx: Context, *, save: bool = True) -> tuple[Path, Path]:
    """The alias's key and certificate: reused when they exist (the key checked), made when not
    (and recorded in the profile, unless `save` is off: --dry-run saves no profile)."""
    saved = profiles.load_or_new(ctx.paths, alias)
    key_file = login_request.default_key_file(saved, ctx.paths)
    cert_file = saved.cert_path(key_file)
    if not key_file.exists():
        made = pair.keygen(pair.KeygenRequest(key_file.parent, subject=f"/CN={alias}"), ctx.openssl())
        ctx.console.success(f"New key {made.key_file} and certificate {made.cert_file}")
        if save:
            profiles.save(ctx.paths, saved.merged(made.as_profile(alias)))
        return made.key_file, made.cert_file
    material.check_key_file(key_file)
    if not cert_file.exists():
        pair.cert_for_key(key_file, cert_file, DEFAULT_DAYS, f"/CN={alias}", ctx.openssl())
    return key_file, cert_file


def exists(req: AppCreateRequest, ctx: Context) -> bool:
    """Does the org already hold an app of this name? Asked of the org, not of the local profile."""
    try:
        names = ctx.sf().list_metadata(metadata.app_type(req.kind), req.target_org)
    except SfFailed as failed:
        mine = SfjwtError(Code.SF_FAILED, f"could not list the org's apps: {failed.message}", failed.fix or "retry")
        raise failed.unless_local(mine) from None
    return req.name in names


def made_by_us(req: AppCreateRequest, ctx: Context) -> bool:
    """Does the org's app of this name carry the marker app create writes into its description?
    (A rerun on another machine, a CI runner say, has no local record of the app.)"""
    with tempfile.TemporaryDirectory(prefix="sfjwt-orch-retrieve-") as folder:
        try:
            ctx.sf().retrieve(f"{metadata.app_type(req.kind)}:{req.name}", Path(folder), req.target_org)
        except SfFailed as failed:
            if failed.local:
                raise
            return False
        return any(metadata.MARKER in text for text in _element_texts(Path(folder), "description"))


def app_exists(req: AppCreateRequest) -> SfjwtError:
    where = "External Client App Manager" if req.kind == "eca" else "App Manager"
    return SfjwtError(
        Code.APP_EXISTS,
        f"the org already has an app named {req.name}, and sfjwt-orch did not create it for {req.alias!r}",
        f"pick another name with --name, or look at that app in Setup > {where}; it is never overwritten",
    )


def deploy(app: metadata.AppMetadata, target_org: str, ctx: Context) -> tuple[str, str]:
    """Deploy the app; returns (consumer key, "chosen" or "read back")."""
    outcome = _deploy(app.files(), target_org, ctx)
    if not outcome.ok and _names_missing_permission_set(outcome, app):
        ctx.console.info(f"The org wants {app.permission_set} before the policy that names it: deploying it first.")
        _raise_unless_ok(_deploy(app.permission_set_only(), target_org, ctx), app)
        outcome = _deploy(app.files(), target_org, ctx)
    if not outcome.ok and _refuses_chosen_key(outcome):
        ctx.console.info("The org does not take a consumer key chosen by the deployer: letting it generate one.")
        generated = replace(app, consumer_key=None)
        _raise_unless_ok(_deploy(generated.files(), target_org, ctx), app)
        return read_back_key(generated, target_org, ctx), "read back"
    _raise_unless_ok(outcome, app)
    assert app.consumer_key is not None
    return app.consumer_key, "chosen"


def _deploy(texts: dict[str, str], target_org: str, ctx: Context, tests: tuple[str, ...] = ()) -> Deployed:
    with tempfile.TemporaryDirectory(prefix="sfjwt-orch-deploy-") as folder:
        metadata.write(Path(folder), texts)
        ctx.console.status(f"Deploying {len(texts) - 1} component(s) to {target_org}…")
        try:
            return ctx.sf().deploy(Path(folder), target_org, tests)
        except SfFailed as failed:
            if failed.code is Code.ADMIN_ORG_NOT_FOUND:
                raise _admin_missing(target_org, "") from None
            raise
        finally:
            ctx.console.clear_status()


def deploy_files(texts: dict[str, str], target_org: str, ctx: Context, tests: tuple[str, ...] = ()) -> Deployed:
    """One deploy of an mdapi folder's files (trust's package: its Apex tests run with it)."""
    return _deploy(texts, target_org, ctx, tests)


def _problems(outcome: Deployed) -> str:
    return "; ".join(str(p) for p in outcome.problems)


def _names_missing_permission_set(outcome: Deployed, app: metadata.AppMetadata) -> bool:
    """The policy names a permission set the org does not have yet ("no PermissionSet named X found")."""
    name = app.permission_set.lower()
    for p in outcome.problems:
        text = p.problem.lower()
        if name in text and ("no permissionset named" in text or "not found" in text or "does not exist" in text):
            return True
    return False


def _refuses_chosen_key(outcome: Deployed) -> bool:
    text = _problems(outcome).lower()
    return "consumer key" in text or "consumerkey" in text


_ECA_TYPES = ("ExternalClientApplication", "ExtlClntApp")
# What the Metadata API says of a type the org has not turned on ("Entity is not org-enabled" on
# older APIs), and what is said of External Client Apps being off.
_NOT_ENABLED = ("not available for deploy for this organization", "not org-enabled", "not enabled", "disabled")


def _eca_types_refused(outcome: Deployed) -> bool:
    for p in outcome.problems:
        text = p.problem.lower()
        about_eca = p.type.startswith(_ECA_TYPES) or "external client app" in text
        if about_eca and any(marker in text for marker in _NOT_ENABLED):
            return True
    return False


def _raise_unless_ok(outcome: Deployed, app: metadata.AppMetadata) -> None:
    if outcome.ok:
        return
    text = _problems(outcome)
    low = text.lower()
    if "can't create a connected app" in low or "cannot create a connected app" in low:
        raise SfjwtError(
            Code.CONNECTED_APP_BLOCKED,
            f"the org does not allow new Connected Apps: {text}",
            "ask Salesforce Support to enable Connected App creation for this org, or create an External "
            "Client App instead (--kind eca)",
        )
    if _eca_types_refused(outcome):
        raise SfjwtError(
            Code.ECA_DISABLED,
            f"External Client Apps are turned off in this org: {text}",
            "turn them on in Setup > External Client App Settings (or ask an admin), then run this again",
        )
    raise SfjwtError(
        Code.DEPLOY_FAILED,
        f"the org refused the app's metadata: {text}",
        f"fix what the message names (see it with --dry-run --output-dir DIR), or create {app.name} by hand: "
        "sfjwt-orch bootstrap prints the Setup steps",
    )


_COPY_IT = (
    "copy the Consumer Key from Setup (the app's OAuth settings), then: sfjwt-orch login --alias NAME --client-id KEY"
)


def read_back_key(app: metadata.AppMetadata, target_org: str, ctx: Context) -> str:
    """The consumer key the org generated, read from the retrieved OAuth settings."""
    kind_type, member = metadata.settings_component(app.name, app.kind)
    with tempfile.TemporaryDirectory(prefix="sfjwt-orch-retrieve-") as folder:
        try:
            ctx.sf().retrieve(f"{kind_type}:{member}", Path(folder), target_org)
        except SfFailed as failed:
            why = f"the app was deployed, but its consumer key could not be read back: {failed.message}"
            if failed.code is Code.CONSUMER_SECRETS_BLOCKED:  # Spring '26 gates: name them
                raise SfjwtError(failed.code, why, f"{failed.fix}; or {_COPY_IT}") from None
            raise failed.unless_local(SfjwtError(Code.DEPLOY_FAILED, why, _COPY_IT)) from None
        key = _consumer_key_in(Path(folder))
    if key is None:
        raise SfjwtError(
            Code.DEPLOY_FAILED, "the app was deployed, but its retrieved settings hold no consumer key", _COPY_IT
        )
    return key


def _consumer_key_in(folder: Path) -> str | None:
    return next(iter(_element_texts(folder, "consumerKey")), None)


def _element_texts(folder: Path, tag: str) -> list[str]:
    """The non-empty texts of every <tag> element in the metadata files under `folder`."""
    from defusedxml import ElementTree  # type: ignore[import-untyped]  # the org's text: parse it hardened

    found: list[str] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == "package.xml" or path.suffix == ".zip":
            continue
        try:
            root = ElementTree.parse(path).getroot()
        except ElementTree.ParseError:
            continue
        for element in root.iter():
            text = str(element.text or "").strip()
            if str(element.tag).rsplit("}", 1)[-1] == tag and text:
                found.append(text)
    return found


def planned_commands(req: AppCreateRequest, folder: Path) -> list[str]:
    """What app create would run, as the sf adapter builds it, to paste into a shell (for --dry-run).
    What only the run itself learns is a <placeholder>."""
    login = login_request.LoginRequest(
        profiles.Profile(req.alias, "<the consumer key>", req.username, "<the org's URL>", "<the alias's key>")
    )
    argvs = [
        sf.display_argv(req.target_org),
        sf.list_metadata_argv(metadata.app_type(req.kind), req.target_org),
        sf.deploy_argv(folder, req.target_org),
        sf.assign_argv(req.permission_set, req.username, req.target_org),
        sf.login_argv(login),
        sf.display_argv(req.alias),
    ]
    return [shlex.join(["sf", *argv]) for argv in argvs]


_CERTIFICATE = re.compile(r"<certificate>.*?</certificate>", re.DOTALL)


def replace_certificate(name: str, kind: metadata.Kind, certificate_pem: str, target_org: str, ctx: Context) -> None:
    """Put a new certificate on an existing app, changing nothing else: its settings are retrieved
    from the org, only the certificate is replaced, and that one component is deployed. A name whose
    components would pass Salesforce's 80 characters is refused before anything is read or deployed."""
    metadata.check_app_name(name, kind)
    kind_type, member = metadata.settings_component(name, kind)
    relative = metadata.relative_path(kind_type, member)
    with tempfile.TemporaryDirectory(prefix="sfjwt-orch-settings-") as folder:
        try:
            ctx.sf().retrieve(f"{kind_type}:{member}", Path(folder), target_org)
        except SfFailed as failed:
            if failed.code is Code.CONSUMER_SECRETS_BLOCKED:
                # Read before anything is deployed: the old certificate stays in place.
                raise SfjwtError(failed.code, f"{failed.message}; nothing was changed", failed.fix) from None
            mine = SfjwtError(
                Code.DEPLOY_FAILED,
                f"could not read the app's settings ({kind_type}:{member}) to change the certificate: {failed.message}",
                "check --name (the app's API name) and that the admin may view the app's settings",
            )
            raise failed.unless_local(mine) from None
        found = sorted(Path(folder).rglob(Path(relative).name))
        if not found:
            raise SfjwtError(
                Code.DEPLOY_FAILED,
                f"the org returned no settings for {kind_type}:{member}",
                "check --name: it must be the app's API name",
            )
        text = found[0].read_text(encoding="utf-8")
    if not _CERTIFICATE.search(text):
        raise SfjwtError(
            Code.DEPLOY_FAILED,
            f"the app {name} has no certificate to replace (it does not use the JWT bearer flow)",
            "enable the JWT bearer flow on the app with a certificate first",
        )
    updated = _CERTIFICATE.sub(lambda _: f"<certificate>{certificate_pem.strip()}</certificate>", text, count=1)
    texts = {relative: updated, "package.xml": metadata.package_xml({kind_type: member})}
    outcome_ = _deploy(texts, target_org, ctx)
    if not outcome_.ok:
        raise SfjwtError(
            Code.DEPLOY_FAILED,
            f"the org refused the new certificate: {_problems(outcome_)}",
            "fix what the message names, or upload the new server.crt in Setup and rerun sfjwt-orch rotate",
        )
