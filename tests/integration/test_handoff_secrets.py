"""No secret in ``-vvv`` output and no plaintext credential on disk after a hand-off play.

The play mints a credential into an age-encrypted store (lookup ``promaccess.core.credential``) and hands it
off with ``promaccess.core.age_handoff``, twice. The test learns the credential only by decrypting the hand-off
file with the real age CLI into memory, then searches the ansible-playbook output of both runs, the working
tree and the temporary directory for it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_promaccess_test_targets", Path(__file__).with_name("test_targets.py"))
_targets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_targets)
run_playbook = _targets.run_playbook

REPO = Path(__file__).resolve().parents[2]
MAX_SCAN_BYTES = 256 * 1024 * 1024

PLAY = """\
- hosts: localhost
  gather_facts: false
  vars:
    cred: "{{ lookup('promaccess.core.credential', 'team-s', store=output_dir ~ '/env/store.age',
              identity=output_dir ~ '/operator.txt') }}"
  tasks:
    - name: Hand off
      promaccess.core.age_handoff:
        path: "{{ output_dir }}/out/credentials.txt.age"
        recipients: ["%(recipient)s"]
        url: https://prometheus.test.example
        username: "{{ cred.username }}"
        password: "{{ cred.password }}"
        message_path: "{{ output_dir }}/out/message.txt"
      delegate_to: localhost

    - name: Show what may be shown
      ansible.builtin.debug:
        msg: "minted at {{ cred.minted_at }}"
"""


def _keygen(path: Path) -> str:
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True).stdout.strip()


def _files_under(root: Path):
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                yield path


def _files_holding(roots, needles: list[bytes]) -> list[str]:
    found = []
    for root in roots:
        for path in _files_under(root):
            try:
                if os.path.getsize(path) > MAX_SCAN_BYTES:
                    continue
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue  # vanished or unreadable (another process's temporary file)
            if any(needle in data for needle in needles):
                found.append(path)
    return found


@pytest.fixture(scope="module")
def handoff_runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("handoff_secrets")
    (tmp_path / "env").mkdir()
    (tmp_path / "out").mkdir()
    _keygen(tmp_path / "operator.txt")
    recipient = _keygen(tmp_path / "key.txt")
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % {"recipient": recipient})
    runs = [run_playbook(playbook, tmp_path, None, "-vvv") for _unused in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
    decrypted = subprocess.run(
        ["age", "--decrypt", "-i", str(tmp_path / "key.txt"), str(tmp_path / "out" / "credentials.txt.age")],
        check=True,
        capture_output=True,
    ).stdout
    fields = dict(line.split(b": ", 1) for line in decrypted.splitlines() if b": " in line)
    return tmp_path, runs, fields


@pytest.mark.slow
def test_handoff_holds_a_minted_credential(handoff_runs):
    _unused, _unused, fields = handoff_runs
    assert re.fullmatch(rb"[A-Za-z0-9]{64}", fields[b"username"])
    assert re.fullmatch(rb"[A-Za-z0-9]{64}", fields[b"password"])
    assert fields[b"url"] == b"https://prometheus.test.example"


@pytest.mark.slow
def test_vvv_output_holds_no_secret(handoff_runs):
    _unused, runs, fields = handoff_runs
    for proc in runs:
        output = proc.stdout + proc.stderr
        assert "<localhost> ESTABLISH LOCAL CONNECTION" in output  # really -vvv
        assert fields[b"password"].decode() not in output
        assert fields[b"username"].decode() not in output
        # Pipelining was used: the module (with its arguments) was never put into a temporary file.
        assert not re.search(r"PUT .*AnsiballZ_age_handoff", output)


@pytest.mark.slow
def test_second_run_changes_nothing(handoff_runs):
    _unused, runs, _unused = handoff_runs
    assert re.search(r"localhost\s*: ok=2\s+changed=1\s", runs[0].stdout), runs[0].stdout[-2000:]
    assert re.search(r"localhost\s*: ok=2\s+changed=0\s", runs[1].stdout), runs[1].stdout[-2000:]


@pytest.mark.slow
def test_no_plaintext_credential_on_disk(handoff_runs):
    tmp_path, _unused, fields = handoff_runs
    roots = [REPO, Path(tempfile.gettempdir())]
    if tmp_path.resolve() not in [r.resolve() for r in roots] and not str(tmp_path.resolve()).startswith(
        str(Path(tempfile.gettempdir()).resolve())
    ):
        roots.append(tmp_path)
    ansible_home = Path.home() / ".ansible"
    if ansible_home.is_dir():
        roots.append(ansible_home)
    leaks = _files_holding(roots, [fields[b"password"], fields[b"username"]])
    assert leaks == []
    # ... while the files the play wrote are there (so the scan looked at the right place).
    assert (tmp_path / "env" / "store.age").read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert (tmp_path / "out" / "credentials.txt.age").read_bytes().startswith(b"age-encryption.org/v1")


@pytest.mark.slow
def test_refuses_without_pipelining(tmp_path):
    recipient = _keygen(tmp_path / "key.txt")
    _keygen(tmp_path / "operator.txt")
    (tmp_path / "env").mkdir()
    (tmp_path / "out").mkdir()
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % {"recipient": recipient})
    proc = run_playbook(playbook, tmp_path, {"ANSIBLE_KEEP_REMOTE_FILES": "1"})
    assert proc.returncode != 0
    assert "age_handoff needs pipelining" in proc.stdout
    assert not (tmp_path / "out" / "credentials.txt.age").exists()
