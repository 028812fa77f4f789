"""The k8s_scrape_access_info backend against the real kube-apiserver of tests/controlplane: what a ServiceMonitor
sends and what a token Secret accepts, compared with the store's hashes (real bcrypt verification)."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from passlib.hash import bcrypt

from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import AccessInfoError
from ansible_collections.promaccess.core.plugins.module_utils._audit.scrape_info import K8sScrapeAccessInfoBackend

NS = "scrapeaudit"
K8S_NAMESPACES = [NS]
KEY = "0123456789abcdef" * 4


class FakeModule:
    def __init__(self, params):
        self.params = params


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _cred(grant, role="current"):
    name, password = secrets.token_hex(8), secrets.token_urlsafe(24)
    hashed = bcrypt.using(rounds=4, ident="2y").hash(password)
    return {"grant": grant, "role": role, "name": name, "password_hash": hashed}, password


@pytest.fixture
def params(k8s, tmp_path):
    def make(**extra):
        base = dict(kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None,
                    api_key=None, validate_certs=None, ca_cert=None, namespace=NS, auth_type="bearer",
                    endpoint_ports=[], endpoint_indexes=[], key="tokens", format="lines", expected_users=[],
                    fingerprint_key=KEY)
        base.update(extra)
        return base
    return make


def run(params):
    return K8sScrapeAccessInfoBackend(FakeModule(params)).run()


def test_service_monitor_sends_the_current_credential_not_the_retired_one(k8s, params):
    current, current_password = _cred("exporter-scrape")
    retired, retired_password = _cred("exporter-scrape", "retired")
    k8s.put_object("secrets", NS, {"metadata": {"name": "exporter-scrape"},
                                   "data": {"token": _b64(current_password)}})
    k8s.put_object("servicemonitors", NS, {
        "metadata": {"name": "exporter"},
        "spec": {"selector": {}, "endpoints": [
            {"port": "metrics", "authorization": {"type": "Bearer",
                                                  "credentials": {"name": "exporter-scrape", "key": "token"}}},
            {"port": "other"}]}})
    result = run(params(source="service_monitor", name="exporter", endpoint_ports=["metrics"],
                        expected_users=[current, retired]))
    assert result["secret"]["exists"] and result["secret"]["readable"] and result["secret"]["error"] is None
    assert result["secret"]["secrets"] == ["%s/exporter-scrape" % NS] and result["secret"]["endpoints"] == 1
    assert [(r["role"], r["present"], r["matches_store"]) for r in result["expected"]] == [
        ("current", True, True), ("retired", False, None)]
    assert result["entries"] == 1 and result["unexpected_count"] == 0
    text = json.dumps(result)
    for secret in (current_password, retired_password, current["name"], current["password_hash"]):
        assert secret not in text
    # a token the store does not know: listed by fingerprint only
    k8s.put_object("secrets", NS, {"metadata": {"name": "exporter-scrape"}, "data": {"token": _b64("hand-made")}})
    result = run(params(source="service_monitor", name="exporter", endpoint_ports=["metrics"],
                        expected_users=[current]))
    assert not result["expected"][0]["present"] and result["unexpected_count"] == 1
    assert "hand-made" not in json.dumps(result)


def test_service_monitor_basic_auth_needs_the_user_name_too(k8s, params):
    internal, password = _cred("internal.k8s")
    k8s.put_object("secrets", NS, {"metadata": {"name": "self-scrape"},
                                   "data": {"username": _b64(internal["name"]), "password": _b64(password)}})
    k8s.put_object("servicemonitors", NS, {
        "metadata": {"name": "prometheus-self"},
        "spec": {"selector": {}, "endpoints": [{"port": "web", "basicAuth": {
            "username": {"name": "self-scrape", "key": "username"},
            "password": {"name": "self-scrape", "key": "password"}}}]}})
    good = run(params(source="service_monitor", name="prometheus-self", auth_type="basic", expected_users=[internal]))
    assert good["expected"][0]["present"]
    other = dict(internal, name="someone-else")
    bad = run(params(source="service_monitor", name="prometheus-self", auth_type="basic", expected_users=[other]))
    assert not bad["expected"][0]["present"] and bad["unexpected_count"] == 1


def test_token_secret_lists_the_accepted_tokens(k8s, params):
    current, current_password = _cred("exporter-scrape")
    pending, pending_password = _cred("exporter-scrape", "pending")
    revoked, revoked_password = _cred("gone", "revoked")
    k8s.put_object("secrets", NS, {"metadata": {"name": "exporter-tokens"}, "data": {
        "tokens": _b64("# accepted\n%s\n%s\n%s\n" % (current_password, revoked_password, current_password))}})
    result = run(params(source="token_secret", name="exporter-tokens",
                        expected_users=[current, pending, revoked]))
    assert [r["present"] for r in result["expected"]] == [True, False, True]
    assert result["entries"] == 2 and result["secret"]["duplicate_names"] == 1
    assert pending_password not in json.dumps(result)


@pytest.mark.parametrize("source, name, match", [
    ("service_monitor", "nowhere", None),
    ("token_secret", "nowhere", None),
])
def test_missing_objects_are_reported_not_raised(k8s, params, source, name, match):
    result = run(params(source=source, name=name))
    assert result["secret"]["exists"] is False and result["secret"]["error"] is match and result["entries"] == 0


def test_a_referenced_secret_that_is_gone_is_unreadable(k8s, params):
    k8s.put_object("servicemonitors", NS, {
        "metadata": {"name": "dangling"},
        "spec": {"selector": {}, "endpoints": [{"bearerTokenSecret": {"name": "gone", "key": "token"}}]}})
    result = run(params(source="service_monitor", name="dangling"))
    assert result["secret"]["exists"] and not result["secret"]["readable"]
    assert result["secret"]["error"] == "Secret %s/gone does not exist" % NS


def test_bad_expected_entries_are_refused_before_any_request(params):
    with pytest.raises(AccessInfoError, match="needs a grant"):
        run(params(source="token_secret", name="x", expected_users=[{"name": "n"}]))
