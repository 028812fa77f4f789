"""The collection as operators get it: built with ansible-galaxy, installed from the tarball, then used."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from test_targets import run_playbook  # noqa: E402  (same directory, importlib mode)

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FORBIDDEN_PARTS = {".venv", ".cache", "build", "state", "__pycache__", ".pytest_cache", "tests", ".git", ".ci"}
FORBIDDEN_SUFFIXES = (".pyc", ".tar.gz", ".age", ".htpasswd")
AGE_KEY = re.compile(rb"AGE-SECRET-KEY-" + rb"1[0-9A-Z]{58}")
PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{40}")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(out)],
        check=True, capture_output=True, text=True,
    )
    (built,) = out.glob("promaccess-core-*.tar.gz")
    return built


def test_tarball_holds_no_test_data_caches_or_keys(tarball):
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        assert "plugins/modules/htpasswd_users.py" in names
        assert "MANIFEST.json" in names
        for name in names:
            parts = set(Path(name).parts)
            assert not parts & FORBIDDEN_PARTS, name
            assert not name.endswith(FORBIDDEN_SUFFIXES), name
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member).read()
                assert not AGE_KEY.search(data), member.name
                assert not PEM_KEY.search(data), member.name


@pytest.mark.slow
def test_installed_collection_works(tarball, tmp_path):
    dest = tmp_path / "collections"
    env = {"ANSIBLE_COLLECTIONS_PATH": str(dest), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "0"}
    # --force: the development checkout is importable too, and must not count as "already installed".
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p", str(dest)],
        check=True, capture_output=True, text=True, env=dict(os.environ, **env),
    )
    installed = dest / "ansible_collections" / "promaccess" / "core"
    assert (installed / "MANIFEST.json").exists()
    doc = subprocess.run(
        [str(BIN / "ansible-doc"), "--json", "promaccess.core.htpasswd_users", "promaccess.core.web_config"],
        env=dict(os.environ, **env), capture_output=True, text=True, check=True,
    )
    assert str(installed) in doc.stdout
    playbook = tmp_path / "use.yml"
    playbook.write_text(
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - promaccess.core.htpasswd_users:
        path: "{{ output_dir }}/installed.htpasswd"
        bcrypt_rounds: 4
        users: [{name: alice, password: from-the-tarball}]
      register: r
    - ansible.builtin.assert:
        that: [r is changed, r.hash_operations == 1]
"""
    )
    proc = run_playbook(playbook, tmp_path, env)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    check = subprocess.run(
        ["htpasswd", "-vb", str(tmp_path / "installed.htpasswd"), "alice", "from-the-tarball"],
        capture_output=True, text=True, check=False,
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.slow
def test_checkout_in_place_at_ansible_collections_path(tmp_path):
    """A checkout that sits at ansible_collections/promaccess/core is used in place, without build/ links."""
    dest = tmp_path / "ansible_collections" / "promaccess" / "core"
    dest.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(src.read_bytes())
    where = subprocess.run(["make", "-s", "where"], cwd=dest, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(tmp_path)
    env = {"ANSIBLE_COLLECTIONS_PATH": where, "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "0"}
    playbook = tmp_path / "use.yml"
    playbook.write_text(
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - promaccess.core.web_config:
        path: "{{ output_dir }}/web.yml"
        bcrypt_rounds: 4
        users: [{name: alice, password: in-place}]
      register: r
    - ansible.builtin.assert:
        that: [r is changed, r.validated]
"""
    )
    proc = run_playbook(playbook, tmp_path, env)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert not (dest / "build").exists()
