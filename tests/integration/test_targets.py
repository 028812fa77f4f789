"""Run every integration target the way ``ansible-test integration`` does: as a role applied to localhost.

Each ``tests/integration/targets/<name>/`` is an ordinary ansible-test target (``tasks/main.yml`` and an
``aliases`` file). Targets whose aliases say ``disabled`` or ``unsupported`` are not collected at all, so
nothing is counted as passing that did not run; ``hidden`` ones (``setup_*`` helpers) serve other targets.
The real tools (htpasswd, promtool, prometheus, nginx, age, curl) are used inside the targets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TARGETS_DIR = Path(__file__).resolve().parent / "targets"


def _targets():
    out = []
    for target in sorted(TARGETS_DIR.iterdir()):
        aliases_file = target / "aliases"
        aliases = aliases_file.read_text().split() if aliases_file.exists() else []
        if (target / "tasks" / "main.yml").exists() and not {"disabled", "unsupported", "hidden"} & set(aliases):
            out.append(target.name)
    return out


def run_playbook(playbook: Path, tmp_path: Path, extra_env: dict | None = None, *args: str):
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable
    )
    env = dict(os.environ)
    env.update(
        ANSIBLE_ROLES_PATH=str(TARGETS_DIR),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-remote"),
    )
    env.update(extra_env or {})
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", str(inventory),
        "-e", "output_dir=%s" % tmp_path,
        "-e", "remote_tmp_dir=%s" % tmp_path,
        str(playbook),
        *args,
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("target", _targets())
def test_target(target, tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: true\n  roles:\n    - %s\n" % target
    )
    proc = run_playbook(playbook, tmp_path)
    assert proc.returncode == 0, "target %s failed:\n%s\n%s" % (target, proc.stdout[-20000:], proc.stderr[-5000:])
