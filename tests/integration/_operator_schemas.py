"""Prometheus Operator objects validated by @kubernetes-models/prometheus-operator (tests/k8s-schemas).

The npm package carries ajv validators compiled from the operator's Go API types (version noted in
tests/data/crds/README.md). ``scripts/k8s-schemas-deps.sh`` installs it from tests/k8s-schemas/package-lock.json
(``npm ci``, once); ``tests/k8s-schemas/validate.mjs`` validates a JSON list of objects.

When node, npm or the package cannot be had, a test that needs them fails under ``CI=true`` (CI must not pass
without the check) and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPS = REPO / "scripts" / "k8s-schemas-deps.sh"
VALIDATE = REPO / "tests" / "k8s-schemas" / "validate.mjs"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def ensure_deps() -> None:
    """Install the pinned package when missing; fail (CI) or skip (elsewhere) with the reason when impossible."""
    try:
        run = subprocess.run([str(DEPS)], capture_output=True, text=True, check=False, timeout=900)
        problem = None if run.returncode == 0 else "exit %d: %s" % (run.returncode, run.stderr[-3000:].strip())
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    if problem:
        message = ("Prometheus Operator schema check unavailable: %s failed (%s); it needs node >= 20 with npm and "
                   "the npm registry once" % (DEPS.relative_to(REPO), problem))
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def validate(objects: list[dict]) -> list[dict]:
    """One result per object: {"index", "apiVersion", "kind", "name", "valid", "errors": [{"path", "message", ...}]}."""
    run = subprocess.run(["node", str(VALIDATE)], input=json.dumps(objects), capture_output=True, text=True,
                         check=False, timeout=120, cwd=str(VALIDATE.parent))
    assert run.returncode in (0, 1), "validate.mjs failed (exit %d): %s" % (run.returncode, run.stderr[-3000:])
    results = json.loads(run.stdout)
    assert len(results) == len(objects)
    assert (run.returncode == 0) == all(r["valid"] for r in results), run.stderr
    return results


def errors(obj: dict) -> list[str]:
    """'path: message' for each error of one object (empty when valid)."""
    (result,) = validate([obj])
    return ["%s: %s" % (e["path"], e["message"]) for e in result["errors"]]
