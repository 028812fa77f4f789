"""Test set-up shared by unit and integration tests: make the collection importable under its FQCN."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def collections_root() -> Path:
    """The directory holding ansible_collections/promaccess/core for this checkout (see the Makefile)."""
    if REPO.parent.name == "promaccess" and REPO.parent.parent.name == "ansible_collections":
        return REPO.parent.parent.parent
    root = REPO / "build" / "collections"
    link = root / "ansible_collections" / "promaccess" / "core"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return root


ROOT = collections_root()
# tests/controlplane (the real Kubernetes control plane the tests run against) imports as `controlplane`
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT))
# kubernetes.core and friends, unpacked from the ansible package on PyPI by scripts/fetch-collections.sh
_FETCHED = REPO / ".cache" / "collections"
if _FETCHED.is_dir() and str(_FETCHED) not in os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep):
    os.environ["ANSIBLE_COLLECTIONS_PATH"] += os.pathsep + str(_FETCHED)


def _sops_binary() -> str:
    """The real sops, built from its Go module by scripts/k8s-build.sh (once per version, cached outside the
    checkout): the binary the sops credential store runs."""
    from controlplane.controlplane import binaries  # pylint: disable=import-outside-toplevel

    return str(binaries(["sops"])["sops"])


@pytest.fixture(scope="session")
def sops_binary() -> str:
    return _sops_binary()


@pytest.fixture
def sops_on_path(sops_binary, monkeypatch) -> str:
    """sops first on PATH, as an operator's controller has it (for playbooks and modules run in subprocesses)."""
    monkeypatch.setenv("PATH", os.path.dirname(sops_binary) + os.pathsep + os.environ["PATH"])
    return sops_binary
