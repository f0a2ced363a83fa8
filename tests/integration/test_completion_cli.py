"""Shell completion (issue 14): the script for each shell, then completions of commands, options and
saved aliases answered the way the shell asks for them (the CLI as a process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Cli


def _imported(stderr: str) -> set[str]:
    """Every module -X importtime names on stderr."""
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def bash_complete(cli: Cli, line: str) -> list[str]:
    """What bash gets for the words of `line` (the last one being completed, maybe empty)."""
    words = line.split(" ")
    result = cli.run(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1), _SFJWT_ORCH_COMPLETE="complete_bash")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture
def saved(cli: Cli) -> Cli:
    profiles = Path(cli.env["SFJWT_ORCH_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True)
    for alias in ("my-hub", "my-sbx", "ci"):
        (profiles / f"{alias}.toml").write_text(f'schema = 1\nalias = "{alias}"\n')
    return cli


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o default -F"), ("zsh", "compdef"), ("fish", "complete --command sfjwt-orch")],
)
def test_the_script_for_each_shell_and_where_to_put_it(cli: Cli, shell: str, marker: str) -> None:
    result = cli.run("completion", shell)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout and "_SFJWT_ORCH_COMPLETE" in result.stdout
    assert "To install it: sfjwt-orch completion " + shell in result.stderr


def test_an_unknown_shell_is_exit_2_naming_the_shells(cli: Cli) -> None:
    result = cli.run("completion", "tcsh")
    assert result.returncode == 2
    assert "bash, zsh, fish" in result.stderr and "Traceback" not in result.stderr


def test_commands_options_and_saved_aliases_complete(saved: Cli) -> None:
    assert {"login", "logout"} == set(bash_complete(saved, "sfjwt-orch lo"))
    assert "--new-app" in bash_complete(saved, "sfjwt-orch login --")
    assert bash_complete(saved, "sfjwt-orch login --alias my-") == ["my-hub", "my-sbx"]
    assert bash_complete(saved, "sfjwt-orch profiles show ") == ["ci", "my-hub", "my-sbx"]
    assert bash_complete(saved, "sfjwt-orch ci export m") == ["my-hub", "my-sbx"]


def test_help_and_version_never_load_the_completion_machinery(cli: Cli) -> None:
    for argv in (["--help"], ["--version"], ["login", "--help"]):
        result = cli.run(*argv, PYTHONPROFILEIMPORTTIME="1")
        assert result.returncode == 0, result.stderr
        loaded = _imported(result.stderr)
        # (typer imports its own completion classes whatever we do; registering every command's
        # options, which completing needs, is what sfjwt_orch.ui.completion does and --help must not)
        assert "sfjwt_orch.ui.completion" not in loaded, argv
    # and completing does load it (the check above would pass for a module under another name)
    result = cli.run(
        COMP_WORDS="sfjwt-orch ", COMP_CWORD="1", _SFJWT_ORCH_COMPLETE="complete_bash", PYTHONPROFILEIMPORTTIME="1"
    )
    assert "sfjwt_orch.ui.completion" in _imported(result.stderr)


def test_completion_is_listed_in_help(cli: Cli) -> None:
    result = cli.run("--help")
    assert "completion" in result.stdout
