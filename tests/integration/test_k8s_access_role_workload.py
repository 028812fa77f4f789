"""Role promaccess.core.k8s_access on the prometheus Helm chart's Deployment, against a real API server.

With k8s_access_prometheus_kind Deployment and the prometheus_web_config Secret format, the role writes the
web.yml Secret (internal user first) and wires it into the chart's server container: --web.external-url,
--web.route-prefix, the Secret mounted read-only as --web.config.file, probes turned to tcpSocket. Runs
--check, apply and apply again (changed=0, no write). The real
kube-apiserver of tests/controlplane stores and defaults the objects; what it holds is read back and checked with
passlib and kubernetes-validate.
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
CHART_DEPLOYMENT = yaml.safe_load((HERE.parent / "data" / "k8s" / "prometheus-server-deployment.yaml").read_text())


def _changed(stdout: str) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", stdout)
    assert match, stdout[-3000:]
    return int(match.group(1))


@pytest.mark.slow
def test_role_wires_the_chart_deployment(tmp_path):
    import kubernetes_validate.utils as kv
    from passlib.hash import bcrypt

    passwords = {"internal": secrets.token_urlsafe(18), "team_a": secrets.token_urlsafe(18)}
    hashes = {n: bcrypt.using(rounds=4).hash(p) for n, p in passwords.items()}
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "promaccess.core.k8s_access", "vars": {
            "k8s_access_namespace": NS,
            "k8s_access_secret_name": "prometheus-web-config",
            "k8s_access_secret_format": "prometheus_web_config",
            "k8s_access_internal_user": {"name": "internal", "password_hash": "{{ k8s_hashes.internal }}"},
            "k8s_access_users": [{"name": "team-a", "password_hash": "{{ k8s_hashes.team_a }}"}],
            "k8s_access_prometheus_name": "prometheus-server",
            "k8s_access_prometheus_kind": "Deployment",
            "k8s_access_helm_managed": "allow",  # the chart's own Deployment, patched on purpose
            "k8s_access_external_url": "https://metrics.example.org/prometheus",
            "k8s_access_route_prefix": "/prometheus",
        }}],
    }]))
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text(yaml.safe_dump({"k8s_hashes": hashes}))
    varsfile.chmod(0o600)
    with ClusterSession(namespaces=[NS]) as k8s:
        k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
        env = {"K8S_AUTH_KUBECONFIG": k8s.write_kubeconfig(tmp_path / "kubeconfig")}
        steps = []
        for check in (True, False, False):
            before = len(k8s.writes())
            proc = run_playbook(playbook, tmp_path, env, "-e", "@%s" % varsfile, *(["--check"] if check else []))
            assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
            steps.append((_changed(proc.stdout), len(k8s.writes()) - before, proc.stdout))
        secret = k8s.get_object("secrets", NS, "prometheus-web-config")
        deployment = k8s.get_object("deployments", NS, "prometheus-server")

    (check_changed, check_writes, _out), (apply_changed, apply_writes, apply_out), (again_changed, again_writes, _o) = steps
    assert (check_changed, check_writes) == (2, 0)  # the Secret and the Deployment, nothing written
    assert (apply_changed, apply_writes) == (2, 2)  # POST Secret, PATCH Deployment
    assert (again_changed, again_writes) == (0, 0)
    assert "tcpSocketProbeEnabled" in apply_out  # the chart values are shown

    users = yaml.safe_load(base64.b64decode(secret["data"]["web.yml"]).decode())["basic_auth_users"]
    assert list(users) == ["internal", "team-a"]
    assert bcrypt.verify(passwords["internal"], users["internal"]) and bcrypt.verify(passwords["team_a"], users["team-a"])
    server = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "prometheus-server"][0]
    assert server["args"][-3:] == ["--web.external-url=https://metrics.example.org/prometheus",
                                   "--web.route-prefix=/prometheus",
                                   "--web.config.file=/etc/prometheus-web-config/web.yml"]
    assert {"name": "promaccess-web-config", "secret": {"secretName": "prometheus-web-config", "defaultMode": 420}} in \
        deployment["spec"]["template"]["spec"]["volumes"]
    assert server["readinessProbe"]["tcpSocket"] == {"port": 9090}
    kv.validate(deployment, "1.33.0", strict=True)
