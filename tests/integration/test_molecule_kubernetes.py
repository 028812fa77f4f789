"""scripts/molecule-kubernetes.sh, the molecule scenario `kubernetes`, beside other molecule hosts on the machine."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "molecule-kubernetes.sh"
PODMAN_ENV = dict(os.environ, CONTAINERS_CONF=str(REPO / "tests" / "podman" / "containers.conf"))


def podman(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=PODMAN_ENV, timeout=120,
                          check=check)


@pytest.fixture
def bystander(tmp_path):
    """A podman container labelled owner=molecule, as molecule's podman driver labels the hosts of `default`,
    `fleet` and `rotation` (make test runs them in its other lane while this scenario runs). It is created, not
    started, from an empty image, so it costs nothing; podman treats it as it treats a running host."""
    tag = secrets.token_hex(4)
    image = "localhost/promaccess-bystander:%s" % tag
    name = "promaccess-bystander-%s" % tag
    empty = tmp_path / "empty.tar"
    tarfile.open(empty, "w").close()
    podman("import", "--message", "empty image of a test", str(empty), image, check=True)
    try:
        podman("create", "--label", "owner=molecule", "--network", "none", "--name", name, image, "/sbin/init",
               check=True)
        yield name
    finally:
        podman("rm", "--force", name)
        podman("rmi", "--force", image)


@pytest.mark.slow
def test_the_kubernetes_scenario_leaves_the_other_molecule_hosts_alone(bystander):
    """The scenario passes and the other molecule host is still there. The script once cleared the scenario's
    state with `molecule reset`, which also runs the podman driver's reset: `podman rm --force --filter
    label=owner=molecule`. On a cold make test (the Go builds first, so this scenario ran late) it removed the
    three hosts of `rotation` in the middle of their run."""
    proc = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=False, timeout=900,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, PROMACCESS_VENV=sys.prefix))
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert podman("container", "exists", bystander).returncode == 0, "the scenario removed another molecule host"
