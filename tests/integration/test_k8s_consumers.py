"""What k8s_basic_auth_secret writes, checked by the real consumers that can run here.

* The htpasswd-shaped Secret data (ingress-nginx ``auth``, F5 ``htpasswd``, Envoy ``.htpasswd``, Traefik
  ``users``) is served as an ``auth_basic_user_file`` by a real nginx (a plain process on 127.0.0.1): 401
  without credentials, 401 with a wrong password, 200 with each user's password. nginx stands in for the
  controllers' own readers; ingress-nginx is nginx, the others read the same htpasswd syntax.
* The Prometheus ``web.yml`` passes ``promtool check web-config`` and a real Prometheus started with it
  answers 401 / 200.
* Every Secret the module sends validates against the real Kubernetes OpenAPI schema (kubernetes-validate,
  pinned to Kubernetes KUBERNETES_VERSION, strict: unknown fields are errors).
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._common.users import reconcile
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import FORMAT_NAMES, get_format
from ansible_collections.promaccess.core.plugins.module_utils._k8s.secret import BasicAuthSecretBackend

HERE = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.33.0"  # one of kubernetes_validate.utils.all_versions() in kubernetes-validate 1.37.0
from controlplane.session import ClusterSession  # noqa: E402 - tests/ is on sys.path (tests/conftest.py)
from _local_servers import NativePrometheus, StaticNginx, curl_status  # noqa: E402 - tests/integration is on sys.path


def users_for(fmt_name):
    fmt = get_format(fmt_name)
    passwords = {"internal": secrets.token_urlsafe(18), "team-a": secrets.token_urlsafe(18)}
    wanted = [{"name": n, "password": p} for n, p in passwords.items()]
    outcome = reconcile({}, wanted, HashPolicy(fmt.scheme, 5), allowed_hash_schemes=fmt.allowed_hash_schemes)
    document, _unused = fmt.parse({})
    return fmt.render(document, outcome.users), passwords


HTPASSWD_FORMATS = {
    "ingress_nginx_auth_file": "auth",
    "nginx_ingress_htpasswd": "htpasswd",
    "envoy_gateway": ".htpasswd",
    "traefik": "users",
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt_name", sorted(HTPASSWD_FORMATS))
def test_htpasswd_data_read_by_real_nginx(fmt_name, tmp_path):
    data, passwords = users_for(fmt_name)
    userfile = tmp_path / "auth"
    userfile.write_text(data[HTPASSWD_FORMATS[fmt_name]])
    with StaticNginx(tmp_path, userfile) as nginx:
        url = nginx.url
        assert curl_status(url, "team-a", "wrong-" + passwords["team-a"]) == "401"
        assert curl_status(url, "internal", passwords["team-a"]) == "401"
        for name, password in passwords.items():
            assert curl_status(url, name, password) == "200", name


@pytest.mark.slow
def test_web_config_read_by_promtool_and_real_prometheus(tmp_path):
    data, passwords = users_for("prometheus_web_config")
    web = tmp_path / "web.yml"
    web.write_text(data["web.yml"])
    with NativePrometheus(tmp_path, web) as prometheus:  # promtool check web-config passes, then requests
        assert curl_status(prometheus.url, "team-a", "wrong-" + passwords["team-a"]) == "401"
        for name, password in passwords.items():
            assert curl_status(prometheus.url, name, password) == "200", name


def test_promtool_rejects_a_web_config_without_bcrypt(tmp_path):
    """The check above could fail: promtool does refuse a non-bcrypt hash (why the format is bcrypt only)."""
    sha = HashPolicy("ldap_sha1").hash("a", secrets.token_urlsafe(12))
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users:\n  a: '%s'\n" % sha)
    check = subprocess.run(["promtool", "check", "web-config", str(web)], capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode != 0


class _Module:
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = False

    def warn(self, message):
        pass


@pytest.mark.parametrize("fmt_name", FORMAT_NAMES)
def test_written_secrets_validate_against_kubernetes_schema(fmt_name, tmp_path):
    import kubernetes_validate.utils as kv

    assert KUBERNETES_VERSION in kv.all_versions()
    with ClusterSession(namespaces=["monitoring"]) as k8s:
        params = dict(
            kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None, api_key=None,
            validate_certs=None, ca_cert=None, namespace="monitoring", name="prom-auth", format=fmt_name,
            labels={"app.kubernetes.io/name": "prometheus"}, state="present", exclusive=False,
            bcrypt_rounds=4, rehash="never",
            users=[{"name": "internal", "password": secrets.token_urlsafe(12), "password_hash": None, "state": "present"}],
        )
        BasicAuthSecretBackend(_Module(params)).run()
        params["users"].append({"name": "team-a", "password": secrets.token_urlsafe(12), "password_hash": None,
                                "state": "present"})
        BasicAuthSecretBackend(_Module(params)).run()
        bodies = [r["body"] for r in k8s.writes()]
    assert [r.get("kind") for r in bodies] == ["Secret", "Secret"]
    for body in bodies:
        kv.validate(body, KUBERNETES_VERSION, strict=True)


def test_schema_validation_can_fail():
    import kubernetes_validate.utils as kv

    bad = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"auth": 5}}
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, KUBERNETES_VERSION, strict=True)
