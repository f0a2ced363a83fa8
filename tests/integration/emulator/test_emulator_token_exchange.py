"""The emulator's token-exchange grant (issue 23), without sf: a trust package deployed as the admin,
identity tokens from the emulated GitHub issuer, and what the org answers when the exchange is off,
no handler is enabled, the issuer's remote site is missing or the user is not pre-authorized."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from sfjwt_orch.emulator import Emulator, empty_org_config
from sfjwt_orch.keyless.package import TrustPackage
from sfjwt_orch.keyless.spec import Provider, TrustSpec, binding
from sfjwt_orch.salesforce import metadata

USER = "ci@example.com"
KEY = "K" * 72


def start(tmp_path: Path, edit: Any = None, preauthorized: bool = True) -> tuple[Emulator, TrustPackage]:
    emu = Emulator(empty_org_config((USER,))).start()
    spec = TrustSpec(Provider.GITHUB, emu.ci_issuer("github"), emu.url, USER,
                     (binding(Provider.GITHUB, "acme/app", None, None),))  # fmt: skip
    package = TrustPackage("SfjwtOrch_ci", "SfjwtOrch_ci_Jwt", spec, emu.admin_user.username, KEY)
    files = package.files()
    if edit is not None:
        files = edit(files)
    metadata.write(tmp_path / "md", files)
    outcome = emu.deploy(tmp_path / "md")
    assert outcome.success, outcome.failures
    emu.update_user(USER, preauthorized=preauthorized)  # what sf org assign permset does, for this test
    return emu, package


def exchange(emu: Emulator, subject: str, **extra: str) -> tuple[int, dict[str, Any]]:
    body = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                                   "subject_token": subject, "client_id": KEY,
                                   "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", **extra}).encode()  # fmt: skip
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{emu.url}/services/oauth2/token", data=body)) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def identity(emu: Emulator, **claims: Any) -> str:
    env = emu.ci_job("github", {"repository": "acme/app", **claims})
    request = urllib.request.Request(env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=" + urllib.parse.quote(emu.url),
                                     headers={"Authorization": "bearer " + env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]})  # fmt: skip
    with urllib.request.urlopen(request) as reply:
        value: str = json.loads(reply.read())["value"]
    return value


def test_a_bound_token_gets_an_access_token_for_the_ci_user(tmp_path: Path) -> None:
    emu, _ = start(tmp_path)
    with emu:
        status, doc = exchange(emu, identity(emu))
        assert status == 200 and doc["access_token"] in emu.issued_tokens
        assert doc["id"].endswith(emu.users()[0].user_id)
        status, _ = exchange(emu, identity(emu), token_handler="SfjwtOrch_ci_Xchg")
        assert status == 200  # the handler named
        status, doc = exchange(emu, identity(emu), token_handler="Another")
        assert status == 400 and "no token exchange handler" in doc["error_description"]
        recorded = [r for r in emu.token_requests if r.params.get("grant_type", "").endswith("token-exchange")]
        assert recorded and all(r.params["subject_token"].startswith("<JWT, ") for r in recorded)


def test_the_issuer_refuses_a_request_without_the_jobs_request_token(tmp_path: Path) -> None:
    emu, _ = start(tmp_path)
    with emu:
        env = emu.ci_job("github", {"repository": "acme/app"})
        request = urllib.request.Request(env["ACTIONS_ID_TOKEN_REQUEST_URL"], headers={"Authorization": "bearer nope"})
        try:
            urllib.request.urlopen(request)
            raise AssertionError("an unknown request token got an identity token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        discovery = json.loads(
            urllib.request.urlopen(emu.ci_issuer("github") + "/.well-known/openid-configuration").read()
        )
        assert discovery["issuer"] == emu.ci_issuer("github") and discovery["jwks_uri"].endswith("/.well-known/jwks")


def _set(name: str, value: str) -> Any:
    def edit(files: dict[str, str]) -> dict[str, str]:
        return {p: re.sub(f"<{name}>[^<]*</{name}>", f"<{name}>{value}</{name}>", t) for p, t in files.items()}

    return edit


def test_exchange_off_no_handler_no_remote_site_and_no_preauthorization_each_say_so(tmp_path: Path) -> None:
    cases = [
        (_set("isTokenExchangeFlowEnabled", "false"), True, "unsupported_grant_type", "grant type not supported"),
        (_set("isJwtSupported", "false"), True, "invalid_request", "no token exchange handler"),
        (_set("isActive", "false"), True, "invalid_request", "signature: the token does not verify"),
        (None, False, "invalid_app_access", "user is not admin approved"),
    ]
    for index, (edit, preauthorized, error, said) in enumerate(cases):
        emu, _ = start(tmp_path / str(index), edit, preauthorized)
        with emu:
            status, doc = exchange(emu, identity(emu))
        assert status == 400 and doc["error"] == error and said in doc["error_description"], (index, doc)
        if "signature" in said:
            assert "System.CalloutException" in doc["error_description"]  # Apex's remote-site rule


HANDLER = "oauthtokenexchangehandlers/SfjwtOrch_ci_Xchg.oauthtokenexchangehandler"


def _handler_only(files: dict[str, str]) -> dict[str, str]:
    """The trust package's handler alone, with a package.xml naming only it."""
    manifest = re.sub(r"<types>(?:(?!</types>).)*</types>\s*", "", files["package.xml"], flags=re.S)
    manifest = manifest.replace(
        "<version>",
        "<types>\n        <members>SfjwtOrch_ci_Xchg</members>\n        <name>OauthTokenExchangeHandler</name>\n"
        "    </types>\n    <version>",
    )
    return {HANDLER: files[HANDLER], "package.xml": manifest}


def _refusals(outcome: Any) -> list[tuple[str, str]]:
    return [(m.full_name, m.problem) for m in outcome.failures]


def test_the_handler_must_name_an_apex_class_and_an_app_that_exist(tmp_path: Path) -> None:
    with Emulator(empty_org_config((USER,))).start() as emu:
        spec = TrustSpec(Provider.GITHUB, emu.ci_issuer("github"), emu.url, USER,
                         (binding(Provider.GITHUB, "acme/app", None, None),))  # fmt: skip
        files = TrustPackage("SfjwtOrch_ci", "SfjwtOrch_ci_Jwt", spec, emu.admin_user.username, KEY).files()
        cases = [
            (_set("tokenHandlerApex", "Missing_Tx")(files), "In field: tokenHandlerApex - no ApexClass named Missing_Tx found"),
            (_set("externalClientApp", "Other_App")(files),
             "In field: externalClientApp - no ExternalClientApplication named Other_App found"),
            (_handler_only(files), "In field: tokenHandlerApex - no ApexClass named SfjwtOrch_ci_Tx found"),
        ]  # fmt: skip
        for index, (edited, said) in enumerate(cases):
            metadata.write(tmp_path / str(index), edited)
            outcome = emu.deploy(tmp_path / str(index))
            assert not outcome.success and ("SfjwtOrch_ci_Xchg", said) in _refusals(outcome), _refusals(outcome)
        assert emu.deploy(_written(tmp_path / "all", files)).success  # both in the same deploy
        assert emu.deploy(_written(tmp_path / "again", _handler_only(files))).success  # both deployed before


def _written(directory: Path, files: dict[str, str]) -> Path:
    metadata.write(directory, files)
    return directory
