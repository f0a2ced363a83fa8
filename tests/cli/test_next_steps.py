"""Every command the tool prints as a next step runs as printed (issue 24 item 9: bootstrap's
`ci export NAME` and rotate's `ci export NAME --include-key` exited 2, --pip-spec missing).

The next steps are collected from real outputs; each is parsed by the real CLI parser (an unknown
option or a missing argument fails), and the ones that need no org (ci export) are run as well.
A step naming a value only the user can choose is written with a placeholder in capitals (NAME,
ADMIN, …) or in words, and is not collected.
"""

from __future__ import annotations

import re

import click
import pytest
import typer.main

from sfjwt_orch.cli import COMMANDS, build_app
from sfjwt_orch.flows.bootstrap import next_steps
from sfjwt_orch.store import state
from tests.cli.conftest import World, sf_output
from tests.cli.test_commands import _saved

PLACEHOLDER = re.compile(r"\b[A-Z]{2,}\b|…|<|\|")


def _root(word: str) -> click.Command:
    return typer.main.get_command(build_app([word]))


def _step_at(words: list[str]) -> list[str] | None:
    """The command at the start of `words` (as far as the CLI's own options and arguments reach),
    or None when it is not a command or names a placeholder."""
    if not words or words[0].rstrip(".,;:") not in COMMANDS:
        return None
    command, taken, i = _root(words[0]), [], 0
    while hasattr(command, "get_command") and i < len(words):
        sub = command.get_command(click.Context(command), words[i].rstrip(".,;:"))
        if sub is None:
            break
        command, i = sub, i + 1
        taken.append(words[i - 1].rstrip(".,;:"))
    options = {name: p for p in command.params if p.param_type_name == "option" for name in p.opts}
    positional = sum(p.param_type_name == "argument" for p in command.params)
    while i < len(words):
        word = words[i].rstrip(".,;:)")
        ends = word != words[i]
        if word.startswith("--") and word in options:
            taken.append(word)
            i += 1
            if not options[word].is_flag and not ends and i < len(words):
                value = words[i].rstrip(".,;:)")
                taken.append(value)
                ends = value != words[i]
                i += 1
        elif positional and not word.startswith("-"):
            positional -= 1
            taken.append(word)
            i += 1
        else:
            break
        if ends:
            break
    return None if any(PLACEHOLDER.search(w) for w in taken) else taken


def steps_in(text: str) -> list[list[str]]:
    found = []
    for m in re.finditer(r"sfjwt-orch[ \t]+(?=([^\n]*))", text):
        step = _step_at(m.group(1).split())
        if step:
            found.append(step)
    return found


def parses(args: list[str]) -> None:
    """The real parser's verdict on `args`: raises click.UsageError (exit 2) when it would."""
    command: click.Command = typer.main.get_command(build_app(args))
    ctx = command.make_context("sfjwt-orch", list(args))
    while hasattr(command, "resolve_command"):
        name, sub, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert sub is not None and name is not None, args
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


def check(world: World, text: str) -> list[list[str]]:
    steps = steps_in(text)
    for args in steps:
        parses(args)
        if args[:2] == ["ci", "export"]:
            ran = world.invoke(*args)
            assert ran.code == 0, (args, ran.stderr)
    return steps


def test_the_collector_finds_steps_and_skips_placeholders() -> None:
    text = "run: sfjwt-orch login --alias hub. Or sfjwt-orch bootstrap --alias NAME, then sfjwt-orch doctor"
    assert steps_in(text) == [["login", "--alias", "hub"], ["doctor"]]


def test_the_parser_check_fails_a_step_with_an_unknown_option(world: World) -> None:
    with pytest.raises(Exception, match="no-such-option") as refused:
        parses(["login", "--alias", "hub", "--no-such-option"])
    assert refused.value.exit_code == 2  # type: ignore[attr-defined]


def test_bootstraps_next_steps_run_as_printed(world: World) -> None:
    _saved(world)
    steps = check(world, next_steps("hub"))
    assert ["ci", "export", "hub", "--format", "env"] in steps and len(steps) == 2
    world.done()


def test_rotates_next_step_runs_as_printed(world: World) -> None:
    _saved(world)
    state.save(world.paths, state.load(world.paths, "hub").with_(admin_org="", app_name=""))
    world.expect_sf("org", "login", "jwt", stdout=sf_output("success.login.stdout"))
    world.expect_sf("org", "login", "jwt", stdout=sf_output("success.login.stdout"))
    rotated = world.invoke("rotate", "--alias", "hub")
    assert rotated.code == 0, rotated.stderr
    world.done()
    steps = check(world, rotated.stderr)
    assert ["ci", "export", "hub", "--format", "env", "--include-key"] in steps


def test_status_names_the_real_alias_in_its_fix(world: World) -> None:
    _saved(world)
    world.expect_sf("org", "display", stdout='{"status": 1, "name": "NoAuthFoundForTargetOrgError", "message": "x"}',
                    rc=1)  # fmt: skip
    shown = world.invoke("status", "--json")
    text = shown.stdout + shown.stderr
    assert "login --alias …" not in text
    assert ["login", "--alias", "hub"] in check(world, text)
