"""A grant's whole life through a real ingress controller: provision, rotate, revoke.

The real control plane of tests/controlplane: kube-apiserver, and Traefik serving an Ingress of class nginx
(its ingress-nginx provider reads the ``nginx.ingress.kubernetes.io/auth-*`` annotations and the auth-file
Secret) in front of a real Prometheus (tests/integration/_ingress_backend.py). The playbooks run as the
operator would run them; a prober plays the grantee, sending a request every 50 ms through Traefik with the
credential the grantee holds (the one in its last hand-off file, decrypted with its age key), and records every
answer. What must hold:

* provision: 401 anonymous, 200 for the grantee and for the internal user;
* rotation, paused after the hand-off: the old and the new credential both get 200; the grantee switches to the
  new one; resuming removes the old one (401) and the new one keeps 200. The prober never gets a 401;
* revoke: the grant's credential gets 401 and the internal user still 200.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from _credentials import age_decrypt, recap, wrong_password
from _ingress_backend import Grantee, PrometheusBehindIngress, status
from promaccess_k8s_role_helpers import ClusterSession

from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS = "lifecycle"


@pytest.mark.slow
def test_provision_rotate_revoke_through_traefik(tmp_path):
    tmp = tmp_path
    for who in ("operator", "team-a"):
        subprocess.run(["age-keygen", "-o", str(tmp / ("%s-key.txt" % who))], capture_output=True, check=True)
    team_a_key = tmp / "team-a-key.txt"
    recipient = subprocess.run(["age-keygen", "-y", str(team_a_key)], capture_output=True, text=True,
                               check=True).stdout.strip()
    with ClusterSession(namespaces=[NS]) as k8s, PrometheusBehindIngress(k8s, NS, tmp) as backend:
        kubeconfig = k8s.write_kubeconfig(tmp / "kubeconfig", context="k8s")
        inventory = {"all": {
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "promaccess_credential_store": str(tmp / "credentials.yml.age"),
                "promaccess_age_identity": str(tmp / "operator-key.txt"),
                "promaccess_handoff_dir": str(tmp / "handoff"),
                "promaccess_grants": [{"name": "team-a", "contact": "Team A", "auth": "both",
                                       "recipients": [recipient]}],
            },
            "children": {"k8s_clusters": {"hosts": {"k8s": {
                "ansible_connection": "local",
                "promaccess_k8s_kubeconfig": kubeconfig,
                "promaccess_k8s_context": "k8s",
                "promaccess_k8s_namespace": NS,
                "promaccess_k8s_ingress_name": "prometheus",
                "promaccess_k8s_external_url": "https://metrics.example.org/prometheus/",
                "promaccess_k8s_verify_url": backend.url,
            }}}},
        }}
        (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"))

        def play(name, *extra):
            proc = subprocess.run(
                [str(BIN / "ansible-playbook"), "-i", str(tmp / "inventory.yml"), "promaccess.core." + name, *extra],
                env=env, capture_output=True, text=True, timeout=900, check=False, cwd=str(tmp))
            assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
            return proc

        def internal():
            ids = age.read_identities(str(tmp / "operator-key.txt"))
            return CredentialStore(str(tmp / "credentials.yml.age"), ids, list(ids.public)).read()["grants"]["internal.k8s"]

        def handed_off():
            return age_decrypt(team_a_key, tmp / "handoff" / "team-a" / "credentials.txt.age")

        api = backend.url + "api/v1/status/buildinfo"

        # -- provision ------------------------------------------------------------------------------------------
        play("provision_access")
        old = handed_off()
        assert status(api) == 401
        assert status(api, old["username"], old["password"]) == 200
        assert status(api, internal()["username"], internal()["password"]) == 200
        assert status(api, old["username"], wrong_password(old["password"])) == 401

        with Grantee(api, old) as grantee:
            # -- rotate until the hand-off: both valid; the grantee then switches to what it was handed ---------
            rotate = ["-e", json.dumps({"promaccess_rotate": ["team-a"]})]
            first = play("rotate_credentials", *rotate, "-e", '{"promaccess_rotate_stop_after_handoff": true}')
            new = handed_off()
            assert new["password"] != old["password"]
            assert status(api, old["username"], old["password"]) == 200
            assert status(api, new["username"], new["password"]) == 200
            grantee.hold(new)
            # -- resume: the old credential goes, the new one stays ----------------------------------------------
            # The grantee switched (above): the operator ends the grace period the first run recorded.
            second = play("rotate_credentials", *rotate, "-e", '{"promaccess_rotate_end_grace": true}')
            assert status(api, old["username"], old["password"]) == 401
            assert status(api, new["username"], new["password"]) == 200
        grantee.assert_never_refused()
        assert {tail for tail, _unused in grantee.answers} == {old["password"][-6:], new["password"][-6:]}
        for proc in (first, second):
            for secret in (old["password"], new["password"]):
                assert secret not in proc.stdout + proc.stderr

        # -- revoke ---------------------------------------------------------------------------------------------
        revoked = play("revoke_access", "-e", json.dumps({"promaccess_revoke": ["team-a"]}))
        assert recap(revoked.stdout, "k8s")["failed"] == 0
        assert status(api, new["username"], new["password"]) == 401
        assert status(api, internal()["username"], internal()["password"]) == 200
