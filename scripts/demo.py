"""The demo behind scripts/demo: a newcomer's first run of sfjwt-orch, with no org and no network.

Everything happens in a throw-away folder (its own HOME, so your real sf logins are untouched) and
on 127.0.0.1; the emulator's app is self-authorize, so the first login says "not approved" and
the approval step is shown for real.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox import free_port, isolated_env

from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME, Emulator, demo_config

ALIAS = "demo-org"


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real-browser", action="store_true", help="click Allow yourself in your browser")
    parser.add_argument("--keep", action="store_true", help="keep the demo folder instead of deleting it")
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
    emulator: Emulator | None = None
    started = time.monotonic()
    try:
        say("1. Generate the key and the certificate (openssl, no prompts)")
        run(["sfjwt-orch", "keygen", "--alias", ALIAS], env)

        say("2. 'Upload' server.crt: start the emulated org with a self-authorize External Client App")
        cert = (work / "data" / "keys" / ALIAS / "server.crt").read_text()
        emulator = Emulator(demo_config(cert, policy="self-authorize", callback_urls=(callback,))).start()
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

        print(
            f"\nDone in {time.monotonic() - started:.0f} s. The emulator saw {len(emulator.token_requests)} token "
            f"requests and {len(emulator.approvals)} approval."
        )
        return 0
    finally:
        say("Clean up")
        if emulator is not None:
            run([sf, "org", "logout", "--target-org", ALIAS, "--no-prompt"], env, check=False)
            emulator.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            print(f"removed {work}")


if __name__ == "__main__":
    sys.exit(main())
