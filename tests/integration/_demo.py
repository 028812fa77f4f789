"""The local provisioning set-up shared by the integration tests: `make demo`'s flow on free loopback ports.

scripts/demo.sh runs promaccess.core.provision_access against playbooks/demo/inventory.yml with a temporary
state folder: real Prometheus and nginx as plain processes, a real age hand-off for grant team-a.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_demo(state: Path):
    """Run scripts/demo.sh once into ``state``; yield (state, env, completed process); stop the services."""
    env = dict(
        os.environ,
        PROMACCESS_DEMO_STATE=str(state),
        PROMACCESS_VENV=str(BIN.parent),
        PROMACCESS_DEMO_PROMETHEUS_PORT=str(free_port()),
        PROMACCESS_DEMO_NGINX_PORT=str(free_port()),
        ANSIBLE_NOCOLOR="1",
    )
    first = subprocess.run(
        [str(REPO / "scripts" / "demo.sh")], env=env, capture_output=True, text=True, check=False, timeout=900,
    )
    try:
        yield state, env, first
    finally:
        for service in ("nginx", "prometheus"):
            subprocess.run([str(state / "service.sh"), "stop", service], capture_output=True, check=False, timeout=60)


def handoff(state: Path) -> dict:
    """Team A's credential, decrypted by the real age CLI with Team A's key (into memory only)."""
    out = subprocess.run(
        ["age", "--decrypt", "-i", str(state / "team-a-key.txt"), str(state / "handoff/team-a/credentials.txt.age")],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
