"""--key-env takes a variable's name: a key given instead is refused without echoing it, even a base64
run of letters and digits only, which is also a valid variable name (issue 24 item 6)."""

from __future__ import annotations

import base64

import pytest

from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.flows.key_env import check_name
from tests.fakesecrets import pem_block, random_body

KINDS = ["base64-letters-and-digits", "pem", "base64-of-pem"]


def _key_given_as(kind: str) -> str:
    """A key as a person might paste it, made of random bytes now (no key material in the repository)."""
    pem = pem_block("PRIVATE KEY", random_body(3))
    if kind == "pem":
        return pem[:40]
    if kind == "base64-of-pem":
        return base64.b64encode(pem.encode()).decode()[:20]
    # base64 with no + / = and no leading digit: also a valid variable name
    return "".join(c for c in "".join(random_body(4)) if c.isalnum()).lstrip("0123456789")[:156]


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_given_as_the_name_is_refused_without_being_shown(kind: str) -> None:
    value = _key_given_as(kind)
    with pytest.raises(SfjwtError) as refused:
        check_name(value)
    assert "looks like a key" in refused.value.message and "name" in refused.value.message
    shown = refused.value.message + refused.value.fix
    assert value[:16] not in shown


@pytest.mark.parametrize("name", ["SF_JWT_KEY", "SF_JWT_KEY_PROD_UAT", "_k1"])
def test_a_name_is_taken(name: str) -> None:
    assert check_name(name) == name
