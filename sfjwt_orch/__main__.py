"""Entry point: `python -m sfjwt_orch` and the `sfjwt-orch` console script.

`--version` is answered before the CLI (and typer) is imported: scripts call it to probe for the
tool, and it needs nothing but the version string.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from sfjwt_orch import __version__

        sys.stdout.write(f"sfjwt-orch {__version__}\n")
        sys.exit(0)
    from sfjwt_orch.cli import main

    sys.exit(main())


if __name__ == "__main__":
    run()
