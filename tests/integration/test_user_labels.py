"""A labelled (minted) user name stays out of ``-vvv --diff`` output, while the file really holds the user.

A play gives promaccess.core.htpasswd_users a 64-character user name with a ``label`` (as the credential
store's views do), and a hand-named user without one, twice (apply, idempotent apply), at ``-vvv`` with
``--diff``: results, diff and ``invocation`` (the module arguments) are printed. The output must show the
label and the hand-named user, never the minted name; Apache's ``htpasswd -vb`` then checks that the file
holds the minted user and password.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import subprocess

import pytest

from test_targets import run_playbook

PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Users of the file, one minted and labelled, one named by hand
      promaccess.core.htpasswd_users:
        path: "{{ output_dir }}/prometheus.htpasswd"
        bcrypt_rounds: 5
        users:
          - name: team-b
            password: "{{ team_b_password }}"
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
    return "".join(secrets.choice(alphabet) for _unused in range(64))


def _run_twice_vvv(tmp_path, play: str, values: dict) -> list:
    """Run ``play`` twice (apply, idempotent apply) at -vvv with --diff, the secrets as extra vars from a 0600 file."""
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(values))
    extra.chmod(0o600)
    playbook = tmp_path / "play.yml"
    playbook.write_text(play)
    # ansible-core 2.21 adds the module arguments (invocation) to results only when asked; older ones always do.
    env = {"ANSIBLE_INJECT_INVOCATION": "1"}
    return [run_playbook(playbook, tmp_path, env, "-vvv", "--diff", "-e", "@%s" % extra) for _unused in range(2)]


@pytest.mark.slow
def test_vvv_diff_output_shows_the_label_never_the_minted_name(tmp_path):
    values = {"minted_name": _minted(), "minted_password": _minted(), "team_b_password": _minted()}
    runs = _run_twice_vvv(tmp_path, PLAY, values)

    for proc in runs:
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-20000:]
        assert "<localhost> ESTABLISH LOCAL CONNECTION" in output  # really -vvv
        assert '"invocation"' in output  # the module arguments are printed ...
        assert values["minted_name"] not in output  # ... but the minted name is not, nor anywhere else
        assert values["minted_password"] not in output
        assert "team-a (current)" in output
    first, second = runs[0].stdout, runs[1].stdout
    assert re.search(r'"users_added": \[\s*"team-b",\s*"team-a \(current\)"\s*\]', first), first[-5000:]
    assert "+team-a (current): bcrypt (cost 5)" in first  # the diff lists the label
    assert re.search(r"localhost\s*: ok=2\s+changed=1\s", first)
    assert re.search(r"localhost\s*: ok=2\s+changed=0\s", second)

    # The file really holds the minted user under its name, with its password (Apache's own check).
    htpasswd_file = str(tmp_path / "prometheus.htpasswd")
    ok = subprocess.run(["htpasswd", "-vb", htpasswd_file, values["minted_name"], values["minted_password"]],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    wrong = subprocess.run(["htpasswd", "-vb", htpasswd_file, values["minted_name"], "wrong-password"],
                           capture_output=True, text=True, check=False)
    assert wrong.returncode != 0
    assert "team-a (current)" not in (tmp_path / "prometheus.htpasswd").read_text()  # a label is never written


SCRAPE_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The self-scrape job sends a minted user name, shown by its label
      promaccess.core.prometheus_scrape_auth:
        path: "{{ output_dir }}/prometheus.yml"
        username: "{{ minted_name }}"
        username_label: internal.h1 (self-scrape)
        password: "{{ minted_password }}"
        password_file: "{{ output_dir }}/self-scrape.password"
        require_promtool: true
"""


@pytest.mark.slow
def test_scrape_user_name_with_a_label_stays_out_of_vvv_diff_output(tmp_path):
    values = {"minted_name": _minted(), "minted_password": _minted()}
    (tmp_path / "prometheus.yml").write_text(
        "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:9090']\n")
    runs = _run_twice_vvv(tmp_path, SCRAPE_PLAY, values)
    for proc in runs:
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-20000:]
        assert '"invocation"' in output and "username_label" in output
        assert values["minted_name"] not in output and values["minted_password"] not in output
    assert "basic_auth" in runs[0].stdout  # the diff of prometheus.yml was shown, the user name masked in it
    assert re.search(r"localhost\s*: ok=1\s+changed=0\s", runs[1].stdout)
    config = (tmp_path / "prometheus.yml").read_text()
    assert values["minted_name"] in config  # the file holds the real name
    check = subprocess.run(["promtool", "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
