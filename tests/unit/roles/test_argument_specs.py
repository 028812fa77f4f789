"""Every role's meta/argument_specs.yml declares exactly the variables of its defaults, with the same defaults.

An interface that drifts from the code misleads whoever reads it: an option documented but never read, or a
default in one place and another in the other. This test keeps the two in step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
PUBLIC_ROLES = sorted(p.name for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").exists())


def test_every_public_role_has_argument_specs():
    public = sorted(p.name for p in ROLES.iterdir() if p.is_dir() and not p.name.startswith("_"))
    assert public == PUBLIC_ROLES


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_argument_specs_match_defaults(role):
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    assert sorted(specs) == sorted(defaults), "options and defaults differ"
    for name, spec in specs.items():
        assert name.startswith(role + "_"), name
        assert spec.get("description"), name
        assert spec.get("default") == defaults[name], name


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_every_default_is_used(role):
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    text = "".join(p.read_text() for p in (ROLES / role).rglob("*.yml") if "defaults" not in p.parts and "meta" not in p.parts)
    text += "".join(p.read_text() for p in (ROLES / role).rglob("*.j2"))
    unused = [name for name in defaults if name not in text]
    assert unused == []
