"""The k8s_basic_auth_secret backend against the real kube-apiserver of tests/controlplane."""

from __future__ import annotations

import secrets

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy, identify
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    LAST_APPLIED,
    decode_data,
    encode_data,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.secret import (
    BasicAuthSecretBackend,
    BasicAuthSecretError,
)


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


@pytest.fixture
def base(k8s, tmp_path):
    return dict(
        kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"),
        context=None, host=None, api_key=None, validate_certs=None, ca_cert=None,
        namespace="monitoring", name="prom-auth", format="ingress_nginx_auth_file", labels={},
        state="present", users=[], exclusive=False, bcrypt_rounds=4, rehash="never",
    )


def run(params, **kw):
    module = FakeModule(params, **kw)
    result = BasicAuthSecretBackend(module).run()
    return result, module


def _users(n=2):
    return [{"name": "user%d" % i, "password": secrets.token_urlsafe(16), "state": "present",
             "password_hash": None} for i in range(n)]


FORMATS = [
    ("ingress_nginx_auth_file", "Opaque", ["auth"]),
    ("ingress_nginx_auth_map", "Opaque", ["user0", "user1"]),
    ("nginx_ingress_htpasswd", "nginx.org/htpasswd", ["htpasswd"]),
    ("envoy_gateway", "Opaque", [".htpasswd"]),
    ("traefik", "Opaque", ["users"]),
    ("prometheus_web_config", "Opaque", ["web.yml"]),
]


@pytest.mark.parametrize("fmt,secret_type,keys", FORMATS)
def test_four_step_cycle(base, k8s, fmt, secret_type, keys):
    params = dict(base, format=fmt, users=_users(), labels={"app": "prometheus"})
    first, _unused = run(params, check_mode=True, diff=True)
    assert first["changed"] and first["users_added"] == ["user0", "user1"]
    assert k8s.get_object("secrets", "monitoring", "prom-auth") is None
    assert k8s.writes() == []
    assert "$2" not in str(first["diff"]) and "{SHA}" not in str(first["diff"])

    second, _unused = run(params, diff=True)
    assert second["changed"] and second["secret_keys"] == keys
    stored = k8s.get_object("secrets", "monitoring", "prom-auth")
    assert stored["type"] == secret_type and sorted(stored["data"]) == keys
    assert stored["metadata"]["labels"] == {"app": "prometheus"}
    assert LAST_APPLIED not in str(stored)
    writes = len(k8s.writes())

    third, _unused = run(params, check_mode=True)
    fourth, _unused = run(params)
    for result in (third, fourth):
        assert result["changed"] is False
        assert result["hash_operations"] == 0 and result["verify_operations"] == 2
    assert len(k8s.writes()) == writes


def test_existing_users_order_kept_and_others_untouched(base, k8s):
    internal = HashPolicy("bcrypt", 4).hash("internal", secrets.token_urlsafe(16))
    k8s.put_object("secrets", "monitoring", {
        "metadata": {"name": "prom-auth", "labels": {"team": "x"}},
        "data": encode_data({"auth": "internal:%s\nold:%s\n" % (internal, internal), "other": "kept"}),
    })
    users = _users(1) + [{"name": "old", "state": "absent", "password": None, "password_hash": None}]
    result, _unused = run(dict(base, users=users, labels={"app": "p"}))
    assert result["users_added"] == ["user0"] and result["users_removed"] == ["old"]
    stored = k8s.get_object("secrets", "monitoring", "prom-auth")
    data = decode_data(stored)
    assert data["other"] == "kept"
    assert [line.split(":")[0] for line in data["auth"].splitlines()] == ["internal", "user0"]
    assert data["auth"].startswith("internal:%s\n" % internal)
    assert stored["metadata"]["labels"] == {"team": "x", "app": "p"}


def test_exclusive_and_string_comparison_of_hashes(base, k8s):
    given = HashPolicy("bcrypt", 4).hash("a", secrets.token_urlsafe(16))
    run(dict(base, users=_users(2)))
    result, _unused = run(dict(base, exclusive=True,
                               users=[{"name": "a", "password_hash": given, "password": None, "state": "present"}]))
    assert result["users_removed"] == ["user0", "user1"] and result["users_added"] == ["a"]
    assert result["hash_operations"] == 0 and result["verify_operations"] == 0
    assert decode_data(k8s.get_object("secrets", "monitoring", "prom-auth"))["auth"] == "a:%s\n" % given


def test_envoy_refuses_bcrypt_hash_and_writes_sha(base, k8s):
    bcrypt_hash = HashPolicy("bcrypt", 4).hash("a", secrets.token_urlsafe(16))
    params = dict(base, format="envoy_gateway",
                  users=[{"name": "a", "password_hash": bcrypt_hash, "password": None, "state": "present"}])
    with pytest.raises(BasicAuthSecretError, match="only ldap_sha1.*SHA-1"):
        run(params)
    assert k8s.writes() == []
    run(dict(params, users=_users(1)))
    text = decode_data(k8s.get_object("secrets", "monitoring", "prom-auth"))[".htpasswd"]
    assert identify(text.split(":", 1)[1].strip()).scheme == "ldap_sha1"


def test_web_config_is_bcrypt_and_keeps_other_settings(base, k8s):
    k8s.put_object("secrets", "monitoring", {
        "metadata": {"name": "prom-auth"},
        "data": encode_data({"web.yml": "http_server_config:\n  http2: true\n"}),
    })
    run(dict(base, format="prometheus_web_config", users=_users(1)))
    web = yaml.safe_load(decode_data(k8s.get_object("secrets", "monitoring", "prom-auth"))["web.yml"])
    assert web["http_server_config"] == {"http2": True}
    assert identify(web["basic_auth_users"]["user0"]).scheme == "bcrypt"


@pytest.mark.parametrize("fmt", ["ingress_nginx_auth_map", "ingress_nginx_auth_file"])
def test_labelled_users_are_shown_by_label_never_by_name(base, k8s, fmt):
    minted, retired = "Qm3Zt8Kx" * 8, "pR7wLc2N" * 8  # 64 characters, as the credential store mints them
    old_hash = HashPolicy("bcrypt", 4).hash("x", secrets.token_urlsafe(16))
    old_data = {retired: old_hash} if fmt == "ingress_nginx_auth_map" else {"auth": "%s:%s\n" % (retired, old_hash)}
    k8s.put_object("secrets", "monitoring", {"metadata": {"name": "prom-auth"}, "data": encode_data(old_data)})
    users = [
        {"name": "internal", "password": secrets.token_urlsafe(16), "password_hash": None, "state": "present"},
        {"name": minted, "label": "team-a (current)", "password": secrets.token_urlsafe(16), "password_hash": None,
         "state": "present"},
        {"name": retired, "label": "team-a (retired)", "password": None, "password_hash": None, "state": "absent"},
    ]
    result, module = run(dict(base, format=fmt, users=users), diff=True)
    assert result["users_added"] == ["internal", "team-a (current)"]
    assert result["users_removed"] == ["team-a (retired)"]
    assert "team-a (current): bcrypt" in result["diff"]["after"] and "team-a (retired)" in result["diff"]["before"]
    if fmt == "ingress_nginx_auth_map":  # one key per user: a labelled user's key is shown by its label
        assert result["secret_keys"] == ["internal", "team-a (current)"]
    shown = repr(result) + repr(module.warnings)
    assert minted not in shown and retired not in shown
    data = decode_data(k8s.get_object("secrets", "monitoring", "prom-auth"))
    if fmt == "ingress_nginx_auth_map":
        held = list(data)
    else:
        held = [line.split(":")[0] for line in data["auth"].splitlines()]
    assert sorted(held) == sorted(["internal", minted])  # the Secret holds the real names, never a label


def test_secret_type_mismatch_is_refused(base, k8s):
    k8s.put_object("secrets", "monitoring", {"metadata": {"name": "prom-auth"}, "type": "Opaque", "data": {}})
    with pytest.raises(BasicAuthSecretError, match="needs type 'nginx.org/htpasswd'"):
        run(dict(base, format="nginx_ingress_htpasswd", users=_users(1)))


def test_conflict_is_retried_on_fresh_read(base, k8s):
    run(dict(base, users=_users(1)))
    k8s.inject_conflicts("update", 1)
    result, _unused = run(dict(base, users=_users(2)))
    assert result["changed"] and result["conflicts_retried"] == 1
    names = [line.split(":")[0] for line in decode_data(k8s.get_object("secrets", "monitoring", "prom-auth"))["auth"].splitlines()]
    assert names == ["user0", "user1"]


def test_forbidden_and_missing_namespace(base, k8s):
    # an account that may create Secrets everywhere learns that a namespace is missing (404) ...
    for check_mode in (True, False):
        with pytest.raises(BasicAuthSecretError, match="namespace 'nowhere' does not exist"):
            run(dict(base, namespace="nowhere", users=_users(1)), check_mode=check_mode)
    # ... one that may not create them in a namespace is told so (403 from RBAC, which comes before admission,
    # so such an account gets 403, not 404, for a missing namespace too)
    k8s.forbid("create", "secrets", "monitoring")
    with pytest.raises(BasicAuthSecretError, match="RBAC denied.*may not create secrets in namespace 'monitoring'"):
        run(dict(base, users=_users(1)))


def test_last_applied_dropped_with_warning(base, k8s):
    k8s.put_object("secrets", "monitoring", {
        "metadata": {"name": "prom-auth", "annotations": {LAST_APPLIED: '{"data":{"auth":"old"}}'}},
        "data": encode_data({"auth": ""}),
    })
    _unused, module = run(dict(base, users=_users(1)))
    assert "annotations" not in k8s.get_object("secrets", "monitoring", "prom-auth")["metadata"]
    assert any("dropped" in w for w in module.warnings)


def test_absent(base, k8s):
    result, _unused = run(dict(base, state="absent"))
    assert result["changed"] is False
    run(dict(base, users=_users(1)))
    result, _unused = run(dict(base, state="absent"), check_mode=True, diff=True)
    assert result["changed"] and k8s.get_object("secrets", "monitoring", "prom-auth") is not None
    result, _unused = run(dict(base, state="absent"))
    assert result["changed"] and k8s.get_object("secrets", "monitoring", "prom-auth") is None


def test_the_narrow_service_account_reads_but_may_not_write(k8s, base, tmp_path):
    """The control plane's ServiceAccount promaccess-system/narrow (build/k8s/narrow.kubeconfig): its Role in
    namespace narrow lets it read Secrets and nothing more. Check mode works with it; a write is a clear 403."""
    narrow = dict(base, kubeconfig=k8s.state["narrow_kubeconfig"], namespace="narrow")
    k8s.put_object("secrets", "narrow", {"metadata": {"name": "prom-auth"}, "type": "Opaque",
                                         "data": encode_data({"auth": ""})})
    check, _unused = run(dict(narrow, users=_users(1)), check_mode=True)
    assert check["changed"] and check["users_added"] == ["user0"]
    with pytest.raises(BasicAuthSecretError, match="RBAC denied.*may not update secrets in namespace 'narrow'"):
        run(dict(narrow, users=_users(1)))
    with pytest.raises(BasicAuthSecretError, match="RBAC denied.*may not create secrets in namespace 'narrow'"):
        run(dict(narrow, name="other", users=_users(1)))
    assert decode_data(k8s.get_object("secrets", "narrow", "prom-auth")) == {"auth": ""}


HELM_METADATA = {
    "name": "prom-auth",
    "labels": {"app.kubernetes.io/managed-by": "Helm"},
    "annotations": {"meta.helm.sh/release-name": "support", "meta.helm.sh/release-namespace": "support"},
}


def test_a_secret_helm_manages_is_refused_unless_allowed(base, k8s):
    """The next helm upgrade would undo the change: refused before anything is sent, in check mode too, and a
    deletion as well; helm_managed=allow changes it; a Helm object that needs no change is no error."""
    k8s.put_object("secrets", "monitoring", {"metadata": dict(HELM_METADATA), "type": "Opaque",
                                             "data": encode_data({"auth": ""})})
    before = k8s.get_object("secrets", "monitoring", "prom-auth")
    users = _users(1)
    for kw in ({}, {"check_mode": True}):
        with pytest.raises(BasicAuthSecretError, match=r"managed by Helm \(release 'support' in namespace 'support'\)"
                                                       r".*helm_values_users.*helm_managed=allow") as info:
            run(dict(base, users=users), **kw)
        assert "Secret 'prom-auth'" in str(info.value) and users[0]["name"] not in str(info.value)
    with pytest.raises(BasicAuthSecretError, match="would undo its deletion"):
        run(dict(base, state="absent"))
    assert k8s.get_object("secrets", "monitoring", "prom-auth")["metadata"]["resourceVersion"] == \
        before["metadata"]["resourceVersion"]

    result, _unused = run(dict(base, users=users, helm_managed="allow"))
    assert result["changed"]
    users[0]["password_hash"] = None  # the same password again: nothing to change, so Helm's ownership is no matter
    result, _unused = run(dict(base, users=users))
    assert result["changed"] is False
