"""promaccess.core.k8s_basic_auth_secret run by ansible-playbook against the real kube-apiserver of
tests/controlplane: real RBAC (403), a real 409 from a concurrent writer, a real 404 for a missing namespace.
What the playbook asserts is in k8s_basic_auth_secret.yml; this file then checks what the API server stored with
passlib, independently of the module, and reads what the module sent from the API server's audit log.
"""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_playbook = _load("promaccess_test_targets", HERE / "test_targets.py").run_playbook
from controlplane.session import ClusterSession  # noqa: E402 - tests/ is on sys.path (tests/conftest.py)


@pytest.mark.slow
# Two formats only: every module run imports the kubernetes client (seconds each); the other formats run
# over the same HTTP path in tests/unit/plugins/module_utils/_k8s/test_secret.py.
@pytest.mark.parametrize("fmt", ["ingress_nginx_auth_file", "prometheus_web_config"])
def test_playbook_against_the_api_server(fmt, tmp_path):
    from passlib.apache import HtpasswdFile
    from passlib.hash import bcrypt, ldap_sha1

    passwords = {name: secrets.token_urlsafe(18) for name in ("internal", "team_a", "team_b")}
    with ClusterSession(namespaces=["monitoring", "locked"]) as k8s, ClusterSession(namespaces=["monitoring"]) as wide:
        k8s.forbid("create", "secrets", "locked")
        kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")
        # RBAC comes before admission: only an account that may create Secrets in every namespace (a
        # ClusterRoleBinding) learns that a namespace is missing; the locked-out one gets 403 there too
        wide_kubeconfig = wide.write_kubeconfig(tmp_path / "wide-kubeconfig")
        varsfile = tmp_path / "vars.yml"
        varsfile.write_text(yaml.safe_dump({
            "k8s_format": fmt, "k8s_passwords": passwords, "k8s_faults_url": k8s.faults_url,
            "k8s_wide_kubeconfig": wide_kubeconfig,
        }))
        varsfile.chmod(0o600)
        proc = run_playbook(HERE / "k8s_basic_auth_secret.yml", tmp_path,
                            {"K8S_AUTH_KUBECONFIG": kubeconfig}, "-e", "@%s" % varsfile)
        assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
        for password in passwords.values():
            assert password not in proc.stdout and password not in proc.stderr
        stored = k8s.get_object("secrets", "monitoring", "prometheus-basic-auth")
        writes = k8s.writes()

    import base64
    data = {k: base64.b64decode(v).decode() for k, v in stored["data"].items()}
    assert "last-applied-configuration" not in str(writes)
    assert stored["metadata"]["labels"] == {"app.kubernetes.io/part-of": "prometheus"}
    if fmt == "prometheus_web_config":
        users = yaml.safe_load(data["web.yml"])["basic_auth_users"]
        assert list(users) == ["internal", "team-a", "team-b"]
        assert all(bcrypt.verify(passwords[n.replace("-", "_")], h) for n, h in users.items())
    else:
        key = {"ingress_nginx_auth_file": "auth", "envoy_gateway": ".htpasswd"}[fmt]
        ht = HtpasswdFile.from_string(data[key])
        assert ht.users() == ["internal", "team-a", "team-b"]
        for name in ht.users():
            assert ht.check_password(name, passwords[name.replace("-", "_")])
        if fmt == "envoy_gateway":
            assert all(ldap_sha1.identify(ht.get_hash(n).decode()) for n in ht.users())
