"""The controller-side folders of the promaccess.core playbooks default to the operator's folder.

``promaccess_report_dir`` and ``promaccess_handoff_dir`` (roles/_provision/defaults) are read on the implicit
localhost, which has no ``inventory_dir``: they must follow the inventory (a file's folder, a directory itself),
or the working directory without one, and never the folder of the playbook (the installed collection's
``playbooks/`` for ``promaccess.core.*`` playbooks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PLAY = """
- name: Show the controller-side folders
  hosts: localhost
  gather_facts: false
  connection: local
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  roles: [promaccess.core._provision]
  tasks:
    - name: Folders
      ansible.builtin.copy:
        content: "{{ {'report': promaccess_report_dir, 'handoff': promaccess_handoff_dir} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def folders(tmp_path: Path, inventory: str, cwd: Path) -> dict:
    playbook = tmp_path / "play" / "show.yml"
    playbook.parent.mkdir(exist_ok=True)
    playbook.write_text(PLAY)
    env = dict(
        os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build/collections")),
    )
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", inventory, "-e", "out=%s" % (tmp_path / "dirs.json"), str(playbook)],
        env=env, capture_output=True, text=True, timeout=300, check=False, cwd=str(cwd))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads((tmp_path / "dirs.json").read_text())


@pytest.mark.parametrize("source", ["file", "directory", "host list"])
def test_report_and_handoff_dirs_follow_the_inventory(tmp_path, source):
    operator = tmp_path / "operator"
    elsewhere = tmp_path / "elsewhere"
    operator.mkdir()
    elsewhere.mkdir()
    hosts = "[prometheus]\nh1 ansible_connection=local\n"  # localhost stays implicit, as in the playbooks
    if source == "file":
        (operator / "hosts.ini").write_text(hosts)
        inventory, expected = str(operator / "hosts.ini"), operator
    elif source == "directory":
        (operator / "hosts.ini").write_text(hosts)
        inventory, expected = str(operator), operator
    else:
        inventory, expected = "localhost,", elsewhere
    got = folders(tmp_path, inventory, elsewhere)
    assert got == {"report": str(expected / "reports"), "handoff": str(expected / "handoff")}
