"""access_report.yml end to end on real files: three local "hosts" and one cluster (on the real kube-apiserver).

Set-up: the credential store is minted by the real ``promaccess.core.credential`` lookup, and each host's
user files are written by the real ``web_config`` and ``htpasswd_users`` modules, from provision_access's own
plan (``_provision`` plan.yml), into a folder per host; the cluster's Secret by ``k8s_basic_auth_secret``
into the real kube-apiserver of tests/controlplane. No nginx or Prometheus runs: the report reads
files only.

Then: a clean report (no drift, hosts changed=0, twice, and in check mode), a rotation started in the store
(pending: no drift), hand edits (a hash changed, a user added, one removed, a file opened to others, an unknown
user in the Secret) and a revocation left on the hosts, each of which the report must name; with
promaccess_report_fail_on_drift the run fails. Every secret of the store, and the hand-added user, is searched
for in the report files and in the playbook output.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from promaccess_k8s_role_helpers import ClusterSession

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "monitoring"
HOSTS = ("h1", "h2", "h3")

SETUP = r"""
- name: Mint the credentials (the real lookup, as provision_access does)
  hosts: localhost
  gather_facts: false
  roles: [promaccess.core._provision]
  tasks:
    - name: Credentials
      ansible.builtin.include_role:
        name: promaccess.core._provision
        tasks_from: credentials.yml

- name: Write each host's user files from provision_access's plan (no services)
  hosts: prometheus
  gather_facts: false
  roles: [promaccess.core._provision]
  tasks:
    - name: Plan
      ansible.builtin.include_role:
        name: promaccess.core._provision
        tasks_from: host_plan.yml
    - name: web.yml
      promaccess.core.web_config:
        path: "{{ prometheus_basic_auth_web_config }}"
        users: "{{ _promaccess_native_users }}"
        mode: "0640"
      when: "'native' in promaccess_modes"
    - name: htpasswd
      promaccess.core.htpasswd_users:
        path: "{{ nginx_basic_auth_user_file }}"
        users: "{{ _promaccess_nginx_users }}"
        mode: "0640"
      when: "'nginx' in promaccess_modes"

- name: Write the cluster's Secret from the plan
  hosts: k8s_clusters
  gather_facts: false
  connection: local
  vars:
    _promaccess_plan_part: clusters
  roles: [promaccess.core._provision]
  tasks:
    - name: Plan
      ansible.builtin.include_role:
        name: promaccess.core._provision
        tasks_from: host_plan.yml
    - name: Secret
      promaccess.core.k8s_basic_auth_secret:
        kubeconfig: "{{ promaccess_k8s_kubeconfig }}"
        namespace: "{{ _promaccess_plan.targets[0].namespace }}"
        name: "{{ _promaccess_plan.targets[0].name }}"
        format: "{{ _promaccess_plan.targets[0].format }}"
        users: "{{ _promaccess_secret_users }}"
"""


def recap(output: str, host: str) -> dict:
    lines = re.findall(r"^%s\s+:\s+(.*)$" % re.escape(host), output, re.M)
    assert lines, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def unkeyed_fingerprint(name: str) -> str:
    """What a fingerprint would be without the run's key: the report must not show this one."""
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


class Fleet:
    def __init__(self, tmp: Path, k8s):
        self.tmp = tmp
        self.k8s = k8s
        self.reports = tmp / "reports"
        subprocess.run(["age-keygen", "-o", str(tmp / "operator-key.txt")], capture_output=True, check=True)
        (tmp / "operator-recipient.txt").write_text(subprocess.run(
            ["age-keygen", "-y", str(tmp / "operator-key.txt")], capture_output=True, text=True, check=True).stdout)
        kubeconfig = k8s.write_kubeconfig(tmp / "kubeconfig")
        recipients = [str(tmp / "operator-recipient.txt")]
        hosts = {}
        for host, modes in zip(HOSTS, (["native", "nginx"], ["nginx"], ["native"])):
            (tmp / host).mkdir()
            hosts[host] = {
                "ansible_connection": "local",
                "promaccess_modes": modes,
                # Loopback listeners: no TLS planned, so the report reads no certificate (test_provision_tls does).
                "promaccess_nginx_listen": ["127.0.0.1:8080"],
                "promaccess_prometheus_listen_address": "127.0.0.1:9090",
                "prometheus_basic_auth_web_config": str(tmp / host / "web.yml"),
                "nginx_basic_auth_user_file": str(tmp / host / "prometheus.htpasswd"),
            }
        self.inventory = {"all": {
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "promaccess_credential_store": str(tmp / "credentials.yml.age"),
                "promaccess_age_identity": str(tmp / "operator-key.txt"),
                "promaccess_report_dir": str(self.reports),
                "promaccess_grants": [
                    {"name": "team-a", "auth": "both", "recipients_files": recipients},
                    {"name": "team-b", "auth": "nginx", "hosts": ["h1", "h2"], "recipients_files": recipients},
                    {"name": "team-c", "auth": "native", "hosts": ["h3", "c1"], "recipients_files": recipients},
                ],
            },
            "children": {
                "prometheus": {"hosts": hosts},
                "k8s_clusters": {"hosts": {"c1": {
                    "ansible_connection": "local",
                    "promaccess_k8s_kubeconfig": kubeconfig,
                    "promaccess_k8s_namespace": NS,
                    "promaccess_k8s_secret_format": "ingress_nginx_auth_file",
                    "promaccess_k8s_external_url": "https://metrics.example.org/prometheus/",
                }}},
            },
        }}
        (tmp / "inventory.yml").write_text(yaml.safe_dump(self.inventory))
        (tmp / "setup.yml").write_text(SETUP)
        self.env = dict(
            os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
            ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build/collections")),
        )

    def playbook(self, playbook: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.tmp / "inventory.yml"), playbook, *args],
            env=self.env, capture_output=True, text=True, timeout=600, check=False, cwd=str(self.tmp))

    def report(self, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
        for name in ("access-report.json", "access-report.md", "access-report.html"):
            (self.reports / name).unlink(missing_ok=True)
        proc = self.playbook("promaccess.core.access_report", *args)
        report = None
        if (self.reports / "access-report.json").exists():
            report = json.loads((self.reports / "access-report.json").read_text())
        return proc, report

    def store(self):
        from ansible_collections.promaccess.core.plugins.module_utils._store import age
        from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore

        ids = age.read_identities(str(self.tmp / "operator-key.txt"))
        return CredentialStore(str(self.tmp / "credentials.yml.age"), ids, list(ids.public))

    def store_secrets(self) -> list[str]:
        """Every user name, password and hash in the store, of every credential of every grant."""
        out = []

        def walk(value):
            if isinstance(value, dict):
                for key, item in value.items():
                    if key in ("username", "password", "password_hash"):
                        out.append(item)
                    else:
                        walk(item)

        walk(self.store().read()["grants"])
        assert len(out) >= 12
        return out


def assert_no_secret(fleet: Fleet, outputs: list[str], extra: list[str] = ()) -> None:
    texts = list(outputs) + [p.read_text() for p in sorted(fleet.reports.glob("access-report.*"))]
    assert len(texts) >= 4
    for secret in list(fleet.store_secrets()) + list(extra):
        for text in texts:
            assert secret not in text


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("access-report")
    with ClusterSession(namespaces=[NS]) as k8s:
        fleet = Fleet(tmp, k8s)
        setup = fleet.playbook(str(tmp / "setup.yml"))
        assert setup.returncode == 0, setup.stdout[-6000:] + setup.stderr[-2000:]
        yield fleet


def rows_of(report, **match):
    return [r for r in report["rows"] if all(r.get(k) == v for k, v in match.items())]


@pytest.mark.slow
def test_clean_fleet_has_no_drift_and_changes_nothing(fleet):
    before = {host: tree_digest(fleet.tmp / host) for host in HOSTS}
    writes = len(fleet.k8s.writes())
    runs = []
    for args in ((), (), ("--check",)):
        proc, report = fleet.report(*args)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert report is not None and report["summary"]["drift"] == 0  # written in check mode too
        runs.append((proc, report))
        for host in HOSTS + ("c1",):
            assert recap(proc.stdout, host)["changed"] == 0, host
            assert recap(proc.stdout, host)["failed"] == 0, host
        assert {host: tree_digest(fleet.tmp / host) for host in HOSTS} == before
        assert len(fleet.k8s.writes()) == writes
    report = runs[0][1]
    summary = report["summary"]
    assert summary["drift"] == 0 and report["findings"] == [], report["findings"]
    assert (summary["hosts"], summary["clusters"], summary["targets"], summary["grants"]) == (3, 1, 5, 7)  # 3 teams, 4 internal
    # Which grants are where: provision_access's plan. h1 has both files, h2 nginx, h3 native, c1 a Secret.
    placed = sorted({(r["host"], r["target"], r["grant"]) for r in report["rows"]})
    assert placed == sorted([
        ("h1", "native", "internal.h1"), ("h1", "native", "team-a"), ("h1", "native", "team-b"),
        ("h1", "nginx", "internal.h1"), ("h1", "nginx", "team-a"), ("h1", "nginx", "team-b"),
        ("h2", "nginx", "internal.h2"), ("h2", "nginx", "team-a"), ("h2", "nginx", "team-b"),
        ("h3", "native", "internal.h3"), ("h3", "native", "team-a"), ("h3", "native", "team-c"),
        ("c1", "secret", "internal.c1"), ("c1", "secret", "team-a"),
    ])
    for row in report["rows"]:
        # The hash policy: web.yml keeps bcrypt; nginx and the ingress Secret get the store's $apr1$ hash of these
        # minted credentials, which is the store's too (no drift).
        scheme = ("bcrypt", 12) if row["target"] == "native" else ("apr_md5_crypt", None)
        assert (row["state"], row["present"], row["matches_store"], row["hash_scheme"], row["hash_cost"]) == (
            "ok", True, True) + scheme, row
        assert row["age_days"] == 0 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["minted_at"])
    grants = {g["grant"]: g for g in report["grants"]}
    assert all(g["status"] == "active" and g["rotated_at"] is None for g in grants.values())
    h1 = next(t for t in report["targets"] if t["host"] == "h1" and t["target"] == "nginx")
    assert h1["facts"]["mode"] == "0640" and h1["facts"]["exists"] and h1["entries"] == 3
    assert "Access report: " + summary["line"] in runs[0][0].stdout and "no drift" in summary["line"]
    md = (fleet.reports / "access-report.md").read_text()
    # ... | age (days) | rotated | last seen | state: native Prometheus logs no users; on nginx only the playbooks'
    # own checks used team-a's credential, and they do not count as use
    assert "| h1 | native | team-a | current | present | yes | bcrypt (cost 12) | yes | 0 | - | - | ok |" in md
    assert "| h1 | nginx | team-a | current | present | yes | apr_md5_crypt | yes | 0 | - | - | ok |" in md
    assert "## Drift\n\nNone." in md
    assert (fleet.reports / "access-report.html").read_text().startswith("<!DOCTYPE html>")
    assert assert_no_secret(fleet, [p.stdout + p.stderr for p, _unused in runs]) is None


@pytest.mark.slow
def test_drift_is_reported_and_fails_when_asked(fleet):
    """Runs after the clean test (same module fixture): rotate, revoke and edit by hand, then report."""
    store = fleet.store()
    store.rotation_step("team-a", "started")  # phase minted: the new credential is not on hosts yet
    store.revoke("team-c")  # revoked in the store, left on h3 and c1 ... (c1 never had it: native only)
    doc = store.read()["grants"]
    a_user = doc["team-a"]["username"]
    a_hash = doc["team-a"]["password_hashes"]["apr_md5_crypt"]  # what nginx holds (the hash policy)
    b_user = doc["team-b"]["username"]
    # Hand edits: another hash for team-a on h1's htpasswd; an unknown user on h2; team-b gone from h1's
    # web.yml; h3's web.yml opened to others; an unknown user in the Secret.
    stranger, stranger_hash = "".join(secrets.choice(string.ascii_letters) for _unused in range(64)), "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
    ht = fleet.tmp / "h1" / "prometheus.htpasswd"
    edited_hash = "$2y$12$" + "b" * 53
    assert "%s:%s" % (a_user, a_hash) in ht.read_text()
    ht.write_text(ht.read_text().replace("%s:%s" % (a_user, a_hash), "%s:%s" % (a_user, edited_hash)))
    with open(fleet.tmp / "h2" / "prometheus.htpasswd", "a") as handle:
        handle.write("%s:%s\n" % (stranger, stranger_hash))
    web = fleet.tmp / "h1" / "web.yml"
    config = yaml.safe_load(web.read_text())
    del config["basic_auth_users"][b_user]
    web.write_text(yaml.safe_dump(config))
    os.chmod(fleet.tmp / "h3" / "web.yml", 0o644)
    secret = fleet.k8s.get_object("secrets", NS, "prometheus-basic-auth")
    auth = base64.b64decode(secret["data"]["auth"]).decode() + "%s:%s\n" % (stranger[::-1], stranger_hash)
    secret["data"]["auth"] = base64.b64encode(auth.encode()).decode()
    fleet.k8s.put_object("secrets", NS, secret)

    proc, report = fleet.report("-vvv")  # every module result and its invocation is printed, and searched below
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert '"unexpected_count": 1' in proc.stdout and '"censored": "the output has been hidden' in proc.stdout
    for host in HOSTS + ("c1",):
        assert recap(proc.stdout, host)["changed"] == 0
    found = {(f["host"], f["target"], f["grant"], f["role"], f["code"]) for f in report["findings"]}
    assert found == {
        ("h1", "nginx", "team-a", "current", "hash_differs"),
        ("h1", "native", "team-b", "current", "missing"),
        ("h2", "nginx", None, None, "unknown_entry"),
        ("h3", "native", "team-c", "revoked", "revoked_present"),
        ("h3", "native", None, None, "mode_too_open"),
        ("c1", "secret", None, None, "unknown_entry"),
    }, report["findings"]
    assert len(report["findings"]) == 6
    assert report["summary"]["drift"] == 6
    # Fingerprints are keyed with a key drawn for this run (never shown), so they cannot be checked against a
    # guessed name: two different strangers, 12 hex digits each, neither the plain SHA-256 of the name.
    unknown = {u["host"]: (u["fingerprint"], u["hash_scheme"]) for u in report["unknown_entries"]}
    assert sorted(unknown) == ["c1", "h2"] and {s for _f, s in unknown.values()} == {"ldap_sha1"}
    assert all(re.fullmatch("[0-9a-f]{12}", f) for f, _s in unknown.values()) and unknown["h2"][0] != unknown["c1"][0]
    assert unknown["h2"][0] != unkeyed_fingerprint(stranger) and unknown["c1"][0] != unkeyed_fingerprint(stranger[::-1])
    # The rotation in progress: team-a's new credential is expected nowhere yet ("pending"), not drift.
    pending = rows_of(report, grant="team-a", role="pending")
    assert len(pending) == 5 and {r["state"] for r in pending} == {"pending"} and not any(r["present"] for r in pending)
    grants = {g["grant"]: g for g in report["grants"]}
    assert (grants["team-a"]["status"], grants["team-a"]["phase"]) == ("rotating", "minted")
    assert grants["team-c"]["status"] == "revoked" and grants["team-c"]["revoked_at"]
    # The revoked grant is absent (and said so) wherever it was not planned.
    assert {r["state"] for r in rows_of(report, grant="team-c", host="h1")} == {"ok"}
    edited = rows_of(report, host="h1", target="nginx", grant="team-a", role="current")[0]
    assert (edited["present"], edited["matches_store"], edited["hash_scheme"]) == (True, False, "bcrypt")
    md = (fleet.reports / "access-report.md").read_text()
    assert "DRIFT: hash differs from the store (edited by hand?)" in md
    assert "| h3 | native | team-c | revoked | absent | yes |" in md
    assert "h2 nginx %s: [%s] unknown_entry" % (fleet.tmp / "h2" / "prometheus.htpasswd", unknown["h2"][0]) in proc.stdout

    failing, again = fleet.report("-e", "promaccess_report_fail_on_drift=true")
    assert failing.returncode != 0
    assert "The access report found 6 drift finding(s)" in failing.stdout
    assert again["summary"]["drift"] == 6  # written before failing
    assert_no_secret(fleet, [proc.stdout + proc.stderr, failing.stdout + failing.stderr],
                     extra=[stranger, stranger[::-1], edited_hash])


@pytest.mark.slow
def test_report_lands_next_to_the_inventory_by_default(fleet, tmp_path):
    """Without promaccess_report_dir, the report goes next to the inventory (here not the working directory),
    and nothing is written into the collection, whose playbooks/ folder access_report.yml runs from."""
    operator = tmp_path / "operator"
    elsewhere = tmp_path / "elsewhere"
    operator.mkdir()
    elsewhere.mkdir()
    inventory = copy.deepcopy(fleet.inventory)
    del inventory["all"]["vars"]["promaccess_report_dir"]
    (operator / "inventory.yml").write_text(yaml.safe_dump(inventory))
    collection = Path(fleet.env["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0]) / "ansible_collections/promaccess/core"
    playbooks = collection / "playbooks"
    assert (playbooks / "access_report.yml").is_file()
    before = tree_digest(playbooks)

    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(operator / "inventory.yml"), "promaccess.core.access_report"],
        env=fleet.env, capture_output=True, text=True, timeout=600, check=False, cwd=str(elsewhere))

    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    reports = operator / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["access-report.html", "access-report.json", "access-report.md"]
    assert "Written to %s/access-report.{json,md,html}" % reports in proc.stdout
    assert json.loads((reports / "access-report.json").read_text())["summary"]["hosts"] == 3
    assert tree_digest(playbooks) == before
    assert not (playbooks / "reports").exists()
    assert list(elsewhere.iterdir()) == []


ROTATE_START = r"""
- name: Start a rotation with the playbooks' own task files (what rotate_credentials.yml does first)
  hosts: localhost
  gather_facts: false
  roles: [promaccess.core._provision]
  tasks:
    - name: The grants asked for
      ansible.builtin.set_fact:
        _promaccess_rotate_request: "{{ promaccess_rotate }}"
    - name: Credentials
      ansible.builtin.include_role:
        name: promaccess.core._provision
        tasks_from: credentials.yml
    - name: The grants to rotate
      ansible.builtin.set_fact:
        _promaccess_rotating: "{{ ansible_facts.promaccess_plan.rotating }}"
    - name: Mint
      ansible.builtin.include_role:
        name: promaccess.core._provision
        tasks_from: rotation_step.yml
      vars:
        _promaccess_step: started
"""


@pytest.fixture(scope="module")
def shared_fleet(tmp_path_factory):
    """A fleet provisioned the way releases before per-target internal credentials did: one shared 'internal'
    credential first in every file and Secret (promaccess_internal_credential: internal gives exactly that)."""
    tmp = tmp_path_factory.mktemp("internal-shared")
    with ClusterSession(namespaces=[NS]) as k8s:
        fleet = Fleet(tmp, k8s)
        fleet.inventory["all"]["vars"]["promaccess_internal_credential"] = "internal"
        (tmp / "inventory.yml").write_text(yaml.safe_dump(fleet.inventory))
        setup = fleet.playbook(str(tmp / "setup.yml"))
        assert setup.returncode == 0, setup.stdout[-6000:] + setup.stderr[-2000:]
        yield fleet


def _secret_auth(fleet):
    return base64.b64decode(fleet.k8s.get_object("secrets", NS, "prometheus-basic-auth")["data"]["auth"]).decode()


@pytest.mark.slow
def test_per_target_internal_credentials_keep_the_shared_one_until_each_is_rotated(shared_fleet):
    fleet = shared_fleet
    shared = fleet.store().read()["grants"]["internal"]
    for host in ("h1", "h2"):
        assert (fleet.tmp / host / "prometheus.htpasswd").read_text().startswith(shared["username"] + ":")
    for host in ("h1", "h3"):
        web = yaml.safe_load((fleet.tmp / host / "web.yml").read_text())
        assert next(iter(web["basic_auth_users"])) == shared["username"]
    assert _secret_auth(fleet).startswith(shared["username"] + ":")
    before = {host: tree_digest(fleet.tmp / host) for host in HOSTS}
    secret = _secret_auth(fleet)

    # The upgrade: the setting goes, each host and cluster gets its own internal credential, as a copy of the
    # shared one, so no file and no Secret changes.
    del fleet.inventory["all"]["vars"]["promaccess_internal_credential"]
    (fleet.tmp / "inventory.yml").write_text(yaml.safe_dump(fleet.inventory))
    upgraded = fleet.playbook(str(fleet.tmp / "setup.yml"))
    assert upgraded.returncode == 0, upgraded.stdout[-6000:] + upgraded.stderr[-2000:]
    for host in HOSTS + ("c1",):
        assert recap(upgraded.stdout, host)["changed"] == 0, host
    assert {host: tree_digest(fleet.tmp / host) for host in HOSTS} == before and _secret_auth(fleet) == secret
    grants = fleet.store().read()["grants"]
    for target in HOSTS + ("c1",):
        own = grants["internal." + target]
        assert (own["username"], own["password_hash"], own["inherited_from"]) == (
            shared["username"], shared["password_hash"], "internal")
    assert grants["internal"]["superseded_at"]
    proc, report = fleet.report()
    assert proc.returncode == 0 and report["summary"]["drift"] == 0, report["findings"]
    assert {r["grant"] for r in rows_of(report, host="h2")} == {"internal.h2", "team-a", "team-b"}
    store_grants = {g["grant"]: g for g in report["grants"]}
    assert store_grants["internal"]["status"] == "superseded" and store_grants["internal"]["superseded_at"]
    assert store_grants["internal.h2"]["status"] == "active"

    # Rotating one host's internal credential touches nothing else: h1, h3 and the Secret keep every byte.
    (fleet.tmp / "rotate.yml").write_text(ROTATE_START)
    started = fleet.playbook(str(fleet.tmp / "rotate.yml"), "-e", '{"promaccess_rotate": ["internal.h2"]}')
    assert started.returncode == 0, started.stdout[-6000:] + started.stderr[-2000:]
    applied = fleet.playbook(str(fleet.tmp / "setup.yml"))
    assert applied.returncode == 0, applied.stdout[-6000:] + applied.stderr[-2000:]
    assert recap(applied.stdout, "h2")["changed"] == 1
    for host in ("h1", "h3", "c1"):
        assert recap(applied.stdout, host)["changed"] == 0, host
    after = {host: tree_digest(fleet.tmp / host) for host in HOSTS}
    assert after["h1"] == before["h1"] and after["h3"] == before["h3"] and _secret_auth(fleet) == secret
    assert after["h2"] != before["h2"]
    grants = fleet.store().read()["grants"]
    pending = grants["internal.h2"]["rotation"]["pending"]["username"]
    names = [line.split(":", 1)[0] for line in (fleet.tmp / "h2" / "prometheus.htpasswd").read_text().splitlines()]
    assert names[0] == shared["username"] and pending in names  # old and new together, the old one still first
    assert all("rotation" not in grants[g] for g in ("internal", "internal.h1", "internal.h3", "internal.c1"))
    assert_no_secret(fleet, [p.stdout + p.stderr for p in (upgraded, proc, started, applied)])
