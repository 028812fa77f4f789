"""Say where Ansible takes promaccess.core from, under the current environment, and check it is the expected copy.

    python scripts/collection_origin.py --expect DIR [--playbook-dir DIR]
    python scripts/collection_origin.py --expect-checkout [--playbook-dir DIR]

Resolves, with ansible-core's own collection loader and the current ANSIBLE_COLLECTIONS_PATH (as
ansible-playbook does, including the `collections/` folder next to the playbooks of --playbook-dir): the
collection package, the playbook promaccess.core.provision_access, the role promaccess.core.prometheus_basic_auth
and the module promaccess.core.htpasswd_users. Prints each path. Exits 1 when any of them comes from somewhere
else than DIR/ansible_collections/promaccess/core, when that copy is not an installed one (MANIFEST.json and
FILES.json missing), or when it is this checkout; with --expect-checkout, when they do not come from this
checkout. Used by scripts/molecule.sh.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from ansible.plugins.loader import init_plugin_loader, module_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.utils.collection_loader._collection_finder import (
    _get_collection_playbook_path,
    _get_collection_role_path,
)

CHECKOUT = Path(__file__).resolve().parents[1]


def resolve(playbook_dir: str | None) -> dict[str, Path | None]:
    """Where the collection and three of its resources resolve from; None when one is not found."""
    init_plugin_loader([])
    if playbook_dir:
        AnsibleCollectionConfig.playbook_paths = [os.path.abspath(playbook_dir)]
    try:
        package = importlib.import_module("ansible_collections.promaccess.core")
    except ImportError:
        return {"collection": None}
    found: dict[str, Path | None] = {"collection": Path(package.__file__).parent}
    playbook = _get_collection_playbook_path("promaccess.core.provision_access")
    found["playbook promaccess.core.provision_access"] = Path(playbook[1]) if playbook else None
    role = _get_collection_role_path("promaccess.core.prometheus_basic_auth")
    found["role promaccess.core.prometheus_basic_auth"] = Path(role[1]) if role else None
    module = module_loader.find_plugin_with_context("promaccess.core.htpasswd_users")
    found["module promaccess.core.htpasswd_users"] = (
        Path(module.plugin_resolved_path) if module.resolved else None
    )
    return found


def problems(found: dict[str, Path | None], expected: Path, installed: bool) -> list[str]:
    """What is wrong with the resolution (empty when every path lies in the expected copy)."""
    errors = []
    for what, path in found.items():
        if path is None:
            errors.append("%s: not found" % what)
            continue
        real = path.resolve()
        # The collection is the expected folder itself, each resource lies in it (and not in a copy nested under
        # its build/, where the installed copy of a checkout lives).
        if what == "collection" and real != expected or not real.is_relative_to(expected) \
                or real.relative_to(expected).parts[:1] == ("build",):
            where = "this checkout" if real == CHECKOUT else real
            errors.append("%s: resolves to %s, not %s" % (what, where, expected))
    if installed:
        if expected == CHECKOUT:
            errors.append("the expected copy is this checkout, not an installed collection")
        for name in ("MANIFEST.json", "FILES.json"):
            if not (expected / name).is_file():
                errors.append("%s has no %s: not installed from a tarball" % (expected, name))
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--expect", metavar="DIR", help="collections root of the installed copy")
    group.add_argument("--expect-checkout", action="store_true", help="expect this checkout")
    parser.add_argument("--playbook-dir", help="folder of the playbooks that will run (adjacent collections/)")
    args = parser.parse_args()

    if args.expect_checkout:
        expected = CHECKOUT
    else:
        expected = (Path(args.expect) / "ansible_collections" / "promaccess" / "core").resolve()
    found = resolve(args.playbook_dir)
    for what, path in found.items():
        print("%s: %s" % (what, path))
    errors = problems(found, expected, installed=not args.expect_checkout)
    for error in errors:
        print("ERROR: %s" % error, file=sys.stderr)
    if not errors:
        print("promaccess.core resolves from %s (%s)" % (
            expected, "this checkout" if args.expect_checkout else "installed from the release tarball"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
