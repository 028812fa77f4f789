"""A throwaway Kubernetes control plane on 127.0.0.1 for the tests: etcd, kube-apiserver, the Prometheus Operator
and Traefik (as an ingress controller), each a real binary built from its Go module by scripts/k8s-build.sh.

    python tests/controlplane/controlplane.py up       # start (or reuse a healthy one); prints the kubeconfig last
    python tests/controlplane/controlplane.py down     # stop every process and delete the cluster's data
    python tests/controlplane/controlplane.py status   # exit 0 when it answers

``make k8s-up`` / ``make k8s-down`` call this. State lives in ``build/k8s/`` (``PROMACCESS_K8S_DIR``):

* ``pki/``: a CA, the API server's serving certificate (127.0.0.1, localhost, kubernetes.default.svc), the admin
  client certificate (group ``system:masters``) and the ServiceAccount signing key, made here with ``cryptography``;
* ``kubeconfig``: the admin kubeconfig; ``narrow.kubeconfig``: ServiceAccount ``promaccess-system/narrow``,
  whose Role in namespace ``narrow`` may read Secrets, Ingresses and ServiceMonitors and write nothing;
* ``audit.log``: the API server's audit log (JSON lines, writes only, with the request bodies), which the tests
  read to assert what a module sent; it holds the test Secrets' data, as an audit log at level Request does;
* ``logs/``: each process's output; ``state.json``: ports, pids, paths.

No kubelet, scheduler or controller-manager runs: objects are stored, validated, defaulted, admitted and
authorised by the real API server, and watched by the real operator and ingress controller, but no Pod starts.
Hence ``--endpoint-reconciler-type=none`` (the ``kubernetes`` Service would point at 127.0.0.1, which the API
server refuses), and Services reach processes on this machine through hand-made EndpointSlices.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("PROMACCESS_K8S_DIR") or REPO / "build" / "k8s")
PORTS = {
    "etcd": 23791,
    "etcd_peer": 23792,
    "apiserver": 16443,
    "operator": 18091,
    "ingress": 18090,  # traefik's entry point for Ingresses (plain HTTP)
    "traefik": 18092,  # traefik's ping
}
COMPONENTS = ("etcd", "kube-apiserver", "prometheus-operator", "traefik")
OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator"
# the CRDs the operator's Prometheus controller reads (the others, Alertmanager, ThanosRuler, PrometheusAgent and
# ScrapeConfig, are optional to it: it leaves their controllers off, and installing them costs half the start)
OPERATOR_CRDS = ("prometheuses", "servicemonitors", "podmonitors", "probes", "prometheusrules")
INGRESS_CLASS = "nginx"  # traefik's ingress-nginx provider serves the ingress-nginx class and annotations
SYSTEM_NS = "promaccess-system"
# the Prometheus Operator acts only here (it would otherwise add StatefulSets and Secrets next to every
# Prometheus object the wiring tests create)
OPERATOR_NAMESPACES = ("operator", "promaccess-molecule")
NARROW_NS = "narrow"
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [
        {"level": "Request", "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
        {"level": "None"},
    ],
}


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader without PyYAML's YAML 1.1 ``=`` (value) tag, which the operator's CRDs contain as a plain
    string (an enum value ``=``)."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:value"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_yaml(text: str):
    return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass


def log(message: str) -> None:
    print("controlplane: %s" % message, file=sys.stderr, flush=True)


# --- binaries ------------------------------------------------------------------------------------------------
def binaries(components=COMPONENTS) -> dict[str, Path]:
    """Build (once per version, cached outside the checkout) and locate each component's binary."""
    out = subprocess.run([str(REPO / "scripts" / "k8s-build.sh"), "--print-dir", *components],
                         check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    return {c: Path(d) / c for c, d in zip(components, out)}


def operator_crds() -> list[Path]:
    """The monitoring.coreos.com CRDs shipped in the Prometheus Operator module that scripts/k8s-build.sh pinned."""
    moddir = REPO / "tests" / "controlplane" / "modules" / "prometheus-operator"
    env = dict(os.environ, GOMODCACHE=str(_go_cache() / "mod"), GOFLAGS="-mod=readonly", GOTOOLCHAIN="local")
    info = json.loads(subprocess.run(["go", "mod", "download", "-json", OPERATOR_MODULE], cwd=moddir, env=env,
                                     check=True, stdout=subprocess.PIPE, text=True).stdout)
    folder = os.path.join(info["Dir"], "example", "prometheus-operator-crd")
    return [Path(folder, "monitoring.coreos.com_%s.yaml" % plural) for plural in OPERATOR_CRDS]


def _go_cache() -> Path:
    return Path(os.environ.get("PROMACCESS_GO_CACHE") or Path.home() / ".cache" / "promaccess-go")


# --- certificates ------------------------------------------------------------------------------------------
def _pki(pki: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    pki.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)

    def write_key(name, key):
        (pki / name).write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        os.chmod(pki / name, 0o600)

    def name_of(cn, org=None):
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name_of("promaccess-test-ca")).issuer_name(name_of("promaccess-test-ca"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=7))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    # Key identifiers as every real cluster PKI has them: Python 3.13's default client context verifies strictly
    # (VERIFY_X509_STRICT) and refuses a leaf without an Authority Key Identifier.
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    write_key("ca.key", ca_key)
    (pki / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(name, cn, org=None, server=False, sans=()):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name_of(cn, org)).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=7))
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        write_key(name + ".key", key)
        (pki / (name + ".crt")).write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))

    leaf("apiserver", "kube-apiserver", server=True, sans=[
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
        x509.DNSName("kubernetes.default.svc"), x509.IPAddress(ipaddress.ip_address("10.0.0.1"))])
    leaf("admin", "promaccess-admin", org="system:masters")
    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_key("sa.key", sa)
    (pki / "sa.pub").write_bytes(sa.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))


def server_url() -> str:
    return "https://127.0.0.1:%d" % PORTS["apiserver"]


def kubeconfig(user: dict, namespace: str = "default", context: str = "promaccess-test") -> dict:
    """A kubeconfig for this cluster with the given ``users[].user`` entry."""
    ca = (STATE_DIR / "pki" / "ca.crt").read_bytes()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "promaccess-test", "cluster": {
            "server": server_url(), "certificate-authority-data": base64.b64encode(ca).decode()}}],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "promaccess-test", "user": context,
                                                   "namespace": namespace}}],
        "current-context": context,
    }


def write_yaml(path: Path, data) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


# --- processes ----------------------------------------------------------------------------------------------
def _start(name: str, argv: list[str], env=None) -> int:
    logs = STATE_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / (name + ".log"), "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
    (STATE_DIR / (name + ".pid")).write_text(str(proc.pid))
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of this process is not alive
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(what: str, check, timeout: float, pid: int | None = None, logname: str | None = None) -> float:
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:  # noqa: BLE001 - not up yet
            pass
        if pid is not None and not _alive(pid):
            tail = ""
            if logname:
                tail = (STATE_DIR / "logs" / (logname + ".log")).read_text(errors="replace")[-3000:]
            raise RuntimeError("%s exited while starting:\n%s" % (what, tail))
        if time.monotonic() - start > timeout:
            raise RuntimeError("%s not ready after %.0f s (logs in %s)" % (what, timeout, STATE_DIR / "logs"))
        time.sleep(0.2)


def _https_ok(url: str, cert: bool = True) -> bool:
    ctx = ssl.create_default_context(cafile=str(STATE_DIR / "pki" / "ca.crt"))
    if cert:
        ctx.load_cert_chain(str(STATE_DIR / "pki" / "admin.crt"), str(STATE_DIR / "pki" / "admin.key"))
    with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
        return resp.status == 200


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status == 200


def healthy() -> bool:
    try:
        pids = _pids()
        return ((STATE_DIR / "state.json").exists() and set(pids) == set(COMPONENTS)
                and all(_alive(p) for p in pids.values()) and _https_ok(server_url() + "/readyz"))
    except Exception:  # noqa: BLE001
        return False


def _pids() -> dict[str, int]:
    found = {}
    for name in COMPONENTS:
        path = STATE_DIR / (name + ".pid")
        if path.exists():
            found[name] = int(path.read_text())
    return found


# --- objects the tests rely on ------------------------------------------------------------------------------
def admin_client():
    from kubernetes import client, config

    return config.new_client_from_config(str(STATE_DIR / "kubeconfig"))


def _create(fn, *args, **kwargs):
    from kubernetes.client.exceptions import ApiException

    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        if exc.status != 409:
            raise
        return None


def service_account_token(api_client, namespace: str, name: str, seconds: int = 86400) -> str:
    from kubernetes import client

    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=seconds))
    return client.CoreV1Api(api_client).create_namespaced_service_account_token(name, namespace, request).status.token


def _bootstrap(crds: list[Path]) -> dict[str, float]:
    from kubernetes import client

    api = admin_client()
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    timings = {}
    start = time.monotonic()
    ext = client.ApiextensionsV1Api(api)
    for path in crds:
        _create(ext.create_custom_resource_definition, load_yaml(path.read_text()))
    for path in crds:
        name = load_yaml(path.read_text())["metadata"]["name"]
        _wait("CRD %s" % name, lambda n=name: any(
            c.type == "Established" and c.status == "True"
            for c in (ext.read_custom_resource_definition(n).status.conditions or [])), 60)
    timings["crds"] = time.monotonic() - start
    for ns in (SYSTEM_NS, NARROW_NS, *OPERATOR_NAMESPACES):
        _create(core.create_namespace, {"metadata": {"name": ns}})
    _create(client.NetworkingV1Api(api).create_ingress_class, {
        "metadata": {"name": INGRESS_CLASS}, "spec": {"controller": "k8s.io/ingress-nginx"}})
    for sa in ("traefik", "narrow"):
        _create(core.create_namespaced_service_account, SYSTEM_NS, {"metadata": {"name": sa}})
    # traefik reads Ingresses, IngressClasses, Services, EndpointSlices, Secrets, Namespaces and Nodes
    _create(rbac.create_cluster_role, {"metadata": {"name": "promaccess-traefik"}, "rules": [
        {"apiGroups": [""], "resources": ["services", "secrets", "namespaces", "nodes", "configmaps", "endpoints"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "ingressclasses"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]}]})
    _create(rbac.create_cluster_role_binding, {
        "metadata": {"name": "promaccess-traefik"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "promaccess-traefik"},
        "subjects": [{"kind": "ServiceAccount", "name": "traefik", "namespace": SYSTEM_NS}]})
    # the narrow account: reads in namespace "narrow", writes nothing
    _create(rbac.create_namespaced_role, NARROW_NS, {"metadata": {"name": "read-only"}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list"]},
        {"apiGroups": ["monitoring.coreos.com"], "resources": ["servicemonitors", "prometheuses"],
         "verbs": ["get", "list"]}]})
    _create(rbac.create_namespaced_role_binding, NARROW_NS, {
        "metadata": {"name": "narrow-read-only"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-only"},
        "subjects": [{"kind": "ServiceAccount", "name": "narrow", "namespace": SYSTEM_NS}]})
    (STATE_DIR / "traefik.token").write_text(service_account_token(api, SYSTEM_NS, "traefik"))
    os.chmod(STATE_DIR / "traefik.token", 0o600)
    write_yaml(STATE_DIR / "narrow.kubeconfig", kubeconfig(
        {"token": service_account_token(api, SYSTEM_NS, "narrow")}, namespace=NARROW_NS, context="narrow"))
    return timings


# --- up / down ----------------------------------------------------------------------------------------------
def up() -> dict:
    if healthy():
        log("already up, reusing it")
        print(STATE_DIR / "kubeconfig")
        return json.loads((STATE_DIR / "state.json").read_text())
    down(quiet=True)
    timings: dict[str, float] = {}
    start = time.monotonic()
    bins = binaries()
    crds = operator_crds()
    timings["build_or_cache"] = time.monotonic() - start
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    pki = STATE_DIR / "pki"
    _pki(pki)
    write_yaml(STATE_DIR / "kubeconfig", kubeconfig(
        {"client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")}, context="admin"))
    write_yaml(STATE_DIR / "audit-policy.yaml", AUDIT_POLICY)

    etcd = _start("etcd", [
        str(bins["etcd"]), "--name=promaccess", "--data-dir=%s" % (STATE_DIR / "etcd"),
        "--listen-client-urls=http://127.0.0.1:%d" % PORTS["etcd"],
        "--advertise-client-urls=http://127.0.0.1:%d" % PORTS["etcd"],
        "--listen-peer-urls=http://127.0.0.1:%d" % PORTS["etcd_peer"],
        "--initial-advertise-peer-urls=http://127.0.0.1:%d" % PORTS["etcd_peer"],
        "--initial-cluster=promaccess=http://127.0.0.1:%d" % PORTS["etcd_peer"],
        "--listen-metrics-urls=", "--log-level=warn", "--unsafe-no-fsync"])
    timings["etcd"] = _wait("etcd", lambda: _http_ok("http://127.0.0.1:%d/health" % PORTS["etcd"]), 60, etcd, "etcd")

    apiserver = _start("kube-apiserver", [
        str(bins["kube-apiserver"]),
        "--etcd-servers=http://127.0.0.1:%d" % PORTS["etcd"],
        "--bind-address=127.0.0.1", "--secure-port=%d" % PORTS["apiserver"],
        "--cert-dir=%s" % (STATE_DIR / "apiserver-certs"),
        "--tls-cert-file=%s" % (pki / "apiserver.crt"), "--tls-private-key-file=%s" % (pki / "apiserver.key"),
        "--client-ca-file=%s" % (pki / "ca.crt"),
        "--service-account-issuer=https://kubernetes.default.svc",
        "--service-account-key-file=%s" % (pki / "sa.pub"),
        "--service-account-signing-key-file=%s" % (pki / "sa.key"),
        "--service-cluster-ip-range=10.0.0.0/24",
        "--authorization-mode=RBAC",
        "--endpoint-reconciler-type=none",
        "--audit-policy-file=%s" % (STATE_DIR / "audit-policy.yaml"),
        "--audit-log-path=%s" % (STATE_DIR / "audit.log"), "--audit-log-format=json",
        "--audit-log-mode=blocking", "--audit-log-maxbackup=0",
        "--profiling=false"])
    timings["kube-apiserver"] = _wait("kube-apiserver", lambda: _https_ok(server_url() + "/readyz"), 120,
                                      apiserver, "kube-apiserver")
    timings.update(_bootstrap(crds))

    operator = _start("prometheus-operator", [
        str(bins["prometheus-operator"]), "--apiserver=%s" % server_url(),
        "--ca-file=%s" % (pki / "ca.crt"), "--cert-file=%s" % (pki / "admin.crt"),
        "--key-file=%s" % (pki / "admin.key"),
        "--web.listen-address=127.0.0.1:%d" % PORTS["operator"], "--log-level=info",
        "--namespaces=%s" % ",".join(OPERATOR_NAMESPACES),
        "--kubelet-endpoints=false"])
    timings["prometheus-operator"] = _wait(
        "prometheus-operator", lambda: _http_ok("http://127.0.0.1:%d/healthz" % PORTS["operator"]), 60,
        operator, "prometheus-operator")

    traefik = _start("traefik", [
        str(bins["traefik"]),
        "--entryPoints.web.address=127.0.0.1:%d" % PORTS["ingress"],
        "--entryPoints.traefik.address=127.0.0.1:%d" % PORTS["traefik"], "--ping=true",
        "--providers.kubernetesIngressNGINX=true",
        "--providers.kubernetesIngressNGINX.endpoint=%s" % server_url(),
        "--providers.kubernetesIngressNGINX.token=%s" % (STATE_DIR / "traefik.token"),
        "--providers.kubernetesIngressNGINX.certAuthFilePath=%s" % (pki / "ca.crt"),
        "--providers.kubernetesIngressNGINX.ingressClass=%s" % INGRESS_CLASS,
        "--providers.kubernetesIngressNGINX.throttleDuration=0s",
        "--log.level=INFO", "--log.noColor=true", "--accesslog=true", "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false"])
    timings["traefik"] = _wait("traefik", lambda: _http_ok("http://127.0.0.1:%d/ping" % PORTS["traefik"]), 60,
                               traefik, "traefik")
    state = {"server": server_url(), "kubeconfig": str(STATE_DIR / "kubeconfig"),
             "narrow_kubeconfig": str(STATE_DIR / "narrow.kubeconfig"), "audit_log": str(STATE_DIR / "audit.log"),
             "ports": PORTS, "ingress_url": "http://127.0.0.1:%d" % PORTS["ingress"],
             "ingress_class": INGRESS_CLASS, "binaries": {k: str(v) for k, v in bins.items()},
             "start_seconds": {k: round(v, 2) for k, v in timings.items()}}
    (STATE_DIR / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    for name, seconds in state["start_seconds"].items():
        log("%-20s %6.2f s" % (name, seconds))
    print(STATE_DIR / "kubeconfig")
    return state


def down(quiet: bool = False) -> None:
    pids = _pids()
    for name in reversed(COMPONENTS):
        pid = pids.get(name)
        if pid is None:
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        (STATE_DIR / (name + ".pid")).unlink(missing_ok=True)
    for item in ("etcd", "apiserver-certs", "state.json", "audit.log", "traefik.token"):
        path = STATE_DIR / item
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    if not quiet:
        log("down")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "up":
        up()
    elif command == "down":
        down()
    elif command == "status":
        ok = healthy()
        print("up" if ok else "down")
        return 0 if ok else 1
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
