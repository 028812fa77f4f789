"""promaccess.core.helm_values_users through ansible-playbook on a sops-encrypted values file shaped like 2i2c's
``enc-support.secret.values.yaml``, with the real sops binary and a real age key.

The play adds a minted, labelled user below the chart's reserved first entry, twice (apply, idempotent apply), at
``-v --diff``: the first run changes the file, the second changes nothing and leaves it byte-identical; ``sops -d``
shows the new user second; no password and no labelled name appears in the output, and the file stays encrypted.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import subprocess

import pytest
import yaml

from test_targets import run_playbook

PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A grantee in the support chart's ingress users, below the reserved first entry
      promaccess.core.helm_values_users:
        path: "{{ output_dir }}/repo/config/clusters/example/enc-support.secret.values.yaml"
        identity: "{{ output_dir }}/{{ key_file | default('key.txt') }}"
        key_path: [prometheusIngressAuthSecret, users]
        shape: list
        users:
          - name: "{{ minted_name }}"
            label: team-a (current)
            password: "{{ minted_password }}"
      register: r

    - name: Show the result (as an operator's -v would)
      ansible.builtin.debug:
        var: r
"""


def _minted() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _unused in range(40))


def _sops(sops_binary, key, *args, cwd=None):
    env = dict(os.environ, SOPS_AGE_KEY_FILE=str(key), SOPS_DISABLE_VERSION_CHECK="1")
    return subprocess.run([sops_binary, *args], env=env, capture_output=True, text=True, check=False, cwd=cwd)


@pytest.mark.slow
def test_sops_values_file_gets_the_user_below_the_reserved_entry(tmp_path, sops_on_path):
    key = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()
    repo = tmp_path / "repo"
    folder = repo / "config" / "clusters" / "example"
    folder.mkdir(parents=True)
    (repo / ".sops.yaml").write_text(yaml.safe_dump(
        {"creation_rules": [{"path_regex": r".*/enc-[^/]*\.secret\.values\.yaml$", "age": public}]}))
    values_file = folder / "enc-support.secret.values.yaml"
    reserved_password = _minted()
    values_file.write_text(
        "prometheusIngressAuthSecret:\n"
        "  enabled: true\n"
        "  users:\n"
        "    - username: reserved\n"
        "      password: %s\n" % reserved_password
    )
    proc = _sops(sops_on_path, key, "encrypt", "-i", str(values_file), cwd=repo)
    assert proc.returncode == 0, proc.stderr

    values = {"minted_name": _minted(), "minted_password": _minted()}
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(values))
    extra.chmod(0o600)
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)

    first = run_playbook(playbook, tmp_path, None, "-v", "--diff", "-e", "@%s" % extra)
    after_first = values_file.read_bytes(), os.stat(values_file).st_mtime_ns
    second = run_playbook(playbook, tmp_path, None, "-v", "--diff", "-e", "@%s" % extra)
    for proc in (first, second):
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-20000:]
        for secret in (values["minted_name"], values["minted_password"], reserved_password):
            assert secret not in output
        assert "team-a (current)" in output
    assert re.search(r"localhost\s*: ok=2\s+changed=1\s", first.stdout), first.stdout[-5000:]
    assert "+team-a (current): plain password" in first.stdout  # the diff shows the label
    assert re.search(r"localhost\s*: ok=2\s+changed=0\s", second.stdout), second.stdout[-5000:]
    assert (values_file.read_bytes(), os.stat(values_file).st_mtime_ns) == after_first

    raw = values_file.read_text()
    assert values["minted_password"] not in raw and values["minted_name"] not in raw and "sops:" in raw
    decrypted = _sops(sops_on_path, key, "decrypt", str(values_file))
    assert decrypted.returncode == 0, decrypted.stderr
    document = yaml.safe_load(decrypted.stdout)
    assert document["prometheusIngressAuthSecret"] == {
        "enabled": True,
        "users": [
            {"username": "reserved", "password": reserved_password},
            {"username": values["minted_name"], "password": values["minted_password"]},
        ],
    }

    # an identity that is none of the file's recipients: a clear failure, the file byte-identical
    subprocess.run(["age-keygen", "-o", str(tmp_path / "stranger.txt")], check=True, capture_output=True)
    failed = run_playbook(playbook, tmp_path, None, "-e", "@%s" % extra, "-e", "key_file=stranger.txt")
    assert failed.returncode != 0
    assert "enc-support.secret.values.yaml" in failed.stdout and "none of the file's recipients" in failed.stdout, (
        failed.stdout[-5000:])
    assert values["minted_password"] not in failed.stdout + failed.stderr
    assert (values_file.read_bytes(), os.stat(values_file).st_mtime_ns) == after_first
