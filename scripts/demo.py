"""The demo behind scripts/demo: a newcomer's first run of sfjwt-orch, with no org and no network.

Everything happens in a throw-away folder (its own HOME, so your real sf logins are untouched) and
on 127.0.0.1; the emulator's app is self-authorize, so the first login says "not approved" and
the approval step is shown for real.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox import free_port, isolated_env

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME, Emulator, demo_config, empty_org_config

ALIAS = "demo-org"
APP_ALIAS = "demo-ci"  # step 6: the app created from the command line
APP_USER = "ci-bot@example.com"
CI_ALIAS = "demo-keyless"  # step 7: keyless CI
CI_REPO = "acme/salesforce-app"


def _consumer_key(work: Path, alias: str) -> str:
    """The consumer key trust saved in the alias's profile (what ci export --oidc writes into the job)."""
    import tomllib

    return str(tomllib.loads((work / "config" / "profiles" / f"{alias}.toml").read_text())["client_id"])


def say(text: str) -> None:
    print(
        f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else f"\n== {text}",
        flush=True,
    )


def run(argv: list[str], env: dict[str, str], check: bool = True) -> int:
    shown = " ".join(shlex.quote(a) for a in argv)
    print(f"$ {shown}", flush=True)
    code = subprocess.run(argv, env=env).returncode
    if check and code != 0:
        raise SystemExit(f"demo: `{argv[0]} {argv[1]}` failed with exit code {code}")
    return code


def _keyless_act(work: Path, env: dict[str, str], admin_org: Emulator, sf: str) -> None:
    say("7. Keyless CI: trust a GitHub repository; a CI job logs in with its identity token, no key anywhere")
    issuer = admin_org.ci_issuer("github")
    run(["sfjwt-orch", "trust", "github", "--alias", CI_ALIAS, "--target-org", "demo-admin", "--username",
         APP_USER, "--repo", CI_REPO, "--issuer", issuer], env)  # fmt: skip
    login_url = json.loads((work / "data" / "trust" / f"{CI_ALIAS}.json").read_text())["audience"]
    job = {**isolated_env(work / "ci-job"), **admin_org.ci_job("github", {"repository": CI_REPO})}
    print("(a CI job: its own HOME and folders, no saved profile; the emulated GitHub hands it its ID token)")
    key = _consumer_key(work, CI_ALIAS)
    run(["sfjwt-orch", "login", "--alias", CI_ALIAS, "--oidc", "github", "--client-id", key,
         "--instance-url", login_url], job)  # fmt: skip
    run([sf, "org", "display", "--target-org", CI_ALIAS], job)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real-browser", action="store_true", help="click Allow yourself in your browser")
    parser.add_argument("--keep", action="store_true", help="keep the demo folder instead of deleting it")
    # Act 7 takes about 5 s (issue 23: the demo gains it while it stays under a minute).
    parser.add_argument("--no-keyless", action="store_true", help="leave out act 7: keyless CI (trust, login --oidc)")
    args = parser.parse_args()

    sf = shutil.which("sf")
    if sf is None:
        raise SystemExit("demo: sf not found; run scripts/setup first")
    work = Path(tempfile.mkdtemp(prefix="sfjwt-orch-demo-"))
    env = isolated_env(work)
    callback = f"http://localhost:{free_port()}/OauthRedirect"
    if args.real_browser:
        env.pop("BROWSER", None)
    else:
        env["BROWSER"] = f"{sys.executable} -m sfjwt_orch.emulator.visitor --delay 3"
    emulators: list[Emulator] = []
    started = time.monotonic()
    try:
        say("1. Generate the key and the certificate (openssl, no prompts)")
        run(["sfjwt-orch", "keygen", "--alias", ALIAS], env)

        say("2. 'Upload' server.crt: start the emulated org with a self-authorize External Client App")
        cert = (work / "data" / "keys" / ALIAS / "server.crt").read_text()
        emulator = Emulator(demo_config(cert, policy="self-authorize", callback_urls=(callback,))).start()
        emulators.append(emulator)
        print(f"org login URL: {emulator.url}\nconsumer key:  {DEMO_CONSUMER_KEY}\nuser:          {DEMO_USERNAME}")

        say("3. Bootstrap: reuse the key, log in, get the approval, verify, save")
        if not args.real_browser:
            print("(the 'browser' is a scripted visitor that reads the Allow Access? page for 3 s, then clicks Allow)")
        run(
            [
                "sfjwt-orch",
                "bootstrap",
                "--alias",
                ALIAS,
                "--client-id",
                DEMO_CONSUMER_KEY,
                "--username",
                DEMO_USERNAME,
                "--instance-url",
                emulator.url,
                "--callback-url",
                callback,
                "--browser",
                "--timeout",
                "120",
                "--no-input",
            ],
            env,
        )

        say("4. sf knows the org now")
        run([sf, "org", "display", "--target-org", ALIAS], env)

        say("5. Run it again: nothing to do but verify")
        run(["sfjwt-orch", "bootstrap", "--alias", ALIAS, "--no-input"], env)
        approvals = len(emulator.approvals)

        say("6. Another org, no app yet: an admin logged in to sf creates it from the command line")
        admin_org = Emulator(empty_org_config((APP_USER,))).start()
        emulators.append(admin_org)
        print(f"org login URL: {admin_org.url}\nintegration user: {APP_USER}")
        login_admin = [sf, "org", "login", "access-token", "--instance-url", admin_org.url, "--alias", "demo-admin"]
        run([*login_admin, "--no-prompt"], {**env, "SF_ACCESS_TOKEN": admin_org.admin_token})
        run(
            ["sfjwt-orch", "app", "create", "--alias", APP_ALIAS, "--target-org", "demo-admin", "--username", APP_USER],
            env,
        )
        run(["sfjwt-orch", "login", "--alias", APP_ALIAS], env)
        through = ", ".join(admin_org.permission_sets_of(APP_USER))
        print(f"No approval was needed: {APP_USER} is pre-authorized through the permission set {through}.")

        if not args.no_keyless:
            _keyless_act(work, env, admin_org, sf)

        print(
            f"\nDone in {time.monotonic() - started:.0f} s. The emulators saw "
            f"{len(emulator.token_requests) + len(admin_org.token_requests)} token requests and {approvals} approval."
        )
        return 0
    finally:
        say("Clean up")
        for alias in (ALIAS, APP_ALIAS, "demo-admin"):
            run([sf, "org", "logout", "--target-org", alias, "--no-prompt"], env, check=False)
        for emu in emulators:
            emu.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            print(f"removed {work}")


if __name__ == "__main__":
    sys.exit(main())
