"""provision_access.yml with Kubernetes cluster hosts and no VM host, against the real control plane of
tests/controlplane (kube-apiserver, and Traefik as the ingress controller).

Cluster host ``k8s`` (namespace monitoring): the Secret and the Ingress annotations are read back from the API
server, the htpasswd line is checked with passlib against the credential the real ``age`` CLI decrypts from the
hand-off file, and its external URL (a closed loopback port) must be reported as NOT verified, without failing
the run.

Cluster host ``k8s-b`` (namespace monitoring-b): a real Prometheus behind a real Ingress
(tests/integration/_ingress_backend.py). Traefik reads the Secret the playbook writes and the annotations it
sets; the playbook's own checks through it pass, and this file checks again with the handed-off credential:
401 anonymous, 401 with a wrong password, 200 with the right one.

Two playbook runs: apply, then apply again with changed=0 and no write.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from _credentials import age_decrypt, recap, wrong_password
from _ingress_backend import PrometheusBehindIngress, status
from promaccess_k8s_role_helpers import ClusterSession

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "monitoring"
NS_B = "monitoring-b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("provision-k8s")
    for who in ("operator", "team-a", "team-n"):
        subprocess.run(["age-keygen", "-o", str(tmp / ("%s-key.txt" % who))], capture_output=True, check=True)
        pub = subprocess.run(["age-keygen", "-y", str(tmp / ("%s-key.txt" % who))],
                             capture_output=True, text=True, check=True).stdout
        (tmp / ("%s-recipient.txt" % who)).write_text(pub)
    # Nothing listens there: the controller cannot reach the "ingress" (no ingress controller runs here).
    external_url = "http://127.0.0.1:%d/prometheus/" % free_port()
    with ClusterSession(namespaces=[NS, NS_B]) as k8s, PrometheusBehindIngress(k8s, NS_B, tmp) as backend:
        k8s.put_object("ingresses", NS, {
            "metadata": {"name": "prometheus", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
            "spec": {"rules": [{"host": "metrics.example.org"}]}})
        kubeconfig = k8s.write_kubeconfig(tmp / "kubeconfig", context="k8s")
        inventory = {"all": {
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "promaccess_credential_store": str(tmp / "credentials.yml.age"),
                "promaccess_age_identity": str(tmp / "operator-key.txt"),
                "promaccess_handoff_dir": str(tmp / "handoff"),
                "promaccess_grants": [
                    {"name": "team-a", "contact": "Team A", "auth": "both",
                     "recipients_files": [str(tmp / "team-a-recipient.txt")]},
                    # native only: Prometheus's own web.yml, so not in an ingress Secret
                    {"name": "team-n", "contact": "Team N", "auth": "native",
                     "recipients_files": [str(tmp / "team-n-recipient.txt")]},
                ],
            },
            "children": {"k8s_clusters": {"hosts": {
                "k8s": {
                    "ansible_connection": "local",
                    "promaccess_k8s_kubeconfig": kubeconfig or str(tmp / "kubeconfig"),
                    "promaccess_k8s_context": "k8s",
                    "promaccess_k8s_namespace": NS,
                    "promaccess_k8s_ingress_name": "prometheus",
                    "promaccess_k8s_external_url": external_url,
                },
                "k8s-b": {
                    "ansible_connection": "local",
                    "promaccess_k8s_kubeconfig": kubeconfig or str(tmp / "kubeconfig"),
                    "promaccess_k8s_context": "k8s",
                    "promaccess_k8s_namespace": NS_B,
                    "promaccess_k8s_ingress_name": "prometheus",
                    "promaccess_k8s_external_url": "https://metrics-b.example.org/prometheus/",
                    "promaccess_k8s_verify_url": backend.url,
                },
            }}},
        }}
        (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build/collections")),
                   ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"))
        runs = []
        for _unused in range(2):
            before = len(k8s.writes())
            proc = subprocess.run(
                [str(BIN / "ansible-playbook"), "-i", str(tmp / "inventory.yml"), "promaccess.core.provision_access"],
                env=env, capture_output=True, text=True, timeout=600, check=False, cwd=str(tmp))
            runs.append((proc, len(k8s.writes()) - before))
            if proc.returncode != 0:
                break
        yield {"tmp": tmp, "runs": runs, "url": external_url, "backend": backend,
               "secret": k8s.get_object("secrets", NS, "prometheus-basic-auth"),
               "ingress": k8s.get_object("ingresses", NS, "prometheus")}


def _first(cluster):
    proc, _unused = cluster["runs"][0]
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_secret_holds_internal_first_then_the_grant(cluster):
    from passlib.apache import HtpasswdFile

    _first(cluster)
    cred = age_decrypt(cluster["tmp"] / "team-a-key.txt", cluster["tmp"] / "handoff/team-a/credentials.txt.age")
    ht = HtpasswdFile.from_string(base64.b64decode(cluster["secret"]["data"]["auth"]).decode())
    users = ht.users()
    assert len(users) == 2 and users[1] == cred["username"]  # the native-only grant team-n is not here
    assert re.fullmatch(r"[A-Za-z0-9]{64}", users[0]) and users[0] != cred["username"]  # the internal user
    assert ht.check_password(cred["username"], cred["password"])
    assert not ht.check_password(cred["username"], wrong_password(cred["password"]))
    # The hash policy: the ingress controller hashes on every request, so a minted credential is $apr1$ there;
    # the real Traefik accepting it is what this file's verification through the ingress shows.
    assert all(ht.get_hash(user).startswith(b"$apr1$") for user in users)


@pytest.mark.slow
def test_ingress_carries_the_auth_annotations(cluster):
    _first(cluster)
    assert cluster["ingress"]["metadata"]["annotations"] == {
        "kubernetes.io/ingress.class": "nginx",
        "nginx.ingress.kubernetes.io/auth-type": "basic",
        "nginx.ingress.kubernetes.io/auth-secret": "prometheus-basic-auth",
        "nginx.ingress.kubernetes.io/auth-secret-type": "auth-file",
        "nginx.ingress.kubernetes.io/auth-realm": "Prometheus",
    }


@pytest.mark.slow
def test_handoff_files_decrypt_with_each_grants_key(cluster):
    _first(cluster)
    tmp = cluster["tmp"]
    for grant in ("team-a", "team-n"):
        cred = age_decrypt(tmp / ("%s-key.txt" % grant), tmp / "handoff" / grant / "credentials.txt.age")
        assert re.fullmatch(r"[A-Za-z0-9]{64}", cred["password"])
        assert (tmp / "handoff" / grant / "message.txt").is_file()
    # team-n's grant is native only: it was not applied on this ingress cluster, so its hand-off has no URL.
    assert "url" not in age_decrypt(tmp / "team-n-key.txt", tmp / "handoff/team-n/credentials.txt.age")
    with pytest.raises(subprocess.CalledProcessError):
        age_decrypt(tmp / "team-n-key.txt", tmp / "handoff/team-a/credentials.txt.age")


@pytest.mark.slow
def test_summary_says_the_ingress_endpoint_was_not_verified(cluster):
    out = _first(cluster).stdout
    url = cluster["url"]
    assert "k8s kubernetes ingress %s: NOT VERIFIED (ingress URL not reachable from the controller); " \
           "applied for internal.k8s, team-a" % url in out
    assert "Endpoints NOT verified: k8s %s" % url in out


@pytest.mark.slow
def test_reachable_ingress_is_verified_from_the_controller(cluster):
    """Through Traefik to a real Prometheus: the playbook's three checks passed, and they hold for this test too."""
    out = _first(cluster).stdout
    backend = cluster["backend"]
    assert ("k8s-b kubernetes ingress https://metrics-b.example.org/prometheus/ (checked at %s from the "
            "controller): 401 anonymous, 401 wrong password, 200 for internal.k8s-b, team-a" % backend.url) in out
    assert "k8s-b" not in out.split("Endpoints NOT verified:", 1)[1].splitlines()[0]
    # The hand-off URL is the external URL of an endpoint the grant was verified on, before unverified ones.
    cred = age_decrypt(cluster["tmp"] / "team-a-key.txt", cluster["tmp"] / "handoff/team-a/credentials.txt.age")
    assert cred["url"] == "https://metrics-b.example.org/prometheus/"
    api = backend.url + "api/v1/status/buildinfo"
    assert status(api) == 401
    assert status(api, cred["username"], wrong_password(cred["password"])) == 401
    assert status(api, cred["username"], cred["password"]) == 200
    team_n = age_decrypt(cluster["tmp"] / "team-n-key.txt", cluster["tmp"] / "handoff/team-n/credentials.txt.age")
    assert status(api, team_n["username"], team_n["password"]) == 401  # native only: not in the ingress Secret


@pytest.mark.slow
def test_second_run_changes_nothing(cluster):
    _first(cluster)
    assert len(cluster["runs"]) == 2
    (first, writes1), (second, writes2) = cluster["runs"]
    assert writes1 == 4  # per cluster: POST Secret, PATCH Ingress
    assert second.returncode == 0, second.stdout[-8000:] + second.stderr[-3000:]
    assert recap(second.stdout, "k8s")["changed"] == 0
    assert recap(second.stdout, "k8s-b")["changed"] == 0
    assert recap(second.stdout, "localhost")["changed"] == 0
    assert writes2 == 0
    cred = age_decrypt(cluster["tmp"] / "team-a-key.txt", cluster["tmp"] / "handoff/team-a/credentials.txt.age")
    assert cred["password"] not in first.stdout + second.stdout + first.stderr + second.stderr
