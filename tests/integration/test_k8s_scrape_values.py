"""Scrape credentials the certctl way (#15): the chart renders the ServiceMonitor, its ``bearerTokenSecret`` set in
the chart's values and pointing at a Secret the operator owns; the collection keeps the token in that Secret
(``wire_endpoints: false``), never touching the ServiceMonitor, and the rotation waits on the targets API of a
Prometheus that scrapes with what the real Prometheus Operator generated.

Real parts: the kube-apiserver and the Prometheus Operator of tests/controlplane, the real ``helm`` installing
``tests/charts/certctl``, Debian's ``prometheus`` scraping with the job the operator generated. Stand-ins (no
kubelet, no certctl here): the certctl server (200 for a bearer token its token Secret lists, else 401:
_token_target.py) and the Pod's config-reloader sidecar (it copies the generated configuration to that
Prometheus and reloads it; it also stands in for Kubernetes service discovery, which Debian's Prometheus lacks:
see OperatorConfigReloader). What must hold:

* provision: the Secret holds the grant's token, the operator's generated job sends it, tlsConfig and every other
  endpoint field are the chart's, and the target is up; the ServiceMonitor is never written;
* rotation: the token Secret accepts old and new, the Secret moves in place, the run waits until the operator's
  new configuration is loaded and the target up with it, then the old token is refused; the scraping
  Prometheus never gets a 401 from the target;
* ``wire_endpoints: true`` on the chart's ServiceMonitor is refused (Helm owns it); no token in any output.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from _credentials import recap
from _gitops import CLUSTER, Checkout
from _ingress_backend import free_port, host_ipv4
from _token_target import TokenTarget
from controlplane.controlplane import binaries
from promaccess_k8s_role_helpers import ClusterSession

REPO = Path(__file__).resolve().parents[2]
NS = "operator"  # a namespace the operator of tests/controlplane watches
CHART = REPO / "tests" / "charts" / "certctl"
RELEASE = "certctl"
SM = "certctl-server"
POOL = "serviceMonitor/%s/%s/0" % (NS, SM)


def _secret_data(k8s, name) -> dict:
    obj = k8s.get_object("secrets", NS, name)
    return {} if obj is None else {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def _generated(k8s) -> dict:
    secret = k8s.get_object("secrets", NS, "prometheus-k8s")
    if not secret or "prometheus.yaml.gz" not in (secret.get("data") or {}):
        return {}
    return yaml.safe_load(gzip.decompress(base64.b64decode(secret["data"]["prometheus.yaml.gz"])))


def _sent(k8s):
    """The bearer token of the job the operator generated for the chart's ServiceMonitor (``bearer_token`` for a
    bearerTokenSecret, ``authorization.credentials`` for an authorization)."""
    for job in _generated(k8s).get("scrape_configs") or []:
        if job["job_name"] == POOL:
            return job.get("bearer_token") or (job.get("authorization") or {}).get("credentials")
    return None


class OperatorConfigReloader(threading.Thread):
    """STANDS IN for the config-reloader sidecar of the Prometheus Pod (no kubelet here), driving a REAL
    Prometheus: it copies the configuration the real operator generated (Secret prometheus-k8s) to that
    Prometheus, expanding ``$(SHARD)`` and ``$(POD_NAME)`` as the sidecar does from the Pod's environment, and
    reloads it when the configuration changed. Debian's Prometheus is built without Kubernetes service discovery,
    so each ``kubernetes_sd_configs`` (role endpointslice) becomes a file_sd file this stand-in writes from the
    API server's EndpointSlices and Services, with the ``__meta_kubernetes_*`` labels that discovery gives; the
    operator's relabelling, credentials, TLS settings and every other field are used as it generated them."""

    def __init__(self, k8s, tmp):
        super().__init__(daemon=True)
        self.k8s, self.tmp = k8s, tmp
        self.port = free_port("127.0.0.1")
        self.url = "http://127.0.0.1:%d/" % self.port
        self.config = tmp / "operator-generated.yml"
        self.config.write_text("scrape_configs: []\n")
        self.stop = threading.Event()
        self.reloads = 0
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=%s" % self.config, "--web.listen-address=127.0.0.1:%d" % self.port,
             "--web.enable-lifecycle", "--storage.tsdb.path=%s" % (tmp / "operator-prometheus-data")],
            stdout=subprocess.DEVNULL, stderr=(tmp / "operator-prometheus.log").open("wb"))

    def _discovered(self, sd: dict) -> list[dict]:
        """The target groups Kubernetes service discovery (role endpointslice) would give."""
        assert sd.get("role") == "endpointslice", sd
        groups = []
        for namespace in (sd.get("namespaces") or {}).get("names") or []:
            path = "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % namespace
            for item in (self.k8s.admin.get(path) or {}).get("items") or []:
                service_name = item["metadata"].get("labels", {}).get("kubernetes.io/service-name")
                service = self.k8s.get_object("services", namespace, service_name) if service_name else None
                labels = {"__meta_kubernetes_namespace": namespace,
                          "__meta_kubernetes_endpointslice_name": item["metadata"]["name"]}
                if service is not None:
                    labels["__meta_kubernetes_service_name"] = service_name
                    for key, value in (service["metadata"].get("labels") or {}).items():
                        name = re.sub(r"[^a-zA-Z0-9_]", "_", key)
                        labels["__meta_kubernetes_service_label_" + name] = value
                        labels["__meta_kubernetes_service_labelpresent_" + name] = "true"
                for endpoint in item.get("endpoints") or []:
                    for address in endpoint.get("addresses") or []:
                        for port in item.get("ports") or []:
                            groups.append({"targets": ["%s:%d" % (address, port["port"])], "labels": dict(
                                labels, __meta_kubernetes_endpointslice_port_name=port.get("name", ""),
                                __meta_kubernetes_endpointslice_port=str(port["port"]),
                                __meta_kubernetes_endpointslice_endpoint_conditions_ready=str(
                                    (endpoint.get("conditions") or {}).get("ready", True)).lower())})
        return groups

    def _local(self, generated: dict) -> dict:
        text = json.dumps(generated).replace("$(SHARD)", "0").replace("$(POD_NAME)", "prometheus-k8s-0")
        config = json.loads(text)
        config.pop("rule_files", None)  # files of the Pod's rules volume, not here
        config.pop("alerting", None)
        for index, job in enumerate(config.get("scrape_configs") or []):
            files = []
            for number, sd in enumerate(job.pop("kubernetes_sd_configs", None) or []):
                found = self.tmp / ("discovered-%d-%d.json" % (index, number))
                staged = found.with_suffix(".staged")
                staged.write_text(json.dumps(self._discovered(sd)))
                os.replace(staged, found)  # Prometheus watches the file: never let it read half of one
                files.append(str(found))
            if files:
                job["file_sd_configs"] = [{"files": files}]
        return config

    def run(self):
        applied = None
        while not self.stop.is_set():
            generated = _generated(self.k8s)
            if generated and generated != applied:
                self.config.write_text(yaml.safe_dump(self._local(generated)))
                try:
                    with urllib.request.urlopen(urllib.request.Request(self.url + "-/reload", method="POST"),
                                                timeout=10):
                        applied = generated
                        self.reloads += 1
                except OSError:
                    pass  # not up yet: again in a moment
            self.stop.wait(0.2)

    def health(self) -> str:
        try:
            with urllib.request.urlopen(self.url + "api/v1/targets?state=active", timeout=5) as response:  # noqa: S310
                targets = json.loads(response.read())["data"]["activeTargets"]
        except OSError as exc:
            return "unreachable (%s)" % exc
        return ",".join(t["health"] for t in targets if t["scrapePool"] == POOL) or "absent"

    def close(self):
        self.stop.set()
        self.join(timeout=10)
        self.proc.terminate()
        self.proc.wait(timeout=20)


def _wait(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "%s never happened" % what
        time.sleep(0.3)


@pytest.mark.slow
def test_scrape_token_in_a_secret_the_chart_references(tmp_path, sops_on_path):
    tmp = tmp_path
    checkout = Checkout(tmp, sops_on_path, str(binaries(["helm"])["helm"]))
    values = checkout.cluster_dir / "certctl.values.yaml"
    values.write_text(yaml.safe_dump({"monitoring": {"enabled": True, "serviceMonitor": {
        "enabled": True, "interval": "1s", "scrapeTimeout": "1s", "scheme": "http",
        "bearerTokenSecret": {"name": "certctl-prometheus-key", "key": "api-key"},
        "tlsConfig": {"insecureSkipVerify": True, "serverName": "certctl-server"}}}}))
    outputs = []

    # the certctl server: a stand-in (tests/integration/_token_target.py) accepting the tokens of certctl-tokens
    with ClusterSession(namespaces=[NS]) as k8s, \
            TokenTarget(lambda: _secret_data(k8s, "certctl-tokens").get("tokens", "").split(), host_ipv4(),
                        "/api/v1/metrics/prometheus") as target:
        checkout.connect(k8s, NS)
        k8s.put_object("prometheuses", NS, {"metadata": {"name": "k8s"}, "spec": {
            "replicas": 1, "serviceMonitorSelector": {}, "serviceDiscoveryRole": "EndpointSlice",
            "version": "v2.42.0"}})  # the configuration the operator generates for Debian's Prometheus
        install = subprocess.run(
            [checkout.helm, "upgrade", "--install", RELEASE, str(CHART), "--namespace", NS, "--kubeconfig",
             checkout.kubeconfig, "--kube-context", CLUSTER, "-f", str(values)],
            capture_output=True, text=True, check=False)
        assert install.returncode == 0, install.stderr
        k8s.put_object("endpointslices", NS, {
            "metadata": {"name": SM + "-local", "labels": {"kubernetes.io/service-name": SM}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [target.address], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": target.port, "protocol": "TCP"}]})
        chart_monitor = k8s.get_object("servicemonitors", NS, SM)
        reloader = OperatorConfigReloader(k8s, tmp)
        reloader.start()
        try:
            entry = {"service_monitor": SM, "grant": "certctl-scrape", "secret_name": "certctl-prometheus-key",
                     "secret_key": "api-key", "wire_endpoints": False}
            cluster = {
                "promaccess_k8s_secret_format": "prometheus_web_config",
                "promaccess_k8s_delivery": "direct",
                # nothing listens here: the ingress check is recorded as not verified
                "promaccess_k8s_external_url": "http://127.0.0.1:9/prometheus/",
                "promaccess_k8s_scrape_targets_url": reloader.url,
                "promaccess_k8s_scrape_targets_timeout": 120,
                "promaccess_k8s_scrape_verify_delay": 1,
                "promaccess_k8s_scrape_tokens": [
                    {"name": "certctl-tokens", "grants": ["certctl-scrape"], "verify_url": target.url}],
                "promaccess_k8s_scrape_auth": [entry],
            }
            checkout.write_inventory(cluster)
            inventory = yaml.safe_load((tmp / "inventory.yml").read_text())
            inventory["all"]["vars"]["promaccess_grants"].append({"name": "certctl-scrape", "auth": "scrape"})
            (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))

            def play(name, *extra, ok=True):
                outputs.append(checkout.play(name, *extra, ok=ok))
                return outputs[-1]

            # -- provision: the Secret the chart references gets the token; the ServiceMonitor stays the chart's --
            first = play("provision_access")
            assert recap(first.stdout, CLUSTER)["failed"] == 0
            token = _secret_data(k8s, "certctl-prometheus-key")["api-key"]
            assert _secret_data(k8s, "certctl-tokens")["tokens"].split() == [token]
            _wait("the operator's job with the token", lambda: _sent(k8s) == token)
            job = next(j for j in _generated(k8s)["scrape_configs"] if j["job_name"] == POOL)
            assert job["tls_config"]["insecure_skip_verify"] is True and job["tls_config"]["server_name"] == SM
            assert job["metrics_path"] == "/api/v1/metrics/prometheus" and job["scrape_interval"] == "1s"
            _wait("the target up on the operator-configured Prometheus", lambda: reloader.health() == "up")
            again = play("provision_access")
            assert recap(again.stdout, CLUSTER)["changed"] == 0

            # -- rotation: the Secret moves in place; the run waits on the operator-configured Prometheus -------
            reloads = reloader.reloads
            rotate = play("rotate_credentials", "-e", json.dumps({"promaccess_rotate": ["certctl-scrape"]}))
            new = _secret_data(k8s, "certctl-prometheus-key")["api-key"]
            assert new != token and _secret_data(k8s, "certctl-tokens")["tokens"].split() == [new]
            assert "Wait until Prometheus loaded the moved credentials" in rotate.stdout
            assert reloader.reloads > reloads and _sent(k8s) == new and reloader.health() == "up"
            assert (token, 401) in target.seen  # the run checked the old token is refused
            scrapes = target.scrapes
            assert scrapes and all(status == 200 for _token, status in scrapes), scrapes[-5:]
            assert {t for t, _status in scrapes} == {token, new}

            # -- the ServiceMonitor was never written: the chart's, byte for byte --------------------------------
            monitor = k8s.get_object("servicemonitors", NS, SM)
            assert monitor["metadata"]["resourceVersion"] == chart_monitor["metadata"]["resourceVersion"]
            assert monitor["spec"] == chart_monitor["spec"]

            # -- wiring the chart's ServiceMonitor directly is refused ----------------------------------------------
            cluster["promaccess_k8s_scrape_auth"] = [dict(entry, wire_endpoints=True)]
            inventory["all"]["children"]["k8s_clusters"]["hosts"][CLUSTER].update(cluster)
            (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))
            refused = play("provision_access", ok=False)
            assert "managed by Helm (release 'certctl'" in refused.stdout, refused.stdout[-4000:]
            assert "keep only the Secret here (wire_endpoints=false" in refused.stdout
            assert k8s.get_object("servicemonitors", NS, SM)["metadata"]["resourceVersion"] == \
                chart_monitor["metadata"]["resourceVersion"]
        finally:
            reloader.close()

    for proc in outputs:
        for secret in (token, new):
            assert secret not in proc.stdout + proc.stderr
