"""Orchestration: check locally -> sf login -> classify -> approve -> retry -> save.

Flows take their collaborators as a Deps (sfjwt_orch.deps), so tests drive every path with fakes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfjwt_orch import approval, config, keys, sf
from sfjwt_orch.deps import Deps, Waiter, find_sf, openssl_for, sf_unusable
from sfjwt_orch.errors import Code, SfjwtError
from sfjwt_orch.runner import ProgramNotFound

if TYPE_CHECKING:
    from sfjwt_orch.callback import Callback

MAX_INTERVAL = 30.0
BACKOFF = 1.5
# A new or edited app takes 2-10 minutes to reach every Salesforce server; meanwhile the org
# answers as if it did not know it. Worth waiting for, when the user asked us to wait.
_PROPAGATING = {Code.CLIENT_ID_INVALID, Code.APP_NOT_INSTALLED}


def take_key_env(var: str, deps: Deps) -> str:
    """Read --key-env's variable, and drop it from the environment of everything we start later
    (sf, openssl, a browser): the key must not travel on."""
    raw = deps.env.get(var, "")
    deps.env = {name: value for name, value in deps.env.items() if name != var}
    if not raw:
        raise SfjwtError(
            Code.USAGE,
            f"--key-env {var}: that variable is not set or is empty",
            f"export {var} with the private key (PEM, or base64 of it), or drop --key-env",
        )
    return raw


def key_from_text(raw: str, var: str, alias: str, deps: Deps) -> Path:
    """--key-env: the key, checked (openssl too) and written to the alias's durable key file."""
    key_file = deps.paths.key_dir(alias) / keys.KEY_NAME
    return keys.materialise_key(raw, key_file, openssl_for(deps), source=f"the key in ${var}").path


@dataclass(frozen=True)
class LoginRequest:
    alias: str
    client_id: str
    username: str
    key_file: Path
    instance_url: str
    callback_url: str
    open_browser: bool
    timeout: float
    interval: float
    set_default: bool = False
    set_default_dev_hub: bool = False


@dataclass
class LoginReport:
    alias: str
    username: str
    org_id: str = ""
    instance_url: str = ""
    login_url: str = ""
    is_dev_hub: bool = False
    attempts: int = 0
    approval_url: str | None = None

    def to_json(self, error: SfjwtError | None = None) -> dict[str, Any]:
        return {
            "ok": error is None,
            "alias": self.alias,
            "username": self.username,
            "org_id": self.org_id or None,
            "instance_url": self.instance_url or None,
            "login_url": self.login_url or None,
            "is_dev_hub": self.is_dev_hub,
            "attempts": self.attempts,
            "approval_url": self.approval_url,
            "error": error.to_json() if error else None,
        }


def _summarise(lines: tuple[str, ...]) -> str:
    counts = Counter(line or "(empty reply)" for line in lines)
    return "; ".join(f"{line} (x{n})" if n > 1 else line for line, n in counts.items())


def login(req: LoginRequest, deps: Deps) -> LoginReport:
    """Log in with sf, getting the approval and waiting out propagation until the deadline.

    Raises SfjwtError with the report's fields in `details`, so `--json` has the same shape
    on failure as on success.
    """
    report = LoginReport(alias=req.alias, username=req.username)
    try:
        _login(req, deps, report)
    except KeyboardInterrupt:
        # sf and the listener are gone by now (runner, finally); keep what was learnt, e.g. the URL.
        exc = SfjwtError(Code.INTERRUPTED, "interrupted", "nothing was left half-written; run the command again")
        exc.details = report.to_json(exc)
        raise exc from None
    except SfjwtError as exc:
        exc.details = {**report.to_json(exc), **exc.details}
        raise
    except ProgramNotFound as exc:  # sf was found but cannot be started
        err = sf_unusable(exc.reason)
        err.details = report.to_json(err)
        raise err from None
    return report


def _login(req: LoginRequest, deps: Deps, report: LoginReport) -> None:
    ui = deps.console
    # Local problems first: they are certain, and cheaper than a 2-second sf start.
    keys.check_key_file(req.key_file)
    sf_exe = find_sf(deps.env)
    argv = sf.login_argv(
        sf_exe,
        sf.LoginArgs(
            req.client_id,
            req.username,
            req.key_file,
            req.instance_url,
            req.alias,
            req.set_default,
            req.set_default_dev_hub,
        ),
    )
    env = sf.sf_env(deps.env, req.instance_url)
    deadline = deps.clock() + req.timeout
    interval = req.interval
    listener: Waiter | None = None
    approved_in_browser = False
    try:
        while True:
            report.attempts += 1
            ui.status(f"Logging in to {req.instance_url} as {req.username} (attempt {report.attempts})…")
            outcome = sf.parse_login(deps.runner.run(argv, timeout=sf.run_timeout(deps.env), env=env))
            if isinstance(outcome, sf.LoginSuccess):
                ui.clear_status()
                report.org_id, report.instance_url = outcome.org_id, outcome.instance_url
                report.login_url, report.is_dev_hub = outcome.login_url, outcome.is_dev_hub
                report.username = outcome.username
                _save_profile(req, report, deps)
                return
            if outcome.code is Code.NOT_APPROVED and report.approval_url is None:
                # A state only when we will wait for the browser: it is what our listener checks.
                state = deps.new_state() if req.timeout > 0 else None
                url = _ask_for_approval(req, deps, report, state)
                if req.timeout > 0:
                    listener = _start_listener(req, deps, state)
                # Only now, with the listener up: a browser that is already logged in redirects to the
                # callback within a second, and a redirect to a closed port would go unnoticed.
                if req.open_browser:
                    _open_browser(url, deps)
            elif outcome.code is Code.NOT_APPROVED and approved_in_browser:
                approved_in_browser = False
                ui.warn(
                    "The browser approval arrived, but Salesforce still says not approved: the approval may "
                    "not include the refresh_token scope (add 'Perform requests at any time' to the app), or "
                    "the app is still propagating. Retrying until the deadline."
                )
            remaining = deadline - deps.clock()
            retry = outcome.code is Code.NOT_APPROVED or (outcome.code in _PROPAGATING and req.timeout > 0)
            if not retry or remaining <= 0:
                raise _final(outcome, req, report, deps)
            hit = _wait(min(interval, remaining), deadline, outcome.code, report.attempts, deps, listener)
            if hit is not None and not hit.approved:
                raise _denied(hit, req)
            if hit is not None:
                approved_in_browser = True
                ui.success("Approval received in the browser; logging in now.")
            else:
                interval = min(interval * BACKOFF, MAX_INTERVAL)
    finally:
        if listener is not None:
            listener.stop()


def _final(outcome: sf.Diagnosis, req: LoginRequest, report: LoginReport, deps: Deps) -> SfjwtError:
    ui = deps.console
    ui.clear_status()
    if outcome.lines:
        ui.info(f"sf said: {_summarise(outcome.lines)}")
    message, fix = outcome.message, outcome.fix
    if outcome.code is Code.NOT_APPROVED and req.timeout > 0:
        message = f"still not approved after {req.timeout:.0f} s: {message}"
    if outcome.code is Code.NOT_APPROVED and report.approval_url:
        # Nothing is saved until a login works, so the command to rerun carries every value.
        from shlex import quote  # the default key folder on macOS has a space in it

        again = (
            f"sfjwt-orch login --alias {req.alias} --client-id {req.client_id} --username {req.username} "
            f"--instance-url {req.instance_url} --key-file {quote(str(req.key_file))} --timeout 600"
        )
        if req.callback_url != approval.DEFAULT_CALLBACK:
            again += f" --callback-url {req.callback_url}"
        fix = f"open the URL above as {req.username}, click Allow, then run: {again}"
    return SfjwtError(outcome.code, message, fix, sf_lines=list(outcome.lines))


def _denied(hit: Callback, req: LoginRequest) -> SfjwtError:
    if hit.error.upper() == "OAUTH_APP_ACCESS_DENIED":
        entry = sf.CATALOG_BY_CODE[Code.NOT_ADMIN_APPROVED]
        return SfjwtError(Code.NOT_ADMIN_APPROVED, f"Salesforce refused the approval: {entry.message}", entry.fix)
    detail = f" ({hit.description})" if hit.description else ""
    return SfjwtError(
        Code.NOT_APPROVED,
        f"you denied access in the browser: {hit.error}{detail}",
        f"run it again and click Allow as {req.username}, or pre-authorize the user in the app's policies",
    )


def _start_listener(req: LoginRequest, deps: Deps, state: str | None) -> Waiter | None:
    try:
        listener = deps.listen(req.callback_url, state)
    except OSError as exc:
        deps.console.warn(
            f"Cannot listen on {req.callback_url} ({exc.strerror or exc}; is `sf org login web` running?): "
            f"checking every {req.interval:g} s instead."
        )
        return None
    if listener is not None:
        deps.console.info(f"Listening on {req.callback_url} to notice your approval at once.")
    return listener


def _ask_for_approval(req: LoginRequest, deps: Deps, report: LoginReport, state: str | None) -> str:
    url = approval.authorize_url(req.instance_url, req.client_id, req.callback_url, state)
    report.approval_url = url
    ui = deps.console
    # Always print before trying to open: the browser may be on another machine, or fail silently.
    ui.url(f"{req.username} has not approved this app yet. Open this URL, log in as that user and click Allow:", url)
    return url


def _open_browser(url: str, deps: Deps) -> None:
    if deps.runner.open_url(url, deps.env):
        deps.console.info("Opened it in your browser.")
    else:
        deps.console.warn("Could not open a browser: open the URL above yourself.")


def _wait(
    seconds: float, deadline: float, code: Code, attempts: int, deps: Deps, listener: Waiter | None
) -> Callback | None:
    """Wait for the next try; return early with the browser's callback when it arrives."""
    why = {
        Code.NOT_APPROVED: "Waiting for the approval",
        Code.CLIENT_ID_INVALID: "The org does not know this app yet (new apps take 2-10 minutes to propagate)",
        Code.APP_NOT_INSTALLED: "The app is not installed yet (new apps take 2-10 minutes to propagate)",
    }[code]
    wake = deps.clock() + seconds
    deps.console.status(
        f"{why}: attempt {attempts} said {code.value}; next try in {seconds:.0f} s, "
        f"{max(0.0, deadline - deps.clock()):.0f} s left",
        persistent=True,
    )
    while (left := wake - deps.clock()) > 0:
        deps.console.status(
            f"{why} — next try in {left:.0f} s, {max(0.0, deadline - deps.clock()):.0f} s left (Ctrl-C to stop)"
        )
        if listener is None:
            deps.sleep(min(1.0, left))
        elif listener.wait(min(1.0, left)):
            return listener.consume()
    return None


def _save_profile(req: LoginRequest, report: LoginReport, deps: Deps) -> None:
    saved = config.load(deps.paths, req.alias) or config.Profile(alias=req.alias)
    profile = saved.merged(
        client_id=req.client_id,
        username=req.username,
        instance_url=req.instance_url,
        key_file=str(req.key_file),
        callback_url=req.callback_url,
        org_id=report.org_id,
    )
    config.save(deps.paths, profile)
