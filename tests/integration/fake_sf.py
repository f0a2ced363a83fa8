"""A stand-in for `sf` that plays a scenario; installed as tmp/bin/sf by the integration tests.

The scenario file (FAKE_SF_SCENARIO) holds a JSON list of steps, one per run:
  {"stdout": str, "stderr": str, "rc": int, "hang": bool, "spawn_child": bool,
   "sleep": float (seconds, before printing), "signal": int (kill itself with it after printing)}
Every run appends {"argv", "env", "pid", "start"} as one JSON line to FAKE_SF_LOG, and
{"pid", "end"} to FAKE_SF_LOG + ".ends" when it exits normally.
"""

import json
import os
import subprocess
import sys
import time

scenario = os.environ["FAKE_SF_SCENARIO"]
with open(os.environ["FAKE_SF_LOG"], "a") as log:
    keep = (
        "NODE_OPTIONS",
        "HTTPS_PROXY",
        "SF_DISABLE_TELEMETRY",
        "HTTP_TIMEOUT",
        "SF_AUDIENCE_URL",
        "NODE_COMPILE_CACHE",
    )
    log.write(
        json.dumps(
            {
                "argv": sys.argv[1:],
                "env": {k: os.environ.get(k) for k in keep},
                # names of variables whose value holds key material: there must never be any
                "secret_env": sorted(k for k, v in os.environ.items() if "PRIVATE KEY" in v),
                "pid": os.getpid(),
                "start": time.time(),
            }
        )
        + "\n"
    )
with open(scenario) as fh:
    steps = json.load(fh)
if not steps:
    sys.stderr.write("fake sf: scenario exhausted\n")
    sys.exit(97)
step, rest = steps[0], steps[1:]
with open(scenario, "w") as fh:
    json.dump(rest, fh)
if step.get("spawn_child"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    with open(os.environ["FAKE_SF_LOG"] + ".pids", "a") as fh:
        fh.write(f"{os.getpid()} {child.pid}\n")
if step.get("hang"):
    time.sleep(300)
time.sleep(step.get("sleep", 0))
sys.stdout.write(step.get("stdout", ""))
sys.stderr.write(step.get("stderr", ""))
sys.stdout.flush()
sys.stderr.flush()
if step.get("signal"):
    os.kill(os.getpid(), step["signal"])
    time.sleep(5)  # not reached: the signal ends us
with open(os.environ["FAKE_SF_LOG"] + ".ends", "a") as fh:
    fh.write(json.dumps({"pid": os.getpid(), "end": time.time()}) + "\n")
sys.exit(step.get("rc", 0))
