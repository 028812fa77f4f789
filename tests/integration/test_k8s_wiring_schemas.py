"""What k8s_scrape_auth, k8s_ingress_auth and k8s_prometheus_url leave on the API server, validated by schema.

The backends run over real HTTP against the stand-in API server (tests/k8s_standin/server.py, not Kubernetes;
it stores objects without validating them). The objects it then holds are validated:

* Secrets and Ingresses against the Kubernetes OpenAPI schema with kubernetes-validate (pinned Kubernetes
  KUBERNETES_VERSION, strict: unknown fields are errors);
* ServiceMonitors with jsonschema against the Prometheus Operator CRD's openAPIV3Schema shipped in
  tests/data/crds (upstream version in the README there), made strict the same way.

The Prometheus CRD is not shipped (too large, see tests/data/crds/README.md).
"""

from __future__ import annotations

import copy
import importlib.util
import secrets
from pathlib import Path

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._k8s_scrape_auth import ScrapeAuthBackend
from ansible_collections.promaccess.core.plugins.module_utils._k8s_wiring import IngressAuthBackend, PrometheusUrlBackend

HERE = Path(__file__).resolve().parent
CRDS = HERE.parent / "data" / "crds"
KUBERNETES_VERSION = "1.33.0"  # as in test_k8s_consumers.py
NS = "monitoring"
_spec = importlib.util.spec_from_file_location("promaccess_standin_loader3", HERE.parent / "k8s_standin" / "__init__.py")
_loader = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_loader)
StandinServer = _loader.load().StandinServer


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


def conn(standin, tmp_path):
    return dict(kubeconfig=standin.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None, api_key=None,
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


def test_service_monitor_and_secrets_validate(tmp_path):
    import kubernetes_validate.utils as kv

    assert service_monitor_errors(SERVICE_MONITOR) == []  # the starting point is valid too
    with StandinServer(namespaces=[NS]) as standin:
        standin.put_object("servicemonitors", NS, SERVICE_MONITOR)
        connection = conn(standin, tmp_path)
        # bearer on one endpoint: migrates bearerTokenSecret to authorization, new key, old key removed
        ScrapeAuthBackend(_Module(scrape_params(
            connection, endpoint_ports=["https"], secret_key="api-key-2", token=secrets.token_urlsafe(32),
            secret_labels={"app.kubernetes.io/part-of": "prometheus"}))).run()
        monitor = standin.get_object("servicemonitors", NS, "app")
        assert service_monitor_errors(monitor) == []
        assert "authorization" in monitor["spec"]["endpoints"][0]
        # basic auth on the other one
        ScrapeAuthBackend(_Module(scrape_params(
            connection, endpoint_ports=["exporter"], auth_type="basic", secret_name="exporter-scrape",
            username="prometheus", password=secrets.token_urlsafe(24)))).run()
        monitor = standin.get_object("servicemonitors", NS, "app")
        secret_bodies = [w["body"] for w in standin.writes() if w["path"].split("?")[0].rsplit("/", 2)[-2] == "secrets"
                         or w["path"].split("?")[0].endswith("/secrets")]
        stored = [standin.get_object("secrets", NS, n) for n in ("scrape", "exporter-scrape")]
    assert service_monitor_errors(monitor) == []
    assert "basicAuth" in monitor["spec"]["endpoints"][1]
    assert len(secret_bodies) == 2
    for body in secret_bodies + stored:
        kv.validate(body, KUBERNETES_VERSION, strict=True)


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
    with StandinServer(namespaces=[NS]) as standin:
        standin.put_object("ingresses", NS, ingress)
        IngressAuthBackend(_Module(dict(conn(standin, tmp_path), name="prometheus", controller=controller,
                                        secret_name="prometheus-basic-auth", auth_secret_type="auth-file",
                                        realm="Prometheus", state="present"))).run()
        stored = standin.get_object("ingresses", NS, "prometheus")
        (patch,) = [w["body"] for w in standin.writes()]
    kv.validate(stored, KUBERNETES_VERSION, strict=True)
    assert len(stored["metadata"]["annotations"]) > 1
    # the patch alone, as a partial Ingress, is valid too (annotations are a map of strings)
    kv.validate(dict(patch, apiVersion="networking.k8s.io/v1", kind="Ingress",
                     metadata=dict(patch["metadata"], name="prometheus")), KUBERNETES_VERSION, strict=True)


def test_prometheus_patch_is_only_the_two_string_fields(tmp_path):
    with StandinServer(namespaces=[NS]) as standin:
        standin.put_object("prometheuses", NS, {"metadata": {"name": "k8s"}, "spec": {"replicas": 2}})
        PrometheusUrlBackend(_Module(dict(conn(standin, tmp_path), name="k8s", external_url="https://m.example.org/p",
                                          route_prefix="/p"))).run()
        (patch,) = [w["body"] for w in standin.writes()]
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
