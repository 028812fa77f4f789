"""A STAND-IN for the Kubernetes API server, for tests only. It is not Kubernetes.

No Kubernetes API server (no kind, k3s or minikube: no container registry, no systemd, no cluster) can run on
the machines these tests run on, so the tests talk to this small threaded HTTP server on 127.0.0.1 instead.
It implements only what the collection's modules use, and only as far as they use it:

* ``GET /api/v1/namespaces/{ns}``;
* Secrets: ``GET``/``POST`` ``/api/v1/namespaces/{ns}/secrets`` and ``GET``/``PUT``/``PATCH``/``DELETE``
  ``/api/v1/namespaces/{ns}/secrets/{name}``;
* the same verbs on ``/apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}]`` for networking.k8s.io/v1
  ``ingresses`` and monitoring.coreos.com/v1 ``servicemonitors`` and ``prometheuses`` (the latter two are custom
  resources on a real cluster; here they are simply stored, with no CRD and no schema validation: the tests
  validate what the modules send against the real schemas separately);
* apps/v1 ``deployments`` and ``statefulsets``: ``GET`` and ``PATCH`` of one object only (what
  k8s_prometheus_url uses; other verbs get 405). Stored as given: no defaulting, no validation, no
  ``metadata.generation``, no rollout (no ReplicaSet, no Pod, no ``status`` update);
* PATCH only as a JSON merge patch (``Content-Type: application/merge-patch+json``, RFC 7386); any other patch
  type gets 415 (a real server would accept a strategic merge patch on built-in kinds, and apply patches);
  a ``metadata.resourceVersion`` inside a merge patch is a precondition, as on a real server (409 when stale);
* ``metadata.resourceVersion`` (one counter for the whole store, as etcd's revision): a PUT whose
  resourceVersion is not the current one gets 409 Conflict; a POST of an existing name gets 409
  AlreadyExists; ``data`` values must be valid base64 (422 otherwise), and ``type`` is immutable (422);
* 403 Forbidden for configured (verb, resource, namespace) triples, with the message format of the real
  server (``secrets "x" is forbidden: User "..." cannot update resource "secrets" ... in the namespace "ns"``);
* 404 NotFound for missing namespaces (on POST: ``namespaces "ns" not found``) and missing objects;
* test hooks: ``inject_conflicts(verb, n)`` makes the next ``n`` requests of a verb (on any resource) fail with 409
  (also reachable from a playbook: ``POST /_standin/conflicts`` with ``{"verb": "update", "count": 1}``), and
  ``requests`` records every request (method, path, parsed JSON body) so tests can assert what was sent.

No TLS, no authentication beyond recording the Authorization header, no watch, no admission, no field
managers (the ``fieldManager`` query parameter is recorded in the request path, not tracked), no
``metadata.generation``. Start it with ``StandinServer().start()`` (a context manager too) and write a kubeconfig pointing at
it with ``write_kubeconfig``. Run as ``python server.py --port N --namespace ns --kubeconfig FILE`` to serve
until killed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import yaml

# plural -> (group, version, kind); group "" is the core API under /api/v1
RESOURCES = {
    "secrets": ("", "v1", "Secret"),
    "ingresses": ("networking.k8s.io", "v1", "Ingress"),
    "servicemonitors": ("monitoring.coreos.com", "v1", "ServiceMonitor"),
    "prometheuses": ("monitoring.coreos.com", "v1", "Prometheus"),
    "deployments": ("apps", "v1", "Deployment"),
    "statefulsets": ("apps", "v1", "StatefulSet"),
}
# plural -> the only verbs served for it (resources not named here: every verb above)
VERBS = {"deployments": {"get", "patch"}, "statefulsets": {"get", "patch"}}
MERGE_PATCH = "application/merge-patch+json"


def _api_version(resource):
    group, version = RESOURCES[resource][:2]
    return "%s/%s" % (group, version) if group else version


def _conflict(resource, name):
    return _Problem(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    "please apply your changes to the latest version and try again" % (resource, name),
                    {"name": name, "kind": resource})


class _Problem(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}


class StandinServer:
    """In-memory store plus HTTP front end. Thread-safe: one lock around every request."""

    def __init__(self, namespaces=("default",), user="system:serviceaccount:promaccess:test"):
        self.lock = threading.Lock()
        self.namespaces = set(namespaces)
        self.objects: dict[tuple[str, str, str], dict] = {}  # (resource, ns, name) -> object
        self.revision = 100
        self.forbidden: set[tuple[str, str, str]] = set()  # (verb, resource, namespace)
        self.conflicts: dict[str, int] = {}  # verb -> how many more requests get 409
        self.requests: list[dict] = []
        self.user = user
        self.httpd = None
        self.thread = None

    # -- test hooks ----------------------------------------------------------------------------------------
    def forbid(self, verb: str, resource: str, namespace: str) -> None:
        with self.lock:
            self.forbidden.add((verb, resource, namespace))

    def inject_conflicts(self, verb: str, count: int = 1) -> None:
        with self.lock:
            self.conflicts[verb] = count

    def put_object(self, resource: str, namespace: str, obj: dict) -> dict:
        with self.lock:
            return self._store(resource, namespace, copy.deepcopy(obj), create=True)

    def get_object(self, resource: str, namespace: str, name: str) -> dict | None:
        with self.lock:
            found = self.objects.get((resource, namespace, name))
            return copy.deepcopy(found) if found else None

    def writes(self) -> list[dict]:
        return [r for r in self.requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    # -- life cycle ----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return "http://%s:%d" % (host, port)

    def start(self, port: int = 0) -> "StandinServer":
        server = self

        class Handler(_Handler):
            standin = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)
            self.httpd = None

    def __enter__(self):
        return self.start() if self.httpd is None else self

    def __exit__(self, *exc):
        self.stop()

    def write_kubeconfig(self, path, context="standin", token=None, namespace="default") -> str:
        """A kubeconfig whose current context points at this server with a bearer token."""
        token = token or "standin-" + uuid.uuid4().hex
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "standin", "user": {"token": token}}],
            "contexts": [
                {"name": context, "context": {"cluster": "standin", "user": "standin", "namespace": namespace}}
            ],
            "current-context": context,
        }
        with open(path, "w") as handle:
            yaml.safe_dump(config, handle)
        return str(path)

    # -- the API -------------------------------------------------------------------------------------------
    def _next_revision(self) -> str:
        self.revision += 1
        return str(self.revision)

    def _check_object(self, resource, obj, old=None):
        kind = RESOURCES[resource][2]
        if not isinstance(obj, dict) or obj.get("kind") not in (None, kind):
            raise _Problem(400, "BadRequest", "the body must be a %s" % kind)
        if resource != "secrets":
            return
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, TypeError):
                raise _Problem(422, "Invalid", "Secret %r is invalid: data[%s]: illegal base64 data" % (
                    obj.get("metadata", {}).get("name"), key))
        if old is not None and (old.get("type") or "Opaque") != (obj.get("type") or "Opaque"):
            raise _Problem(422, "Invalid", "Secret %r is invalid: type: Invalid value: %r: field is immutable" % (
                obj["metadata"]["name"], obj.get("type")))

    def _store(self, resource, namespace, obj, create=False, old=None):
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = namespace
        meta["resourceVersion"] = self._next_revision()
        if create:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        else:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        obj["apiVersion"] = _api_version(resource)
        obj["kind"] = RESOURCES[resource][2]
        if resource == "secrets":
            obj.setdefault("type", "Opaque")
            for key, value in list((obj.pop("stringData", None) or {}).items()):
                obj.setdefault("data", {})[key] = base64.b64encode(value.encode()).decode()
        self.objects[(resource, namespace, meta["name"])] = obj
        return copy.deepcopy(obj)

    def handle(self, method: str, path: str, body, content_type: str | None = None) -> tuple[int, dict]:
        parts = [p for p in urlsplit(path).path.split("/") if p]
        if parts == ["_standin", "conflicts"] and method == "POST":
            self.conflicts[body["verb"]] = int(body.get("count", 1))
            return 200, {"kind": "Status", "status": "Success"}
        group = ""
        if parts[:1] == ["apis"] and len(parts) >= 6 and parts[3] == "namespaces":
            group, version, parts = parts[1], parts[2], ["api", "v1"] + parts[3:]
            if len(parts) < 5 or RESOURCES.get(parts[4], ())[:2] != (group, version):
                raise _Problem(404, "NotFound", "the server could not find the requested resource")
        elif parts[:2] != ["api", "v1"] or len(parts) < 4 or parts[2] != "namespaces":
            raise _Problem(404, "NotFound", "the server could not find the requested resource")
        namespace = parts[3]
        if len(parts) == 4:
            self._authorize("get", "namespaces", namespace, namespace)
            if method != "GET":
                raise _Problem(405, "MethodNotAllowed", "only GET of namespaces is implemented by the stand-in")
            if namespace not in self.namespaces:
                raise _Problem(404, "NotFound", 'namespaces "%s" not found' % namespace,
                               {"name": namespace, "kind": "namespaces"})
            return 200, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace},
                         "status": {"phase": "Active"}}
        resource = parts[4]
        if resource not in RESOURCES or RESOURCES[resource][0] != group or len(parts) > 6:
            raise _Problem(404, "NotFound", "the server could not find the requested resource")
        name = parts[5] if len(parts) == 6 else None
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}.get(method)
        if verb is None or (name is None and verb not in ("list", "create")) or (name and verb == "create") \
                or verb not in VERBS.get(resource, {verb}):
            raise _Problem(405, "MethodNotAllowed", "%s is not implemented by the stand-in here" % method)
        self._authorize(verb, resource, namespace, name or (body or {}).get("metadata", {}).get("name"))
        if verb == "patch" and (content_type or "").split(";")[0].strip() != MERGE_PATCH:
            raise _Problem(415, "UnsupportedMediaType", "the stand-in implements PATCH only as %s, not %r"
                           % (MERGE_PATCH, content_type))
        if self.conflicts.get(verb):
            self.conflicts[verb] -= 1
            raise _conflict(resource, name)
        if namespace not in self.namespaces:
            if verb == "create":
                raise _Problem(404, "NotFound", 'namespaces "%s" not found' % namespace,
                               {"name": namespace, "kind": "namespaces"})
            if verb == "list":
                return 200, {"apiVersion": _api_version(resource), "kind": RESOURCES[resource][2] + "List", "items": [],
                             "metadata": {"resourceVersion": str(self.revision)}}
        key = (resource, namespace, name)
        if verb == "list":
            items = [copy.deepcopy(o) for (r, ns, _unused), o in sorted(self.objects.items()) if r == resource and ns == namespace]
            return 200, {"apiVersion": _api_version(resource), "kind": RESOURCES[resource][2] + "List", "items": items,
                         "metadata": {"resourceVersion": str(self.revision)}}
        if verb == "create":
            self._check_object(resource, body)
            name = (body.get("metadata") or {}).get("name")
            if not name:
                raise _Problem(422, "Invalid", "metadata.name: Required value")
            if (resource, namespace, name) in self.objects:
                raise _Problem(409, "AlreadyExists", '%s "%s" already exists' % (resource, name),
                               {"name": name, "kind": resource})
            return 201, self._store(resource, namespace, copy.deepcopy(body), create=True)
        current = self.objects.get(key)
        if current is None:
            raise _Problem(404, "NotFound", '%s "%s" not found' % (resource, name), {"name": name, "kind": resource})
        if verb == "get":
            return 200, copy.deepcopy(current)
        if verb == "delete":
            del self.objects[key]
            return 200, {"apiVersion": "v1", "kind": "Status", "status": "Success",
                         "details": {"name": name, "kind": resource, "uid": current["metadata"]["uid"]}}
        if verb == "update":
            self._check_object(resource, body, current)
            wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise _conflict(resource, name)
            if (body.get("metadata") or {}).get("name") != name:
                raise _Problem(400, "BadRequest", "the name of the object does not match the name on the URL")
            return 200, self._store(resource, namespace, copy.deepcopy(body), old=current)
        # patch: JSON merge patch (RFC 7386); a resourceVersion in it is a precondition
        if not isinstance(body, dict):
            raise _Problem(400, "BadRequest", "a merge patch must be a JSON object")
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise _conflict(resource, name)
        patched = _merge_patch(copy.deepcopy(current), body)
        if (patched.get("metadata") or {}).get("name") != name:
            raise _Problem(400, "BadRequest", "metadata.name cannot be changed by a patch")
        self._check_object(resource, patched, current)
        return 200, self._store(resource, namespace, patched, old=current)

    def _authorize(self, verb, resource, namespace, name):
        if (verb, resource, namespace) in self.forbidden:
            raise _Problem(
                403, "Forbidden",
                '%s%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"'
                % (resource, ' "%s"' % name if name else "", self.user, verb, resource,
                   RESOURCES.get(resource, ("",))[0], namespace),
                {"name": name, "kind": resource},
            )


def _merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge_patch(target.get(key), value)
    return target


class _Handler(BaseHTTPRequestHandler):
    standin: StandinServer
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body in one send: no delayed-ACK stall per request

    def log_message(self, *args):  # keep test output quiet
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        server = self.standin
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with server.lock:
            server.requests.append({
                "method": self.command, "path": self.path, "body": copy.deepcopy(body),
                "content_type": self.headers.get("Content-Type"),
                "authorization": self.headers.get("Authorization"),
            })
            try:
                if raw and body is None:
                    raise _Problem(400, "BadRequest", "the request body is not JSON")
                code, payload = server.handle(self.command, self.path, body, self.headers.get("Content-Type"))
            except _Problem as problem:
                code = problem.code
                payload = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": problem.message, "reason": problem.reason, "details": problem.details,
                           "code": problem.code}
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


def main():  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--namespace", action="append", default=[])
    parser.add_argument("--kubeconfig", required=True)
    args = parser.parse_args()
    server = StandinServer(args.namespace or ["default"]).start(args.port)
    server.write_kubeconfig(args.kubeconfig)
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
