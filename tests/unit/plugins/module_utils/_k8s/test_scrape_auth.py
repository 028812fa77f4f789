"""The k8s_scrape_auth backend, pure helpers and against the real kube-apiserver of tests/controlplane."""

from __future__ import annotations

import secrets

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import decode_data
from ansible_collections.promaccess.core.plugins.module_utils._k8s.scrape_auth import (
    ScrapeAuthBackend,
    ScrapeAuthError,
    referenced_keys,
    rewire,
    select_endpoints,
)


NS = "certctl"
K8S_NAMESPACES = [NS]
SM = "certctl-server"


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


def service_monitor(endpoints):
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": SM, "labels": {"release": "prom"}},
        "spec": {"selector": {"matchLabels": {"app": "certctl"}}, "endpoints": endpoints},
    }


@pytest.fixture
def base(k8s, tmp_path):
    return dict(
        kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"),
        context=None, host=None, api_key=None, validate_certs=None, ca_cert=None,
        namespace=NS, service_monitor=SM, endpoint_ports=[], endpoint_indexes=[], auth_type="bearer",
        secret_name=None, secret_namespace=None, secret_key=None, token=None, username_key=None,
        password_key=None, username=None, password=None, remove_keys=[], secret_labels={},
    )


def run(params, **kw):
    return ScrapeAuthBackend(FakeModule(params, **kw)).run()


# -- pure helpers ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ports, indexes, expected",
    [(["web"], [], [0]), (["web", "metrics"], [], [0, 2]), ([], [1], [1]), ([], [2, 0, 2], [0, 2])],
)
def test_select_endpoints(ports, indexes, expected):
    endpoints = [{"port": "web"}, {"path": "/x"}, {"port": "metrics"}]
    assert select_endpoints(endpoints, ports, indexes) == expected


@pytest.mark.parametrize(
    "ports, indexes, message",
    [(["nope"], [], "no endpoint with port 'nope'"), ([], [3], "no endpoint at index 3"), ([], [], "has 3 endpoints")],
)
def test_select_endpoints_refuses(ports, indexes, message):
    with pytest.raises(ScrapeAuthError, match=message):
        select_endpoints([{"port": "web"}, {}, {"port": "m"}], ports, indexes)


def test_rewire_touches_only_auth_fields():
    endpoint = {"port": "web", "interval": "30s", "tlsConfig": {"insecureSkipVerify": True},
                "bearerTokenSecret": {"name": "s", "key": "k"}}
    wanted = {"authorization": {"type": "Bearer", "credentials": {"name": "s", "key": "k"}}}
    new, changed = rewire(endpoint, wanted)
    assert changed
    assert new == {"port": "web", "interval": "30s", "tlsConfig": {"insecureSkipVerify": True}, **wanted}
    assert rewire(new, wanted) == (new, False)


def test_referenced_keys_all_kinds():
    endpoints = [
        {"authorization": {"credentials": {"name": "s", "key": "a"}}},
        {"bearerTokenSecret": {"name": "s", "key": "b"}},
        {"basicAuth": {"username": {"name": "s", "key": "u"}, "password": {"name": "other", "key": "p"}}},
    ]
    assert referenced_keys(endpoints, "s") == {"a", "b", "u"}


# -- against the real API server --------------------------------------------------------------------------------------
def test_bearer_four_step_cycle_and_only_owned_fields(k8s, base, client_requests):
    k8s.put_object("servicemonitors", NS, service_monitor([
        {"port": "https", "interval": "30s", "scheme": "https", "tlsConfig": {"insecureSkipVerify": True}},
        {"port": "other", "interval": "1m"},
    ]))
    token = secrets.token_urlsafe(32)
    params = dict(base, endpoint_ports=["https"], secret_name="certctl-prometheus-key", secret_key="api-key",
                  token=token)
    check = run(params, check_mode=True, diff=True)
    assert check["changed"] and check["secret_changed"] and check["service_monitor_changed"]
    assert check["endpoints_changed"] == ["port https"]
    assert k8s.writes() == []
    assert token not in str(check)

    applied = run(params, diff=True)
    assert applied["changed"] and applied["secret_values_changed"] == ["api-key"]
    assert token not in str(applied)
    secret = k8s.get_object("secrets", NS, "certctl-prometheus-key")
    assert decode_data(secret) == {"api-key": token}
    monitor = k8s.get_object("servicemonitors", NS, SM)
    assert monitor["spec"]["endpoints"] == [
        {"port": "https", "interval": "30s", "scheme": "https", "tlsConfig": {"insecureSkipVerify": True},
         "authorization": {"type": "Bearer", "credentials": {"name": "certctl-prometheus-key", "key": "api-key"}}},
        {"port": "other", "interval": "1m"},
    ]
    assert monitor["metadata"]["labels"] == {"release": "prom"}
    patches = [w for w in k8s.writes() if w["method"] == "PATCH"]
    assert len(patches) == 1
    assert [r["headers"]["Content-Type"] for r in client_requests if r["method"] == "PATCH"] == [
        "application/merge-patch+json"]
    assert set(patches[0]["body"]) == {"metadata", "spec"} and set(patches[0]["body"]["spec"]) == {"endpoints"}
    assert "fieldManager=promaccess.core" in patches[0]["path"]

    writes = len(k8s.writes())
    assert run(params, check_mode=True)["changed"] is False
    again = run(params)
    assert again["changed"] is False and again["secret_values_changed"] == []
    assert len(k8s.writes()) == writes


def test_migrates_bearer_token_secret_without_new_input(k8s, base):
    k8s.put_object("secrets", NS, {"metadata": {"name": "certctl-prometheus-key"},
                                   "data": {"api-key": "c2VjcmV0"}})
    k8s.put_object("servicemonitors", NS, service_monitor([
        {"port": "https", "bearerTokenSecret": {"name": "certctl-prometheus-key", "key": "api-key"}},
    ]))
    result = run(base, diff=True)
    assert result["changed"] and not result["secret_changed"]
    assert result["migrated_from_bearer_token_secret"] == ["port https"]
    endpoint = k8s.get_object("servicemonitors", NS, SM)["spec"]["endpoints"][0]
    assert "bearerTokenSecret" not in endpoint
    assert endpoint["authorization"] == {"type": "Bearer",
                                         "credentials": {"name": "certctl-prometheus-key", "key": "api-key"}}
    assert "bearerTokenSecret" in result["diff"]["before"] and "bearerTokenSecret" not in result["diff"]["after"]
    assert run(base)["changed"] is False


def test_rotation_new_key_switch_then_remove_old(k8s, base):
    k8s.put_object("secrets", NS, {"metadata": {"name": "key"}, "data": {"api-key": "b2xk"}})
    k8s.put_object("servicemonitors", NS, service_monitor([
        {"port": "https", "authorization": {"type": "Bearer", "credentials": {"name": "key", "key": "api-key"}}},
    ]))
    new_token = secrets.token_urlsafe(32)
    params = dict(base, secret_name="key", secret_key="api-key-2", token=new_token, remove_keys=["api-key"])
    result = run(params)
    assert result["keys_removed"] == ["api-key"] and result["secret_keys"] == ["api-key-2"]
    assert decode_data(k8s.get_object("secrets", NS, "key")) == {"api-key-2": new_token}
    endpoint = k8s.get_object("servicemonitors", NS, SM)["spec"]["endpoints"][0]
    assert endpoint["authorization"]["credentials"]["key"] == "api-key-2"
    # order of writes: new key, then the switch, then the removal
    kinds = [(w["method"], w["path"].split("?")[0].rsplit("/", 2)[-2]) for w in k8s.writes()]
    assert kinds == [("PUT", "secrets"), ("PATCH", "servicemonitors"), ("PUT", "secrets")]
    assert run(params)["changed"] is False


def test_refuses_to_remove_a_referenced_key(k8s, base):
    k8s.put_object("secrets", NS, {"metadata": {"name": "key"}, "data": {"a": "eA==", "b": "eQ=="}})
    k8s.put_object("servicemonitors", NS, service_monitor([
        {"port": "one", "authorization": {"credentials": {"name": "key", "key": "a"}}},
        {"port": "two", "authorization": {"credentials": {"name": "key", "key": "b"}}},
    ]))
    with pytest.raises(ScrapeAuthError, match="cannot remove key.* b .*still reference"):
        run(dict(base, endpoint_ports=["one"], remove_keys=["b"]))


def test_basic_auth_replaces_authorization(k8s, base):
    k8s.put_object("servicemonitors", NS, service_monitor([
        {"port": "m", "authorization": {"type": "Bearer", "credentials": {"name": "s", "key": "token"}}},
    ]))
    password = secrets.token_urlsafe(24)
    params = dict(base, auth_type="basic", secret_name="s", username="prometheus", password=password)
    result = run(params)
    assert result["changed"]
    endpoint = k8s.get_object("servicemonitors", NS, SM)["spec"]["endpoints"][0]
    assert "authorization" not in endpoint
    assert endpoint["basicAuth"] == {"username": {"name": "s", "key": "username"},
                                     "password": {"name": "s", "key": "password"}}
    assert decode_data(k8s.get_object("secrets", NS, "s")) == {"username": "prometheus", "password": password}
    assert run(params)["changed"] is False


def test_conflict_on_the_service_monitor_is_retried(k8s, base):
    k8s.put_object("servicemonitors", NS, service_monitor([{"port": "m"}]))
    k8s.inject_conflicts("patch", 1)
    result = run(dict(base, secret_name="s", token="t0ken"))
    assert result["conflicts_retried"] == 1 and result["service_monitor_changed"]


def test_stale_resource_version_is_a_conflict(k8s, base, tmp_path):
    """The resourceVersion in the patch is what protects the whole endpoint list: prove the API server honours it."""
    from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import K8sError, ObjectApi, make_api_client

    k8s.put_object("servicemonitors", NS, service_monitor([{"port": "m"}]))
    api = ObjectApi(make_api_client({"kubeconfig": base["kubeconfig"]}), "monitoring.coreos.com", "v1", "servicemonitors")
    with pytest.raises(K8sError) as info:
        api.merge_patch(NS, SM, {"metadata": {"resourceVersion": "1"}, "spec": {"endpoints": []}})
    assert info.value.status == 409


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(secret_namespace="monitoring", secret_name="s", token="t"), "must be in the ServiceMonitor's namespace"),
        (dict(token="t"), "give secret_name"),
        (dict(secret_name="s"), "has no key token and no value was given"),
        (dict(secret_name="s", token="t\n"), "line breaks"),
    ],
)
def test_refusals(k8s, base, change, message):
    k8s.put_object("servicemonitors", NS, service_monitor([{"port": "m"}]))
    with pytest.raises(ScrapeAuthError, match=message):
        run(dict(base, **change))
    assert k8s.writes() == []


def test_refuses_oauth2_endpoint_and_reports_rbac(k8s, base):
    k8s.put_object("servicemonitors", NS, service_monitor([{"port": "m", "oauth2": {
        "tokenUrl": "https://sso.example.org/token",
        "clientId": {"secret": {"name": "oauth", "key": "id"}},
        "clientSecret": {"name": "oauth", "key": "secret"}}}]))
    with pytest.raises(ScrapeAuthError, match="oauth2, which cannot be combined"):
        run(dict(base, secret_name="s", token="t"))
    k8s.forbid("get", "servicemonitors", NS)
    with pytest.raises(ScrapeAuthError, match="RBAC denied.*servicemonitors"):
        run(dict(base, secret_name="s", token="t"))


def test_missing_service_monitor(base):
    with pytest.raises(ScrapeAuthError, match="ServiceMonitor 'certctl-server' not found"):
        run(dict(base, secret_name="s", token="t"))


# -- wire_endpoints: false (a chart renders the ServiceMonitor) ----------------------------------------------------
def test_without_wiring_only_the_secret_is_written_and_the_chart_reference_is_checked(k8s, base):
    chart_endpoint = {"port": "https", "bearerTokenSecret": {"name": "certctl-prometheus-key", "key": "api-key"},
                      "tlsConfig": {"insecureSkipVerify": True}}
    k8s.put_object("servicemonitors", NS, service_monitor([chart_endpoint]))
    before = k8s.get_object("servicemonitors", NS, SM)
    params = dict(base, wire_endpoints=False, secret_name="certctl-prometheus-key", secret_key="api-key",
                  token="t-1")
    result = run(params)
    assert result["changed"] and result["secret_changed"] and not result["service_monitor_changed"]
    assert decode_data(k8s.get_object("secrets", NS, "certctl-prometheus-key")) == {"api-key": "t-1"}
    # a rotation: the value moves in place; the ServiceMonitor is never written
    assert run(dict(params, token="t-2"))["secret_values_changed"] == ["api-key"]
    after = k8s.get_object("servicemonitors", NS, SM)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    # a chart whose values do not reference the Secret yet: refused before anything is written, naming the values
    k8s.put_object("servicemonitors", NS, service_monitor([{"port": "https"}]))
    with pytest.raises(ScrapeAuthError, match=r"port https of the ServiceMonitor do\(es\) not reference Secret "
                                              r"'other' with key\(s\) api-key: set bearerTokenSecret"):
        run(dict(params, secret_name="other"))
    assert k8s.get_object("secrets", NS, "other") is None
