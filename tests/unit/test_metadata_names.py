"""Component names within Salesforce's 80 characters, shortened the same way on every machine."""

from __future__ import annotations

import re

import pytest

from sfjwt_orch.errors import SfjwtError
from sfjwt_orch.salesforce import metadata

NAME_RULE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")


def test_a_short_alias_keeps_its_name() -> None:
    assert metadata.default_app_name("ci") == "SfjwtOrch_ci"
    assert metadata.default_app_name("a" * 50) == "SfjwtOrch_" + "a" * 50


@pytest.mark.parametrize("alias", ["b" * 51, "Z" * 64, "prod_" + "x" * 59, "x" * 49 + "_" * 14 + "y"])
def test_a_long_alias_is_shortened_the_same_way_every_time(alias: str) -> None:
    name = metadata.default_app_name(alias)
    assert name == metadata.default_app_name(alias)  # a rerun finds its own app
    assert len(name) <= metadata.app_name_limit("eca") and NAME_RULE.match(name)
    for kind in ("eca", "connected-app"):
        for _type, member in metadata.component_names(name, kind):  # type: ignore[arg-type]
            assert len(member) <= 80 and NAME_RULE.match(member)
    assert NAME_RULE.match(metadata.default_permission_set(name))


def test_two_long_aliases_sharing_their_start_get_two_names() -> None:
    assert metadata.default_app_name("q" * 60 + "1") != metadata.default_app_name("q" * 60 + "2")


def test_a_connected_app_may_use_all_80_characters_and_its_permission_set_fits() -> None:
    name = "C" * 80
    assert metadata.check_app_name(name, "connected-app") == name
    assert len(metadata.default_permission_set(name)) == 80
    with pytest.raises(SfjwtError):
        metadata.check_app_name(name, "eca")


def test_the_fix_for_a_long_name_is_a_name_that_passes() -> None:
    with pytest.raises(SfjwtError) as caught:
        metadata.check_app_name("Long_" + "n" * 70, "eca")
    suggested = caught.value.fix.rsplit("e.g. ", 1)[1]
    assert metadata.check_app_name(suggested, "eca") == suggested
