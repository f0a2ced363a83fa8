"""A sample of the schema-generated deploy table (tests/integration/emulator/schema_table.py) through
the real sf: `sf project deploy start --metadata-dir` against the emulator, valid elements passing
(`--dry-run`, so the org stays empty) and each kind of invalid variant failing with the Metadata API's
wording in sf's own --json."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.test_emulator_admin_e2e import _admin_login, _deploy, _failed_files, _org, _sf
from tests.integration.emulator.metadata_kit import write_dir
from tests.integration.emulator.schema_table import invalid_cases, too_low_cases, valid_cases

pytestmark = pytest.mark.e2e

VALID = {c.id: c for c in valid_cases()}
INVALID = {c.id: c for c in (*invalid_cases(), *too_low_cases())}
VALID_SAMPLE = (
    "ExtlClntAppGlobalOauthSettings.isTokenExchangeEnabled@66.0",
    "ExtlClntAppOauthSettings.trustedIpRanges@66.0",
)
INVALID_SAMPLE = (
    "ExternalClientApplication.unknown-element",
    "ExtlClntAppConfigurablePolicies.out-of-order",
    "ExtlClntAppOauthConfigurablePolicies.bad-enum-guestJwtSessionTimeoutType",
    "ExtlClntAppOauthConfigurablePolicies.commaSeparatedProfile@61.0",
)


def test_a_sample_of_the_schema_table_through_the_real_sf(e2e: E2E) -> None:
    emu = _org(e2e)
    _admin_login(e2e, emu)
    for case_id in VALID_SAMPLE:
        folder = write_dir(e2e.tmp / case_id, VALID[case_id].make(e2e.keypair.cert_pem))
        rc, doc = _sf(
            e2e, "project", "deploy", "start", "--metadata-dir", str(folder), "--target-org", "admin", "--dry-run"
        )
        assert rc == 0 and doc["result"]["status"] == "Succeeded", (case_id, doc)
    for case_id in INVALID_SAMPLE:
        case = INVALID[case_id]
        rc, doc = _deploy(e2e, write_dir(e2e.tmp / case_id, case.make(e2e.keypair.cert_pem)))
        assert rc == 1 and doc["result"]["status"] == "Failed", (case_id, doc)
        assert (case.type_name, case.problem) in _failed_files(doc), (case_id, _failed_files(doc))
    assert emu.apps() == () and emu.state()["components"] == []
