"""The fleet_plan action through ansible-playbook: it reads the inventory as the playbooks see it (group_vars,
host vars, templated values, patterns), plans once on the controller, and each host expands its own part with
the fleet_part filter. Bad settings fail the task with a message naming the host and the setting.

No store and no service is needed: the plan is made without credentials (as access_report makes it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEY = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"

PLAY = """
- name: Plan on the controller
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan
      promaccess.core.fleet_plan:

- name: Each host reads its part
  hosts: prometheus
  gather_facts: false
  tasks:
    - name: Write this host's expanded part
      ansible.builtin.copy:
        content: >-
          {{ hostvars['localhost']['ansible_facts']['promaccess_plan']
             | promaccess.core.fleet_part(inventory_hostname) | to_json }}
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""


def run(tmp_path: Path, inventory: dict) -> subprocess.CompletedProcess:
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="1")
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"),
         "-e", "out_dir=%s" % tmp_path],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300,
    )


def inventory(**host_vars) -> dict:
    hosts = {name: dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                        **host_vars.get(name, {}))
             for name in ("p1", "p2", "p3")}
    return {"all": {
        "vars": {
            "team_key": KEY,
            "promaccess_grants": [
                {"name": "team-a", "recipients": ["{{ team_key }}"]},
                {"name": "team-b", "recipients": [KEY], "auth": "nginx", "hosts": ["eu"]},
                {"name": "team-c", "recipients": [KEY], "auth": "native", "hosts": ["prometheus", "!p2"]},
            ],
        },
        "children": {"prometheus": {"hosts": hosts, "children": {"eu": {"hosts": {"p1": None, "p2": None}}}}},
    }}


@pytest.mark.slow
def test_plan_from_the_inventory_and_each_host_expands_its_part(tmp_path):
    proc = run(tmp_path, inventory(p1={"promaccess_modes": ["native", "nginx"]},
                                   p3={"promaccess_modes": ["native"], "promaccess_public_host": "{{ inventory_hostname }}.example.org"}))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "INJECT_FACTS_AS_VARS" not in proc.stdout + proc.stderr
    parts = {h: json.loads((tmp_path / ("%s.json" % h)).read_text()) for h in ("p1", "p2", "p3")}
    p1 = {t["target"]: t["grants"] for t in parts["p1"]["targets"]}
    assert p1 == {"native": ["internal.p1", "team-a", "team-b", "team-c"], "nginx": ["internal.p1", "team-a", "team-b"]}
    assert {t["target"]: t["grants"] for t in parts["p2"]["targets"]} == {"nginx": ["internal.p2", "team-a", "team-b"]}
    assert {t["target"]: t["grants"] for t in parts["p3"]["targets"]} == {"native": ["internal.p3", "team-a", "team-c"]}
    # Prometheus listens beyond loopback (0.0.0.0:9090): HTTPS by default (promaccess_tls auto).
    assert parts["p3"]["settings"]["promaccess_external_url"] == "https://p3.example.org:9090/"
    assert parts["p1"]["checks"] == []  # planned without credentials


@pytest.mark.slow
@pytest.mark.parametrize(
    "host_vars, message",
    [
        ({"p2": {"promaccess_modes": ["apache"]}}, "p2: promaccess_modes must hold native and/or nginx"),
        ({"p1": {"promaccess_external_url": "http://{{ ansible_facts['fqdn'] }}/prometheus/"}},
         "p1: promaccess_external_url cannot be worked out on the controller"),
    ],
)
def test_bad_settings_fail_the_plan_with_a_clear_message(tmp_path, host_vars, message):
    proc = run(tmp_path, inventory(**host_vars))
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-4000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list(tmp_path.glob("p*.json"))


@pytest.mark.slow
def test_a_cluster_reached_in_clear_is_refused_unless_it_opts_out(tmp_path):
    """The ingress' URL beyond loopback must be https:// (docs/tls.md, "Kubernetes clusters")."""
    cluster = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
               "promaccess_k8s_external_url": "http://prom.example.org/"}
    given = inventory()
    given["all"]["children"]["k8s_clusters"] = {"hosts": {"c1": cluster}}
    proc = run(tmp_path, given)
    assert proc.returncode != 0
    assert "c1: promaccess_k8s_external_url 'http://prom.example.org/' is plain HTTP beyond loopback" in proc.stdout, \
        proc.stdout[-4000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    cluster["promaccess_tls"] = "plain_http"
    proc = run(tmp_path, given)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
