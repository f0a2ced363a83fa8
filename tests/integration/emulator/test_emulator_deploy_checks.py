"""The deploy validator against documented-invalid input, one change at a time, over the SOAP endpoint.

Each row starts from the reference's recommended directory (§A1), changes one thing the Metadata API
documents as wrong, and names the component that must fail and the problem text sf will print. A
failed deploy writes nothing (rollbackOnError, sf's default): every row also checks the org is
still empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from sfjwt_orch.emulator import Emulator, PermissionSet, empty_org_config
from tests.integration.emulator.emulator_testkit import KeyPair
from tests.integration.emulator.metadata_kit import (
    GLOBAL,
    HEADER,
    NAME,
    NS,
    OAUTH,
    PLUGIN,
    deploy_and_wait,
    eca_files,
    failures,
    package_xml,
    problems,
)

Start = Callable[..., Emulator]
Files = dict[str, str]

ECA = "ExternalClientApplication"
GLOBAL_TYPE = "ExtlClntAppGlobalOauthSettings"
OAUTH_TYPE = "ExtlClntAppOauthSettings"
POLICY_TYPE = "ExtlClntAppOauthConfigurablePolicies"
PLUGIN_TYPE = "ExtlClntAppConfigurablePolicies"
NOT_FOUND = "was named in package.xml, but was not found in zipped directory"


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[str], Files]  # certificate PEM -> the files to deploy
    component: str  # componentType of the failure (fullName "package.xml" for the package)
    problem: str  # the problem text, or its start when it ends with "…"
    kwargs: dict[str, object] = field(default_factory=dict)


def _edit(path: str, old: str, new: str, **kw: object) -> Callable[[str], Files]:
    def change(cert: str) -> Files:
        files = eca_files(cert, **kw)  # type: ignore[arg-type]
        assert old in files[path], (path, old)
        files[path] = files[path].replace(old, new)
        return files

    return change


def _files(**kw: object) -> Callable[[str], Files]:
    return lambda cert: eca_files(cert, **kw)  # type: ignore[arg-type]


def _move(path: str, new_path: str) -> Callable[[str], Files]:
    def change(cert: str) -> Files:
        files = eca_files(cert)
        files[new_path] = files.pop(path)
        return files

    return change


def _without(path: str) -> Callable[[str], Files]:
    def change(cert: str) -> Files:
        files = eca_files(cert)
        del files[path]
        return files

    return change


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><Package>&lol2;</Package>'
)

CASES = [
    # --- package.xml and the zip's layout (reference §A3 "Generic Metadata API messages")
    Case("package-xml-malformed", _edit("package.xml", "</Package>", "</Packag>"), "package.xml", "Error parsing file: mismatched tag"),
    Case("package-xml-missing", _without("package.xml"), "package.xml", "No package.xml found"),
    Case("package-xml-entities", lambda c: {**eca_files(c), "package.xml": BILLION_LAUGHS}, "package.xml",
         'Error parsing file: DOCTYPE is disallowed when the feature "http://apache.org/xml/features/disallow-doctype-decl" set to true.'),
    Case("unknown-type", _edit("package.xml", "<name>ExtlClntAppOauthSettings<", "<name>ExtlClntAppOauthSetting<"),
         "package.xml", "Unknown type name 'ExtlClntAppOauthSetting' specified in package.xml"),
    Case("package-older-than-the-schemas", _files(version="58.0"), "package.xml",
         "The emulator checks Metadata API versions 61.0 and later; package.xml declares 58.0"),
    Case("wrong-folder", _move(HEADER, f"externalClientApp/{NAME}.eca"), ECA,
         f"An object '{NAME}' of type ExternalClientApplication {NOT_FOUND}"),
    Case("wrong-suffix", _move(GLOBAL, GLOBAL.replace(".ecaGlblOauth", ".ecaGlobalOauth")), GLOBAL_TYPE,
         f"An object '{NAME}_glbloauth' of type ExtlClntAppGlobalOauthSettings {NOT_FOUND}"),
    # --- one file's own XML and fields
    Case("component-malformed", _edit(OAUTH, "</label>", "</labl>"), OAUTH_TYPE, "Error parsing file: mismatched tag"),
    Case("component-doctype", _edit(PLUGIN, '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?><!DOCTYPE x>'),
         PLUGIN_TYPE, "Error parsing file: DOCTYPE is disallowed…"),
    Case("wrong-root", _edit(GLOBAL, "ExtlClntAppGlobalOauthSettings", "ExternalClientApplication"), GLOBAL_TYPE,
         f"Error parsing file: Element {{{NS}}}ExternalClientApplication invalid at this location"),
    Case("unknown-element", _files(header={"colour": "red"}), ECA,
         f"Error parsing file: Element {{{NS}}}colour invalid at this location in type ExternalClientApplication"),
    # isNamedUserJwtEnabled belongs in the policy only at API 61-63 (sfdx-hardis c698968f); this package is 64.0.
    Case("field-outside-its-versions", _files(policy={"isNamedUserJwtEnabled": "false"}), POLICY_TYPE,
         f"Error parsing file: Element {{{NS}}}isNamedUserJwtEnabled invalid at this location in type {POLICY_TYPE}"),
    Case("enum-permitted-users", _files(policy={"permittedUsersPolicyType": "AdminApproved"}), POLICY_TYPE,
         "'AdminApproved' is not a valid value for the enum 'PermittedUsersPolicyType'"),
    Case("enum-required-session-level", _files(policy={"requiredSessionLevel": "HIGH"}), POLICY_TYPE,
         "'HIGH' is not a valid value for the enum 'SessionSecurityLevel'"),
    Case("element-newer-than-package", _files(version="61.0", permset=None,
                                               policy={"commaSeparatedPermissionSet": None, "commaSeparatedProfile": "System Administrator"}),
         POLICY_TYPE, "Property 'commaSeparatedProfile' not valid in version 61.0"),
    Case("out-of-order", _edit(PLUGIN, f"<externalClientApplication>{NAME}</externalClientApplication><isEnabled>true</isEnabled>",
                               f"<isEnabled>true</isEnabled><externalClientApplication>{NAME}</externalClientApplication>"),
         PLUGIN_TYPE, f"Error parsing file: Element {{{NS}}}isEnabled invalid at this location in type {PLUGIN_TYPE}"),
    Case("enum-distribution-state", _files(header={"distributionState": "Public"}), ECA,
         "'Public' is not a valid value for the enum 'ExtlClntAppDistState'"),
    Case("boolean", _files(plugin={"isEnabled": "yes"}), PLUGIN_TYPE, "'yes' is not a valid value for the type boolean"),
    Case("integer", _files(policy={"refreshTokenValidityPeriod": "four"}), POLICY_TYPE,
         "'four' is not a valid value for the type int"),
    Case("scope", _files(oauth={"commaSeparatedOauthScopes": "Api, Everything"}), OAUTH_TYPE,
         "'Everything' is not a valid value for the enum 'ConnectedAppOauthAccessScope'"),
    Case("required-permission-set-label", _edit("permissionsets/SfjwtOrch_Access.permissionset", "<label>SfjwtOrch Access</label>", ""),
         "PermissionSet", "Required field is missing: label"),
    Case("required-eca-reference", _files(oauth={"externalClientApplication": None}), OAUTH_TYPE,
         "Required field is missing: externalClientApplication"),
    Case("required-is-enabled", _files(plugin={"isEnabled": None}), PLUGIN_TYPE, "Required field is missing: isEnabled"),
    Case("api-name-double-underscore", _files(name="Sfjwt__Orch"), ECA,
         "The ExternalClientApplication name can only contain underscores and alphanumeric characters.…"),
    Case("api-name-starts-with-digit", _files(name="9Orch"), ECA, "The ExternalClientApplication name can only…"),
    Case("oauth-link", _files(oauth={"oauthLink": "SfjwtOrch_link"}), OAUTH_TYPE,
         "In field: oauthLink - no OAuth link named SfjwtOrch_link found"),
    # --- what one file refers to (the deploy or the org must have it)
    Case("unknown-eca", _files(global_oauth={"externalClientApplication": "Other"}), GLOBAL_TYPE,
         "In field: externalClientApplication - no ExternalClientApplication named Other found"),
    Case("unknown-permission-set", _files(permset=None, policy={"commaSeparatedPermissionSet": "Missing_Set"}),
         POLICY_TYPE, "In field: commaSeparatedPermissionSet - no PermissionSet named Missing_Set found"),
    Case("one-of-two-permission-sets-unknown", _files(policy={"commaSeparatedPermissionSet": "SfjwtOrch_Access, Nope"}),
         POLICY_TYPE, "In field: commaSeparatedPermissionSet - no PermissionSet named Nope found"),
    Case("unknown-profile", _files(permset=None, policy={"commaSeparatedProfile": "Integration Robots"}), POLICY_TYPE,
         "In field: commaSeparatedProfile - no Profile named Integration Robots found"),
    Case("certificate-not-pem", _files(global_oauth={"certificate": "MIIC-not-a-pem"}), GLOBAL_TYPE,
         "Invalid certificate: no PEM block found (expected -----BEGIN CERTIFICATE-----)"),
    Case("certificate-bad-base64", _files(global_oauth={"certificate": "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"}),
         GLOBAL_TYPE, "Invalid certificate: the CERTIFICATE block is not valid base64"),
    Case("consumer-key-short", _files(consumer_key="short"), GLOBAL_TYPE,
         "The consumer key must be 18 to 256 characters, with no spaces."),
]  # fmt: skip


@pytest.fixture
def admin_emulator(start_emulator: Start) -> Emulator:
    return start_emulator(empty_org_config(("ci@example.com",)))


def _assert_problem(got: list[tuple[str, str]], component: str, text: str) -> None:
    prefix = text.endswith("…")
    wanted = text.rstrip("…")
    matches = [p for c, p in got if c == component and (p.startswith(wanted) if prefix else p == wanted)]
    assert matches, f"expected {component}: {text!r}; got {got}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_deploy_fails_with_salesforces_problem(admin_emulator: Emulator, keys: KeyPair, case: Case) -> None:
    emu = admin_emulator
    result = deploy_and_wait(emu.url, emu.admin_token, case.change(keys.cert_pem))
    assert result["status"] == "Failed" and result["success"] == "false"
    _assert_problem(problems(result), case.component, case.problem)
    assert int(result["numberComponentErrors"]) == len(problems(result))
    # Rolled back: no app, no permission set, no component.
    state = emu.state()
    assert emu.apps() == () and state["permission_sets"] == [] and state["components"] == []


def test_parse_errors_carry_line_and_column(admin_emulator: Emulator, keys: KeyPair) -> None:
    files = eca_files(keys.cert_pem)
    files[OAUTH] = files[OAUTH].replace("<label>", "\n\n<label>").replace("</label>", "</labl>")
    result = deploy_and_wait(admin_emulator.url, admin_emulator.admin_token, files)
    (failure,) = failures(result)
    assert failure["fileName"] == f"zip/{OAUTH}"
    assert failure["lineNumber"] == "4" and int(failure["columnNumber"]) > 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: eca_files(c), id="as-recommended"),
        pytest.param(
            lambda c: eca_files(c, version="62.0", policy={"isNamedUserJwtEnabled": "false"}), id="jwt-flag-at-62"
        ),
        pytest.param(
            lambda c: eca_files(c, oauth={"commaSeparatedOauthScopes": "Api, Web, RefreshToken"}), id="hardis-scopes"
        ),
        pytest.param(lambda c: eca_files(c, consumer_key="k" * 40 + "+/=" + "9" * 76), id="hardis-119-char-key"),
        pytest.param(
            lambda c: eca_files(
                c,
                permset=None,
                policy={"commaSeparatedPermissionSet": None, "commaSeparatedProfile": "System Administrator"},
            ),
            id="profile-policy",
        ),
        pytest.param(
            lambda c: {
                **(f := eca_files(c)),
                HEADER.replace(".eca", ".eca-meta.xml"): f.pop(HEADER),
            },
            id="meta-xml-suffix-as-sfdx-hardis-writes",
        ),
    ],
)
def test_valid_deploys_succeed(admin_emulator: Emulator, keys: KeyPair, change: Callable[[str], Files]) -> None:
    result = deploy_and_wait(admin_emulator.url, admin_emulator.admin_token, change(keys.cert_pem))
    assert result["status"] == "Succeeded", problems(result)
    assert admin_emulator.find_app(NAME) is not None


def test_a_permission_set_the_org_has_already_needs_no_deploy(start_emulator: Start, keys: KeyPair) -> None:
    existing = PermissionSet("Existing_Gate", "0PS000000000001AAA", "Existing gate")
    emu = start_emulator(empty_org_config(permission_sets=(existing,)))
    files = eca_files(keys.cert_pem, permset=None, policy={"commaSeparatedPermissionSet": "Existing_Gate"})
    assert deploy_and_wait(emu.url, emu.admin_token, files)["status"] == "Succeeded"


def test_package_members_wildcard_deploys_every_file_of_the_folder(admin_emulator: Emulator, keys: KeyPair) -> None:
    files = eca_files(keys.cert_pem)
    files["package.xml"] = package_xml(
        {t: ["*"] for t in (ECA, GLOBAL_TYPE, OAUTH_TYPE, POLICY_TYPE, PLUGIN_TYPE, "PermissionSet")}
    )
    result = deploy_and_wait(admin_emulator.url, admin_emulator.admin_token, files)
    assert result["status"] == "Succeeded" and result["numberComponentsDeployed"] == "6"


def test_every_policy_file_is_checked(admin_emulator: Emulator, keys: KeyPair) -> None:
    """Several faults: one failure per faulty component, none for the good ones."""
    files = eca_files(keys.cert_pem, policy={"permittedUsersPolicyType": "Nobody"}, plugin={"isEnabled": "maybe"})
    got = problems(deploy_and_wait(admin_emulator.url, admin_emulator.admin_token, files))
    assert sorted(c for c, _ in got) == [PLUGIN_TYPE, POLICY_TYPE], got


def test_two_settings_for_one_app_in_one_deploy(admin_emulator: Emulator, keys: KeyPair) -> None:
    files = eca_files(keys.cert_pem)
    files[GLOBAL.replace("_glbloauth", "_second")] = files[GLOBAL]
    files["package.xml"] = files["package.xml"].replace(
        f"<members>{NAME}_glbloauth</members>", f"<members>{NAME}_glbloauth</members><members>{NAME}_second</members>"
    )
    got = problems(deploy_and_wait(admin_emulator.url, admin_emulator.admin_token, files))
    assert got == [
        (GLOBAL_TYPE, f"duplicate value found: ExternalClientApplicationId duplicates {NAME}_glbloauth in this deploy")
    ]
