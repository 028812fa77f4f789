"""The grant_name test plugin applies the one rule of module_utils/_common/names.py."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.test import grant_name as plugin


@pytest.mark.parametrize(
    "value, ok",
    [("team-a", True), ("a.b_c-1", True), ("9", True), ("-a", False), ("a b", False), ("../x", False),
     ("a/b", False), ("", False), (None, False), (["a"], False), ("a" * 128, True), ("a" * 129, False)],
)
def test_grant_name(value, ok):
    assert plugin.TestModule().tests()["grant_name"](value) is ok
