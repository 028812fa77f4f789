"""provision_access.yml with Kubernetes cluster hosts and no VM host, against the STAND-IN API server.

The stand-in (tests/k8s_standin/server.py) is not Kubernetes: no cluster and no ingress controller can run on
these machines. So the Secret and the Ingress annotations are read back from the stand-in, the htpasswd line
is checked with passlib against the credential the real ``age`` CLI decrypts from the hand-off file, and the
ingress URL of cluster host ``standin`` (a closed loopback port: there is no ingress controller behind it) must
be reported as NOT verified, without failing the run.

A second cluster host, ``standin-b`` (another namespace of the same stand-in), exercises the verification branch:
its URL is served by ``_FakeIngress`` below, a STAND-IN for an ingress controller (not ingress-nginx: it only
reads the Secret's ``auth`` key from the stand-in on every request and answers 401 or 200 after a passlib
check). It shows the playbook's checks run and pass; it proves nothing about a real controller.

Two playbook runs: apply, then apply again with changed=0 and no write.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from promaccess_k8s_role_helpers import StandinServer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "monitoring"
NS_B = "monitoring-b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recap(output: str, host: str) -> dict:
    """The last PLAY RECAP line of ``host`` as a dict of counters."""
    lines = re.findall(r"^%s\s+:\s+(.*)$" % re.escape(host), output, re.M)
    assert lines, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


class _FakeIngress:
    """A STAND-IN for an ingress controller on 127.0.0.1: basic auth against the stand-in's Secret, read per request."""

    def __init__(self, standin, namespace, secret, prefix="/prometheus/"):
        from passlib.apache import HtpasswdFile

        outer = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                code = 404
                if self.path.startswith(prefix):
                    obj = standin.get_object("secrets", namespace, secret)
                    code = 401
                    header = self.headers.get("Authorization", "")
                    if obj and header.startswith("Basic "):
                        user, _unused, password = base64.b64decode(header[6:]).decode().partition(":")
                        ht = HtpasswdFile.from_string(base64.b64decode(obj["data"]["auth"]).decode())
                        if user in ht.users() and ht.check_password(user, password):
                            code = 200
                outer.requests.append((self.path, code))
                body = b'{"status":"success"}' if code == 200 else b"no"
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d%s" % (self.httpd.server_address[1], prefix)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def age_decrypt(identity: Path, path: Path) -> dict:
    out = subprocess.run(["age", "--decrypt", "-i", str(identity), str(path)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


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
    with StandinServer(namespaces=[NS, NS_B]) as standin, _FakeIngress(standin, NS_B, "prometheus-basic-auth") as fake:
        for ns in (NS, NS_B):
            standin.put_object("ingresses", ns, {
                "metadata": {"name": "prometheus", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
                "spec": {"rules": [{"host": "metrics.example.org"}]}})
        kubeconfig = standin.write_kubeconfig(tmp / "kubeconfig", context="standin")
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
                "standin": {
                    "ansible_connection": "local",
                    "promaccess_k8s_kubeconfig": kubeconfig or str(tmp / "kubeconfig"),
                    "promaccess_k8s_context": "standin",
                    "promaccess_k8s_namespace": NS,
                    "promaccess_k8s_ingress_name": "prometheus",
                    "promaccess_k8s_external_url": external_url,
                },
                "standin-b": {
                    "ansible_connection": "local",
                    "promaccess_k8s_kubeconfig": kubeconfig or str(tmp / "kubeconfig"),
                    "promaccess_k8s_context": "standin",
                    "promaccess_k8s_namespace": NS_B,
                    "promaccess_k8s_ingress_name": "prometheus",
                    "promaccess_k8s_external_url": "https://metrics-b.example.org/prometheus/",
                    "promaccess_k8s_verify_url": fake.url,
                },
            }}},
        }}
        (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build/collections")),
                   ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"))
        runs = []
        for _unused in range(2):
            before = len(standin.writes())
            proc = subprocess.run(
                [str(BIN / "ansible-playbook"), "-i", str(tmp / "inventory.yml"), "promaccess.core.provision_access"],
                env=env, capture_output=True, text=True, timeout=600, check=False, cwd=str(tmp))
            runs.append((proc, len(standin.writes()) - before))
            if proc.returncode != 0:
                break
        yield {"tmp": tmp, "runs": runs, "url": external_url, "fake": fake,
               "secret": standin.get_object("secrets", NS, "prometheus-basic-auth"),
               "ingress": standin.get_object("ingresses", NS, "prometheus")}


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
    assert not ht.check_password(cred["username"], cred["password"][:-1] + "x")
    assert ht.get_hash(cred["username"]).startswith(b"$2y$")


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
    assert "standin kubernetes ingress %s: NOT VERIFIED (ingress URL not reachable from the controller); " \
           "applied for internal, team-a" % url in out
    assert "Endpoints NOT verified: standin %s" % url in out


@pytest.mark.slow
def test_reachable_ingress_is_verified_from_the_controller(cluster):
    """Against the fake ingress (a stand-in, see _FakeIngress): the playbook's three checks ran and passed."""
    out = _first(cluster).stdout
    fake = cluster["fake"]
    assert ("standin-b kubernetes ingress https://metrics-b.example.org/prometheus/ (checked at %s from the "
            "controller): 401 anonymous, 401 wrong password, 200 for internal, team-a" % fake.url) in out
    codes = [code for _unused, code in fake.requests]
    assert codes.count(200) >= 2 and codes.count(401) >= 2
    assert "standin-b" not in out.split("Endpoints NOT verified:", 1)[1].splitlines()[0]
    # The hand-off URL is the external URL of an endpoint the grant was verified on, before unverified ones.
    cred = age_decrypt(cluster["tmp"] / "team-a-key.txt", cluster["tmp"] / "handoff/team-a/credentials.txt.age")
    assert cred["url"] == "https://metrics-b.example.org/prometheus/"


@pytest.mark.slow
def test_second_run_changes_nothing(cluster):
    _first(cluster)
    assert len(cluster["runs"]) == 2
    (first, writes1), (second, writes2) = cluster["runs"]
    assert writes1 == 4  # per cluster: POST Secret, PATCH Ingress
    assert second.returncode == 0, second.stdout[-8000:] + second.stderr[-3000:]
    assert recap(second.stdout, "standin")["changed"] == 0
    assert recap(second.stdout, "standin-b")["changed"] == 0
    assert recap(second.stdout, "localhost")["changed"] == 0
    assert writes2 == 0
    cred = age_decrypt(cluster["tmp"] / "team-a-key.txt", cluster["tmp"] / "handoff/team-a/credentials.txt.age")
    assert cred["password"] not in first.stdout + second.stdout + first.stderr + second.stderr
