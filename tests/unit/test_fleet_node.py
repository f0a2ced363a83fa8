"""The fleet's Node helper, Python side (tools/sf/fleet_node.py): where sf's package is, which
sf versions it runs with, and how its answers are read (as sf's own output, by the same parser).
The helper itself runs with the real sf in tests/e2e/test_fleet_e2e.py."""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sfjwt_orch.errors import Code
from sfjwt_orch.tools.runner import CommandResult
from sfjwt_orch.tools.sf.fleet_node import HELPER, NodeLogins, Place, locate
from sfjwt_orch.tools.sf.parse import LoginSuccess, classify, parse_login

OUT = Path(__file__).parents[1] / "data" / "sf-outputs"


@dataclass(frozen=True)
class Login:
    """What the helper is told for one alias (tools.sf.JwtLogin; a LoginRequest in the product)."""

    client_id: str
    username: str
    key_file: Path
    instance_url: str
    alias: str
    attempt_timeout: float | None = None
    set_default: bool = False
    set_default_dev_hub: bool = False


ARGS = Login("3MVGclient", "bot@example.com", Path("/keys/server.key"), "https://acme.my.salesforce.com", "prod")


def _cli(root: Path, version: str = "2.150.6", name: str = "@salesforce/cli") -> Path:
    cli = root / "node_modules" / "@salesforce" / "cli"
    (cli / "bin").mkdir(parents=True)
    (cli / "bin" / "run.js").write_text("#!/usr/bin/env node\n")
    (cli / "package.json").write_text(json.dumps({"name": name, "version": version}))
    return cli


def _node(root: Path) -> Path:
    node = root / "bin" / "node"
    node.parent.mkdir(parents=True, exist_ok=True)
    node.write_text("#!/bin/sh\n")
    node.chmod(0o755)
    return node


def test_npm_global_layout_sf_links_to_run_js_and_node_comes_from_path(tmp_path: Path) -> None:
    cli, node = _cli(tmp_path), _node(tmp_path)
    sf = tmp_path / "bin" / "sf"
    sf.symlink_to(cli / "bin" / "run.js")
    assert locate(str(sf), {"PATH": str(node.parent)}) == Place(str(node), cli, "2.150.6")


def test_a_wrapper_script_names_its_node_and_run_js(tmp_path: Path) -> None:
    cli, node = _cli(tmp_path), _node(tmp_path / "elsewhere")
    sf = tmp_path / "sf"
    sf.write_text(f'#!/bin/sh\nexec "{node}" "{cli / "bin" / "run.js"}" "$@"\n')
    assert locate(str(sf), {"PATH": ""}) == Place(str(node), cli, "2.150.6")


@pytest.mark.parametrize(
    ("version", "name", "why"),
    [
        ("2.149.9", "@salesforce/cli", "sf 2.149.9 is outside the versions this path is tested with"),
        ("2.151.0", "@salesforce/cli", "sf 2.151.0 is outside the versions this path is tested with"),
        ("3.0.0", "@salesforce/cli", "sf 3.0.0 is outside"),
        ("2.150.6", "not-sf", "is not @salesforce/cli's package folder"),
    ],
)
def test_an_untested_or_foreign_package_runs_sf_per_alias(tmp_path: Path, version: str, name: str, why: str) -> None:
    cli, node = _cli(tmp_path, version, name), _node(tmp_path)
    sf = tmp_path / "sf"
    sf.write_text(f'#!/bin/sh\nexec "{node}" "{cli / "bin" / "run.js"}" "$@"\n')
    found = locate(str(sf), {})
    assert isinstance(found, str) and why in found


def test_an_installer_script_with_variables_runs_sf_per_alias(tmp_path: Path) -> None:
    sf = tmp_path / "sf"
    sf.write_text('#!/bin/sh\nDIR=$(dirname "$0")\nexec "$DIR/node" "$DIR/run" "$@"\n')
    assert locate(str(sf), {}) == f"cannot tell sf's package folder from {sf}"


def test_no_node_to_run_the_package_with(tmp_path: Path) -> None:
    cli = _cli(tmp_path)
    sf = tmp_path / "sf"
    sf.symlink_to(cli / "bin" / "run.js")
    assert locate(str(sf), {"PATH": str(tmp_path / "empty")}) == "no node on PATH to run sf's package with"


class FakeHelper:
    """The helper's side of the conversation: each request is answered by `answer(request)`
    (None: no answer); `end()` closes its stdout as a crash would."""

    def __init__(self, answer: object = None, ready: Mapping[str, object] | None = None) -> None:
        self.sent: list[dict[str, object]] = []
        self._out: queue.Queue[str | None] = queue.Queue()
        self._answer = answer
        self.killed = False
        self.stderr_tail = "node: something broke"
        self._out.put(json.dumps(ready if ready is not None else {"ready": True, "core": "9.4.0"}))

    def send(self, line: str) -> bool:
        msg = json.loads(line)
        self.sent.append(msg)
        if callable(self._answer) and "id" in msg:
            reply = self._answer(msg)
            if reply is not None:
                self._out.put(json.dumps({"id": msg["id"], **reply}))
        return True

    def lines(self) -> Iterator[str]:
        while (line := self._out.get()) is not None:
            yield line

    def end(self) -> None:
        self._out.put(None)

    def kill(self) -> None:
        self.killed = True
        self.end()

    def close(self, timeout: float) -> int:
        self.end()
        return 0


def _logins(helper: FakeHelper, said: list[str] | None = None) -> NodeLogins:
    place = Place("/usr/bin/node", Path("/sf/node_modules/@salesforce/cli"), "2.150.6")
    return NodeLogins(helper, place, {}, (said if said is not None else []).append)  # type: ignore[arg-type]


def _captured(case: str) -> tuple[int, str]:
    return int((OUT / f"{case}.rc").read_text()), (OUT / f"{case}.stdout").read_text()


LOGIN_CASES = sorted(p.name.removesuffix(".stdout") for p in OUT.glob("*.stdout") if "display" not in p.name)


@pytest.mark.parametrize("case", [c for c in LOGIN_CASES if c.endswith(".json") or c.endswith("login")])
def test_the_helpers_answer_is_read_as_sfs_own(case: str) -> None:
    """Whatever sf printed for a login, the same document from the helper gives the same outcome."""
    rc, stdout = _captured(case)
    helper = FakeHelper(lambda req: {"exit": rc, "doc": json.loads(stdout)})
    expected = classify(CommandResult(("sf",), rc, stdout, "", 1.0), parse_login)  # as Sf._call reads sf's
    # The helper answers for the user it was asked to log in (a success for another is not one: below).
    args = dataclasses.replace(ARGS, username=expected.username) if isinstance(expected, LoginSuccess) else ARGS
    assert _logins(helper).login(args) == expected


def _success_for(req: Mapping[str, object], **changed: object) -> dict[str, object]:
    """The helper's answer to `req`: the success sf printed, for the user asked for, with `changed`."""
    rc, stdout = _captured("success.login")
    doc = json.loads(stdout)
    doc["result"] = {
        k: v for k, v in {**doc["result"], "username": req["username"], **changed}.items() if v is not None
    }
    return {"exit": rc, "doc": doc}


def test_a_request_carries_the_keys_path_never_the_key() -> None:
    helper = FakeHelper(_success_for)
    assert isinstance(_logins(helper).login(ARGS), LoginSuccess)
    (request,) = helper.sent
    assert request["key_file"] == "/keys/server.key" and request["alias"] == "prod"
    assert set(request) == {
        "id",
        "alias",
        "username",
        "client_id",
        "key_file",
        "instance_url",
        "set_default",
        "set_default_dev_hub",
    }


@pytest.mark.parametrize(
    "answer",
    [
        # What the helper answered once under load (core's shared cache of auth files was emptied
        # mid-login): exit 0, and nothing in the result.
        lambda req: {"exit": 0, "doc": {"status": 0, "result": {}, "warnings": []}},
        lambda req: _success_for(req, orgId=None),
        lambda req: _success_for(req, username="someone-else@example.com"),
    ],
    ids=["empty result", "no org id", "another user"],
)
def test_a_success_that_is_not_this_logins_goes_to_sf_and_the_helper_stays(answer: object) -> None:
    said: list[str] = []
    replies = iter([answer, _success_for])
    logins = _logins(FakeHelper(lambda req: next(replies)(req)), said)
    assert logins.login(ARGS) is None  # NodeSf then runs `sf org login jwt` for this alias
    assert said[-1] == "fleet: prod: the helper's success names no org id or another user; logging in with sf instead"
    assert logins.broken is None and isinstance(logins.login(ARGS), LoginSuccess)  # the next alias: the helper


def test_a_login_the_helper_cannot_vouch_for_goes_to_sf_and_the_helper_stays() -> None:
    said: list[str] = []
    replies = iter([lambda req: {"fallback": "cannot vouch for this login: its answer names no org id"}, _success_for])
    logins = _logins(FakeHelper(lambda req: next(replies)(req)), said)
    assert logins.login(ARGS) is None
    assert said[-1] == (
        "fleet: prod: the helper cannot vouch for this login: its answer names no org id; logging in with sf instead"
    )
    assert logins.broken is None and isinstance(logins.login(ARGS), LoginSuccess)


def test_a_helper_that_cannot_load_sfs_core_sends_each_login_to_sf() -> None:
    said: list[str] = []
    helper = FakeHelper(ready={"ready": False, "error": "@salesforce/plugin-auth is not installed beside /sf"})
    logins = _logins(helper, said)
    assert logins.ready.wait(5)
    assert logins.login(ARGS) is None
    assert said == [
        "fleet: one `sf org login jwt` per alias from now on: the helper could not load sf's @salesforce/core: "
        "@salesforce/plugin-auth is not installed beside /sf"
    ]


def test_a_helper_that_dies_mid_login_sends_that_login_to_sf() -> None:
    said: list[str] = []
    helper = FakeHelper(answer=lambda req: None)
    logins = _logins(helper, said)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(logins.login(ARGS)))
    worker.start()
    while not helper.sent:
        threading.Event().wait(0.01)
    helper.end()
    worker.join(10)
    assert result == [None]
    assert (
        said[-1] == "fleet: one `sf org login jwt` per alias from now on: the helper ended early: node: something broke"
    )


def test_ctrl_c_kills_the_helper_and_every_waiting_login_stops() -> None:
    helper = FakeHelper(answer=lambda req: None)
    logins = _logins(helper)
    caught: list[BaseException] = []

    def log_in() -> None:
        try:
            logins.login(ARGS)
        except KeyboardInterrupt as exc:
            caught.append(exc)

    worker = threading.Thread(target=log_in)
    worker.start()
    while not helper.sent:
        threading.Event().wait(0.01)
    logins.kill()
    worker.join(10)
    assert len(caught) == 1
    with pytest.raises(KeyboardInterrupt):  # and none starts after it
        logins.login(ARGS)


def test_a_login_the_helper_never_answers_times_out_as_an_sf_run_does() -> None:
    logins = _logins(FakeHelper(answer=lambda req: None))
    got = logins.login(
        Login("3MVGclient", "bot@example.com", Path("/k"), "https://x.my.salesforce.com", "a", attempt_timeout=0.05)
    )
    assert not isinstance(got, LoginSuccess) and got is not None
    assert got.code is Code.SF_FAILED and "did not finish within the limit" in got.message


class FakeRunner:
    def __init__(self) -> None:
        self.argv: list[str] = []
        self.helper = FakeHelper()

    def converse(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> FakeHelper:
        self.argv = list(argv)
        self.env = dict(env or {})
        return self.helper


def test_start_runs_the_helper_with_sfs_node_and_the_quiet_environment(tmp_path: Path) -> None:
    cli, node = _cli(tmp_path), _node(tmp_path)
    sf = tmp_path / "sf"
    sf.write_text(f'#!/bin/sh\nexec "{node}" "{cli / "bin" / "run.js"}" "$@"\n')
    runner = FakeRunner()
    env = {"NODE_OPTIONS": "--require /guard.cjs", "HTTPS_PROXY": "http://proxy:3128", "SF_AUDIENCE_URL": "x"}
    started = NodeLogins.start(runner, env, str(sf), 3, lambda text: None)  # type: ignore[arg-type]
    assert isinstance(started, NodeLogins)
    assert runner.argv == [str(node), str(HELPER)]
    assert runner.helper.sent[0] == {"cli_dir": str(cli), "parallel": 3}
    # The loopback guard stays; what sf_env drops for sf is dropped for the helper too.
    assert runner.env["NODE_OPTIONS"] == "--require /guard.cjs" and runner.env["SF_DISABLE_TELEMETRY"] == "true"
    assert "HTTPS_PROXY" not in runner.env and "SF_AUDIENCE_URL" not in runner.env
    started.close()


def test_the_helper_can_be_turned_off(tmp_path: Path) -> None:
    started = NodeLogins.start(FakeRunner(), {"SFJWT_ORCH_FLEET_HELPER": "off"}, "/sf", 2, print)  # type: ignore[arg-type]
    assert started == "SFJWT_ORCH_FLEET_HELPER=off"


class ClosedEarly(FakeHelper):
    """A helper that could not load core and has closed its stdin before the first request is
    written (a broken pipe), its reason still unread on its stdout."""

    def __init__(self) -> None:
        super().__init__()
        self._out.get()  # no ready line yet

    def send(self, line: str) -> bool:
        self._out.put(json.dumps({"ready": False, "error": "@salesforce/plugin-auth is not installed beside /sf"}))
        self.end()
        return False


def test_a_broken_pipe_does_not_hide_why_the_helper_ended() -> None:
    said: list[str] = []
    assert _logins(ClosedEarly(), said).login(ARGS) is None
    assert said == [
        "fleet: one `sf org login jwt` per alias from now on: the helper could not load sf's @salesforce/core: "
        "@salesforce/plugin-auth is not installed beside /sf"
    ]
