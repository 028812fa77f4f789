"""Shared fixtures of the module_utils tests: the STAND-IN Kubernetes API server (tests/k8s_standin/server.py).

``standin`` serves the namespaces a test module lists in ``STANDIN_NAMESPACES`` (default ``monitoring``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "promaccess_unit_standin_loader", Path(__file__).resolve().parents[3] / "k8s_standin" / "__init__.py"
)
_loader = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_loader)
StandinServer = _loader.load().StandinServer


@pytest.fixture
def standin(request):
    with StandinServer(namespaces=list(getattr(request.module, "STANDIN_NAMESPACES", ["monitoring"]))) as server:
        yield server
