"""Entry point: `python -m sfjwt_orch` and the `sfjwt-orch` console script.

`--version` is answered before the CLI (and typer) is imported: scripts call it to probe for the
tool, and it needs nothing but the version string. keygen's key is begun before it too (_early_key).
"""

from __future__ import annotations

import errno
import io
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing first: every import here delays openssl
if TYPE_CHECKING:
    from sfjwt_orch.tools.openssl import PendingKey


class _ClosedStdout(io.TextIOBase):
    """stdout when the process was started with it closed (`>&-`), where Python leaves None: a
    write fails like any lost output ("could not write the output", exit 1) instead of crashing."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "stdout is closed")


def run() -> None:
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()
    if sys.stderr is None:  # nobody to tell anything to
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if sys.argv[1:] in (["--version"], ["-V"]):
        from sfjwt_orch import __version__

        try:
            sys.stdout.write(f"sfjwt-orch {__version__}\n")
        except OSError:  # see _exit
            _exit(1)
        _exit(0)
    early = None
    try:
        early = _early_key(sys.argv[1:])
        from sfjwt_orch.cli import main

        code = main(early_key=early)
    except KeyboardInterrupt:  # Ctrl-C before the CLI (and its error boundary) was up: nothing ran yet
        sys.stderr.write("error: interrupted\n")
        code = 130
    finally:
        if early is not None:  # refused, failed, interrupted: openssl must not outlive us
            early.running.cancel()  # (a no-op once keygen has used it)
    _exit(code)


def begins_key(args: list[str]) -> bool:
    """A keygen of the default size that will not just print its help."""
    return args[:1] == ["keygen"] and not any(a in ("-h", "--help") or a.startswith("--bits") for a in args)


def _early_key(args: list[str]) -> PendingKey | None:
    """keygen's new key, begun now. Most of keygen is openssl's search for two primes (0.05-0.5 s at
    random) and importing the CLI (typer) takes ~0.15 s, so the two overlap: scripts/bench measures
    what that saves (docs/performance.md). Only for the default size (no --bits): another size is
    begun once the options are parsed, and keygen stops an early key it cannot use. Nothing is
    written before keygen's checks pass: the key waits in a pipe."""
    if not begins_key(args):
        return None
    import signal

    # Until the CLI's error boundary is up, SIGTERM and SIGHUP (a cancelled CI job, a closed
    # terminal) must end us as Ctrl-C does, through run()'s `finally`: their default would leave
    # openssl (in its own session) running. cli.main installs the same for the rest of the run.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _as_interrupt)
    from sfjwt_orch.errors import SfjwtError
    from sfjwt_orch.tools.openssl import DEFAULT_BITS, Openssl
    from sfjwt_orch.tools.runner import ProcessRunner

    try:
        return Openssl.find(ProcessRunner(), dict(os.environ)).start_key(DEFAULT_BITS)
    except SfjwtError:  # no usable openssl: keygen finds the same and says so, with the fix
        return None


def _as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _exit(code: int) -> None:
    """Exit without the interpreter's tear-down, which spends ~20 ms freeing typer's and our
    modules on every run. Nothing is lost by skipping it: by now every file is closed, every child
    reaped and the listener shut (runner, files, callback), and no atexit hook is registered."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head) or a full disk: say so in the code
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    run()
