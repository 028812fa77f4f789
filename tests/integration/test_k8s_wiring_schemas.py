"""What k8s_scrape_auth, k8s_ingress_auth and k8s_prometheus_url leave on the API server, validated by schema.

The backends run against the real kube-apiserver of tests/controlplane, which validates Secrets, Ingresses and
workloads itself and prunes what a CRD schema does not know. The objects it then holds, and what was sent, are
validated again, strictly (unknown fields are errors, where the API server only warns and drops them):

* Secrets, Ingresses, and the prometheus chart's Deployment or StatefulSet against the Kubernetes OpenAPI schema with kubernetes-validate (pinned Kubernetes
  KUBERNETES_VERSION, strict: unknown fields are errors);
* ServiceMonitors with jsonschema against the Prometheus Operator CRD's openAPIV3Schema shipped in
  tests/data/crds (upstream version in the README there), made strict the same way;
* Prometheus objects, and the ServiceMonitors a second time, with the validators compiled into the npm package
  @kubernetes-models/prometheus-operator (tests/k8s-schemas, installed by scripts/k8s-schemas-deps.sh; helper
  _operator_schemas.py). Those do not reject unknown fields (test_operator_package_ignores_unknown_fields pins
  that down), which is why the strict jsonschema check of ServiceMonitors stays.
"""

from __future__ import annotations

import copy
import secrets
from pathlib import Path

import pytest
import yaml

import _operator_schemas as operator_schemas  # tests/integration is on sys.path (conftest.py)

from ansible_collections.promaccess.core.plugins.module_utils._k8s.scrape_auth import ScrapeAuthBackend
from ansible_collections.promaccess.core.plugins.module_utils._k8s.wiring import (
    IngressAuthBackend,
    PrometheusUrlBackend,
    PrometheusWorkloadBackend,
)

HERE = Path(__file__).resolve().parent
CRDS = HERE.parent / "data" / "crds"
CHART_DEPLOYMENT = yaml.safe_load((HERE.parent / "data" / "k8s" / "prometheus-server-deployment.yaml").read_text())
KUBERNETES_VERSION = "1.33.0"  # as in test_k8s_consumers.py
NS = "monitoring"
from controlplane.session import ClusterSession  # noqa: E402 - tests/ is on sys.path (tests/conftest.py)


class _Module:
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = False

    def warn(self, message):
        pass


def strict(schema):
    """additionalProperties: false wherever an object schema lists properties and says nothing else."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node and node.get("type") == "object":
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    # metadata is validated by the API server itself, not by the CRD schema
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def crd_validator(filename, version="v1"):
    import jsonschema

    crd = yaml.safe_load((CRDS / filename).read_text())
    (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = strict(entry["schema"]["openAPIV3Schema"])
    return jsonschema.Draft4Validator(schema)


def service_monitor_errors(obj):
    validator = crd_validator("monitoring.coreos.com_servicemonitors.yaml")
    return sorted(e.message for e in validator.iter_errors(obj))


def conn(k8s, tmp_path):
    return dict(kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None, api_key=None,
                validate_certs=None, ca_cert=None, namespace=NS)


def scrape_params(connection, **kw):
    params = dict(connection, service_monitor="app", endpoint_ports=[], endpoint_indexes=[], auth_type="bearer",
                  secret_name=None, secret_namespace=None, secret_key=None, token=None, username_key=None,
                  password_key=None, username=None, password=None, remove_keys=[], secret_labels={})
    params.update(kw)
    return params


SERVICE_MONITOR = {
    "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "app"},
    "spec": {
        "selector": {"matchLabels": {"app": "certctl"}},
        "endpoints": [
            {"port": "https", "scheme": "https", "interval": "30s", "tlsConfig": {"insecureSkipVerify": True},
             "bearerTokenSecret": {"name": "scrape", "key": "api-key"}},
            {"port": "exporter", "path": "/metrics"},
        ],
    },
}


def scrape_scenario(tmp_path):
    """k8s_scrape_auth twice on SERVICE_MONITOR: what it leaves (monitor after each run, Secret writes, Secrets)."""
    with ClusterSession(namespaces=[NS]) as k8s:
        k8s.put_object("servicemonitors", NS, SERVICE_MONITOR)
        connection = conn(k8s, tmp_path)
        # bearer on one endpoint: migrates bearerTokenSecret to authorization, new key, old key removed
        ScrapeAuthBackend(_Module(scrape_params(
            connection, endpoint_ports=["https"], secret_key="api-key-2", token=secrets.token_urlsafe(32),
            secret_labels={"app.kubernetes.io/part-of": "prometheus"}))).run()
        monitors = [k8s.get_object("servicemonitors", NS, "app")]
        # basic auth on the other one
        ScrapeAuthBackend(_Module(scrape_params(
            connection, endpoint_ports=["exporter"], auth_type="basic", secret_name="exporter-scrape",
            username="prometheus", password=secrets.token_urlsafe(24)))).run()
        monitors.append(k8s.get_object("servicemonitors", NS, "app"))
        secret_bodies = [w["body"] for w in k8s.writes() if w["path"].split("?")[0].rsplit("/", 2)[-2] == "secrets"
                         or w["path"].split("?")[0].endswith("/secrets")]
        stored = [k8s.get_object("secrets", NS, n) for n in ("scrape", "exporter-scrape")]
    return monitors, secret_bodies, stored


def test_service_monitor_and_secrets_validate(tmp_path):
    import kubernetes_validate.utils as kv

    assert service_monitor_errors(SERVICE_MONITOR) == []  # the starting point is valid too
    monitors, secret_bodies, stored = scrape_scenario(tmp_path)
    for monitor in monitors:
        assert service_monitor_errors(monitor) == []
    assert "authorization" in monitors[0]["spec"]["endpoints"][0]
    assert "basicAuth" in monitors[1]["spec"]["endpoints"][1]
    assert len(secret_bodies) == 2
    for body in secret_bodies + stored:
        kv.validate(body, KUBERNETES_VERSION, strict=True)


def test_service_monitors_validate_with_operator_package(tmp_path):
    """The same ServiceMonitors, checked a second time by an independent schema source (newer operator)."""
    operator_schemas.ensure_deps()
    monitors, _unused, _unused2 = scrape_scenario(tmp_path)
    results = operator_schemas.validate([SERVICE_MONITOR] + monitors)
    assert [(r["kind"], r["valid"], r["errors"]) for r in results] == [("ServiceMonitor", True, [])] * 3
    endpoints = monitors[-1]["spec"]["endpoints"]
    assert endpoints[0]["authorization"]["credentials"]["key"] == "api-key-2"
    assert set(endpoints[1]["basicAuth"]) == {"username", "password"}


# A Prometheus as kube-prometheus ships it (manifests/prometheus-prometheus.yaml), namespace given by the store
PROMETHEUS = {
    "apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
    "metadata": {"name": "k8s", "labels": {"app.kubernetes.io/component": "prometheus",
                                           "app.kubernetes.io/instance": "k8s", "app.kubernetes.io/name": "prometheus",
                                           "app.kubernetes.io/part-of": "kube-prometheus"}},
    "spec": {
        "alerting": {"alertmanagers": [{"apiVersion": "v2", "name": "alertmanager-main", "namespace": NS,
                                        "port": "web"}]},
        "enableFeatures": [], "externalLabels": {}, "image": "quay.io/prometheus/prometheus:v3.5.0",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "podMetadata": {"labels": {"app.kubernetes.io/name": "prometheus"}},
        "podMonitorNamespaceSelector": {}, "podMonitorSelector": {}, "probeNamespaceSelector": {},
        "probeSelector": {}, "replicas": 2, "resources": {"requests": {"memory": "400Mi"}},
        "ruleNamespaceSelector": {}, "ruleSelector": {}, "scrapeConfigNamespaceSelector": {},
        "scrapeConfigSelector": {},
        "securityContext": {"fsGroup": 2000, "runAsNonRoot": True, "runAsUser": 1000},
        "serviceAccountName": "prometheus-k8s", "serviceMonitorNamespaceSelector": {},
        "serviceMonitorSelector": {}, "version": "3.5.0",
    },
}


def test_prometheus_objects_validate_with_operator_package(tmp_path):
    """k8s_prometheus_url sets, changes and removes the fields; every object the API server then holds is valid."""
    operator_schemas.ensure_deps()
    stored = []
    with ClusterSession(namespaces=[NS]) as k8s:
        stored.append(k8s.put_object("prometheuses", NS, PROMETHEUS))
        connection = conn(k8s, tmp_path)
        for external_url, route_prefix in (("https://metrics.example.org/prometheus", "/prometheus"),
                                           ("https://metrics.example.org/prom/", "/prom"),
                                           ("", "")):
            result = PrometheusUrlBackend(_Module(dict(connection, name="k8s", external_url=external_url,
                                                       route_prefix=route_prefix))).run()
            assert result["changed"] is True
            stored.append(k8s.get_object("prometheuses", NS, "k8s"))
    results = operator_schemas.validate(stored)
    assert [(r["kind"], r["name"], r["valid"], r["errors"]) for r in results] == [("Prometheus", "k8s", True, [])] * 4
    assert stored[1]["spec"]["externalUrl"] == "https://metrics.example.org/prometheus"
    assert stored[2]["spec"]["routePrefix"] == "/prom"
    assert "externalUrl" not in stored[3]["spec"] and "routePrefix" not in stored[3]["spec"]
    for obj in stored[1:]:  # nothing else changed
        assert {k: v for k, v in obj["spec"].items() if k not in ("externalUrl", "routePrefix")} == stored[0]["spec"]


def _bad_prometheus(**spec):
    bad = copy.deepcopy(PROMETHEUS)
    bad["spec"].update(spec)
    return bad


@pytest.mark.parametrize("obj, expected", [
    (_bad_prometheus(routePrefix=5), "/spec/routePrefix: must be string"),
    (_bad_prometheus(externalUrl=["https://m.example.org/"]), "/spec/externalUrl: must be string"),
    (_bad_prometheus(replicas="2"), "/spec/replicas: must be integer"),
    ({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "k8s"}},
     "/: must have required property spec"),
    (dict(SERVICE_MONITOR, spec=dict(SERVICE_MONITOR["spec"], endpoints=[{"port": "m", "scheme": "ftp"}])),
     "/spec/endpoints/0/scheme: must be equal to one of the allowed values"),
    (dict(SERVICE_MONITOR, spec=dict(SERVICE_MONITOR["spec"], endpoints=[
        {"port": "m", "authorization": {"credentials": {"name": "s"}}}])),
     "/spec/endpoints/0/authorization/credentials: must have required property key"),
    (dict(PROMETHEUS, apiVersion="monitoring.coreos.com/v2"), "is not one of monitoring.coreos.com/v1"),
])
def test_operator_package_validation_can_fail(obj, expected):
    operator_schemas.ensure_deps()
    found = operator_schemas.errors(obj)
    assert found and any(expected in e for e in found), found


def test_operator_package_ignores_unknown_fields():
    """A known limit, pinned down: a misspelt field passes the npm package's validators (no additionalProperties).

    The strict jsonschema check (service_monitor_errors) catches it for ServiceMonitors; for Prometheus objects
    test_prometheus_patch_is_only_the_two_string_fields checks that the patch names only the two fields.
    """
    operator_schemas.ensure_deps()
    assert operator_schemas.errors(_bad_prometheus(routePrefx="/p")) == []
    misspelt = dict(SERVICE_MONITOR, spec=dict(SERVICE_MONITOR["spec"], endpoints=[
        {"port": "m", "bearerTokenSecrets": {"name": "s", "key": "k"}}]))
    assert operator_schemas.errors(misspelt) == []
    assert any("Additional properties are not allowed" in e for e in service_monitor_errors(misspelt))


@pytest.mark.parametrize("controller", ["ingress_nginx", "nginx_ingress"])
def test_ingress_validates(controller, tmp_path):
    import kubernetes_validate.utils as kv

    ingress = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "prometheus", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "metrics.example.org", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "prometheus", "port": {"number": 9090}}}}]}}]},
    }
    kv.validate(ingress, KUBERNETES_VERSION, strict=True)
    with ClusterSession(namespaces=[NS]) as k8s:
        k8s.put_object("ingresses", NS, ingress)
        IngressAuthBackend(_Module(dict(conn(k8s, tmp_path), name="prometheus", controller=controller,
                                        secret_name="prometheus-basic-auth", auth_secret_type="auth-file",
                                        realm="Prometheus", state="present"))).run()
        stored = k8s.get_object("ingresses", NS, "prometheus")
        (patch,) = [w["body"] for w in k8s.writes()]
    kv.validate(stored, KUBERNETES_VERSION, strict=True)
    assert len(stored["metadata"]["annotations"]) > 1
    # the patch alone, as a partial Ingress, is valid too (annotations are a map of strings)
    kv.validate(dict(patch, apiVersion="networking.k8s.io/v1", kind="Ingress",
                     metadata=dict(patch["metadata"], name="prometheus")), KUBERNETES_VERSION, strict=True)


def test_prometheus_patch_is_only_the_two_string_fields(tmp_path):
    with ClusterSession(namespaces=[NS]) as k8s:
        k8s.put_object("prometheuses", NS, {"metadata": {"name": "k8s"}, "spec": {"replicas": 2}})
        PrometheusUrlBackend(_Module(dict(conn(k8s, tmp_path), name="k8s", external_url="https://m.example.org/p",
                                          route_prefix="/p"))).run()
        (patch,) = [w["body"] for w in k8s.writes()]
    assert patch == {"spec": {"externalUrl": "https://m.example.org/p", "routePrefix": "/p"}}


@pytest.mark.parametrize("endpoint, expected", [
    ({"port": "m", "authorization": {"credentials": {"name": "s"}}}, "'key' is a required property"),
    ({"port": "m", "bearerTokenSecrets": {"name": "s", "key": "k"}}, "Additional properties are not allowed"),
    ({"port": "m", "scheme": "ftp"}, "'ftp' is not one of ['http', 'https']"),
    ({"port": "m", "interval": "30 seconds"}, "does not match"),
])
def test_service_monitor_validation_can_fail(endpoint, expected):
    bad = copy.deepcopy(SERVICE_MONITOR)
    bad["spec"]["endpoints"] = [endpoint]
    errors = service_monitor_errors(bad)
    assert errors and any(expected in e for e in errors), errors


def test_ingress_validation_can_fail():
    import kubernetes_validate.utils as kv

    bad = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "x", "annotations": {"nginx.org/basic-auth-realm": 5}}, "spec": {}}
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, KUBERNETES_VERSION, strict=True)


def _chart_workload(kind):
    obj = copy.deepcopy(CHART_DEPLOYMENT)
    obj["kind"] = kind
    if kind == "StatefulSet":  # as the chart renders it with server.statefulSet.enabled=true
        del obj["spec"]["strategy"]
        obj["spec"].update(serviceName="prometheus-server-headless", podManagementPolicy="OrderedReady")
    return obj


@pytest.mark.parametrize("kind, plural", [("Deployment", "deployments"), ("StatefulSet", "statefulsets")])
def test_chart_workload_validates(kind, plural, tmp_path):
    """k8s_prometheus_url's workload target sets, changes and removes; each stored state is a valid workload."""
    import kubernetes_validate.utils as kv

    kv.validate(_chart_workload(kind), KUBERNETES_VERSION, strict=True)
    states = []
    with ClusterSession(namespaces=[NS]) as k8s:
        k8s.put_object(plural, NS, _chart_workload(kind))
        base = dict(conn(k8s, tmp_path), name="prometheus-server", kind=kind, container="prometheus-server",
                    web_config_key="web.yml", web_config_mount_path="/etc/prometheus-web-config", probes="auto",
                    helm_managed="allow")
        for change in ({"external_url": "https://m.example.org/p", "route_prefix": "/p",
                        "web_config_secret": "prometheus-web-config"},
                       {"external_url": None, "route_prefix": "", "web_config_secret": ""}):
            result = PrometheusWorkloadBackend(_Module(dict(base, **change))).run()
            assert result["changed"]
            states.append(k8s.get_object(plural, NS, "prometheus-server"))
    for state in states:
        kv.validate(state, KUBERNETES_VERSION, strict=True)
    server = [c for c in states[0]["spec"]["template"]["spec"]["containers"] if c["name"] == "prometheus-server"][0]
    assert "--web.config.file=/etc/prometheus-web-config/web.yml" in server["args"]


def test_workload_validation_can_fail():
    import kubernetes_validate.utils as kv

    bad = copy.deepcopy(CHART_DEPLOYMENT)
    bad["spec"]["template"]["spec"]["containers"][1]["volumeMounts"].append({"name": "promaccess-web-config"})
    with pytest.raises(kv.ValidationError, match="'mountPath' is a required property"):
        kv.validate(bad, KUBERNETES_VERSION, strict=True)
