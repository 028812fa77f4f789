"""A real Prometheus behind the real ingress controller (Traefik) of tests/controlplane.

``PrometheusBehindIngress(k8s, namespace, tmp)`` starts Debian's ``prometheus`` on this machine and makes it the
backend of an Ingress of class ``nginx`` (Traefik's ingress-nginx provider serves that class and its
``nginx.ingress.kubernetes.io/auth-*`` annotations): a Service without selector, and a hand-made EndpointSlice
naming the address Prometheus listens on. That address is the machine's own non-loopback IPv4 address, because
the API server refuses loopback addresses in an EndpointSlice (``may not be in the loopback range``). The Ingress
carries no auth annotation: adding them is the collection's job.
"""

from __future__ import annotations

import base64
import collections
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

INGRESS_HOST = "localhost"  # a DNS name (an Ingress host may not be an IP address); requests go to 127.0.0.1


def host_ipv4() -> str:
    """The machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.254", 9))
        address = sock.getsockname()[0]
    if address.startswith("127."):
        raise RuntimeError("no non-loopback IPv4 address on this machine: an EndpointSlice cannot point here")
    return address


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def status(url: str, user: str | None = None, password: str | None = None, timeout: float = 5) -> int:
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the test's own URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class PrometheusBehindIngress:
    def __init__(self, k8s, namespace: str, tmp, name: str = "prometheus", ingress: bool = True):
        # one path per namespace: Ingresses of every namespace share Traefik's one entry point and host.
        # ingress=False: no Ingress is made (a chart renders it, at self.prefix).
        self.k8s, self.namespace, self.tmp, self.name, self.ingress = k8s, namespace, tmp, name, ingress
        self.prefix = "/%s/%s" % (namespace, name)
        self.address = host_ipv4()
        self.port = free_port(self.address)
        self.url = "%s%s/" % (k8s.state["ingress_url"].replace("127.0.0.1", INGRESS_HOST), self.prefix)
        self.proc = None

    def __enter__(self):
        config = self.tmp / ("%s-%s.yml" % (self.namespace, self.name))
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=%s" % config,
             "--web.listen-address=%s:%d" % (self.address, self.port),
             "--web.external-url=http://%s%s/" % (INGRESS_HOST, self.prefix), "--web.route-prefix=%s" % self.prefix,
             "--storage.tsdb.path=%s" % (self.tmp / ("%s-%s-data" % (self.namespace, self.name)))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ns = self.namespace
        self.k8s.put_object("services", ns, {
            "metadata": {"name": self.name},
            "spec": {"ports": [{"name": "web", "port": 9090, "protocol": "TCP", "targetPort": self.port}]}})
        self.k8s.put_object("endpointslices", ns, {
            "metadata": {"name": self.name + "-local", "labels": {"kubernetes.io/service-name": self.name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [self.address], "conditions": {"ready": True}}],
            "ports": [{"name": "web", "port": self.port, "protocol": "TCP"}]})
        if not self.ingress:
            self._wait("http://%s:%d%s/-/ready" % (self.address, self.port, self.prefix), "Prometheus")
            return self
        self.k8s.put_object("ingresses", ns, {
            "metadata": {"name": self.name},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": INGRESS_HOST, "http": {"paths": [{
                "path": self.prefix, "pathType": "Prefix",
                "backend": {"service": {"name": self.name, "port": {"number": 9090}}}}]}}]}})
        # served once Traefik has the route and Prometheus answers (no auth yet: 200)
        self._wait(self.url + "-/ready", "the ingress")
        return self

    @staticmethod
    def _wait(url: str, what: str) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if status(url) == 200:
                    return
            except OSError:  # not listening yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("%s never answered through %s" % (url, what))
            time.sleep(0.2)

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


class Grantee(threading.Thread):
    """A grantee through the ingress: a request every 50 ms with the credential it holds now (``hold`` switches
    it), each answer counted per credential. ``with Grantee(url, credential) as g:`` probes for the block."""

    def __init__(self, url, credential):
        super().__init__(daemon=True)
        self.url = url
        self.credential = credential
        self.stop = threading.Event()
        self.answers = collections.Counter()  # (password tail, status) -> count
        self.lock = threading.Lock()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(timeout=10)

    def hold(self, credential):
        with self.lock:
            self.credential = credential

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                cred = self.credential
            code = status(self.url, cred["username"], cred["password"], timeout=5)
            self.answers[(cred["password"][-6:], code)] += 1
            self.stop.wait(0.05)

    def codes(self):
        counts = collections.Counter()
        for (_unused, code), n in self.answers.items():
            counts[code] += n
        return counts

    def assert_never_refused(self, at_least: int = 20):
        codes = self.codes()
        assert codes[401] == 0 and codes[200] > at_least, self.answers
