# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes API connection and Secret read/update helpers. Private to promaccess.core: no stable API.

Connection options carry the names and environment variables of kubernetes.core (``module_utils/args_common.py``)
so that the same ``module_defaults`` or environment serve both collections. Objects are exchanged as plain
dicts (JSON as the API sends it), never as the client's model classes, so that unknown fields survive a
read-modify-write. No write ever carries a ``kubectl.kubernetes.io/last-applied-configuration`` annotation: for a
Secret that annotation is a second, stale copy of its data.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import traceback

from ansible.module_utils.basic import env_fallback

KUBERNETES_IMPORT_ERROR = None
try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:  # pragma: no cover - exercised through missing_required_lib in the modules
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()
    k8s_client = k8s_config = None

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stands in for kubernetes.client.exceptions.ApiException when the client is missing."""

    class ConfigException(Exception):  # type: ignore[no-redef]
        """Stands in for kubernetes.config.ConfigException when the client is missing."""

    class Urllib3Error(Exception):  # type: ignore[no-redef]
        """Stands in for urllib3.exceptions.HTTPError when the client is missing."""


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
FIELD_MANAGER = "promaccess.core"
DEFAULT_CONFLICT_RETRIES = 5
REQUEST_TIMEOUT = 30


class K8sError(Exception):
    """A failed API interaction; the message says what was tried, where, and why. Never holds Secret data."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def connection_spec() -> dict:
    """Connection options, named and defaulted from the environment as kubernetes.core does."""
    return dict(
        kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
        context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
        host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
        api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
        validate_certs=dict(type="bool", aliases=["verify_ssl"], fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
        ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
    )


def make_api_client(params: dict):
    """An ApiClient from the connection options.

    A kubeconfig is loaded when ``kubeconfig`` or ``context`` is given, or when ``host`` is not (then the
    default ``~/.kube/config``, and failing that the in-cluster service account). ``host``, ``api_key``,
    ``validate_certs`` and ``ca_cert`` override what the kubeconfig says.
    """
    if KUBERNETES_IMPORT_ERROR is not None:
        raise K8sError("the 'kubernetes' Python library is required")
    configuration = k8s_client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    host = params.get("host")
    if kubeconfig or context or not host:
        try:
            k8s_config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=False
            )
        except (ConfigException, OSError) as exc:
            if kubeconfig or context:
                raise K8sError("cannot load kubeconfig %s: %s" % (kubeconfig or "(default)", exc)) from exc
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except ConfigException as exc2:
                raise K8sError(
                    "no cluster to talk to: give kubeconfig, or host with api_key "
                    "(or K8S_AUTH_KUBECONFIG / K8S_AUTH_HOST); the default kubeconfig failed (%s) and this is "
                    "not a pod (%s)" % (exc, exc2)
                ) from exc2
    if host:
        configuration.host = host
    if params.get("api_key"):
        configuration.api_key = {"authorization": "Bearer %s" % params["api_key"]}
        configuration.api_key_prefix = {}
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = params["validate_certs"]
    if params.get("ca_cert"):
        configuration.ssl_ca_cert = params["ca_cert"]
    return k8s_client.ApiClient(configuration)


# -- Secret data ---------------------------------------------------------------------------------------------
def decode_data(secret: dict | None) -> dict[str, str]:
    """A Secret's ``data`` as text (base64 decoded, UTF-8)."""
    out = {}
    for key, value in ((secret or {}).get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value or "", validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise K8sError("Secret key %r is not base64-encoded UTF-8 text" % (key,)) from exc
    return out


def encode_data(data: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64encode(value.encode("utf-8")).decode("ascii") for key, value in data.items()}


def without_last_applied(obj: dict) -> tuple[dict, bool]:
    """A copy of ``obj`` that cannot leak its data into kubectl's annotation; True when one was removed."""
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    meta.pop("managedFields", None)  # omitted in an update: the server keeps them
    annotations = meta.get("annotations") or {}
    removed = annotations.pop(LAST_APPLIED, None) is not None
    if "annotations" in meta and not annotations:
        del meta["annotations"]
    return obj, removed


# -- errors ------------------------------------------------------------------------------------------------
def _server_message(exc) -> str:
    try:
        return json.loads(exc.body).get("message") or exc.reason
    except (TypeError, ValueError, AttributeError):
        return str(getattr(exc, "reason", exc))


def translate(exc, verb: str, resource: str, namespace: str, name: str | None = None) -> K8sError:
    """Turn an ApiException into a K8sError a person can act on."""
    what = "%s %s%s in namespace %r" % (verb, resource, " %r" % name if name else "", namespace)
    status = getattr(exc, "status", None)
    message = _server_message(exc)
    if status == 403:
        return K8sError(
            "RBAC denied: the credentials in use may not %s %s in namespace %r; grant the verb %r on "
            "resource %r there (server said: %s)" % (verb, resource, namespace, verb, resource, message),
            status,
        )
    if status == 401:
        return K8sError(
            "cannot %s: the API server rejected the credentials (401 Unauthorized): %s" % (what, message), status
        )
    if status == 404:
        details = {}
        try:
            details = json.loads(exc.body).get("details") or {}
        except (TypeError, ValueError, AttributeError):
            pass
        if details.get("kind") == "namespaces" or message.startswith("namespaces "):
            return K8sError("cannot %s: namespace %r does not exist" % (what, namespace), status)
        return K8sError("cannot %s: not found (%s)" % (what, message), status)
    return K8sError("cannot %s: HTTP %s %s" % (what, status, message), status)


def update_loop(kind: str, namespace: str, name: str, read, compute, send, retries: int, write: bool) -> dict:
    """Read (``read()``), compute what to send (``compute(current)``, None for nothing), send it
    (``send(current, wanted)``); on 409 start again, giving up after ``retries`` conflicts.

    Returns ``{"before", "after", "wanted", "written", "conflicts"}``. With ``write=False`` (check mode) nothing
    is sent and ``after`` is None when something would have been.
    """
    conflicts = 0
    while True:
        current = read()
        wanted = compute(copy.deepcopy(current) if current is not None else None)
        if wanted is None or not write:
            return {"before": current, "after": None if wanted is not None else current, "wanted": wanted,
                    "written": False, "conflicts": conflicts}
        try:
            after = send(current, wanted)
        except K8sError as exc:
            if exc.status != 409:
                raise
            conflicts += 1
            if conflicts > retries:
                raise K8sError(
                    "%s %r in namespace %r kept changing under us: gave up after %d conflicting updates (HTTP 409)"
                    % (kind, name, namespace, conflicts),
                    409,
                ) from exc
            continue
        return {"before": current, "after": after, "wanted": wanted, "written": True, "conflicts": conflicts}


class SecretApi:
    """Secrets through CoreV1Api, as dicts."""

    def __init__(self, api_client):
        self.core = k8s_client.CoreV1Api(api_client)
        self.host = api_client.configuration.host

    def _call(self, verb, namespace, name, fn, *args, resource="secrets", **kwargs):
        kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
        try:
            response = fn(*args, _preload_content=False, **kwargs)
        except ApiException as exc:
            raise translate(exc, verb, resource, namespace, name) from exc
        except Urllib3Error as exc:
            raise K8sError("cannot reach the Kubernetes API server at %s: %s" % (self.host, exc)) from exc
        return json.loads(response.data or b"null")

    def get(self, namespace: str, name: str) -> dict | None:
        try:
            return self._call("get", namespace, name, self.core.read_namespaced_secret, name, namespace)
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise

    def get_config_map(self, namespace: str, name: str) -> dict | None:
        """A ConfigMap, as a dict (read only: a chart's rendered web.yml, for the access report)."""
        try:
            return self._call("get", namespace, name, self.core.read_namespaced_config_map, name, namespace,
                              resource="configmaps")
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise

    def namespace_exists(self, namespace: str) -> bool | None:
        """True/False, or None when the credentials may not read namespaces."""
        try:
            self.core.read_namespace(namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return False
            if exc.status in (401, 403):
                return None
            raise translate(exc, "get", "namespaces", namespace, namespace) from exc
        except Urllib3Error as exc:
            raise K8sError("cannot reach the Kubernetes API server at %s: %s" % (self.host, exc)) from exc
        return True

    def create(self, namespace: str, body: dict) -> dict:
        body, _unused = without_last_applied(body)
        body["metadata"].pop("resourceVersion", None)
        return self._call(
            "create",
            namespace,
            body["metadata"].get("name"),
            self.core.create_namespaced_secret,
            namespace,
            body,
            field_manager=FIELD_MANAGER,
        )

    def replace(self, namespace: str, name: str, body: dict) -> dict:
        """PUT with the resourceVersion read: the server answers 409 if someone else wrote in between."""
        body, _unused = without_last_applied(body)
        return self._call(
            "update",
            namespace,
            name,
            self.core.replace_namespaced_secret,
            name,
            namespace,
            body,
            field_manager=FIELD_MANAGER,
        )

    def delete(self, namespace: str, name: str) -> bool:
        try:
            self._call("delete", namespace, name, self.core.delete_namespaced_secret, name, namespace)
        except K8sError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def update(self, namespace: str, name: str, mutate, retries: int = DEFAULT_CONFLICT_RETRIES, write: bool = True) -> dict:
        """Read, let ``mutate(current)`` compute the wanted object, write it; on 409 start again.

        ``mutate`` gets the live object (None when absent) and returns the object to write, or None for no
        change. Returns ``{"before", "after", "wanted", "written", "conflicts"}``. Gives up after ``retries``
        conflicts. With ``write=False`` (check mode) nothing is sent and ``after`` is None when something would
        be written; a Secret that would be created in a namespace that does not exist is refused, as the write
        would be.
        """

        def send(current, wanted):
            if current is None:
                return self.create(namespace, wanted)
            wanted.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.replace(namespace, name, wanted)

        result = update_loop("Secret", namespace, name, lambda: self.get(namespace, name), mutate, send, retries, write)
        if result["wanted"] is not None and result["before"] is None and not write:
            if self.namespace_exists(namespace) is False:
                raise K8sError("namespace %r does not exist" % (namespace,))
        return result


# -- other namespaced objects, patched field by field --------------------------------------------------------
# (group, version, plural) -> kind. Addressed through CustomObjectsApi, which builds the plain REST path
# /apis/{group}/{version}/namespaces/{ns}/{plural}/{name}: that serves built-in groups (Ingress, Deployment,
# StatefulSet) as well as custom resources and needs no discovery.
OBJECT_KINDS = {
    ("networking.k8s.io", "v1", "ingresses"): "Ingress",
    ("monitoring.coreos.com", "v1", "servicemonitors"): "ServiceMonitor",
    ("monitoring.coreos.com", "v1", "prometheuses"): "Prometheus",
    ("apps", "v1", "deployments"): "Deployment",
    ("apps", "v1", "statefulsets"): "StatefulSet",
}
MERGE_PATCH = "application/merge-patch+json"


class ObjectApi:
    """One namespaced resource (an OBJECT_KINDS key), read and changed with JSON merge patches (RFC 7386).

    A merge patch names only the fields it sets (``null`` removes one), so fields owned by others are never
    sent. It cannot address one element of a list: a caller that must change a list sends it whole and puts
    the ``resourceVersion`` it read into the patch, so that a concurrent writer makes the server answer 409.
    """

    def __init__(self, api_client, group: str, version: str, plural: str):
        self.kind = OBJECT_KINDS[(group, version, plural)]
        self.group, self.version, self.plural = group, version, plural
        self.custom = k8s_client.CustomObjectsApi(api_client)
        self.host = api_client.configuration.host

    def _call(self, verb, namespace, name, fn, *args, **kwargs):
        kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
        try:
            response = fn(self.group, self.version, namespace, self.plural, name, *args, _preload_content=False, **kwargs)
        except ApiException as exc:
            raise translate(exc, verb, self.plural, namespace, name) from exc
        except Urllib3Error as exc:
            raise K8sError("cannot reach the Kubernetes API server at %s: %s" % (self.host, exc)) from exc
        return json.loads(response.data or b"null")

    def get(self, namespace: str, name: str) -> dict | None:
        try:
            return self._call("get", namespace, name, self.custom.get_namespaced_custom_object)
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise

    def get_existing(self, namespace: str, name: str) -> dict:
        found = self.get(namespace, name)
        if found is None:
            raise K8sError("%s %r not found in namespace %r (it is not created by this module)" % (self.kind, name, namespace), 404)
        return found

    def merge_patch(self, namespace: str, name: str, patch: dict) -> dict:
        return self._call(
            "patch",
            namespace,
            name,
            self.custom.patch_namespaced_custom_object,
            patch,
            field_manager=FIELD_MANAGER,
            _content_type=MERGE_PATCH,
        )

    def update(self, namespace: str, name: str, compute, retries: int = DEFAULT_CONFLICT_RETRIES, write: bool = True) -> dict:
        """Read, let ``compute(current)`` return a merge patch (None: nothing to do), send it; on 409 start again.

        Returns ``{"before", "after", "patch", "written", "conflicts"}``; with ``write=False`` (check mode)
        nothing is sent and ``after`` is None.
        """
        result = update_loop(self.kind, namespace, name, lambda: self.get_existing(namespace, name), compute,
                             lambda _current, patch: self.merge_patch(namespace, name, patch), retries, write)
        result["patch"] = result.pop("wanted")
        return result
