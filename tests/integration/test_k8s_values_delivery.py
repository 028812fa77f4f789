"""Delivery ``values`` (#15): a cluster whose chart owns the basic-auth Secret and the Ingress, its users kept in a
sops-encrypted Helm values file of the operator's checkout, shaped like 2i2c's support chart.

Real parts: the kube-apiserver and Traefik (ingress-nginx annotations) of tests/controlplane in front of a real
Prometheus, the real ``helm`` (through kubernetes.core.helm) installing ``tests/charts/support``, whose Secret is
rendered with Sprig's ``htpasswd`` from ``prometheusIngressAuthSecret.users``, the real ``sops`` with age keys.
What must hold:

* the cluster starts as 2i2c runs it: the chart installed with one reserved user (their central Grafana's);
* the playbooks in delivery ``direct`` refuse the chart's Secret, naming the release;
* the access report finds no drift (the reserved entry is not unknown, the chart's own hashes are not hand
  edits);
* provision in delivery ``values``: the values file stays sops-encrypted with its recipient; the reserved entry
  stays first and unchanged, the cluster's internal credential and the grant follow; helm upgrade renders them;
  through the ingress, 401 anonymous and with a wrong password, 200 for the grantee, internal and reserved users;
  a second run changes nothing: values file byte-identical, no new release revision;
* rotation, paused after the hand-off: old and new both 200; resumed: old 401, new 200; a prober holding the
  grantee's credential never gets a 401 across the helm upgrades;
* revoke: 401 for the grant, 200 for the internal and the reserved users; no password in any output.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from pathlib import Path

import pytest

from _credentials import recap, wrong_password
from _gitops import Checkout
from _ingress_backend import Grantee, PrometheusBehindIngress, status
from controlplane.controlplane import binaries
from promaccess_k8s_role_helpers import ClusterSession

REPO = Path(__file__).resolve().parents[2]
NS = "valuesdelivery"
CHART = REPO / "tests" / "charts" / "support"
KEY_PATH = ["prometheusIngressAuthSecret", "users"]


def _pwgen() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _unused in range(64))


@pytest.mark.slow
def test_values_delivery_through_helm_and_the_ingress(tmp_path, sops_on_path):
    tmp = tmp_path
    helm = str(binaries(["helm"])["helm"])
    checkout = Checkout(tmp, sops_on_path, helm)
    play, internal, handed_off = checkout.play, checkout.internal, checkout.handed_off

    # -- the operator's checkout of the infrastructure repository, as 2i2c keeps it ------------------------------
    reserved = {"username": _pwgen(), "password": _pwgen()}  # 2i2c's central Grafana's entry
    secret_values = checkout.secret_values("enc-support.secret.values.yaml",
                                           {"prometheusIngressAuthSecret": {"users": [reserved]}})
    plain_values = checkout.cluster_dir / "support.values.yaml"

    with ClusterSession(namespaces=[NS]) as k8s, \
            PrometheusBehindIngress(k8s, NS, tmp, ingress=False) as backend:
        plain_values.write_text(
            "# the support chart's settings of this cluster (not secret)\n"
            "prometheusIngress:\n  path: %s\n" % backend.prefix)
        checkout.connect(k8s, NS)
        api = backend.url + "api/v1/status/buildinfo"

        # -- the cluster as it runs before the collection: the chart with its reserved user -----------------------
        checkout.first_install("support", CHART, plain_values, secret_values)
        _wait_status(api, 401)
        _wait_status(api, 200, reserved["username"], reserved["password"])

        checkout.write_inventory({
            "promaccess_k8s_secret_name": "prometheus-ingress-auth-basic",
            "promaccess_k8s_external_url": "https://prometheus.example.2i2c.cloud/",
            "promaccess_k8s_verify_url": backend.url,
            # relative: from the folder ansible-playbook runs in, the checkout
            "promaccess_k8s_values_file": "config/clusters/example/enc-support.secret.values.yaml",
            "promaccess_k8s_values_key_path": KEY_PATH,
            "promaccess_k8s_helm_release": "support",
            "promaccess_k8s_helm_chart": str(CHART),
            "promaccess_k8s_helm_values_files": ["config/clusters/example/support.values.yaml"],
        })

        def users():
            return checkout.decrypted(secret_values)["prometheusIngressAuthSecret"]["users"]

        def revision():
            return checkout.revision("support")

        outputs = []

        # -- delivery direct: the chart's Secret is refused, naming the release ------------------------------------
        refused = play("provision_access", "-e", "promaccess_k8s_delivery=direct", ok=False)
        assert "is managed by Helm (release 'support'" in refused.stdout, refused.stdout[-4000:]
        assert "promaccess_k8s_delivery values" in refused.stdout
        outputs.append(refused)

        # -- provision, values ----------------------------------------------------------------------------------
        first = play("provision_access", "-v")
        outputs.append(first)
        assert recap(first.stdout, "example")["failed"] == 0
        grant = handed_off()
        listed = users()
        assert listed[0] == reserved
        assert [u["username"] for u in listed[1:]] == [internal()["username"], grant["username"]]
        assert {u["password"] for u in listed[1:]} == {internal()["password"], grant["password"]}
        raw = secret_values.read_bytes()
        assert b"sops:" in raw and checkout.operator_public.encode() in raw and grant["password"].encode() not in raw
        secret = k8s.get_object("secrets", NS, "prometheus-ingress-auth-basic")
        assert secret["metadata"]["annotations"]["meta.helm.sh/release-name"] == "support"
        assert revision() == 2
        assert status(api) == 401
        assert status(api, grant["username"], grant["password"]) == 200
        assert status(api, internal()["username"], internal()["password"]) == 200
        assert status(api, reserved["username"], reserved["password"]) == 200
        assert status(api, grant["username"], wrong_password(grant["password"])) == 401

        # -- idempotent: nothing changes, no helm upgrade -----------------------------------------------------------
        again = play("provision_access")
        outputs.append(again)
        assert recap(again.stdout, "example")["changed"] == 0, again.stdout[-6000:]
        assert secret_values.read_bytes() == raw
        assert revision() == 2

        # -- the access report reads the Secret the chart rendered: every credential there, hashed by the chart ----
        reports = tmp / "reports"
        audit = play("access_report", "-e", json.dumps({"promaccess_report_dir": str(reports)}))
        outputs.append(audit)
        report = json.loads((reports / "access-report.json").read_text())
        # the reserved head is someone else's, and the chart's own hashes are not drift
        assert report["summary"]["drift"] == 0, report["findings"]
        assert report["summary"]["entries"] == 2 and report["summary"]["ok"] == 2, report["summary"]

        # -- rotation through the values file, the prober never refused ---------------------------------------------
        old = grant
        with Grantee(api, old) as grantee:
            rotate = ["-e", json.dumps({"promaccess_rotate": ["team-a"]})]
            outputs.append(play("rotate_credentials", *rotate, "-e", '{"promaccess_rotate_stop_after_handoff": true}'))
            new = handed_off()
            assert new["password"] != old["password"]
            assert status(api, old["username"], old["password"]) == 200
            assert status(api, new["username"], new["password"]) == 200
            assert [u["username"] for u in users()][-2:] == [old["username"], new["username"]]
            grantee.hold(new)
            outputs.append(play("rotate_credentials", *rotate, "-e", '{"promaccess_rotate_end_grace": true}'))
            assert status(api, old["username"], old["password"]) == 401
            assert status(api, new["username"], new["password"]) == 200
        grantee.assert_never_refused()
        assert users()[0] == reserved and len(users()) == 3

        # -- revoke -----------------------------------------------------------------------------------------------
        revoked = play("revoke_access", "-e", json.dumps({"promaccess_revoke": ["team-a"]}))
        outputs.append(revoked)
        assert status(api, new["username"], new["password"]) == 401
        assert status(api, internal()["username"], internal()["password"]) == 200
        assert status(api, reserved["username"], reserved["password"]) == 200
        assert [u["username"] for u in users()] == [reserved["username"], internal()["username"]]

        for proc in outputs:
            text = proc.stdout + proc.stderr
            for value in (old["password"], new["password"], internal()["password"], reserved["password"],
                          old["username"], new["username"], reserved["username"]):
                assert value not in text


def _wait_status(url, want, user=None, password=None, timeout=60):
    deadline = time.monotonic() + timeout
    while (got := status(url, user, password)) != want:
        assert time.monotonic() < deadline, "%s answered %s, not %s" % (url, got, want)
        time.sleep(0.2)
