"""The collection's ServiceMonitor credentials as the real Prometheus Operator reads them.

tests/controlplane runs the Prometheus Operator (built from its Go module, CRDs from the same module) against
the real kube-apiserver, watching namespace ``operator``. k8s_scrape_auth (its backend, over the kubernetes
client as the module uses it) wires a bearer token and a basic-auth pair into two ServiceMonitors; the operator
must render them into the configuration it generates for the Prometheus ``k8s`` (Secret ``prometheus-k8s``,
key ``prometheus.yaml.gz``), then follow a rotation to a new key, without ever rejecting the ServiceMonitors.
A ServiceMonitor that points at a missing Secret key shows what the operator does with one: it leaves it out of
the configuration and records a Warning event ``InvalidConfiguration`` naming the key.
"""

from __future__ import annotations

import base64
import gzip
import secrets
import time

import pytest
import yaml

from controlplane.session import ClusterSession

from ansible_collections.promaccess.core.plugins.module_utils._k8s.scrape_auth import ScrapeAuthBackend

NS = "operator"  # one of the namespaces the operator of tests/controlplane watches


class _Module:
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = False

    def warn(self, message):
        pass


def scrape(k8s, tmp_path, **kw):
    params = dict(kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None, api_key=None,
                  validate_certs=None, ca_cert=None, namespace=NS, endpoint_ports=[], endpoint_indexes=[],
                  auth_type="bearer", secret_name=None, secret_namespace=None, secret_key=None, token=None,
                  username_key=None, password_key=None, username=None, password=None, remove_keys=[],
                  secret_labels={})
    params.update(kw)
    return ScrapeAuthBackend(_Module(params)).run()


def service_monitor(name):
    return {"metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "endpoints": [{"port": "metrics"}]}}


def generated_jobs(k8s) -> dict:
    secret = k8s.get_object("secrets", NS, "prometheus-k8s")
    if not secret or "prometheus.yaml.gz" not in (secret.get("data") or {}):
        return {}
    config = yaml.safe_load(gzip.decompress(base64.b64decode(secret["data"]["prometheus.yaml.gz"])))
    return {job["job_name"]: job for job in config.get("scrape_configs") or []}


def wait_for(k8s, predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        jobs = generated_jobs(k8s)
        if predicate(jobs):
            return jobs
        if time.monotonic() > deadline:
            raise AssertionError("the operator never rendered %s; jobs: %s" % (what, sorted(jobs)))
        time.sleep(0.25)


def rejections(k8s) -> list[str]:
    events = (k8s.admin.get("/api/v1/namespaces/%s/events" % NS) or {}).get("items") or []
    return ["%s: %s" % (e["involvedObject"]["name"], e["message"]) for e in events
            if e["reason"] == "InvalidConfiguration"]


@pytest.mark.slow
def test_operator_renders_the_scrape_credentials_and_follows_a_rotation(tmp_path):
    token, token2 = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    password = secrets.token_urlsafe(24)
    exporter, web = "serviceMonitor/%s/exporter/0" % NS, "serviceMonitor/%s/prometheus-self/0" % NS
    with ClusterSession(namespaces=[NS]) as k8s:
        k8s.put_object("prometheuses", NS, {"metadata": {"name": "k8s"},
                                            "spec": {"replicas": 1, "serviceMonitorSelector": {}}})
        k8s.put_object("servicemonitors", NS, service_monitor("exporter"))
        k8s.put_object("servicemonitors", NS, service_monitor("prometheus-self"))

        scrape(k8s, tmp_path, service_monitor="exporter", secret_name="exporter-scrape", secret_key="token",
               token=token)
        scrape(k8s, tmp_path, service_monitor="prometheus-self", auth_type="basic", secret_name="self-scrape",
               username="internal", password=password)
        # the operator reconciles asynchronously: it may render the self-scrape job once before the second
        # call patches its ServiceMonitor, so wait for both credentials, not for the job's mere presence
        jobs = wait_for(k8s, lambda j: (j.get(exporter, {}).get("authorization") or {}).get("credentials") == token
                        and "basic_auth" in j.get(web, {}), "the first credentials")
        assert jobs[exporter]["authorization"] == {"type": "Bearer", "credentials": token}
        assert jobs[web]["basic_auth"] == {"username": "internal", "password": password}

        # rotation: the new token under a new key, the ServiceMonitor moved to it, the old key removed
        result = scrape(k8s, tmp_path, service_monitor="exporter", secret_name="exporter-scrape",
                        secret_key="token-2", token=token2, remove_keys=["token"])
        assert result["changed"]
        jobs = wait_for(k8s, lambda j: (j.get(exporter, {}).get("authorization") or {}).get("credentials") == token2,
                        "the rotated token")
        assert jobs[web]["basic_auth"]["password"] == password
        assert rejections(k8s) == []  # the operator never saw a reference to a missing key

        # what the operator does with a ServiceMonitor whose Secret key is missing
        broken = service_monitor("broken")
        broken["spec"]["endpoints"][0]["authorization"] = {
            "type": "Bearer", "credentials": {"name": "exporter-scrape", "key": "token"}}
        k8s.put_object("servicemonitors", NS, broken)
        deadline = time.monotonic() + 60
        while not rejections(k8s):
            assert time.monotonic() < deadline, "no InvalidConfiguration event for the broken ServiceMonitor"
            time.sleep(0.25)
        (rejection,) = set(rejections(k8s))
        assert rejection.startswith("broken: ") and 'key "token" in secret "exporter-scrape" not found' in rejection
        jobs = generated_jobs(k8s)
        assert "serviceMonitor/%s/broken/0" % NS not in jobs and exporter in jobs and web in jobs
