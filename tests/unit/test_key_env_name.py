"""--key-env takes a variable's name: a key given instead is refused without echoing it, even a base64
run of letters and digits only, which is also a valid variable name (issue 24 item 6)."""

from __future__ import annotations

import pytest

from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.flows.key_env import check_name

ALNUM_KEY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" * 3  # base64 with no + / =


@pytest.mark.parametrize("value", [ALNUM_KEY, "-----BEGIN PRIVATE KEY-----\nMIIE", "LS0tLS1CRUdJTiBQUklW"])
def test_a_key_given_as_the_name_is_refused_without_being_shown(value: str) -> None:
    with pytest.raises(SfjwtError) as refused:
        check_name(value)
    assert "looks like a key" in refused.value.message and "name" in refused.value.message
    shown = refused.value.message + refused.value.fix
    assert value[:16] not in shown


@pytest.mark.parametrize("name", ["SF_JWT_KEY", "SF_JWT_KEY_PROD_UAT", "_k1"])
def test_a_name_is_taken(name: str) -> None:
    assert check_name(name) == name
