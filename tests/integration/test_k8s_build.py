"""scripts/k8s-build.sh, the builder of the tests' Kubernetes components, on a binary cache of its own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "k8s-build.sh"


@pytest.mark.slow
def test_a_build_into_an_empty_binary_cache_succeeds_and_leaves_no_build_folder(tmp_path):
    """etcd (the quickest) built into an empty binary cache, with this machine's Go caches: exit 0, the folder
    printed, the binary verified, no build folder left. The EXIT trap once named a variable local to the build
    function: every build that really ran then ended with `tmp: unbound variable` and exit 1 (a cold make test
    failed after 36 minutes of builds)."""
    proc = subprocess.run([str(SCRIPT), "--print-dir", "etcd"], capture_output=True, text=True, check=False,
                          timeout=1800, env=dict(os.environ, PROMACCESS_K8S_CACHE=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = Path(proc.stdout.strip())
    assert printed.parent == tmp_path and os.access(printed / "etcd", os.X_OK)
    assert "built etcd" in proc.stderr
    assert not list(tmp_path.glob(".build-*"))


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    """The Go toolchain fails (a `go` that exits 1, first on PATH: the stand-in for a build error the real
    toolchain gives only on broken sources): exit non-zero, no binary, no build folder."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "go").write_text("#!/bin/sh\necho 'go: build failed on purpose' >&2\nexit 1\n")
    (fake / "go").chmod(0o755)
    cache = tmp_path / "cache"
    env = dict(os.environ, PROMACCESS_K8S_CACHE=str(cache), PATH="%s:%s" % (fake, os.environ["PATH"]))
    proc = subprocess.run([str(SCRIPT), "etcd"], capture_output=True, text=True, check=False, timeout=300, env=env)
    assert proc.returncode != 0
    assert "build failed on purpose" in proc.stderr and "unbound variable" not in proc.stderr
    assert not list(cache.glob(".build-*")) and not list(cache.glob("etcd-*"))
