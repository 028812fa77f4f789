"""The Kubernetes client helpers, against the real kube-apiserver of tests/controlplane."""

from __future__ import annotations

import base64
import secrets

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    LAST_APPLIED,
    K8sError,
    SecretApi,
    connection_spec,
    decode_data,
    encode_data,
    make_api_client,
)


@pytest.fixture
def api(k8s, tmp_path):
    kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")
    return SecretApi(make_api_client({"kubeconfig": kubeconfig}))


def _secret(name, data, **meta):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": dict(name=name, **meta), "data": encode_data(data)}


def test_connection_spec_names_and_env_like_kubernetes_core():
    spec = connection_spec()
    expected = {
        "kubeconfig": "K8S_AUTH_KUBECONFIG",
        "context": "K8S_AUTH_CONTEXT",
        "host": "K8S_AUTH_HOST",
        "api_key": "K8S_AUTH_API_KEY",
        "validate_certs": "K8S_AUTH_VERIFY_SSL",
        "ca_cert": "K8S_AUTH_SSL_CA_CERT",
    }
    assert set(spec) == set(expected)
    for option, variable in expected.items():
        assert spec[option]["fallback"][1] == [variable]
    assert spec["api_key"]["no_log"] is True
    assert spec["validate_certs"]["aliases"] == ["verify_ssl"]
    assert spec["ca_cert"]["aliases"] == ["ssl_ca_cert"]


def test_env_fallback_reaches_the_module_params(monkeypatch):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    monkeypatch.setenv("K8S_AUTH_HOST", "http://127.0.0.1:1")
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "false")
    result = ArgumentSpecValidator(connection_spec()).validate({})
    assert result.error_messages == []
    assert result.validated_parameters["host"] == "http://127.0.0.1:1"
    assert result.validated_parameters["validate_certs"] is False


def test_host_and_api_key_without_kubeconfig(k8s):
    api = SecretApi(make_api_client({"host": k8s.url, "api_key": k8s.token(), "ca_cert": k8s.ca_file}))
    assert api.get("monitoring", "absent") is None  # authenticated and authorised as the session's account
    stranger = SecretApi(make_api_client({"host": k8s.url, "api_key": secrets.token_hex(16), "ca_cert": k8s.ca_file}))
    with pytest.raises(K8sError) as info:
        stranger.get("monitoring", "absent")
    assert info.value.status == 401


def test_kubeconfig_context_is_used(k8s, tmp_path):
    kubeconfig = k8s.write_kubeconfig(tmp_path / "kc", context="other")
    api = SecretApi(make_api_client({"kubeconfig": kubeconfig, "context": "other"}))
    assert api.namespace_exists("monitoring") is True
    with pytest.raises(K8sError, match="cannot load kubeconfig"):
        make_api_client({"kubeconfig": kubeconfig, "context": "nope"})


def test_create_get_replace_delete(api, k8s):
    created = api.create("monitoring", _secret("s", {"auth": "a:b\n"}))
    assert created["metadata"]["resourceVersion"]
    got = api.get("monitoring", "s")
    assert decode_data(got) == {"auth": "a:b\n"}
    got["data"] = encode_data({"auth": "c:d\n"})
    api.replace("monitoring", "s", got)
    assert decode_data(api.get("monitoring", "s")) == {"auth": "c:d\n"}
    assert api.delete("monitoring", "s") is True
    assert api.delete("monitoring", "s") is False
    assert api.get("monitoring", "s") is None


def test_replace_with_stale_resource_version_conflicts(api):
    api.create("monitoring", _secret("s", {"k": "1"}))
    stale = api.get("monitoring", "s")
    fresh = api.get("monitoring", "s")
    fresh["data"] = encode_data({"k": "2"})
    api.replace("monitoring", "s", fresh)
    with pytest.raises(K8sError) as info:
        api.replace("monitoring", "s", stale)
    assert info.value.status == 409


def test_update_retries_on_conflict_with_a_fresh_read(api, k8s):
    api.create("monitoring", _secret("s", {"n": "1"}))
    k8s.inject_conflicts("update", 1)
    seen = []

    def mutate(current):
        seen.append(current["metadata"]["resourceVersion"])
        current["data"] = encode_data({"n": str(int(decode_data(current)["n"]) + 1)})
        return current

    result = api.update("monitoring", "s", mutate)
    assert result["written"] and result["conflicts"] == 1
    assert len(seen) == 2
    assert decode_data(api.get("monitoring", "s")) == {"n": "2"}
    puts = [r for r in k8s.requests if r["method"] == "PUT"]
    assert len(puts) == 2 and all(r["body"]["metadata"]["resourceVersion"] for r in puts)


def test_update_gives_up_after_bounded_conflicts(api, k8s):
    api.create("monitoring", _secret("s", {"n": "1"}))
    k8s.inject_conflicts("update", 100)
    with pytest.raises(K8sError, match="gave up after 3"):
        api.update("monitoring", "s", lambda current: current, retries=2)
    assert len([r for r in k8s.requests if r["method"] == "PUT"]) == 3


def test_update_without_change_does_not_write(api, k8s):
    api.create("monitoring", _secret("s", {"n": "1"}))
    before = len(k8s.writes())
    result = api.update("monitoring", "s", lambda current: None)
    assert not result["written"] and len(k8s.writes()) == before


def test_update_without_write_computes_and_sends_nothing(api, k8s):
    """Check mode: the same read and mutate as a real run, no write; a create in a missing namespace is refused."""
    api.create("monitoring", _secret("s", {"n": "1"}))
    before = len(k8s.writes())
    changed = api.update("monitoring", "s", lambda current: dict(current, data=encode_data({"n": "2"})), write=False)
    assert changed["wanted"] is not None and changed["after"] is None and not changed["written"]
    created = api.update("monitoring", "new", lambda current: _secret("new", {"n": "1"}), write=False)
    assert created["before"] is None and created["wanted"]["metadata"]["name"] == "new"
    unchanged = api.update("monitoring", "s", lambda current: None, write=False)
    assert unchanged["wanted"] is None and unchanged["after"] == unchanged["before"]
    assert len(k8s.writes()) == before
    with pytest.raises(K8sError, match="namespace 'nowhere' does not exist"):
        api.update("nowhere", "s", lambda current: _secret("s", {"n": "1"}), write=False)


def test_last_applied_annotation_is_never_written(api, k8s):
    body = _secret("s", {"auth": "a:b\n"}, annotations={LAST_APPLIED: '{"data": "old"}', "keep": "me"})
    api.create("monitoring", body)
    stored = k8s.get_object("secrets", "monitoring", "s")
    assert stored["metadata"]["annotations"] == {"keep": "me"}
    # one written by kubectl apply, then rewritten by us: gone
    k8s.put_object("secrets", "monitoring", _secret("t", {"a": "b"}, annotations={LAST_APPLIED: "{}"}))
    api.update("monitoring", "t", lambda current: dict(current, data=encode_data({"a": "c"})))
    assert "annotations" not in k8s.get_object("secrets", "monitoring", "t")["metadata"]
    assert not any(LAST_APPLIED in str(r["body"]) for r in k8s.writes())


def test_forbidden_names_verb_resource_namespace(api, k8s):
    k8s.forbid("create", "secrets", "monitoring")
    with pytest.raises(K8sError) as info:
        api.create("monitoring", _secret("s", {"a": "b"}))
    message = str(info.value)
    assert info.value.status == 403
    assert "RBAC denied" in message and "'create'" in message and "'secrets'" in message and "'monitoring'" in message


def test_forbidden_get_is_an_error_not_absence(api, k8s):
    k8s.forbid("get", "secrets", "monitoring")
    with pytest.raises(K8sError, match="may not get secrets in namespace 'monitoring'"):
        api.get("monitoring", "s")


def test_missing_namespace(api):
    assert api.namespace_exists("nowhere") is False
    assert api.get("nowhere", "s") is None
    with pytest.raises(K8sError, match="namespace 'nowhere' does not exist"):
        api.create("nowhere", _secret("s", {"a": "b"}))


def test_namespace_probe_denied_is_unknown(api, k8s):
    k8s.forbid("get", "namespaces", "monitoring")
    assert api.namespace_exists("monitoring") is None


def test_unreachable_server(tmp_path):
    api = SecretApi(make_api_client({"host": "http://127.0.0.1:9", "api_key": "x"}))
    api.core.api_client.configuration.retries = 0
    with pytest.raises(K8sError, match="cannot reach"):
        api.get("monitoring", "s")


def test_decode_refuses_non_text():
    with pytest.raises(K8sError, match="not base64"):
        decode_data({"data": {"k": "!!!"}})
    with pytest.raises(K8sError, match="'k'"):
        decode_data({"data": {"k": base64.b64encode(b"\xff\xfe").decode()}})
