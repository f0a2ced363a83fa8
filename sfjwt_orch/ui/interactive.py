"""Is a person there? Decided in one place [GitHub CLI `CanPrompt`].

We prompt, wait by default and open browsers only for a person at a terminal, never in CI or a
pipe: a script must get an answer (or an error naming the flag to pass), not a hang.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

_CI_VARS = (
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "TF_BUILD",
    "JENKINS_URL",
    "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ID",
)


def is_ci(env: Mapping[str, str]) -> bool:
    return any(env.get(v, "").strip().lower() not in ("", "0", "false", "no") for v in _CI_VARS)


def at_terminal() -> bool:
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def person_present(env: Mapping[str, str], no_input: bool = False) -> bool:
    return not no_input and not is_ci(env) and at_terminal()


def has_display(env: Mapping[str, str]) -> bool:
    if env.get("BROWSER"):
        return True  # the user told us how to open URLs
    if sys.platform in ("darwin", "win32"):
        return not env.get("SSH_CONNECTION")
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("WSL_DISTRO_NAME"))


def should_open_browser(flag: bool | None, env: Mapping[str, str]) -> bool:
    if flag is not None:
        return flag
    return person_present(env) and has_display(env)
