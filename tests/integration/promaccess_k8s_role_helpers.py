"""Shared loaders for the Kubernetes role test: run_playbook from test_targets.py and the session on the real API server."""

from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_playbook = _load("promaccess_test_targets_k8s", HERE / "test_targets.py").run_playbook
from controlplane.session import ClusterSession  # noqa: E402 - tests/ is on sys.path (tests/conftest.py)

__all__ = ["ClusterSession", "run_playbook"]
