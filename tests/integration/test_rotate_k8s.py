"""Scrape credentials on a cluster through provision_access, rotate_credentials and revoke_access.

Against the real kube-apiserver of tests/controlplane. No kubelet runs there, so no Pod starts and no Secret
is mounted: the exporter and the Prometheus that would scrape it cannot run as Pods. Two stand-ins take their
places, both in this file and both plain Python:

- ``_TokenTarget``: a STAND-IN for a scrape target (an exporter that accepts bearer tokens from a mounted
  Secret). It reads the Secret ``apps/exporter-tokens`` from the API server on every request and answers 200
  when the bearer token is one of its lines, else 401. The playbooks' verify_url points at it.
- ``_Scraper``: a STAND-IN for Prometheus. In a loop it reads the ServiceMonitor ``apps/exporter``, follows its
  ``authorization`` reference to the Secret and key, and scrapes ``_TokenTarget`` with the token it read there
  LAG seconds earlier (Prometheus picks a Secret change up late: the operator, kubelet and a reload sit in
  between). Every 401 it gets is a moment at which the rotation left the scraper without an accepted token.

- ``_ConfigReloader``: a STAND-IN for the Prometheus Operator and its config reloader, in front of a REAL
  Prometheus (Debian's): LAG seconds after a ServiceMonitor's credential changes, it writes that Prometheus's
  configuration with the jobs the operator would render (``serviceMonitor/<ns>/<name>/0``, the credentials
  inlined) and POSTs ``/-/reload``. The playbooks' rotation waits on that Prometheus's targets API
  (``promaccess_k8s_scrape_targets_url``) instead of a fixed settle time.

How the real Prometheus Operator renders these ServiceMonitors is tested in test_k8s_operator.py.

What is proven: the order of the writes (targets accept before ServiceMonitors send; ServiceMonitors move, and
the run waits, before the old token goes), idempotence, the pause after the hand-off, revocation and its
refusal while a ServiceMonitor still sends the token. Nothing is proven here about the kubelet.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from _ingress_backend import free_port
from _token_target import TokenTarget
from promaccess_k8s_role_helpers import ClusterSession

from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NS, APPS = "monitoring", "apps"
LAG = 1.0
SETTLE = 3


def recap(output: str, host: str) -> dict:
    lines = re.findall(r"^%s\s+:\s+(.*)$" % re.escape(host), output, re.M)
    assert lines, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def secret_data(k8s, namespace, name) -> dict:
    obj = k8s.get_object("secrets", namespace, name)
    return {} if obj is None else {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def accepted(k8s) -> list[str]:
    return [line for line in secret_data(k8s, APPS, "exporter-tokens").get("tokens", "").splitlines() if line]


def sent(k8s) -> str | None:
    """The token the ServiceMonitor references now."""
    monitor = k8s.get_object("servicemonitors", APPS, "exporter")
    ref = (monitor["spec"]["endpoints"][0].get("authorization") or {}).get("credentials")
    return None if ref is None else secret_data(k8s, APPS, ref["name"]).get(ref["key"])


class _Scraper(threading.Thread):
    """A STAND-IN for Prometheus: scrapes with the token the ServiceMonitor referenced LAG seconds ago."""

    def __init__(self, k8s, url):
        super().__init__(daemon=True)
        self.k8s, self.url = k8s, url
        self.stop = threading.Event()
        self.counts = collections.Counter()
        self.tokens_seen = set()

    def run(self):
        import urllib.error
        import urllib.request

        history = collections.deque()
        while not self.stop.is_set():
            now = time.monotonic()
            history.append((now, sent(self.k8s)))
            while len(history) > 1 and history[1][0] <= now - LAG:
                history.popleft()
            token = history[0][1]
            if token is None:
                self.counts["no token"] += 1
            else:
                self.tokens_seen.add(token)
                request = urllib.request.Request(self.url, headers={"Authorization": "Bearer " + token})
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        self.counts[response.status] += 1
                except urllib.error.HTTPError as exc:
                    self.counts[exc.code] += 1
            self.stop.wait(0.05)


def basic_credentials(k8s, namespace, name) -> tuple | None:
    monitor = k8s.get_object("servicemonitors", namespace, name)
    ref = monitor["spec"]["endpoints"][0].get("basicAuth") if monitor else None
    if not ref:
        return None
    data = secret_data(k8s, namespace, ref["username"]["name"])
    return data.get(ref["username"]["key"]), data.get(ref["password"]["key"])


class _ConfigReloader(threading.Thread):
    """A STAND-IN for the Prometheus Operator and its config reloader (no kubelet here), driving a REAL Prometheus:
    LAG seconds after the ServiceMonitors' credentials change, that Prometheus gets them in its configuration
    (jobs named as the operator names them) and reloads."""

    def __init__(self, k8s, tmp, target_url):
        super().__init__(daemon=True)
        self.k8s, self.target = k8s, target_url.split("//")[1].split("/")[0]
        self.port = free_port("127.0.0.1")
        self.url = "http://127.0.0.1:%d/" % self.port
        self.config = tmp / "scraping-prometheus.yml"
        self.stop = threading.Event()
        self.reloads = 0
        self.write({})
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=%s" % self.config, "--web.listen-address=127.0.0.1:%d" % self.port,
             "--web.enable-lifecycle", "--storage.tsdb.path=%s" % (tmp / "scraping-prometheus-data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def write(self, credentials: dict) -> None:
        jobs = []
        if credentials.get("token"):
            jobs.append({"job_name": "serviceMonitor/%s/exporter/0" % APPS, "scrape_interval": "1s",
                         "authorization": {"type": "Bearer", "credentials": credentials["token"]},
                         "static_configs": [{"targets": [self.target]}]})
        if credentials.get("basic"):
            user, password = credentials["basic"]
            jobs.append({"job_name": "serviceMonitor/%s/prometheus-self/0" % NS, "scrape_interval": "1s",
                         "basic_auth": {"username": user, "password": password},
                         "static_configs": [{"targets": ["127.0.0.1:%d" % self.port]}]})
        self.config.write_text(yaml.safe_dump({"global": {"scrape_timeout": "1s"}, "scrape_configs": jobs}))

    def run(self):
        import urllib.request

        applied, history = None, collections.deque()
        while not self.stop.is_set():
            now = time.monotonic()
            history.append((now, {"token": sent(self.k8s), "basic": basic_credentials(self.k8s, NS, "prometheus-self")}))
            while len(history) > 1 and history[1][0] <= now - LAG:
                history.popleft()
            wanted = history[0][1]
            if wanted != applied:
                self.write(wanted)
                try:
                    with urllib.request.urlopen(urllib.request.Request(self.url + "-/reload", method="POST"),
                                                timeout=10):
                        applied = wanted
                        self.reloads += 1
                except OSError:
                    pass  # not up yet: again in a moment
            self.stop.wait(0.1)

    def close(self):
        self.stop.set()
        self.join(timeout=10)
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rotate-k8s")
    for who in ("operator", "team-a"):
        subprocess.run(["age-keygen", "-o", str(tmp / ("%s-key.txt" % who))], capture_output=True, check=True)
    team_a = subprocess.run(["age-keygen", "-y", str(tmp / "team-a-key.txt")], capture_output=True, text=True,
                            check=True).stdout.strip()
    # the exporter: a stand-in (tests/integration/_token_target.py) accepting the tokens of apps/exporter-tokens
    with ClusterSession(namespaces=[NS, APPS]) as k8s, TokenTarget(lambda: accepted(k8s)) as target:
        k8s.put_object("servicemonitors", APPS, {
            "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": {"name": "exporter"},
            "spec": {"selector": {"matchLabels": {"app": "exporter"}}, "endpoints": [{"port": "metrics"}]}})
        k8s.put_object("servicemonitors", NS, {
            "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": {"name": "prometheus-self"},
            "spec": {"selector": {"matchLabels": {"app": "prometheus"}}, "endpoints": [{"port": "web"}]}})
        kubeconfig = k8s.write_kubeconfig(tmp / "kubeconfig", context="k8s")
        reloader = _ConfigReloader(k8s, tmp, target.url)
        reloader.start()
        cluster = {
            "ansible_connection": "local",
            "promaccess_k8s_kubeconfig": kubeconfig or str(tmp / "kubeconfig"),
            "promaccess_k8s_context": "k8s",
            "promaccess_k8s_namespace": NS,
            "promaccess_k8s_secret_format": "prometheus_web_config",
            # nothing listens here: the ingress check is recorded as not verified
            "promaccess_k8s_external_url": "http://127.0.0.1:9/prometheus/",
            "promaccess_k8s_scrape_settle": SETTLE,  # not used: the targets URL wins
            "promaccess_k8s_scrape_targets_url": reloader.url,
            "promaccess_k8s_scrape_targets_timeout": 60,
            "promaccess_k8s_scrape_verify_delay": 1,
            "promaccess_k8s_scrape_tokens": [
                {"name": "exporter-tokens", "namespace": APPS, "grants": ["exporter-scrape"], "verify_url": target.url},
            ],
            "promaccess_k8s_scrape_auth": [
                {"service_monitor": "exporter", "namespace": APPS, "grant": "exporter-scrape",
                 "secret_name": "exporter-scrape", "endpoint_ports": ["metrics"]},
                {"service_monitor": "prometheus-self", "grant": "internal", "auth_type": "basic",
                 "secret_name": "prometheus-self-scrape"},
            ],
        }
        inventory = {"all": {
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "promaccess_credential_store": str(tmp / "credentials.yml.age"),
                "promaccess_age_identity": str(tmp / "operator-key.txt"),
                "promaccess_handoff_dir": str(tmp / "handoff"),
                "promaccess_grants": [
                    {"name": "team-a", "contact": "Team A", "auth": "native", "recipients": [team_a]},
                    {"name": "exporter-scrape", "auth": "scrape"},
                ],
            },
            "children": {"k8s_clusters": {"hosts": {"k8s": cluster}}},
        }}
        (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build/collections")),
                   ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"))

        def play(name, *extra, inventory_file="inventory.yml"):
            return subprocess.run(
                [str(BIN / "ansible-playbook"), "-i", str(tmp / inventory_file), "promaccess.core." + name, *extra],
                env=env, capture_output=True, text=True, timeout=900, check=False, cwd=str(tmp))

        def store():
            ids = age.read_identities(str(tmp / "operator-key.txt"))
            return CredentialStore(str(tmp / "credentials.yml.age"), ids, list(ids.public)).read()["grants"]

        try:
            yield {"tmp": tmp, "k8s": k8s, "target": target, "play": play, "store": store,
                   "inventory": inventory, "reloader": reloader}
        finally:
            reloader.close()


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_scrape_credentials_provisioned_rotated_and_revoked(fleet):
    k8s, play, store = fleet["k8s"], fleet["play"], fleet["store"]

    # -- provision: the target accepts the store's token, the ServiceMonitor sends it; then nothing to do -------
    first = _ok(play("provision_access"))
    token = store()["exporter-scrape"]["password"]
    assert accepted(k8s) == [token] and sent(k8s) == token
    monitor = k8s.get_object("servicemonitors", APPS, "exporter")
    assert monitor["spec"]["endpoints"][0]["authorization"] == {
        "type": "Bearer", "credentials": {"name": "exporter-scrape", "key": "token"}}
    internal = store()["internal.k8s"]
    assert secret_data(k8s, NS, "prometheus-self-scrape") == {
        "username": internal["username"], "password": internal["password"]}
    assert not (fleet["tmp"] / "handoff" / "exporter-scrape").exists()  # a scrape credential has no hand-off
    assert (fleet["tmp"] / "handoff" / "team-a" / "credentials.txt.age").exists()
    for secret in (token, internal["password"]):
        assert secret not in first.stdout + first.stderr
    writes = len(k8s.writes())
    again = _ok(play("provision_access"))
    assert recap(again.stdout, "k8s")["changed"] == 0 and len(k8s.writes()) == writes
    checked = _ok(play("provision_access", "--check", "--diff"))
    assert recap(checked.stdout, "k8s")["changed"] == 0 and len(k8s.writes()) == writes
    assert token not in checked.stdout + checked.stderr

    # -- the audit runs with a scrape grant in the inventory and leaks none of its secrets ----------------------
    reports = fleet["tmp"] / "reports"
    _ok(play("access_report", "-e", json.dumps({"promaccess_report_dir": str(reports)})))
    report = (reports / "access-report.json").read_text()
    assert "exporter-scrape" in report and token not in report and internal["password"] not in report
    # it audits what each ServiceMonitor sends and what the token Secret accepts, against the store
    assert _scrape_rows(json.loads(report)) == {
        ("scrape", APPS + "/exporter", "exporter-scrape", "current"): "ok",
        ("scrape", NS + "/prometheus-self", "internal.k8s", "current"): "ok",
        ("tokens", APPS + "/exporter-tokens", "exporter-scrape", "current"): "ok",
    }

    scraper = _Scraper(k8s, fleet["target"].url)
    scraper.start()
    try:
        # -- rotate, paused after the hand-off: the target accepts both, the ServiceMonitor sends the new one -----
        rotate = ["-e", json.dumps({"promaccess_rotate": ["exporter-scrape", "internal"]})]
        reloads = fleet["reloader"].reloads
        paused = _ok(play("rotate_credentials", *rotate, "-e", '{"promaccess_rotate_stop_after_handoff": true}'))
        # the run waited on the real Prometheus's targets API until it had reloaded with the moved credentials,
        # not a fixed time
        waited = re.search(r"TASK \[promaccess\.core\._provision : Wait until Prometheus loaded the moved "
                           r"credentials[^\n]*\n(ok|changed): \[k8s\]", paused.stdout)
        assert waited, paused.stdout[-6000:]
        assert re.search(r"Without a targets URL, wait a fixed time[^\n]*\nskipping", paused.stdout)
        assert fleet["reloader"].reloads > reloads
        record = store()["exporter-scrape"]
        assert record["rotation"]["phase"] == "handed_off"
        new = record["rotation"]["pending"]["password"]
        assert new != token and accepted(k8s) == [token, new] and sent(k8s) == new
        pending_internal = store()["internal.k8s"]["rotation"]["pending"]
        assert secret_data(k8s, NS, "prometheus-self-scrape")["password"] == pending_internal["password"]
        # the report mid-rotation: each ServiceMonitor sends the new credential (the old one's absence is pending,
        # not drift), the target accepts both
        _ok(play("access_report", "-e", json.dumps({"promaccess_report_dir": str(reports)})))
        mid = json.loads((reports / "access-report.json").read_text())
        assert _scrape_rows(mid) == {
            ("scrape", APPS + "/exporter", "exporter-scrape", "current"): "pending",
            ("scrape", APPS + "/exporter", "exporter-scrape", "pending"): "ok",
            ("scrape", NS + "/prometheus-self", "internal.k8s", "current"): "pending",
            ("scrape", NS + "/prometheus-self", "internal.k8s", "pending"): "ok",
            ("tokens", APPS + "/exporter-tokens", "exporter-scrape", "current"): "ok",
            ("tokens", APPS + "/exporter-tokens", "exporter-scrape", "pending"): "ok",
        }
        assert not [f for f in mid["findings"] if f["target"] in ("scrape", "tokens")], mid["findings"]

        # -- resume: the old token goes; the run checked it is refused ----------------------------------------
        checked = len(fleet["target"].seen)
        _ok(play("rotate_credentials", *rotate))
        assert accepted(k8s) == [new] and sent(k8s) == new
        assert store()["exporter-scrape"]["password"] == new and "rotation" not in store()["exporter-scrape"]
        # the run checked the old token is refused (the scraper never got a 401: asserted below)
        assert (token, 401) in fleet["target"].seen[checked:] and (None, 401) in fleet["target"].seen[checked:]
        time.sleep(LAG * 2)
    finally:
        scraper.stop.set()
        scraper.join(timeout=10)
    assert scraper.counts[401] == 0 and scraper.counts["no token"] == 0, scraper.counts
    assert scraper.counts[200] > 20 and scraper.tokens_seen == {token, new}

    # -- revoke: refused while the ServiceMonitor still sends it, done once the inventory no longer does ------
    revoke = ["-e", json.dumps({"promaccess_revoke": ["exporter-scrape"]})]
    refused = play("revoke_access", *revoke)
    assert refused.returncode != 0 and "still used by ServiceMonitors" in refused.stdout
    assert "revoked_at" not in store()["exporter-scrape"] and accepted(k8s) == [new]
    inventory = fleet["inventory"]
    cluster = inventory["all"]["children"]["k8s_clusters"]["hosts"]["k8s"]
    cluster["promaccess_k8s_scrape_auth"] = cluster["promaccess_k8s_scrape_auth"][1:]
    (fleet["tmp"] / "inventory-2.yml").write_text(yaml.safe_dump(inventory))
    checked = len(fleet["target"].seen)
    _ok(play("revoke_access", *revoke, inventory_file="inventory-2.yml"))
    assert accepted(k8s) == [] and (new, 401) in fleet["target"].seen[checked:]
    assert store()["exporter-scrape"]["revocation_verified_at"] and "password" not in store()["exporter-scrape"]

    # -- a hand edit of a ServiceMonitor's Secret is drift in the report ------------------------------------------
    self_scrape = k8s.get_object("secrets", NS, "prometheus-self-scrape")
    self_scrape["data"]["password"] = base64.b64encode(b"edited-by-hand").decode()
    k8s.put_object("secrets", NS, self_scrape)
    reports = fleet["tmp"] / "reports"
    _ok(play("access_report", "-e", json.dumps({"promaccess_report_dir": str(reports)}),
             inventory_file="inventory-2.yml"))
    edited = json.loads((reports / "access-report.json").read_text())
    assert sorted((f["location"], f["code"]) for f in edited["findings"] if f["target"] == "scrape") == [
        (NS + "/prometheus-self", "missing"), (NS + "/prometheus-self", "unknown_entry")]


def _scrape_rows(report) -> dict:
    """The report's rows of the scrape targets: (target, location, grant, role) -> state."""
    return {(r["target"], r["location"], r["grant"], r["role"]): r["state"]
            for r in report["rows"] if r["target"] in ("scrape", "tokens")}
