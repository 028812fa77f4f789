"""promaccess.core.k8s_prometheus_url on the prometheus Helm chart's Deployment, run by ansible-playbook.

The real kube-apiserver of tests/controlplane holds the chart's Deployment as the chart renders it with default
values (tests/data/k8s/prometheus-server-deployment.yaml, written by hand), defaulted by the server. The playbook
(k8s_prometheus_workload.yml) runs the four-step cycle, a change across two real 409s (a concurrent writer, see
tests/controlplane/session.py), and two refusals. This file then checks what the API server holds: every chart
arg kept in its place, nothing outside the owned fields changed, and the Deployment valid against the Kubernetes
OpenAPI schema (kubernetes-validate, strict).
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.33.0"  # as in test_k8s_consumers.py and test_k8s_wiring_schemas.py
NS = "monitoring"
CHART_DEPLOYMENT = yaml.safe_load((HERE.parent / "data" / "k8s" / "prometheus-server-deployment.yaml").read_text())


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_playbook = _load("promaccess_test_targets_workload", HERE / "test_targets.py").run_playbook
from controlplane.session import ClusterSession  # noqa: E402 - tests/ is on sys.path (tests/conftest.py)


def _containers(obj):
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


@pytest.mark.slow
def test_playbook_on_chart_deployment(tmp_path):
    import kubernetes_validate.utils as kv

    kv.validate(CHART_DEPLOYMENT, KUBERNETES_VERSION, strict=True)  # the starting point is valid
    with ClusterSession(namespaces=[NS]) as k8s:
        # what the API server stored: the chart's object with the server's defaults filled in
        initial = k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
        kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")
        proc = run_playbook(HERE / "k8s_prometheus_workload.yml", tmp_path, {"K8S_AUTH_KUBECONFIG": kubeconfig},
                            "-e", "k8s_faults_url=%s" % k8s.faults_url)
        assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
        stored = k8s.get_object("deployments", NS, "prometheus-server")
        patches = k8s.writes()

    # one write for the first apply, then 2 conflicting + 1 accepted for the prefix change; nothing else
    assert [w["method"] for w in patches] == ["PATCH"] * 4
    kv.validate(stored, KUBERNETES_VERSION, strict=True)
    for write in patches:  # what each patch sends for the pod template is a valid pod spec
        assert set(write["body"]["metadata"]) == {"resourceVersion"}
        pod_spec = copy.deepcopy(write["body"]["spec"]["template"]["spec"])
        kv.validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec},
                    KUBERNETES_VERSION, strict=True)

    chart_server = _containers(initial)["prometheus-server"]
    server = _containers(stored)["prometheus-server"]
    assert server["args"] == chart_server["args"] + [
        "--web.external-url=https://metrics.example.org/prom",
        "--web.route-prefix=/prom",
        "--web.config.file=/etc/prometheus-web-config/web.yml",
    ]
    owned = {"args", "volumeMounts", "livenessProbe", "readinessProbe"}
    assert {k: v for k, v in server.items() if k not in owned} == {k: v for k, v in chart_server.items() if k not in owned}
    assert server["volumeMounts"] == chart_server["volumeMounts"] + [
        {"name": "promaccess-web-config", "mountPath": "/etc/prometheus-web-config", "readOnly": True}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert server[probe]["tcpSocket"] == {"port": 9090} and "httpGet" not in server[probe]
        assert {k: v for k, v in server[probe].items() if k != "tcpSocket"} == \
            {k: v for k, v in chart_server[probe].items() if k != "httpGet"}
    reloader = "prometheus-server-configmap-reload"
    assert _containers(stored)[reloader] == _containers(initial)[reloader]
    assert stored["spec"]["template"]["spec"]["volumes"] == initial["spec"]["template"]["spec"]["volumes"] + [
        {"name": "promaccess-web-config", "secret": {"secretName": "prometheus-web-config", "defaultMode": 420}}]
    without_template = {k: v for k, v in stored["spec"].items() if k != "template"}
    assert without_template == {k: v for k, v in initial["spec"].items() if k != "template"}
    assert stored["metadata"]["labels"] == initial["metadata"]["labels"]
