"""Role promaccess.core.k8s_access run by ansible-playbook against the real kube-apiserver of tests/controlplane.

The four-step cycle is four
ansible-playbook runs of k8s_access_role.yml: --check (changes reported, nothing written), apply, --check
again and apply again (both changed=0, nothing written). Then what the API server holds is read back and checked
independently of the modules (passlib for the htpasswd lines).
"""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

import pytest
import yaml

from promaccess_k8s_role_helpers import ClusterSession, run_playbook

HERE = Path(__file__).resolve().parent
NS = "monitoring"


def _recap(stdout: str) -> dict:
    match = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout)
    assert match, stdout[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


@pytest.mark.slow
def test_role_four_step_cycle(tmp_path):
    from passlib.apache import HtpasswdFile
    from passlib.hash import bcrypt

    passwords = {"internal": secrets.token_urlsafe(18), "team_a": secrets.token_urlsafe(18)}
    hashes = {n: bcrypt.using(rounds=4).hash(p) for n, p in passwords.items()}
    token = secrets.token_urlsafe(32)
    with ClusterSession(namespaces=[NS]) as k8s:
        k8s.put_object("ingresses", NS, {
            "metadata": {"name": "prometheus", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
            "spec": {"rules": [{"host": "metrics.example.org"}]}})
        # the API server fills in the CRD's defaults (scrapeInterval, portName, ...): kept as it stored them
        initial = k8s.put_object("prometheuses", NS, {"metadata": {"name": "k8s"}, "spec": {"replicas": 1}})
        k8s.put_object("servicemonitors", NS, {
            "metadata": {"name": "certctl-server"},
            "spec": {"selector": {}, "endpoints": [
                {"port": "https", "bearerTokenSecret": {"name": "certctl-prometheus-key", "key": "old"}}]}})
        env = {"K8S_AUTH_KUBECONFIG": k8s.write_kubeconfig(tmp_path / "kubeconfig")}
        varsfile = tmp_path / "vars.yml"
        varsfile.write_text(yaml.safe_dump({"k8s_hashes": hashes, "k8s_scrape_token": token}))
        varsfile.chmod(0o600)
        steps = []
        for check in (True, False, True, False):
            before = len(k8s.writes())
            args = ["-e", "@%s" % varsfile] + (["--check"] if check else [])
            proc = run_playbook(HERE / "k8s_access_role.yml", tmp_path, env, *args)
            assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
            assert token not in proc.stdout + proc.stderr
            steps.append((_recap(proc.stdout), len(k8s.writes()) - before))
        # The connection reaches every task through the role's module_defaults (group/promaccess.core.k8s):
        # with the environment pointing nowhere, k8s_access_kubeconfig alone must do, scrape tasks included.
        proc = run_playbook(HERE / "k8s_access_role.yml", tmp_path, {"K8S_AUTH_KUBECONFIG": str(tmp_path / "none")},
                            "-e", "@%s" % varsfile, "-e", "k8s_access_kubeconfig=%s" % env["K8S_AUTH_KUBECONFIG"])
        assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
        assert _recap(proc.stdout)["changed"] == 0
        secret = k8s.get_object("secrets", NS, "prometheus-basic-auth")
        ingress = k8s.get_object("ingresses", NS, "prometheus")
        prometheus = k8s.get_object("prometheuses", NS, "k8s")
        monitor = k8s.get_object("servicemonitors", NS, "certctl-server")
        scrape = k8s.get_object("secrets", NS, "certctl-prometheus-key")

    (check1, writes1), (apply1, writes2), (check2, writes3), (apply2, writes4) = steps
    assert check1["changed"] == 4 and writes1 == 0  # Secret, Ingress, Prometheus, scrape auth
    assert apply1["changed"] == 4 and writes2 == 5  # POST Secret, PATCH x3, POST scrape Secret
    assert check2["changed"] == 0 and writes3 == 0
    assert apply2["changed"] == 0 and writes4 == 0

    ht = HtpasswdFile.from_string(base64.b64decode(secret["data"]["auth"]).decode())
    assert ht.users() == ["internal", "team-a"]
    assert ht.check_password("internal", passwords["internal"]) and ht.check_password("team-a", passwords["team_a"])
    assert secret["metadata"]["labels"] == {"app.kubernetes.io/part-of": "prometheus"}
    assert ingress["metadata"]["annotations"] == {
        "kubernetes.io/ingress.class": "nginx",
        "nginx.ingress.kubernetes.io/auth-type": "basic",
        "nginx.ingress.kubernetes.io/auth-secret": "prometheus-basic-auth",
        "nginx.ingress.kubernetes.io/auth-secret-type": "auth-file",
        "nginx.ingress.kubernetes.io/auth-realm": "Prometheus",
    }
    assert prometheus["spec"] == {**initial["spec"], "externalUrl": "https://metrics.example.org/prometheus",
                                  "routePrefix": "/prometheus"}
    assert monitor["spec"]["endpoints"] == [{"port": "https", "authorization": {
        "type": "Bearer", "credentials": {"name": "certctl-prometheus-key", "key": "api-key"}}}]
    assert base64.b64decode(scrape["data"]["api-key"]).decode() == token


@pytest.mark.slow
def test_role_preflight_refuses_a_plain_password(tmp_path):
    password = secrets.token_urlsafe(18)
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "promaccess.core.k8s_access", "vars": {
            "k8s_access_internal_user": {"name": "internal", "password_hash": "$2y$04$" + "a" * 53},
            "k8s_access_users": [{"name": "team-a", "password": password}]}}],
    }]))
    proc = run_playbook(playbook, tmp_path, {"K8S_AUTH_KUBECONFIG": str(tmp_path / "none")})
    assert proc.returncode != 0
    assert "each entry of k8s_access_users needs a name and a password_hash" in proc.stdout
    assert password not in proc.stdout + proc.stderr
