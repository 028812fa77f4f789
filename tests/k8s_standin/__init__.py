"""The stand-in Kubernetes API server for tests (see server.py: it is not Kubernetes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def load():
    """Import server.py under a unique name, whatever the test's import mode."""
    name = "promaccess_k8s_standin_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "server.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
