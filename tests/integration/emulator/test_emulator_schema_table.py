"""The table generated from Salesforce's schema, deployed over SOAP: every element of every type
sfjwt-orch creates deploys (alone with the type's required elements), and each invalid variant fails
with the Metadata API's wording; a failed deploy writes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sfjwt_orch.emulator import Emulator, empty_org_config
from tests.integration.emulator.emulator_testkit import KeyPair
from tests.integration.emulator.metadata_kit import deploy_and_wait, problems
from tests.integration.emulator.schema_table import OLDEST, Case, invalid_cases, too_low_cases, valid_cases

Start = Callable[..., Emulator]
VALID = [*valid_cases(), *valid_cases(OLDEST)]
INVALID = [*invalid_cases(), *too_low_cases()]


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    emu = Emulator(empty_org_config(("ci@example.com",))).start()
    emu.set_switches(connected_app_creation_blocked=False)
    yield emu  # type: ignore[misc]
    emu.stop()


def test_the_table_covers_every_type_and_kind_of_fault() -> None:
    assert len(VALID) > 150
    kinds = {c.id.split(".", 1)[1].split("-")[0] for c in INVALID if "@" not in c.id}
    assert {"unknown", "out", "bad"} <= kinds
    assert any("@" in c.id for c in INVALID)  # versions too low


@pytest.mark.parametrize("case", VALID, ids=[c.id for c in VALID])
def test_each_element_of_the_schema_deploys(emulator: Emulator, keys: KeyPair, case: Case) -> None:
    result = deploy_and_wait(emulator.url, emulator.admin_token, case.make(keys.cert_pem), checkOnly="true")
    assert result["status"] == "Succeeded", problems(result)


@pytest.mark.parametrize("case", INVALID, ids=[c.id for c in INVALID])
def test_each_invalid_variant_fails_as_salesforce_says(emulator: Emulator, keys: KeyPair, case: Case) -> None:
    result = deploy_and_wait(emulator.url, emulator.admin_token, case.make(keys.cert_pem))
    assert result["status"] == "Failed"
    assert (case.type_name, case.problem) in problems(result), problems(result)
    assert emulator.apps() == () and emulator.state()["components"] == []
