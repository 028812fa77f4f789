"""The sops credential store through the playbooks, on `make demo`'s local host: migration from the age store
of the first releases, and two operators who never lock each other out.

Real Prometheus and nginx run as plain processes from a temporary state folder; curl checks the credentials;
the real sops CLI (built from its Go module) decrypts the store with each operator's key; the real age CLI
decrypts the hand-off files. Nothing here is a stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from _credentials import recap  # noqa: E402  (tests/integration is on sys.path)
from _demo import BIN, REPO, handoff, run_demo, write_grants  # noqa: E402
from test_rotate_local import statuses  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory, sops_binary):
    """The demo provisioned by the current code with its age store (team-a and team-b), plus operator B's key
    and a .sops.yaml whose rule for credentials.sops.yaml names operators A (the demo's) and B."""
    state = tmp_path_factory.mktemp("sops-state")
    for item in run_demo(state):
        state, env, first = item
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
        env["PATH"] = os.path.dirname(sops_binary) + os.pathsep + env["PATH"]
        # No grace period: the rotations here finish in one run.
        write_grants(state, ("team-a", "team-b", "team-c"), promaccess_rotate_grace=0)
        second = playbook(env, state, "provision_access", store="credentials.yml.age")
        assert second.returncode == 0, second.stdout[-6000:]
        subprocess.run(["age-keygen", "-o", str(state / "operator-b-key.txt")], check=True, capture_output=True)
        publics = [public(state / name) for name in ("operator-key.txt", "operator-b-key.txt")]
        rules = {"creation_rules": [{"path_regex": r"credentials\.sops\.yaml$", "age": ",".join(publics)}]}
        (state / ".sops.yaml").write_text(yaml.safe_dump(rules))
        yield state, env


def public(key):
    return subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()


def playbook(env, state, name, *args, store="credentials.sops.yaml", identity="operator-key.txt"):
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(REPO / "playbooks/demo/inventory.yml"), "promaccess.core." + name,
         "-e", "@%s" % (state / "grants.json"), "-e", "promaccess_credential_store=%s" % (state / store),
         "-e", "promaccess_age_identity=%s" % (state / identity), *args],
        env=env, capture_output=True, text=True, check=False, cwd=str(REPO), timeout=900,
    )


def sops_plain(env, state, identity):
    """The store decrypted by the real sops CLI with one operator's key (into memory only)."""
    proc = subprocess.run(["sops", "decrypt", str(state / "credentials.sops.yaml")], capture_output=True, check=False,
                          env=dict(env, SOPS_AGE_KEY_FILE=str(state / identity), SOPS_DISABLE_VERSION_CHECK="1"))
    assert proc.returncode == 0, proc.stderr.decode()
    return yaml.safe_load(proc.stdout)["grants"]


def recipients(state):
    return sorted(e["recipient"] for e in yaml.safe_load((state / "credentials.sops.yaml").read_text())["sops"]["age"])


@pytest.mark.slow
def test_migration_keeps_every_credential_working(site, tmp_path):
    state, env = site
    old_store = (state / "credentials.yml.age").read_bytes()
    team_a = handoff(state)
    run = playbook(env, state, "migrate_store", "-e", "promaccess_store_source=%s" % (state / "credentials.yml.age"))
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "3 grants copied" not in run.stdout and "4 grants copied" in run.stdout  # internal.demo, team-a, -b, -c
    assert (state / "credentials.yml.age").read_bytes() == old_store  # left in place
    assert recipients(state) == sorted(public(state / n) for n in ("operator-key.txt", "operator-b-key.txt"))
    assert sops_plain(env, state, "operator-b-key.txt")["team-a"]["username"] == team_a["username"]

    # The next provision run with the sops store changes nothing anywhere, and every credential still works.
    # sops runs through a wrapper that counts its calls: the run reads the store once per play (the plan, the
    # lookup of the credentials, that of the revoked ones), not once per grant for the hand-off files.
    stored = (state / "credentials.sops.yaml").read_bytes()
    wrapper, calls = tmp_path / "bin", tmp_path / "sops-calls.log"
    wrapper.mkdir()
    real = subprocess.run(["sh", "-c", "command -v sops"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    (wrapper / "sops").write_text('#!/bin/sh\necho "$1" >> "%s"\nexec "%s" "$@"\n' % (calls, real))
    (wrapper / "sops").chmod(0o755)
    again = playbook(env | {"PATH": "%s%s%s" % (wrapper, os.pathsep, env["PATH"])}, state, "provision_access")
    assert again.returncode == 0, again.stdout[-6000:]
    assert recap(again.stdout, "demo")["changed"] == 0 and recap(again.stdout, "localhost")["changed"] == 0
    assert (state / "credentials.sops.yaml").read_bytes() == stored
    assert calls.read_text().split() == ["decrypt"] * 3
    assert statuses(env, team_a["username"], team_a["password"]) == [200, 200]
    for grant in ("team-b", "team-c"):
        creds = handoff(state, grant)
        assert statuses(env, creds["username"], creds["password"]) == [200, 200]
    assert "age format of the first releases" not in again.stdout + again.stderr

    # Never silently, never twice: a second migration is refused and changes nothing.
    twice = playbook(env, state, "migrate_store", "-e", "promaccess_store_source=%s" % (state / "credentials.yml.age"))
    assert twice.returncode != 0 and "already exists" in twice.stdout
    assert (state / "credentials.sops.yaml").read_bytes() == stored


@pytest.mark.slow
def test_operator_b_never_locks_out_operator_a(site):
    """The lock-out of the age store: operator B provisions, rotates and revokes; A still reads and runs all."""
    state, env = site
    if not (state / "credentials.sops.yaml").exists():  # run on its own: the migration test made no sops store yet
        migrated = playbook(env, state, "migrate_store", "-e",
                            "promaccess_store_source=%s" % (state / "credentials.yml.age"))
        assert migrated.returncode == 0, migrated.stdout[-6000:] + migrated.stderr[-2000:]
    rules = (state / ".sops.yaml").read_bytes()
    both = recipients(state)
    assert len(both) == 2
    team_a = handoff(state)

    def check(run):
        assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
        assert recipients(state) == both and (state / ".sops.yaml").read_bytes() == rules
        return sops_plain(env, state, "operator-key.txt")  # A reads every version B wrote

    b = {"identity": "operator-b-key.txt"}
    check(playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["team-a"]}', **b))
    grants = check(playbook(env, state, "revoke_access", "-e", '{"promaccess_revoke": ["team-b"]}', **b))
    assert grants["team-b"]["revoked_at"] and grants["team-a"]["rotated_at"]
    new_a = handoff(state)
    assert new_a["username"] != team_a["username"]
    assert statuses(env, new_a["username"], new_a["password"]) == [200, 200]

    # A runs every playbook on the store B wrote last.
    spec = json.loads((state / "grants.json").read_text())
    spec["promaccess_grants"] = [g for g in spec["promaccess_grants"] if g["name"] != "team-b"]
    (state / "grants.json").write_text(json.dumps(spec))
    provision = playbook(env, state, "provision_access")
    check(provision)
    assert recap(provision.stdout, "demo")["changed"] == 0
    check(playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["team-c"]}'))
    grants = check(playbook(env, state, "revoke_access", "-e", '{"promaccess_revoke": ["team-c"]}'))
    assert grants["team-c"]["revoked_at"] and grants["team-c"]["rotated_at"]
    report = playbook(env, state, "access_report", "-e", "promaccess_report_dir=%s" % (state / "reports"))
    check(report)
    assert json.loads((state / "reports" / "access-report.json").read_text())
    assert statuses(env, new_a["username"], new_a["password"]) == [200, 200]
    # and B still reads what A wrote
    assert sops_plain(env, state, "operator-b-key.txt")["team-c"]["revoked_at"]


def test_community_sops_lookup_reads_the_store(tmp_path, sops_binary):
    """Another tool reads the store: community.sops's lookup (from the ansible package), as docs/credential_store.md
    shows it. Only grant names are printed."""
    key = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    rules = {"creation_rules": [{"path_regex": r"\.sops\.yaml$", "age": public(key)}]}
    (tmp_path / ".sops.yaml").write_text(yaml.safe_dump(rules))
    plain = yaml.safe_dump({"version": 1, "grants": {"team-a": {"username": "u" * 64, "password": "p" * 64}}})
    subprocess.run([sops_binary, "encrypt", "--filename-override", str(tmp_path / "credentials.sops.yaml"),
                    "--input-type", "yaml", "--output-type", "yaml", "--output", str(tmp_path / "credentials.sops.yaml"),
                    "/dev/stdin"], input=plain.encode(), cwd=tmp_path, check=True, capture_output=True,
                   env=dict(os.environ, SOPS_DISABLE_VERSION_CHECK="1"))
    expression = ("{{ (lookup('community.sops.sops', '%s', sops_binary='%s', age_keyfile='%s') | from_yaml).grants "
                  "| list }}" % (tmp_path / "credentials.sops.yaml", sops_binary, key))
    run = subprocess.run([str(BIN / "ansible"), "localhost", "-m", "ansible.builtin.debug", "-a", "msg=" + expression],
                         capture_output=True, text=True, check=False, timeout=300,
                         env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert '"msg": [\n        "team-a"\n    ]' in run.stdout


@pytest.mark.slow
def test_a_commit_pulled_mid_run_stops_the_run_and_is_never_overwritten(site, tmp_path):
    """The playbooks' own task files (plan, credentials, rotation step, with their run id) on the real store;
    between the first reads and the rotation step, another operator's commit is pulled over the store."""
    state, env = site
    spec = json.loads((state / "grants.json").read_text())
    spec["promaccess_grants"] = [g for g in spec["promaccess_grants"] if g["name"] == "team-a"]  # others revoked
    (state / "grants.json").write_text(json.dumps(spec))
    store = state / "credentials.sops.yaml"
    clone = tmp_path / "clone.sops.yaml"  # operator B's clone of the repository, B mints team-z there
    clone.write_bytes(store.read_bytes())
    run = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-m", "promaccess.core.credential_store", "-a",
         "store=%s identity=%s grants=team-a step=started" % (clone, state / "operator-b-key.txt")],
        env=env, capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    pulled = clone.read_bytes()
    playbook_file = tmp_path / "mid_run.yml"
    playbook_file.write_text(yaml.safe_dump([{
        "name": "A run of operator A during which B's commit is pulled",
        "hosts": "localhost",
        "gather_facts": False,
        "roles": ["promaccess.core._provision"],
        "tasks": [
            {"name": "Plan and read the store", "ansible.builtin.include_role": {
                "name": "promaccess.core._provision", "tasks_from": "credentials.yml"}},
            {"name": "git pull", "ansible.builtin.copy": {"src": str(clone), "dest": str(store), "mode": "0600"}},
            {"name": "Start rotating team-a", "ansible.builtin.include_role": {
                "name": "promaccess.core._provision", "tasks_from": "rotation_step.yml"},
             "vars": {"_promaccess_rotating": ["team-a"], "_promaccess_step": "started"}},
        ],
    }], sort_keys=False))
    mid = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(REPO / "playbooks/demo/inventory.yml"), str(playbook_file),
         "-e", "@%s" % (state / "grants.json"), "-e", "promaccess_credential_store=%s" % store,
         "-e", "promaccess_age_identity=%s" % (state / "operator-key.txt")],
        env=env, capture_output=True, text=True, check=False, cwd=str(REPO), timeout=600)
    assert mid.returncode != 0, mid.stdout[-4000:]
    assert "changed since this run last read or wrote it" in mid.stdout, mid.stdout[-4000:]
    assert store.read_bytes() == pulled  # B's commit, never overwritten
    # the next run starts from B's version: it reads the store, where team-a's rotation is B's
    after = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-m", "promaccess.core.credential_store_info", "-a",
         "store=%s identity=%s run=next" % (store, state / "operator-key.txt")],
        env=env, capture_output=True, text=True, check=False, timeout=300)
    assert after.returncode == 0, after.stdout + after.stderr
    assert '"phase": "minted"' in after.stdout and store.read_bytes() == pulled
