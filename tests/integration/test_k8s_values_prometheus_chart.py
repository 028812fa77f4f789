"""Delivery ``values`` for a chart shaped like the prometheus chart (#15): the users in
``serverFiles."web.yml".basic_auth_users`` of a sops-encrypted values file (shape ``map``), the server wired to
them through ``promaccess_k8s_values_server`` (``extraArgs."web.config.file"``, the probes' ``Authorization``
header, the self-scrape job's ``basic_auth``).

Real parts: the kube-apiserver and Traefik of tests/controlplane, the real ``helm`` (through kubernetes.core.helm)
installing ``tests/charts/prometheus``, the real ``sops`` with age keys, and Debian's ``prometheus`` started with
exactly the flags, files and probe headers the chart rendered. What must hold:

* provision: the values file stays encrypted; helm upgrade renders the flag, the header and the job's basic_auth;
  the new pod becomes ready only because its probes authenticate; through the ingress 401 anonymous and with a
  wrong password, 200 for the grantee and the internal credential; the self-scrape target is up;
* a second run changes nothing: the file byte-identical, no new release revision; the access report reads the
  web.yml the chart rendered into its ConfigMap and finds no drift;
* rotating the cluster's internal credential moves the probe header and the self-scrape job with it: the new
  pod is ready with the new credential, the old one gets 401 at the end, the self-scrape stays up, and a grantee
  probing through the ingress is never refused;
* no password or minted user name in any output.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from _credentials import recap, wrong_password
from _gitops import Checkout
from _ingress_backend import INGRESS_HOST, Grantee, free_port, host_ipv4, status
from controlplane.controlplane import binaries
from promaccess_k8s_role_helpers import ClusterSession

REPO = Path(__file__).resolve().parents[2]
NS = "valuesprom"
RELEASE = "prom"
CHART = REPO / "tests" / "charts" / "prometheus"
PREFIX = "/%s/prometheus" % NS


class ChartPods(threading.Thread):
    """Stands in for the Deployment controller and the kubelet, which the testbed lacks (no container runtime):
    runs Debian's ``prometheus`` as the chart's Deployment and ConfigMap say.

    A new pod template (the flags or the probe headers changed) starts a new process with the container's args,
    the ConfigMap's files in its own folder (``/etc/config``) and ``localhost:9090`` meaning the pod itself; the
    readiness probe (path and httpHeaders as rendered) must answer 200 before the Service's EndpointSlice moves
    to it and the old process stops, as in a rolling update; a pod that never becomes ready is recorded and the
    old one keeps serving. A ConfigMap change alone rewrites the files of the running pod, as the kubelet's volume
    update does (exporter-toolkit reads web.yml on every request)."""

    def __init__(self, k8s, tmp):
        super().__init__(daemon=True)
        self.k8s, self.tmp = k8s, tmp
        self.address = host_ipv4()
        self.name = "%s-server" % RELEASE
        self.stop = threading.Event()
        self.pods: list[dict] = []  # every pod started: template, port, process, ready
        self.never_ready: list[str] = []
        self.current = None
        self._config = None

    def _template(self):
        deployment = self.k8s.get_object("deployments", NS, self.name)
        configmap = self.k8s.get_object("configmaps", NS, self.name)
        if deployment is None or configmap is None:
            return None, None
        return deployment["spec"]["template"]["spec"]["containers"][0], configmap.get("data") or {}

    def _write_files(self, folder: Path, data: dict, port: int) -> None:
        for name, text in data.items():
            text = text.replace("localhost:9090", "%s:%d" % (self.address, port))  # the pod's own port
            staged = folder / ("." + name)
            staged.write_text(text)
            os.replace(staged, folder / name)

    def _start(self, container, data) -> None:
        number = len(self.pods) + 1
        folder = self.tmp / ("pod-%d" % number)
        (folder / "config").mkdir(parents=True)
        port = free_port(self.address)
        self._write_files(folder / "config", data, port)
        args = [a.replace("/etc/config", str(folder / "config")).replace("=/data", "=%s" % (folder / "data"))
                for a in container["args"]]
        proc = subprocess.Popen(["prometheus", *args, "--web.listen-address=%s:%d" % (self.address, port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pod = {"number": number, "port": port, "proc": proc, "folder": folder, "container": container,
               "ready": False}
        self.pods.append(pod)
        probe = container["readinessProbe"]["httpGet"]
        request = "http://%s:%d%s" % (self.address, port, probe["path"])
        headers = {h["name"]: h["value"] for h in probe.get("httpHeaders") or []}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.stop.is_set():
            try:
                with urllib.request.urlopen(urllib.request.Request(request, headers=headers), timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        pod["ready"] = True
                        break
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.3)
        if not pod["ready"]:
            self.never_ready.append("pod %d: readiness probe never answered 200" % number)
            proc.terminate()
            return
        self.k8s.put_object("endpointslices", NS, {
            "metadata": {"name": "prometheus-pods", "labels": {"kubernetes.io/service-name": "prometheus"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [self.address], "conditions": {"ready": True}}],
            "ports": [{"name": "web", "port": port, "protocol": "TCP"}]})
        time.sleep(1.5)  # Traefik moves to the new endpoint before the old pod stops, as a rollout waits
        old, self.current = self.current, pod
        if old is not None:
            old["proc"].terminate()
            old["proc"].wait(timeout=20)

    def run(self):
        template = None
        while not self.stop.is_set():
            container, data = self._template()
            if container is not None:
                if container != template:
                    template = container
                    self._start(container, data)
                elif self.current is not None and data != self._config:
                    self._write_files(self.current["folder"] / "config", data, self.current["port"])
                self._config = data if self.current is not None else None
            time.sleep(0.3)

    def __enter__(self):
        self.k8s.put_object("services", NS, {
            "metadata": {"name": "prometheus"},
            "spec": {"ports": [{"name": "web", "port": 9090, "protocol": "TCP", "targetPort": 9090}]}})
        self.k8s.put_object("ingresses", NS, {
            "metadata": {"name": "prometheus"},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": INGRESS_HOST, "http": {"paths": [{
                "path": PREFIX, "pathType": "Prefix",
                "backend": {"service": {"name": "prometheus", "port": {"number": 9090}}}}]}}]}})
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(timeout=60)
        for pod in self.pods:
            if pod["proc"].poll() is None:
                pod["proc"].terminate()
                pod["proc"].wait(timeout=20)

    def self_scrape(self, user, password) -> str:
        """The health of the self-scrape target on the serving pod, read with ``user``."""
        url = "http://%s:%d%s/api/v1/targets?state=active" % (self.address, self.current["port"], PREFIX)
        request = urllib.request.Request(url)
        request.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode())
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the test's own URL
            targets = json.loads(response.read())["data"]["activeTargets"]
        return ",".join(t["health"] for t in targets if t["labels"].get("job") == "prometheus") or "absent"


def _wait(what, check, timeout=90):
    deadline = time.monotonic() + timeout
    while not (got := check()):
        assert time.monotonic() < deadline, "%s never happened" % what
        time.sleep(0.3)
    return got


@pytest.mark.slow
def test_prometheus_chart_web_config_through_helm(tmp_path, sops_on_path):
    tmp = tmp_path
    checkout = Checkout(tmp, sops_on_path, str(binaries(["helm"])["helm"]))
    internal = checkout.internal
    outputs = []

    def play(name, *extra):
        outputs.append(checkout.play(name, *extra))
        return outputs[-1]

    # -- the operator's checkout: the chart's settings, and the secret values (the self-scrape job copied in) ------
    plain_values = checkout.cluster_dir / "prometheus.values.yaml"
    plain_values.write_text(yaml.safe_dump({"server": {
        "prefixURL": PREFIX, "baseURL": "http://%s%s/" % (INGRESS_HOST, PREFIX)}}))
    secret_values = checkout.secret_values("enc-prometheus.secret.values.yaml", {"serverFiles": {"prometheus.yml": {
        "global": {"scrape_interval": "2s"},
        "scrape_configs": [{"job_name": "prometheus", "metrics_path": PREFIX + "/metrics",
                            "static_configs": [{"targets": ["localhost:9090"]}]}]}}})

    with ClusterSession(namespaces=[NS]) as k8s, ChartPods(k8s, tmp) as pods:
        checkout.connect(k8s, NS)
        url = "%s%s/" % (k8s.state["ingress_url"].replace("127.0.0.1", INGRESS_HOST), PREFIX)
        api = url + "api/v1/status/buildinfo"

        # -- the cluster before the collection: the chart installed without a web config ----------------------------
        checkout.first_install(RELEASE, CHART, plain_values, secret_values)
        _wait("an anonymous 200 through the ingress", lambda: status(api) == 200)

        checkout.write_inventory({
            "promaccess_k8s_secret_format": "prometheus_web_config",
            # what the access report reads: the web.yml the chart renders into its ConfigMap
            "promaccess_k8s_users_object": "ConfigMap",
            "promaccess_k8s_secret_name": RELEASE + "-server",
            "promaccess_k8s_external_url": "https://prometheus.example.org/",
            "promaccess_k8s_verify_url": url,
            "promaccess_k8s_values_file": "config/clusters/example/enc-prometheus.secret.values.yaml",
            "promaccess_k8s_values_key_path": ["serverFiles", "web.yml", "basic_auth_users"],
            "promaccess_k8s_values_shape": "map",
            "promaccess_k8s_values_server": {
                "key_path": ["server"],
                "scrape_configs_key_path": ["serverFiles", "prometheus.yml", "scrape_configs"]},
            "promaccess_k8s_helm_release": RELEASE,
            "promaccess_k8s_helm_chart": str(CHART),
            "promaccess_k8s_helm_values_files": ["config/clusters/example/prometheus.values.yaml"],
        })

        # -- provision --------------------------------------------------------------------------------------------
        first = play("provision_access", "-v")
        assert recap(first.stdout, "example")["failed"] == 0
        grant = checkout.handed_off()
        cred = internal()
        raw = secret_values.read_bytes()
        assert b"sops:" in raw and cred["password"].encode() not in raw and grant["password"].encode() not in raw
        assert checkout.revision(RELEASE) == 2
        container = k8s.get_object("deployments", NS, RELEASE + "-server")["spec"]["template"]["spec"]["containers"][0]
        assert "--web.config.file=/etc/config/web.yml" in container["args"]
        web_yml = yaml.safe_load(k8s.get_object("configmaps", NS, RELEASE + "-server")["data"]["web.yml"])
        # a map: the chart's toYaml sorts its keys (the order of a web.yml's users decides nothing)
        assert set(web_yml["basic_auth_users"]) == {cred["username"], grant["username"]}
        check = tmp / "web-check.yml"
        check.write_text(yaml.safe_dump(web_yml))
        promtool = subprocess.run(["promtool", "check", "web-config", str(check)], capture_output=True, text=True,
                                  check=False)
        assert promtool.returncode == 0, promtool.stdout + promtool.stderr
        _wait("the new pod serving", lambda: pods.never_ready or pods.current["number"] == 2)
        assert pods.never_ready == []  # ready only with the header
        _wait("an anonymous 401", lambda: status(api) == 401)
        assert status(api, grant["username"], wrong_password(grant["password"])) == 401
        assert status(api, grant["username"], grant["password"]) == 200
        assert status(api, cred["username"], cred["password"]) == 200
        assert _wait("the self-scrape up", lambda: pods.self_scrape(cred["username"], cred["password"]) == "up")

        # -- idempotent -------------------------------------------------------------------------------------------
        again = play("provision_access")
        assert recap(again.stdout, "example")["changed"] == 0, again.stdout[-6000:]
        assert secret_values.read_bytes() == raw and checkout.revision(RELEASE) == 2

        # -- the access report reads the chart's ConfigMap: both credentials there, the store's hashes ------------
        reports = tmp / "reports"
        play("access_report", "-e", json.dumps({"promaccess_report_dir": str(reports)}))
        report = json.loads((reports / "access-report.json").read_text())
        assert report["summary"]["drift"] == 0, report["findings"]
        assert report["summary"]["entries"] == 2 and report["summary"]["ok"] == 2, report["summary"]
        assert report["targets"][0]["facts"]["type"] == "ConfigMap"

        # -- rotation of the cluster's internal credential: probes and self-scrape move with it -----------------------
        old = cred
        with Grantee(api, grant) as grantee:
            play("rotate_credentials", "-e", json.dumps({"promaccess_rotate": ["internal.example"]}))
        grantee.assert_never_refused()
        new = internal()
        assert new["password"] != old["password"]
        _wait("the pod of the new probe header serving", lambda: pods.never_ready or pods.current["number"] == 3)
        assert pods.never_ready == []
        assert status(api, old["username"], old["password"]) == 401
        assert status(api, new["username"], new["password"]) == 200
        assert status(api, grant["username"], grant["password"]) == 200
        _wait("the self-scrape up with the new credential",
              lambda: pods.self_scrape(new["username"], new["password"]) == "up")
        time.sleep(5)  # two scrape intervals more: still up, so the job scrapes with the new credential
        assert pods.self_scrape(new["username"], new["password"]) == "up"

        for proc in outputs:
            text = proc.stdout + proc.stderr
            for value in (old["password"], new["password"], grant["password"], old["username"], new["username"],
                          grant["username"]):
                assert value not in text
