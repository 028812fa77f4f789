"""What a test sees of the real control plane (tests/controlplane/controlplane.py): one ``ClusterSession`` per test.

    with ClusterSession(namespaces=["monitoring"]) as k8s:
        kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")   # the identity the code under test uses
        k8s.put_object("secrets", "monitoring", {...})                 # arrange, as the admin
        ... run a module or a playbook ...
        k8s.get_object("secrets", "monitoring", "prom-auth")          # what the API server stored
        k8s.writes()                                                  # what the code under test sent (audit log)

Each session has its own ServiceAccount (``promaccess-tests/t-<id>``), so the API server's audit log tells its
requests apart from everyone else's, and real RBAC decides what it may do:

* by default it may do anything in any namespace (a ClusterRole with every verb on the resources the collection
  uses, and ``get`` on namespaces, so a missing namespace is a real 404, not a 403);
* ``forbid(verb, resource, namespace)`` takes one verb away in one namespace: the rules are rewritten so that the
  verb is granted only by Roles in the session's other namespaces, and the call returns once a
  SubjectAccessReview confirms the denial (the RBAC authorizer works from a cache);
* ``inject_conflicts(verb, count)`` makes the next ``count`` writes (``update`` or ``patch``) of this session's
  account meet a real concurrent writer: a validating admission webhook (``ConflictWebhook``, run by the test in
  this process) is called while the API server holds the session's write, and writes the same object as the admin
  (an annotation ``promaccess.test/concurrent-write``) before allowing it; etcd's compare-and-swap then fails,
  and the API server answers the session's write with its own 409 Conflict. The code under test then reads the
  object again, as it would against any busy cluster.

Entering a session empties its namespaces of the kinds the tests create (there is no namespace controller to
delete a namespace), so each test starts from an empty namespace.
"""

from __future__ import annotations

import atexit
import base64
import datetime
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from controlplane import controlplane as cp

# plural -> (group, version, kind); group "" is the core API under /api/v1
RESOURCES = {
    "secrets": ("", "v1", "Secret"),
    "configmaps": ("", "v1", "ConfigMap"),
    "services": ("", "v1", "Service"),
    "ingresses": ("networking.k8s.io", "v1", "Ingress"),
    "servicemonitors": ("monitoring.coreos.com", "v1", "ServiceMonitor"),
    "prometheuses": ("monitoring.coreos.com", "v1", "Prometheus"),
    "deployments": ("apps", "v1", "Deployment"),
    "statefulsets": ("apps", "v1", "StatefulSet"),
    "endpointslices": ("discovery.k8s.io", "v1", "EndpointSlice"),
    "events": ("", "v1", "Event"),
}
# emptied when a session starts, in this order (custom resources first, so the operator stops acting on them)
CLEANED = ("prometheuses", "servicemonitors", "ingresses", "deployments", "statefulsets", "endpointslices",
           "services", "configmaps", "secrets", "events")
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
TESTS_NS = "promaccess-tests"
ANNOTATION = "promaccess.test/concurrent-write"
_LOCK = threading.Lock()
_STARTED_HERE = []


def ensure_up() -> dict:
    """Start the control plane when it is not running (and stop it when the test process ends)."""
    with _LOCK:
        if not cp.healthy():
            cp.up()
            _STARTED_HERE.append(True)
            if not os.environ.get("PROMACCESS_K8S_KEEP"):
                atexit.register(cp.down, True)
        return json.loads((cp.STATE_DIR / "state.json").read_text())


def api_path(resource: str, namespace: str | None, name: str | None = None) -> str:
    group, version = RESOURCES[resource][:2]
    base = "/api/%s" % version if not group else "/apis/%s/%s" % (group, version)
    path = base + ("/namespaces/%s" % namespace if namespace else "") + "/" + resource
    return path + ("/" + name if name else "")


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__("%s: %s" % (status, body))
        self.status = status
        self.body = body


class Admin:
    """The admin's plain HTTPS client (client certificate of group system:masters)."""

    def __init__(self):
        pki = cp.STATE_DIR / "pki"
        self.ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def request(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(cp.server_url() + path, data=data, method=method,
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None

    def get(self, path):
        try:
            return self.request("GET", path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def apply(self, path, obj):
        """Create, or replace what is there (the admin arranging a test)."""
        try:
            return self.request("POST", path, obj)
        except ApiError as exc:
            if exc.status != 409:
                raise
        name = obj["metadata"]["name"]
        current = self.request("GET", path + "/" + name)
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.request("PUT", path + "/" + name, obj)

    def can(self, user, verb, resource, namespace):
        """SubjectAccessReview; for ``namespaces`` (cluster-scoped), ``namespace`` is the namespace's name."""
        group = RESOURCES[resource][0] if resource in RESOURCES else ""
        attributes = {"verb": verb, "group": group, "resource": resource, "namespace": namespace}
        if resource == "namespaces":
            attributes = {"verb": verb, "group": "", "resource": resource, "name": namespace}
        review = self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": ["system:serviceaccounts", "system:authenticated"],
                     "resourceAttributes": attributes}})
        return bool(review["status"].get("allowed"))


class ClusterSession:
    """A test's view of the real API server (see the module docstring)."""

    def __init__(self, namespaces=("default",)):
        self.namespaces = list(namespaces)
        self.id = "t-" + uuid.uuid4().hex[:10]
        self.user = "system:serviceaccount:%s:%s" % (TESTS_NS, self.id)
        self.forbidden: set[tuple[str, str, str]] = set()
        self.state: dict = {}
        self.admin: Admin | None = None
        self.webhook: ConflictWebhook | None = None
        self._token: str | None = None
        self._audit_start = 0

    # -- life cycle ----------------------------------------------------------------------------------------
    def __enter__(self):
        self.state = ensure_up()
        self.admin = Admin()
        for ns in [TESTS_NS, *self.namespaces]:
            try:
                self.admin.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
            except ApiError as exc:
                if exc.status != 409:
                    raise
        for ns in self.namespaces:
            self._empty(ns)
        self.admin.request("POST", "/api/v1/namespaces/%s/serviceaccounts" % TESTS_NS,
                           {"metadata": {"name": self.id}})
        self._grant()
        audit = Path(self.state["audit_log"])
        self._audit_start = audit.stat().st_size if audit.exists() else 0
        return self

    def __exit__(self, *exc):
        if self.webhook is not None:
            self.webhook.stop()
        for ns in self.namespaces:  # leave no Ingress route or Prometheus behind for the next test
            self._empty(ns)
        for kind, path in (("clusterrolebindings", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/"),
                           ("clusterroles", "/apis/rbac.authorization.k8s.io/v1/clusterroles/")):
            try:
                self.admin.request("DELETE", path + self.id)
            except ApiError:
                pass

    def _empty(self, ns):
        for resource in CLEANED:
            path = api_path(resource, ns)
            items = (self.admin.request("GET", path) or {}).get("items") or []
            for item in items:
                try:
                    self.admin.request("DELETE", path + "/" + item["metadata"]["name"])
                except ApiError as exc:
                    if exc.status != 404:
                        raise

    # -- identity and RBAC ---------------------------------------------------------------------------------
    def token(self) -> str:
        if self._token is None:
            review = self.admin.request(
                "POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (TESTS_NS, self.id),
                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                 "spec": {"expirationSeconds": 7200}})
            self._token = review["status"]["token"]
        return self._token

    def write_kubeconfig(self, path, context="promaccess-test", token=None, namespace="default") -> str:
        """A kubeconfig whose current context is this session's ServiceAccount on the real API server."""
        cp.write_yaml(Path(path), cp.kubeconfig({"token": token or self.token()}, namespace=namespace,
                                                context=context))
        return str(path)

    @property
    def url(self) -> str:
        return self.state["server"]

    @property
    def ca_file(self) -> str:
        return str(cp.STATE_DIR / "pki" / "ca.crt")

    def _rules(self, allowed_verbs_by_resource):
        rules = []
        for resource, verbs in sorted(allowed_verbs_by_resource.items()):
            if verbs:
                rules.append({"apiGroups": [RESOURCES[resource][0]], "resources": [resource], "verbs": sorted(verbs)})
        return rules

    def _grant(self):
        limited = {r for _v, r, _n in self.forbidden}
        cluster = {r: set(VERBS) - {v for v, res, _n in self.forbidden if res == r} for r in RESOURCES}
        # namespaces are cluster-scoped: forbidding `get namespaces X` leaves get on the session's other ones
        hidden = {n for v, r, n in self.forbidden if (v, r) == ("get", "namespaces")}
        if hidden:
            namespace_rules = [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"],
                                "resourceNames": sorted(set(self.namespaces) - hidden) or ["-"]}]
        else:
            namespace_rules = [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]}]
        limited.discard("namespaces")
        rules = self._rules(cluster) + namespace_rules + [
            {"apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]}]
        self._put_rbac("clusterroles", None, {"metadata": {"name": self.id}, "rules": rules})
        self._put_rbac("clusterrolebindings", None, {
            "metadata": {"name": self.id},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self.id},
            "subjects": [{"kind": "ServiceAccount", "name": self.id, "namespace": TESTS_NS}]})
        for ns in self.namespaces:
            allowed = {r: {v for v, res, n in self.forbidden if res == r and n != ns}
                       - {v for v, res, n in self.forbidden if res == r and n == ns} for r in limited}
            role = {"metadata": {"name": self.id}, "rules": self._rules(allowed)}
            if role["rules"] or self.forbidden:
                self._put_rbac("roles", ns, role)
                self._put_rbac("rolebindings", ns, {
                    "metadata": {"name": self.id},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": self.id},
                    "subjects": [{"kind": "ServiceAccount", "name": self.id, "namespace": TESTS_NS}]})
        # the authorizer works from a watch cache: wait until it agrees with what was just written
        checks = [(v, r, n, False) for v, r, n in self.forbidden] + [("get", "namespaces", TESTS_NS, not hidden)]
        deadline = time.monotonic() + 15
        while not all(self.admin.can(self.user, v, r, n) is want for v, r, n, want in checks):
            if time.monotonic() > deadline:
                raise RuntimeError("RBAC for %s did not settle" % self.user)
            time.sleep(0.05)

    def _put_rbac(self, kind, ns, obj):
        base = "/apis/rbac.authorization.k8s.io/v1" + ("/namespaces/%s" % ns if ns else "") + "/" + kind
        self.admin.apply(base, obj)

    def forbid(self, verb: str, resource: str, namespace: str) -> None:
        """Take ``verb`` on ``resource`` in ``namespace`` away from this session's account (real RBAC)."""
        self.forbidden.add((verb, resource, namespace))
        self._grant()

    # -- objects -------------------------------------------------------------------------------------------
    def put_object(self, resource: str, namespace: str, obj: dict) -> dict:
        obj = json.loads(json.dumps(obj))
        for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
            obj.setdefault("metadata", {}).pop(key, None)
        group, version, kind = RESOURCES[resource]
        obj.setdefault("apiVersion", "%s/%s" % (group, version) if group else version)
        obj.setdefault("kind", kind)
        return self.admin.apply(api_path(resource, namespace), obj)

    def get_object(self, resource: str, namespace: str, name: str) -> dict | None:
        return self.admin.get(api_path(resource, namespace, name))

    # -- what the code under test sent ---------------------------------------------------------------------
    def _flush_audit(self):
        """Write a marker through the API server and read the audit log up to it: every write this session made
        before the call is then in the log (the log backend writes in the request's goroutine, after the reply)."""
        marker = "audit-mark-" + uuid.uuid4().hex[:8]
        self.admin.request("POST", "/api/v1/namespaces/%s/configmaps?dryRun=All" % TESTS_NS,
                           {"metadata": {"name": marker}})
        deadline = time.monotonic() + 10
        while True:
            events = self._events()
            if any(e.get("objectRef", {}).get("name") == marker for e in events):
                return [e for e in events if e.get("user", {}).get("username") == self.user]
            if time.monotonic() > deadline:
                raise RuntimeError("audit marker %s never reached %s" % (marker, self.state["audit_log"]))
            time.sleep(0.02)

    def _events(self):
        with open(self.state["audit_log"], "rb") as handle:
            handle.seek(self._audit_start)
            lines = handle.read().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    @property
    def requests(self) -> list[dict]:
        method = {"create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE",
                  "deletecollection": "DELETE"}
        out = []
        for event in self._flush_audit():
            if event.get("stage") != "ResponseComplete":
                continue
            if event.get("objectRef", {}).get("name") == ConflictWebhook.PROBE:
                continue
            out.append({"method": method.get(event["verb"], event["verb"].upper()), "path": event["requestURI"],
                        "body": event.get("requestObject"), "status": event.get("responseStatus", {}).get("code"),
                        "user": event["user"]["username"]})
        return out

    def writes(self) -> list[dict]:
        """Every write this session's account made (POST/PUT/PATCH/DELETE), in order, from the audit log."""
        return [r for r in self.requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    # -- faults --------------------------------------------------------------------------------------------
    def inject_conflicts(self, verb: str, count: int = 1) -> None:
        if self.webhook is None:
            self.webhook = ConflictWebhook(self).start()
        self.webhook.arm(verb, count)

    @property
    def faults_url(self) -> str:
        """Plain HTTP control endpoint (``POST /conflicts {"verb": ..., "count": ...}``) for playbooks."""
        if self.webhook is None:
            self.webhook = ConflictWebhook(self).start()
        return self.webhook.control_url


class ConflictWebhook:
    """A validating admission webhook that plays a concurrent writer, on demand.

    The real API server calls it inside its update of the session's write (after reading the stored object,
    before etcd's compare-and-swap); it then writes the same object as the admin, so the API server's own
    resourceVersion check answers the session's write with 409 Conflict. Only this session's account matches
    (a CEL ``matchCondition``), and only while armed; it allows everything.
    """

    PROBE = "promaccess-webhook-probe"

    def __init__(self, session: ClusterSession):
        self.session = session
        self.armed: dict[str, int] = {}
        self.fired: list[dict] = []
        self.seen_probe = threading.Event()
        self.lock = threading.Lock()
        self.name = "conflicts-%s.promaccess.test" % session.id

    def arm(self, verb: str, count: int) -> None:
        with self.lock:
            self.armed[verb] = count

    def start(self) -> "ConflictWebhook":
        pki = cp.STATE_DIR / "pki"
        certdir = cp.STATE_DIR / "webhooks" / self.session.id
        _leaf_cert(pki, certdir)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path.startswith("/conflicts"):
                    hook.arm(body["verb"], int(body.get("count", 1)))
                    self._reply({"armed": hook.armed})
                    return
                request = body["request"]
                hook.review(request)
                self._reply({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                             "response": {"uid": request["uid"], "allowed": True}})

            def _reply(self, data):
                out = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.tls = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(certdir / "tls.crt"), str(certdir / "tls.key"))
        self.tls.socket = ctx.wrap_socket(self.tls.socket, server_side=True)
        self.plain = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self.tls, self.plain)]
        for thread in self.threads:
            thread.start()
        self.control_url = "http://127.0.0.1:%d" % self.plain.server_address[1]
        ca = (pki / "ca.crt").read_bytes()
        self.session.admin.apply("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", {
            "metadata": {"name": self.name},
            "webhooks": [{
                "name": self.name,
                "clientConfig": {"url": "https://127.0.0.1:%d/review" % self.tls.server_address[1],
                                 "caBundle": base64.b64encode(ca).decode()},
                "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["UPDATE"],
                           "resources": ["*"], "scope": "Namespaced"}],
                "matchConditions": [{"name": "session", "expression":
                                     "request.userInfo.username == '%s'" % self.session.user}],
                "failurePolicy": "Fail", "sideEffects": "NoneOnDryRun", "timeoutSeconds": 10,
                "admissionReviewVersions": ["v1"]}]})
        self._wait_registered()
        return self

    def _wait_registered(self):
        """Update a probe ConfigMap as the session until the webhook sees it (its registration is cached)."""
        ns = self.session.namespaces[0]
        path = api_path("configmaps", ns)
        self.session.admin.apply(path, {"metadata": {"name": self.PROBE}, "data": {"n": "0"}})
        ctx = ssl.create_default_context(cafile=self.session.ca_file)
        deadline = time.monotonic() + 15
        n = 0
        while not self.seen_probe.is_set():
            n += 1
            req = urllib.request.Request(
                self.session.url + path + "/" + self.PROBE, method="PATCH",
                data=json.dumps({"data": {"n": str(n)}}).encode(),
                headers={"Content-Type": "application/merge-patch+json",
                         "Authorization": "Bearer " + self.session.token()})
            with urllib.request.urlopen(req, context=ctx, timeout=10):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("conflict webhook never called")
            self.seen_probe.wait(0.1)

    def review(self, request):
        obj = request.get("object") or {}
        meta = obj.get("metadata") or {}
        if meta.get("name") == self.PROBE:
            self.seen_probe.set()
            return
        # admission sees a PATCH as an UPDATE (with UpdateOptions): one counter serves both verbs
        if request.get("dryRun"):
            return
        with self.lock:
            verb = next((v for v, n in self.armed.items() if n > 0), None)
            if verb is None:
                return
            self.armed[verb] -= 1
        resource = request["resource"]["resource"]
        n = len(self.fired) + 1
        self.session.admin.request(
            "PATCH", api_path(resource, request["namespace"], request["name"]),
            {"metadata": {"annotations": {ANNOTATION: str(n)}}}, content_type="application/merge-patch+json")
        self.fired.append({"verb": verb, "resource": resource, "name": request["name"]})

    def stop(self):
        try:
            self.session.admin.request(
                "DELETE", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/" + self.name)
        except ApiError:
            pass
        for server in (self.tls, self.plain):
            server.shutdown()
            server.server_close()


def _leaf_cert(pki: Path, out: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    out.mkdir(parents=True, exist_ok=True)
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address(
                "127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (out / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    (out / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
