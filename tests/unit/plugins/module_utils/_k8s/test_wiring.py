"""The k8s_ingress_auth and k8s_prometheus_url backends, against the real kube-apiserver of tests/controlplane."""

from __future__ import annotations


import pytest

from ansible_collections.promaccess.core.plugins.module_utils._k8s.wiring import (
    IngressAuthBackend,
    PrometheusUrlBackend,
    WiringError,
    annotation_patch,
    ingress_annotations,
)


NS = "monitoring"
K8S_NAMESPACES = [NS]
FOREIGN = {"kubernetes.io/ingress.class": "nginx", "nginx.ingress.kubernetes.io/proxy-body-size": "8m"}


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff

    def warn(self, message):  # pragma: no cover - not used by these backends
        raise AssertionError(message)


def ingress():
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "prometheus", "annotations": dict(FOREIGN)},
        "spec": {"rules": [{"host": "metrics.example.org", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "prometheus", "port": {"number": 9090}}}}]}}]},
    }


ANNOTATION = "promaccess.test/concurrent-write"  # what the concurrent writer of tests/controlplane sets


def prometheus(**spec):
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "k8s"},
            "spec": dict({"replicas": 1, "serviceMonitorSelector": {}}, **spec)}


@pytest.fixture
def conn(k8s, tmp_path):
    return dict(kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None, api_key=None,
                validate_certs=None, ca_cert=None, namespace=NS)


def ingress_params(conn, **kw):
    return dict(conn, name="prometheus", controller="ingress_nginx", secret_name="prometheus-basic-auth",
                auth_secret_type="auth-file", realm="Prometheus", state="present", **kw)


@pytest.mark.parametrize("controller, keys", [
    ("ingress_nginx", {"nginx.ingress.kubernetes.io/auth-type", "nginx.ingress.kubernetes.io/auth-secret",
                       "nginx.ingress.kubernetes.io/auth-secret-type", "nginx.ingress.kubernetes.io/auth-realm"}),
    ("nginx_ingress", {"nginx.org/basic-auth-secret", "nginx.org/basic-auth-realm"}),
])
def test_annotations_per_controller(controller, keys):
    assert set(ingress_annotations(controller, "s", "R")) == keys


def test_annotation_patch_names_only_differences():
    current = {"metadata": {"annotations": {"a": "1", "b": "2", "c": "3"}}}
    assert annotation_patch(current, {"a": "1", "b": "x", "d": None, "c": None}) == {
        "metadata": {"annotations": {"b": "x", "c": None}}}
    assert annotation_patch(current, {"a": "1"}) is None


@pytest.mark.parametrize("controller", ["ingress_nginx", "nginx_ingress"])
def test_ingress_four_steps_then_absent(k8s, conn, controller):
    k8s.put_object("ingresses", NS, ingress())
    params = ingress_params(conn)
    params["controller"] = controller
    check = IngressAuthBackend(FakeModule(params, check_mode=True, diff=True)).run()
    assert check["changed"] and check["before"] == {}
    assert k8s.writes() == []
    applied = IngressAuthBackend(FakeModule(params, diff=True)).run()
    assert applied["after"] == check["after"] == ingress_annotations(controller, "prometheus-basic-auth", "Prometheus")
    assert "prometheus-basic-auth" in applied["diff"]["after"]
    stored = k8s.get_object("ingresses", NS, "prometheus")
    assert stored["metadata"]["annotations"] == dict(FOREIGN, **applied["after"])
    assert stored["spec"] == ingress()["spec"]
    (patch,) = k8s.writes()
    assert patch["method"] == "PATCH" and patch["body"] == {"metadata": {"annotations": applied["after"]}}
    assert "/apis/networking.k8s.io/v1/namespaces/monitoring/ingresses/prometheus" in patch["path"]
    assert IngressAuthBackend(FakeModule(params, check_mode=True)).run()["changed"] is False
    assert IngressAuthBackend(FakeModule(params)).run()["changed"] is False
    assert len(k8s.writes()) == 1

    absent = IngressAuthBackend(FakeModule(dict(params, state="absent"))).run()
    assert absent["changed"] and absent["after"] == {}
    assert k8s.get_object("ingresses", NS, "prometheus")["metadata"]["annotations"] == FOREIGN


def test_ingress_changes_only_the_differing_annotation(k8s, conn):
    k8s.put_object("ingresses", NS, ingress())
    IngressAuthBackend(FakeModule(ingress_params(conn))).run()
    IngressAuthBackend(FakeModule(ingress_params(conn) | {"auth_secret_type": "auth-map"})).run()
    assert k8s.writes()[-1]["body"] == {
        "metadata": {"annotations": {"nginx.ingress.kubernetes.io/auth-secret-type": "auth-map"}}}


@pytest.mark.parametrize("change, message", [
    ({"controller": "nginx_ingress", "secret_name": "other/s"}, "in the Ingress's namespace"),
    ({"controller": "nginx_ingress", "auth_secret_type": "auth-map"}, "ingress_nginx only"),
    ({"realm": 'a"b'}, "double quotes"),
    ({"name": "missing"}, "Ingress 'missing' not found"),
])
def test_ingress_refusals(k8s, conn, change, message):
    k8s.put_object("ingresses", NS, ingress())
    with pytest.raises(WiringError, match=message):
        IngressAuthBackend(FakeModule(ingress_params(conn) | change)).run()
    assert k8s.writes() == []


def test_ingress_rbac(k8s, conn):
    k8s.put_object("ingresses", NS, ingress())
    k8s.forbid("patch", "ingresses", NS)
    with pytest.raises(WiringError, match="RBAC denied.*'patch' on resource 'ingresses'"):
        IngressAuthBackend(FakeModule(ingress_params(conn))).run()


def test_prometheus_url_cycle(k8s, conn):
    # the API server fills in the CRD's defaults (scrapeInterval, evaluationInterval, portName, shards)
    initial = k8s.put_object("prometheuses", NS, prometheus(routePrefix="/old"))
    params = dict(conn, name="k8s", external_url="https://metrics.example.org/prometheus", route_prefix="/prometheus")
    check = PrometheusUrlBackend(FakeModule(params, check_mode=True, diff=True)).run()
    assert check["changed"] and check["before"] == {"routePrefix": "/old"}
    assert check["after"] == {"externalUrl": params["external_url"], "routePrefix": "/prometheus"}
    assert k8s.writes() == []
    applied = PrometheusUrlBackend(FakeModule(params)).run()
    assert applied["after"] == check["after"]
    stored = k8s.get_object("prometheuses", NS, "k8s")
    assert stored["spec"] == dict(initial["spec"], externalUrl=params["external_url"], routePrefix="/prometheus")
    assert k8s.writes()[0]["body"] == {"spec": check["after"]}
    assert PrometheusUrlBackend(FakeModule(params)).run()["changed"] is False
    # an option left out is not managed; "" removes the field
    removed = PrometheusUrlBackend(FakeModule(dict(params, external_url=None, route_prefix=""))).run()
    assert removed["after"] == {"externalUrl": params["external_url"]}
    assert k8s.writes()[-1]["body"] == {"spec": {"routePrefix": None}}


def test_prometheus_url_patch_survives_a_concurrent_writer(k8s, conn):
    """The Prometheus patch carries no resourceVersion (it names only externalUrl and routePrefix): when another
    writer changes the object while the API server holds the patch, the server re-applies the patch to the new
    object itself. No 409 reaches the module, and neither write is lost."""
    k8s.put_object("prometheuses", NS, prometheus())
    k8s.inject_conflicts("patch", 2)
    result = PrometheusUrlBackend(FakeModule(dict(conn, name="k8s", external_url="http://p:9090/", route_prefix=None))).run()
    assert result["changed"] and result["conflicts_retried"] == 0
    stored = k8s.get_object("prometheuses", NS, "k8s")
    assert stored["spec"]["externalUrl"] == "http://p:9090/"
    # both concurrent writes happened, each while the server held the patch, which it re-applied each time
    assert [f["resource"] for f in k8s.webhook.fired] == ["prometheuses"] * 2
    assert stored["metadata"]["annotations"][ANNOTATION] == "2"


@pytest.mark.parametrize("change, message", [
    ({"external_url": "metrics.example.org"}, "absolute http"),
    ({"route_prefix": "prometheus"}, "must start with /"),
])
def test_prometheus_url_refusals(k8s, conn, change, message):
    k8s.put_object("prometheuses", NS, prometheus())
    with pytest.raises(WiringError, match=message):
        PrometheusUrlBackend(FakeModule(dict(conn, name="k8s", external_url=None, route_prefix=None) | change)).run()
