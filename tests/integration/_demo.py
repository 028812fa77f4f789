"""The local provisioning set-up shared by the integration tests: `make demo`'s flow on free loopback ports.

scripts/demo.sh runs promaccess.core.provision_access against playbooks/demo/inventory.yml with a temporary
state folder: real Prometheus and nginx as plain processes, a real age hand-off for grant team-a.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_demo(state: Path, **extra_env):
    """Run scripts/demo.sh once into ``state``; yield (state, env, completed process); stop the services.
    ``extra_env``: more environment (``PROMACCESS_DEMO_TLS="always"``)."""
    env = dict(
        os.environ,
        **extra_env,
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


def handoff(state: Path, grant: str = "team-a") -> dict:
    """A grant's credential (Team A's by default), decrypted by the real age CLI with Team A's key (into memory
    only): the demo's grants in :func:`write_grants` all go to Team A's recipient."""
    out = subprocess.run(
        ["age", "--decrypt", "-i", str(state / "team-a-key.txt"), str(state / "handoff" / grant / "credentials.txt.age")],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def write_grants(state: Path, names=("team-a", "team-b"), **settings) -> Path:
    """``state/grants.json`` for ``-e @``: grants ``names`` (auth both, handed to Team A's recipient) and more
    playbook ``settings`` (``promaccess_rotate_grace=0``)."""
    grants = [{"name": name, "contact": name, "auth": "both", "recipients_files": [str(state / "team-a-recipient.txt")]}
              for name in names]
    path = state / "grants.json"
    path.write_text(json.dumps(dict(settings, promaccess_grants=grants)))
    return path


def grants_playbook(env: dict, state: Path, name: str, *args) -> subprocess.CompletedProcess:
    """``promaccess.core.<name>`` on the demo host with the grants of :func:`write_grants`."""
    return demo_playbook(env, "promaccess.core." + name, "-e", "@%s" % (state / "grants.json"), *args)


def run_demo_with_grants(state: Path, names=("team-a", "team-b"), **settings):
    """:func:`run_demo`, then provision_access with :func:`write_grants`'s grants; yield (state, env)."""
    for _state, env, first in run_demo(state):
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
        write_grants(state, names, **settings)
        second = grants_playbook(env, state, "provision_access")
        assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-2000:]
        yield state, env


def store(state: Path) -> dict:
    """The grants of the demo's age credential store, read with the collection's own code and the operator key."""
    from ansible_collections.promaccess.core.plugins.module_utils._store import age  # pylint: disable=import-outside-toplevel
    from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import (  # pylint: disable=import-outside-toplevel
        CredentialStore,
    )

    ids = age.read_identities(str(state / "operator-key.txt"))
    return CredentialStore(str(state / "credentials.yml.age"), ids, list(ids.public)).read()["grants"]


def recap(output: str, host: str) -> dict:
    """The last PLAY RECAP line of ``host`` as a dict of counters."""
    lines = re.findall(r"^%s\s+:\s+(.*)$" % re.escape(host), output, re.M)
    assert lines, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def tree_digest(root: Path) -> dict:
    """SHA-256 of every file of a demo state folder but Prometheus's data, logs, pid and lock files."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "data" not in p.parts and "logs" not in p.parts and not p.name.endswith((".pid", ".log", ".lock"))
    }


def self_scrape_targets(state: Path, env: dict, seconds: float = 60) -> str:
    """Prometheus's active targets (JSON text) once its self-scrape is up, asked with the self-scrape's own
    credential over the scheme the demo serves (with the demo's CA over TLS); the last answer after ``seconds``.
    Prometheus scrapes every 15 s, so right after a run the first scrape may still be ahead."""
    config = (state / "prometheus/prometheus.yml").read_text()
    username = re.search(r"username: (\S+)", config).group(1)
    password = (state / "prometheus/self-scrape.password").read_text().strip()
    tls = "scheme: https" in config
    scheme = "https" if tls else "http"
    url = "%s://127.0.0.1:%s/api/v1/targets?state=active" % (scheme, env["PROMACCESS_DEMO_PROMETHEUS_PORT"])
    cmd = ["curl", "-s", "--max-time", "10", "-K", "-"] + (["--cacert", str(state / "tls/ca.crt")] if tls else [])
    deadline = time.monotonic() + seconds
    while True:
        out = subprocess.run(cmd + [url], input='user = "%s:%s"\n' % (username, password), capture_output=True,
                             text=True, check=False).stdout
        if '"health":"up"' in out or time.monotonic() > deadline:
            return out
        time.sleep(2)


def demo_playbook(env: dict, playbook: str, *args) -> subprocess.CompletedProcess:
    """``ansible-playbook -i playbooks/demo/inventory.yml <playbook> ARGS`` with the demo's environment."""
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(REPO / "playbooks/demo/inventory.yml"), playbook, *args],
        env=env, capture_output=True, text=True, check=False, cwd=str(REPO), timeout=900,
    )


def provision(env: dict, *args) -> subprocess.CompletedProcess:
    """provision_access on the demo host again (the state of ``env``)."""
    return demo_playbook(env, "promaccess.core.provision_access", *args)
