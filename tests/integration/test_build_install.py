"""The collection as operators get it: built with ansible-galaxy, installed from the tarball, then used."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from test_targets import run_playbook  # noqa: E402  (same directory, importlib mode)

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# No path component may be one of these (test data, caches, virtualenvs, build and state folders, CI, VCS).
FORBIDDEN_PARTS = {
    ".venv", "venv", ".cache", "build", "state", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    ".tox", ".ansible", "node_modules", "tests", ".git", ".ci", ".github",
}
# No file name may match these: keys and age identities, encrypted stores, user files, byte code, artifacts.
FORBIDDEN_NAMES = (
    "*.key", "key.txt", "keys.txt", "*-key.txt", "id_rsa", "id_ecdsa", "id_ed25519", "*.age", "*.htpasswd",
    "*.password", ".vault_pass*", "*.pyc", "*.tar.gz", "*.retry", ".plugin-cache.yaml",
)
AGE_KEY = re.compile(rb"AGE-SECRET-KEY-" + rb"1[0-9A-Z]{58}")
PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{40}")
BCRYPT_HASH = re.compile(rb"\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}")
# What operators need besides the content folders (plugins, roles, playbooks, meta, docs, changelogs), which are
# checked file by file against the checkout.
REQUIRED = (
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml", "meta/execution-environment.yml",
    "requirements.txt", "bindep.txt", "changelogs/changelog.yaml", "changelogs/config.yaml",
    "docs/docsite/extra-docs.yml", "docs/docsite/links.yml", "playbooks/provision_access.yml",
    "plugins/modules/htpasswd_users.py", "plugins/modules/web_config.py", "plugins/lookup/credential.py",
)
CONTENT_DIRS = ("plugins", "roles", "playbooks", "meta", "docs", "changelogs")


def build(source: Path, out: Path) -> Path:
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(source), "--output-path", str(out)],
        check=True, capture_output=True, text=True,
    )
    (built,) = out.glob("promaccess-core-*.tar.gz")
    return built


def checkout_files() -> list[str]:
    """The checkout's files as git sees them: tracked, and untracked but not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (REPO / name).is_file()]


def copy_checkout(dest: Path) -> None:
    """Copy the checkout's files (see checkout_files) to dest, keeping modes (scripts stay executable)."""
    for name in checkout_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest / name)


def violations(tarball: Path) -> list[str]:
    """Every member of the tarball that is test data, a cache or a key (by path, by name or by content)."""
    found = []
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            path = Path(member.name)
            if set(path.parts) & FORBIDDEN_PARTS:
                found.append("%s: forbidden folder" % member.name)
            if member.name.startswith("extensions/molecule"):
                found.append("%s: molecule scenarios are test harness" % member.name)
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in FORBIDDEN_NAMES):
                found.append("%s: forbidden file name" % member.name)
            if member.issym() or member.islnk():
                found.append("%s: link" % member.name)
            if member.isfile():
                data = tar.extractfile(member).read()
                for what, pattern in (("an age identity", AGE_KEY), ("a private key", PEM_KEY),
                                      ("a bcrypt hash", BCRYPT_HASH)):
                    if pattern.search(data):
                        found.append("%s: holds %s" % (member.name, what))
    return found


@pytest.fixture(scope="module")
def built_at():
    return time.time()


@pytest.fixture(scope="module")
def tarball(tmp_path_factory, built_at):
    return build(REPO, tmp_path_factory.mktemp("dist"))


def test_tarball_holds_no_test_data_caches_or_keys(tarball):
    assert violations(tarball) == []


def test_tarball_holds_what_operators_need(tarball, built_at):
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        files = json.load(tar.extractfile("FILES.json"))
        ee = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))
        runtime = yaml.safe_load(tar.extractfile("meta/runtime.yml"))
    missing = [name for name in REQUIRED if name not in names]
    # Every file of the content folders, as the checkout had it when the tarball was built (other work may add
    # files meanwhile), except what galaxy.yml's build_ignore keeps out on purpose (test_build_ignore_* below).
    for name in checkout_files():
        if name.split("/", 1)[0] in CONTENT_DIRS and name not in names:
            if (REPO / name).stat().st_mtime < built_at and not any(
                fnmatch.fnmatch(Path(name).name, pattern) for pattern in FORBIDDEN_NAMES
            ) and not set(Path(name).parts) & FORBIDDEN_PARTS:
                missing.append(name)
    assert missing == []
    for folder in sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir()):
        assert "roles/%s/tasks/main.yml" % folder in names
        if not folder.startswith("_"):
            assert "roles/%s/meta/argument_specs.yml" % folder in names
    playbooks = sorted(p.name for p in (REPO / "playbooks").glob("*.yml") if p.stat().st_mtime < built_at)
    assert playbooks and all("playbooks/%s" % name in names for name in playbooks)
    # ansible-builder joins these to the installed collection's folder.
    assert ee["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    assert "requires_ansible" in runtime
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("promaccess", "core", galaxy["version"])
    assert info["license"] == ["GPL-3.0-or-later"]
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO / "LICENSE").read_text()[:200]
    # FILES.json lists exactly the tarball's members (ansible-galaxy verify checks installed copies against it).
    assert {entry["name"] for entry in files["files"] if entry["name"] != "."} == names - {"MANIFEST.json", "FILES.json"}


def test_build_ignore_keeps_out_caches_and_secrets_planted_in_a_copy(tmp_path):
    """galaxy.yml's build_ignore, tried on a copy of the checkout salted with what a working tree accumulates."""
    source = tmp_path / "src"
    copy_checkout(source)
    fake_identity = b"# created: 2026-01-01\nAGE-SECRET-KEY-" + b"1" + b"Q" * 58 + b"\n"
    fake_pem = b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + b"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" * 2 + b"\n"
    planted = {
        ".venv/bin/python": b"",
        ".cache/pip/wheel": b"",
        ".pytest_cache/v/cache/nodeids": b"[]",
        "state/operator-key.txt": fake_identity,
        "state/credentials.yml.age": b"age-encryption.org/v1",
        "build/release/promaccess-core-0.1.0.tar.gz": b"",
        "build/installed/0123456789ab/ansible_collections/promaccess/core/MANIFEST.json": b"{}",
        "node_modules/playwright-core/index.js": b"",
        "promaccess-core-0.0.9.tar.gz": b"",
        ".ansible/collections/ansible_collections/x/y/MANIFEST.json": b"{}",
        "changelogs/.plugin-cache.yaml": b"plugins: {}",
        "plugins/modules/__pycache__/htpasswd_users.cpython-312.pyc": b"",
        "roles/k8s_access/.pytest_cache/v/cache/lastfailed": b"{}",
        "roles/nginx_basic_auth/tests/test.yml": b"---",
        "roles/nginx_basic_auth/files/prometheus.htpasswd": b"alice:$2y$12$" + b"a" * 53 + b"\n",
        "roles/credential_handoff/files/operator.key": fake_identity,
        "roles/credential_handoff/files/id_ed25519": fake_pem,
        "docs/docsite/node_modules/x/index.js": b"",
        "docs/.cache/doctrees/index.doctree": b"",
        "playbooks/.ansible/roles/x/tasks/main.yml": b"---",
        "playbooks/demo/team-a-key.txt": fake_identity,
        "playbooks/demo/key.txt": fake_identity,
        "playbooks/demo/handoff.txt.age": b"age-encryption.org/v1",
    }
    for name, data in planted.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    tarball = build(source, tmp_path / "dist")
    assert violations(tarball) == []
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    assert not set(planted) & names
    assert {"plugins/modules/htpasswd_users.py", "roles/credential_handoff/tasks/main.yml", "LICENSE"} <= names


@pytest.mark.slow
def test_release_install_and_origin_check(tmp_path):
    """scripts/molecule.sh's helpers, on a copy of the checkout: one installed copy per content, told from the checkout."""
    src = tmp_path / "core"
    copy_checkout(src)
    env = dict(os.environ, VENV=str(BIN.parent))

    def install():
        proc = subprocess.run([str(src / "scripts" / "release-install.sh")], env=env, capture_output=True,
                              text=True, check=False, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return Path(proc.stdout.strip()), proc.stderr

    def origin(collections_path, *args):
        return subprocess.run(
            [sys.executable, str(src / "scripts" / "collection_origin.py"), *args,
             "--playbook-dir", str(src / "extensions" / "molecule" / "resources")],
            env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path), capture_output=True, text=True,
            check=False, timeout=120,
        )

    root, log = install()
    installed = root / "ansible_collections" / "promaccess" / "core"
    assert root.parent == src / "build" / "installed" and "installed build/release/" in log
    (tarball,) = (src / "build" / "release").glob("promaccess-core-*.tar.gz")
    with tarfile.open(tarball) as tar:
        manifest = tar.extractfile("MANIFEST.json").read()
    assert root.name == hashlib.sha256(manifest).hexdigest()[:12]
    assert (installed / "MANIFEST.json").read_bytes() == manifest
    assert not (installed / "tests").exists() and not (installed / "extensions" / "molecule").exists()

    again, log = install()  # same content: reused, not reinstalled
    assert again == root and "reused" in log
    (installed / "README.md").write_text("tampered\n")  # fails ansible-galaxy collection verify: reinstalled
    again, log = install()
    assert again == root and "installed build/release/" in log
    assert (installed / "README.md").read_bytes() == (src / "README.md").read_bytes()
    with (src / "README.md").open("a") as readme:  # new content: a new folder, the old one stays for runs using it
        readme.write("\nchanged\n")
    newer, log = install()
    assert newer != root and newer.parent == root.parent and (installed / "MANIFEST.json").is_file()

    good = origin("%s:%s" % (newer, src / "build" / "collections"), "--expect", str(newer))
    assert good.returncode == 0, good.stderr
    assert "installed from the release tarball" in good.stdout
    assert "collection: %s" % (newer / "ansible_collections" / "promaccess" / "core") in good.stdout
    checkout_first = origin("%s:%s" % (src / "build" / "collections", newer), "--expect", str(newer))
    assert checkout_first.returncode == 1
    assert "collection: resolves to this checkout" in checkout_first.stderr
    assert "playbook promaccess.core.provision_access: resolves to %s" % (src / "playbooks") in checkout_first.stderr
    stale = origin(str(root), "--expect", str(newer))  # an older installed copy is not the one expected either
    assert stale.returncode == 1, stale.stdout
    checkout = origin(str(src / "build" / "collections"), "--expect-checkout")
    assert checkout.returncode == 0, checkout.stderr
    assert origin(str(newer), "--expect-checkout").returncode == 1


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
    copy_checkout(dest)
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
