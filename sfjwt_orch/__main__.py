"""Entry point: `python -m sfjwt_orch` and the `sfjwt-orch` console script.

`--version` is answered before the CLI (and typer) is imported: scripts call it to probe for the
tool, and it needs nothing but the version string. A keygen of the default size begins its key
before it too (tools/openssl.py's head_start).
"""

from __future__ import annotations

import errno
import io
import os
import sys


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
    try:
        if begins_key(sys.argv[1:]):
            from sfjwt_orch.tools.openssl import head_start  # keygen's key, begun while the CLI loads (it says why)

            with head_start(dict(os.environ)):
                code = _cli()
        else:
            code = _cli()
    except KeyboardInterrupt:  # Ctrl-C before the CLI (and its error boundary) was up: nothing ran yet
        sys.stderr.write("error: interrupted\n")
        code = 130
    _exit(code)


def begins_key(args: list[str]) -> bool:
    """A keygen of the default size that will not just print its help."""
    return args[:1] == ["keygen"] and not any(a in ("-h", "--help") or a.startswith("--bits") for a in args)


def _cli() -> int:
    from sfjwt_orch.cli import main

    return main()


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
