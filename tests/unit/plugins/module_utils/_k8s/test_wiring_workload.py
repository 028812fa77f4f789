"""k8s_prometheus_url on the prometheus Helm chart's workload: flag editing, and the backend against the real
kube-apiserver of tests/controlplane (apps/v1 Deployments and StatefulSets, defaulted and validated by it)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._k8s.wiring import (
    PrometheusWorkloadBackend,
    WiringError,
    effective_route_prefix,
    flag_value,
    set_flag,
)

TESTS = Path(__file__).resolve().parents[4]

NS = "monitoring"
K8S_NAMESPACES = [NS]
CHART_DEPLOYMENT = yaml.safe_load((TESTS / "data" / "k8s" / "prometheus-server-deployment.yaml").read_text())
CHART_ARGS = CHART_DEPLOYMENT["spec"]["template"]["spec"]["containers"][1]["args"]


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


# -- flags ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, value, expected", [
    (["--a", "--web.external-url=http://old/", "--b"], "http://new/", ["--a", "--web.external-url=http://new/", "--b"]),
    (["--a", "--web.external-url", "http://old/", "--b"], "http://new/", ["--a", "--web.external-url=http://new/", "--b"]),
    (["--web.external-url=x", "--a", "--web.external-url=y"], "z", ["--web.external-url=z", "--a"]),
    (["--a", "--b"], "http://new/", ["--a", "--b", "--web.external-url=http://new/"]),
    (["--a", "--web.external-url=x", "--b", "--web.external-url", "y"], None, ["--a", "--b"]),
    ([], None, []),
])
def test_set_flag(args, value, expected):
    assert set_flag(args, "web.external-url", value) == expected


def test_set_flag_keeps_similar_flags():
    args = ["--web.external-url-extra=1", "--web.external-urls=2"]
    assert set_flag(args, "web.external-url", "u") == args + ["--web.external-url=u"]
    assert flag_value(args, "web.external-url") is None


@pytest.mark.parametrize("args, prefix", [
    ([], "/"),
    (["--web.external-url=https://m.example.org/prom/"], "/prom"),
    (["--web.external-url=https://m.example.org/prom/", "--web.route-prefix=/"], "/"),
    (["--web.route-prefix=p/"], "/p"),
])
def test_effective_route_prefix(args, prefix):
    assert effective_route_prefix(args) == prefix


# -- the backend against the real API server --------------------------------------------------------------------------


@pytest.fixture
def conn(k8s, tmp_path):
    return dict(kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None, api_key=None,
                validate_certs=None, ca_cert=None, namespace=NS)


def params(conn, **kw):
    out = dict(conn, name="prometheus-server", kind="Deployment", container="prometheus-server",
               external_url="https://metrics.example.org/prometheus", route_prefix="/prometheus",
               web_config_secret="prometheus-web-config", web_config_key="web.yml",
               web_config_mount_path="/etc/prometheus-web-config", probes="auto",
               helm_managed="allow")  # the chart's Deployment: a patch the next helm upgrade undoes, asked for
    out.update(kw)
    return out


def containers(obj):
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def test_four_steps_on_the_chart_deployment(k8s, conn, client_requests):
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    original = k8s.get_object("deployments", NS, "prometheus-server")
    p = params(conn)
    check = PrometheusWorkloadBackend(FakeModule(p, check_mode=True, diff=True)).run()
    assert check["changed"] and k8s.writes() == []
    assert k8s.get_object("deployments", NS, "prometheus-server") == original
    assert check["before"] == {"livenessProbe": "httpGet /-/healthy port 9090",
                               "readinessProbe": "httpGet /-/ready port 9090"}
    expected_after = {
        "--web.external-url": "https://metrics.example.org/prometheus",
        "--web.route-prefix": "/prometheus",
        "--web.config.file": "/etc/prometheus-web-config/web.yml",
        "volume promaccess-web-config": "secret prometheus-web-config",
        "volumeMount promaccess-web-config": "/etc/prometheus-web-config (readOnly)",
        "livenessProbe": "tcpSocket port 9090",
        "readinessProbe": "tcpSocket port 9090",
    }
    assert check["after"] == expected_after
    assert "--web.config.file: /etc/prometheus-web-config/web.yml" in check["diff"]["after"]

    module = FakeModule(p)
    applied = PrometheusWorkloadBackend(module).run()
    assert applied["changed"] and applied["after"] == expected_after and applied["conflicts_retried"] == 0
    stored = k8s.get_object("deployments", NS, "prometheus-server")
    server, reloader = containers(stored)["prometheus-server"], containers(stored)["prometheus-server-configmap-reload"]
    # the chart's args keep their text and order; the three owned ones are appended
    assert server["args"] == CHART_ARGS + ["--web.external-url=https://metrics.example.org/prometheus",
                                           "--web.route-prefix=/prometheus",
                                           "--web.config.file=/etc/prometheus-web-config/web.yml"]
    assert server["volumeMounts"][-1] == {"name": "promaccess-web-config", "mountPath": "/etc/prometheus-web-config",
                                          "readOnly": True}
    assert stored["spec"]["template"]["spec"]["volumes"][-1] == {
        "name": "promaccess-web-config", "secret": {"secretName": "prometheus-web-config", "defaultMode": 420}}
    chart_server = containers(original)["prometheus-server"]
    assert server["livenessProbe"] == dict({k: v for k, v in chart_server["livenessProbe"].items() if k != "httpGet"},
                                           tcpSocket={"port": 9090})
    assert reloader == containers(original)["prometheus-server-configmap-reload"]  # not touched
    for key in ("image", "ports", "imagePullPolicy"):
        assert server[key] == chart_server[key]
    rest = {k: v for k, v in stored["spec"]["template"]["spec"].items() if k not in ("containers", "volumes")}
    assert rest == {k: v for k, v in original["spec"]["template"]["spec"].items()
                    if k not in ("containers", "volumes")}
    assert {k: v for k, v in stored["spec"].items() if k != "template"} == \
        {k: v for k, v in original["spec"].items() if k != "template"}
    # one merge patch: the containers and volumes lists whole, with the resourceVersion read as precondition
    (write,) = k8s.writes()
    assert write["method"] == "PATCH"
    assert [r["headers"]["Content-Type"] for r in client_requests if r["method"] == "PATCH"] == [
        "application/merge-patch+json"]
    assert "/apis/apps/v1/namespaces/monitoring/deployments/prometheus-server" in write["path"]
    assert write["body"]["metadata"] == {"resourceVersion": original["metadata"]["resourceVersion"]}
    assert set(write["body"]["spec"]["template"]["spec"]) == {"containers", "volumes"}
    assert set(write["body"]) == {"metadata", "spec"} and set(write["body"]["spec"]) == {"template"}
    # the reloader will get 401, and its URL lacks the new prefix: both said
    assert any("401" in w and "prometheus-server-configmap-reload" in w for w in module.warnings)
    assert any("404" in w and "/prometheus" in w for w in module.warnings)
    assert applied["helm_values"] == {"server": {
        "baseURL": "https://metrics.example.org/prometheus", "prefixURL": "/prometheus",
        "extraArgs": {"web.config.file": "/etc/prometheus-web-config/web.yml"},
        "extraSecretMounts": [{"name": "promaccess-web-config", "mountPath": "/etc/prometheus-web-config",
                               "subPath": "", "secretName": "prometheus-web-config", "readOnly": True}],
        "tcpSocketProbeEnabled": True}}

    assert PrometheusWorkloadBackend(FakeModule(p, check_mode=True)).run()["changed"] is False
    again = PrometheusWorkloadBackend(FakeModule(p)).run()
    assert again["changed"] is False and again["before"] == again["after"] == expected_after
    assert len(k8s.writes()) == 1


def test_statefulset_and_space_separated_flag(k8s, conn):
    sts = copy.deepcopy(CHART_DEPLOYMENT)
    sts["kind"] = "StatefulSet"
    del sts["spec"]["strategy"]
    sts["spec"]["serviceName"] = "prometheus-server-headless"
    server = sts["spec"]["template"]["spec"]["containers"][1]
    server["args"] = ["--web.external-url", "http://old.example.org/", "--config.file=/etc/config/prometheus.yml"]
    k8s.put_object("statefulsets", NS, sts)
    result = PrometheusWorkloadBackend(FakeModule(params(conn, kind="StatefulSet", route_prefix=None,
                                                         web_config_secret=None))).run()
    assert result["changed"] and result["kind"] == "StatefulSet"
    stored = k8s.get_object("statefulsets", NS, "prometheus-server")
    new_server = containers(stored)["prometheus-server"]
    assert new_server["args"] == ["--web.external-url=https://metrics.example.org/prometheus",
                                  "--config.file=/etc/config/prometheus.yml"]
    # no web config: probes stay httpGet and follow the prefix taken from the external URL's path
    assert new_server["livenessProbe"]["httpGet"]["path"] == "/prometheus/-/healthy"
    assert new_server["readinessProbe"]["httpGet"]["path"] == "/prometheus/-/ready"
    assert "volumes" not in k8s.writes()[0]["body"]["spec"]["template"]["spec"]
    assert result["helm_values"] == {"server": {"baseURL": "https://metrics.example.org/prometheus"}}


def test_remove_web_config_and_keep_probes(k8s, conn):
    original = k8s.put_object("deployments", NS, CHART_DEPLOYMENT)  # as the API server defaulted it
    PrometheusWorkloadBackend(FakeModule(params(conn))).run()
    module = FakeModule(params(conn, external_url=None, route_prefix=None, web_config_secret=""))
    removed = PrometheusWorkloadBackend(module).run()
    assert removed["changed"]
    stored = k8s.get_object("deployments", NS, "prometheus-server")
    server = containers(stored)["prometheus-server"]
    assert server["args"] == CHART_ARGS + ["--web.external-url=https://metrics.example.org/prometheus",
                                           "--web.route-prefix=/prometheus"]
    assert server["volumeMounts"] == containers(original)["prometheus-server"]["volumeMounts"]
    assert stored["spec"]["template"]["spec"]["volumes"] == original["spec"]["template"]["spec"]["volumes"]
    assert "tcpSocket" in server["livenessProbe"]  # left as they are (documented)
    assert PrometheusWorkloadBackend(FakeModule(module.params)).run()["changed"] is False


def test_probes_keep_warns(k8s, conn):
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    module = FakeModule(params(conn, probes="keep"))
    result = PrometheusWorkloadBackend(module).run()
    assert result["after"]["livenessProbe"] == "httpGet /-/healthy port 9090"
    assert any("livenessProbe" in w and "401" in w for w in module.warnings)
    assert "tcpSocketProbeEnabled" not in result["helm_values"]["server"]


def test_probes_tcp_socket_without_web_config(k8s, conn):
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    result = PrometheusWorkloadBackend(FakeModule(params(conn, web_config_secret=None, probes="tcp_socket"))).run()
    assert result["after"]["readinessProbe"] == "tcpSocket port 9090"
    assert "--web.config.file" not in result["after"]


def test_conflicts_are_retried(k8s, conn):
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    k8s.inject_conflicts("patch", 2)
    result = PrometheusWorkloadBackend(FakeModule(params(conn))).run()
    assert result["changed"] and result["conflicts_retried"] == 2
    assert [w["method"] for w in k8s.writes()] == ["PATCH"] * 3


def test_conflicts_give_up(k8s, conn):
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    k8s.inject_conflicts("patch", 6)
    with pytest.raises(WiringError, match="kept changing under us: gave up after 6"):
        PrometheusWorkloadBackend(FakeModule(params(conn))).run()


def test_a_concurrent_change_is_not_overwritten(k8s, conn):
    """The resourceVersion in the patch is a precondition: a write in between makes the server answer 409."""
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    backend = PrometheusWorkloadBackend(FakeModule(params(conn)))
    compute = backend.compute
    raced = []

    def compute_then_race(current):
        patch = compute(current)
        if not raced:  # someone else changes the image between our read and our write
            raced.append(True)
            other = k8s.get_object("deployments", NS, "prometheus-server")
            containers(other)["prometheus-server"]["image"] = "quay.io/prometheus/prometheus:v3.6.0"
            k8s.put_object("deployments", NS, other)
        return patch

    backend.compute = compute_then_race
    result = backend.run()
    assert result["conflicts_retried"] == 1
    stored = k8s.get_object("deployments", NS, "prometheus-server")
    server = containers(stored)["prometheus-server"]
    assert server["image"] == "quay.io/prometheus/prometheus:v3.6.0" and "--web.route-prefix=/prometheus" in server["args"]


@pytest.mark.parametrize("change, message", [
    ({"name": "missing"}, "Deployment 'missing' not found in namespace 'monitoring'"),
    ({"container": "prometheus"}, "no container 'prometheus'.*'prometheus-server-configmap-reload', 'prometheus-server'"),
    ({"web_config_mount_path": "/etc/config"}, "already mounts volume 'config-volume' at /etc/config"),
    ({"web_config_mount_path": "relative"}, "absolute path"),
    ({"web_config_secret": "Bad_Name"}, "Secret name"),
    ({"web_config_key": "web/yml"}, "not a valid Secret key"),
    ({"route_prefix": "prometheus"}, "must start with /"),
    ({"external_url": "metrics.example.org"}, "absolute http"),
])
def test_refusals(k8s, conn, change, message):
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    with pytest.raises(WiringError, match=message):
        PrometheusWorkloadBackend(FakeModule(params(conn, **change))).run()
    assert k8s.writes() == []


def test_rbac_denied(k8s, conn):
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    k8s.forbid("patch", "deployments", NS)
    with pytest.raises(WiringError, match="RBAC denied.*'patch' on resource 'deployments'"):
        PrometheusWorkloadBackend(FakeModule(params(conn))).run()


def test_flags_in_command_are_refused(k8s, conn):
    dep = copy.deepcopy(CHART_DEPLOYMENT)
    server = dep["spec"]["template"]["spec"]["containers"][1]
    server["command"] = ["/bin/prometheus", "--web.external-url=http://x/"]
    k8s.put_object("deployments", NS, dep)
    with pytest.raises(WiringError, match="in command, not args"):
        PrometheusWorkloadBackend(FakeModule(params(conn))).run()


def test_server_defaults_do_not_make_it_change_again(k8s, conn):
    """A real API server fills in defaults (secret defaultMode, ports' protocol, terminationMessagePath, probe
    scheme and timings): only the owned fields are compared, so the second run stays unchanged."""
    k8s.put_object("deployments", NS, CHART_DEPLOYMENT)
    PrometheusWorkloadBackend(FakeModule(params(conn))).run()
    stored = k8s.get_object("deployments", NS, "prometheus-server")
    pod = stored["spec"]["template"]["spec"]
    for volume in pod["volumes"]:
        if "secret" in volume:
            volume["secret"]["defaultMode"] = 420
    for container in pod["containers"]:
        container.update(terminationMessagePath="/dev/termination-log", terminationMessagePolicy="File")
        for port in container.get("ports", []):
            port["protocol"] = "TCP"
    k8s.put_object("deployments", NS, stored)
    writes = len(k8s.writes())
    again = PrometheusWorkloadBackend(FakeModule(params(conn))).run()
    assert again["changed"] is False and len(k8s.writes()) == writes
