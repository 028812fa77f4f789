# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backends of promaccess.core.k8s_ingress_auth and k8s_prometheus_url. Private to promaccess.core: no stable API.

Each owns a few fields of an existing object (Ingress annotations; a Prometheus's ``spec.externalUrl`` and
``spec.routePrefix``) and changes them with a JSON merge patch that names only those fields, so whatever else the
object holds, and whoever else manages it, is left alone. Uses only ``module.params``, ``module.check_mode``,
``module._diff`` and ``module.warn`` plus an ObjectApi.

The prometheus Helm chart runs Prometheus as a Deployment (or StatefulSet) whose server container takes the same
settings as command-line args. ``PrometheusWorkloadBackend`` owns three of those args (``--web.external-url``,
``--web.route-prefix``, ``--web.config.file``), one Secret volume and its mount, and the container's httpGet
probes on Prometheus's own health endpoints. A merge patch cannot address one element of a list, so the
containers (and volumes, when they change) are sent whole as read, with the ``resourceVersion`` read as a
precondition: a concurrent writer makes the server answer 409, and the backend reads again.
"""

from __future__ import annotations

import copy
import re
from urllib.parse import urlsplit

from ansible_collections.promaccess.core.plugins.module_utils._common.urls import (
    EXTERNAL_URL_FLAG,
    ROUTE_PREFIX_FLAG,
    check_http_url,
    check_route_prefix,
    normalize_prefix,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import SECRET_KEY_RE
from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import K8sBackend
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import ObjectApi

INGRESS_NGINX = "nginx.ingress.kubernetes.io/"
NGINX_ORG = "nginx.org/"
# controller -> the annotations this module owns for it
OWNED_ANNOTATIONS = {
    "ingress_nginx": (INGRESS_NGINX + "auth-type", INGRESS_NGINX + "auth-secret", INGRESS_NGINX + "auth-secret-type",
                      INGRESS_NGINX + "auth-realm"),
    "nginx_ingress": (NGINX_ORG + "basic-auth-secret", NGINX_ORG + "basic-auth-realm"),
}
CONTROLLERS = sorted(OWNED_ANNOTATIONS)


class WiringError(Exception):
    """Anything that stops the wiring; the message names the object."""


def ingress_annotations(controller: str, secret: str, realm: str, auth_secret_type: str = "auth-file") -> dict:
    """The annotations that make ``controller`` ask for basic auth checked against ``secret``."""
    if controller == "ingress_nginx":
        return {
            INGRESS_NGINX + "auth-type": "basic",
            INGRESS_NGINX + "auth-secret": secret,
            INGRESS_NGINX + "auth-secret-type": auth_secret_type,
            INGRESS_NGINX + "auth-realm": realm,
        }
    if controller == "nginx_ingress":
        return {NGINX_ORG + "basic-auth-secret": secret, NGINX_ORG + "basic-auth-realm": realm}
    raise WiringError("unknown controller %r (known: %s)" % (controller, ", ".join(CONTROLLERS)))


def annotation_patch(current: dict, wanted: dict) -> dict | None:
    """Merge patch for metadata.annotations: wanted values set, None values removed, others not named."""
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    patch = {}
    for key, value in wanted.items():
        if value is None:
            if key in annotations:
                patch[key] = None
        elif annotations.get(key) != value:
            patch[key] = value
    return {"metadata": {"annotations": patch}} if patch else None


def _owned_text(values: dict) -> str:
    return "".join("%s: %s\n" % (key, value) for key, value in sorted(values.items()) if value is not None)


class _Backend(K8sBackend):
    plural = ""
    group = ""
    kind = ""
    error = WiringError

    def __init__(self, module, api: ObjectApi | None = None):
        super().__init__(module, api)
        self.name = self.params["name"]
        self.result["name"] = self.name

    def where(self) -> str:
        return "%s %s/%s" % (self.kind, self.namespace, self.name)

    def connect(self, api_client) -> None:
        self.api = ObjectApi(api_client, self.group, "v1", self.plural)

    def owned(self, obj: dict) -> dict:
        raise NotImplementedError

    def compute(self, current: dict) -> dict | None:
        raise NotImplementedError

    def apply(self) -> None:
        update = self.write(self.api, self.name, self.compute)
        before = self.owned(update["before"])
        patch = update["patch"]
        after = self.owned(update["after"]) if update["after"] is not None else self.preview(before, patch)
        self.result.update(changed=patch is not None, conflicts_retried=update["conflicts"],
                           before=before, after=after)
        if self.module._diff:
            self.result["diff"] = {"before_header": self.where(), "after_header": self.where(),
                                   "before": _owned_text(before), "after": _owned_text(after)}

    @staticmethod
    def preview(before: dict, patch: dict | None) -> dict:
        raise NotImplementedError


class IngressAuthBackend(_Backend):
    group, plural, kind = "networking.k8s.io", "ingresses", "Ingress"

    def wanted(self) -> dict:
        controller = self.params["controller"]
        owned = OWNED_ANNOTATIONS[controller]
        if self.params["state"] == "absent":
            return dict.fromkeys(owned)
        secret = self.params["secret_name"]
        if controller == "nginx_ingress" and "/" in secret:
            raise WiringError("nginx.org/basic-auth-secret takes a Secret in the Ingress's namespace, not %r" % secret)
        if controller != "ingress_nginx" and self.params["auth_secret_type"] != "auth-file":
            raise WiringError("auth_secret_type applies to controller=ingress_nginx only")
        realm = self.params["realm"]
        if '"' in realm or "\n" in realm:
            raise WiringError("realm must not contain double quotes or line breaks (it is put into a header)")
        return ingress_annotations(controller, secret, realm, self.params["auth_secret_type"])

    def owned(self, obj: dict) -> dict:
        annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
        return {k: annotations[k] for k in OWNED_ANNOTATIONS[self.params["controller"]] if k in annotations}

    def compute(self, current: dict) -> dict | None:
        return annotation_patch(current, self.wanted())

    @staticmethod
    def preview(before: dict, patch: dict | None) -> dict:
        after = dict(before)
        for key, value in ((patch or {}).get("metadata") or {}).get("annotations", {}).items():
            if value is None:
                after.pop(key, None)
            else:
                after[key] = value
        return after


def check_url_settings(external_url: str | None, route_prefix: str | None) -> None:
    if external_url:
        check_http_url(external_url, "external_url", WiringError)
    if route_prefix:
        check_route_prefix(route_prefix, "route_prefix", WiringError)


class PrometheusUrlBackend(_Backend):
    group, plural, kind = "monitoring.coreos.com", "prometheuses", "Prometheus"
    FIELDS = {"external_url": "externalUrl", "route_prefix": "routePrefix"}

    def owned(self, obj: dict) -> dict:
        spec = (obj or {}).get("spec") or {}
        return {field: spec[field] for field in self.FIELDS.values() if field in spec}

    def compute(self, current: dict) -> dict | None:
        check_url_settings(self.params["external_url"], self.params["route_prefix"])
        spec = current.get("spec") or {}
        patch = {}
        for option, field in self.FIELDS.items():
            value = self.params[option]
            if value is None:
                continue  # not managed in this run
            if value == "":
                if field in spec:
                    patch[field] = None  # "" removes the field: the operator's default applies again
            elif spec.get(field) != value:
                patch[field] = value
        return {"spec": patch} if patch else None

    @staticmethod
    def preview(before: dict, patch: dict | None) -> dict:
        after = dict(before)
        for key, value in ((patch or {}).get("spec") or {}).items():
            if value is None:
                after.pop(key, None)
            else:
                after[key] = value
        return after


# -- the prometheus Helm chart: args of the server container of a Deployment or StatefulSet -------------------
WORKLOAD_PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets"}
KINDS = ["Prometheus"] + sorted(WORKLOAD_PLURALS)
DEFAULT_CONTAINER = "prometheus-server"  # the chart's "{{ prometheus.name }}-{{ server.name }}"
WEB_CONFIG_VOLUME = "promaccess-web-config"
# Not under /etc/prometheus: the image keeps consoles and console_libraries there, which a mount would hide.
DEFAULT_WEB_CONFIG_MOUNT = "/etc/prometheus-web-config"
DEFAULT_WEB_CONFIG_KEY = "web.yml"  # the key k8s_basic_auth_secret writes for format prometheus_web_config
WEB_CONFIG_FLAG = "web.config.file"
LISTEN_FLAG = "web.listen-address"
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HEALTH_PATHS = ("/-/healthy", "/-/ready")
PROBE_MODES = ["auto", "tcp_socket", "keep"]
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_RELOAD_ARG_RE = re.compile(r"^--?(reload-url|webhook-url)=(.*)$")


def _flag_positions(args: list, flag: str) -> list[tuple[int, int, str]]:
    """(index, number of list items, value) of each ``--flag=value`` or ``--flag value`` (kingpin accepts both)."""
    found = []
    index = 0
    while index < len(args):
        arg = args[index]
        if isinstance(arg, str) and arg.startswith(("--%s=" % flag, "-%s=" % flag)):
            found.append((index, 1, arg.split("=", 1)[1]))
        elif arg in ("--%s" % flag, "-%s" % flag):
            value = args[index + 1] if index + 1 < len(args) else ""
            found.append((index, 2, value))
            index += 1
        index += 1
    return found


def flag_value(args: list, flag: str) -> str | None:
    """The value a flag has in ``args`` (kingpin takes the last one), or None when absent."""
    found = _flag_positions(args, flag)
    return found[-1][2] if found else None


def set_flag(args: list, flag: str, value: str | None) -> list:
    """``args`` with ``--flag=value`` in the place of the first occurrence (appended when absent), any other
    occurrence dropped; ``value=None`` drops every occurrence. Every other item keeps its text and order."""
    found = _flag_positions(args, flag)
    out = list(args)
    for index, count, _value in reversed(found[1:]):
        del out[index:index + count]
    if value is None:
        if found:
            index, count, _value = found[0]
            del out[index:index + count]
        return out
    wanted = "--%s=%s" % (flag, value)
    if found:
        index, count, _value = found[0]
        out[index:index + count] = [wanted]
    else:
        out.append(wanted)
    return out


def effective_route_prefix(args: list) -> str:
    """The prefix Prometheus serves under: ``--web.route-prefix``, else the path of ``--web.external-url``."""
    prefix = flag_value(args, ROUTE_PREFIX_FLAG)
    if prefix is not None:
        return normalize_prefix(prefix)
    external = flag_value(args, EXTERNAL_URL_FLAG)
    return normalize_prefix(urlsplit(external).path if external else "")


def listen_port(args: list) -> str:
    address = flag_value(args, LISTEN_FLAG) or ":9090"
    return address.rsplit(":", 1)[-1] or "9090"


def health_path(prefix: str, suffix: str) -> str:
    return prefix.rstrip("/") + suffix


def _probe_health_suffix(probe) -> str | None:
    """``/-/healthy`` or ``/-/ready`` when the probe is an httpGet on one of Prometheus's own health endpoints."""
    path = ((probe or {}).get("httpGet") or {}).get("path")
    if isinstance(path, str):
        for suffix in HEALTH_PATHS:
            if path.endswith(suffix):
                return suffix
    return None


def probe_text(probe) -> str:
    if not probe:
        return "none"
    if "httpGet" in probe:
        http = probe["httpGet"]
        return "httpGet %s port %s" % (http.get("path", "/"), http.get("port"))
    if "tcpSocket" in probe:
        return "tcpSocket port %s" % probe["tcpSocket"].get("port")
    if "exec" in probe:
        return "exec"
    return "other"


def _merge_patch(target, patch):
    """RFC 7386 JSON merge patch, on copies (the preview of a check-mode run)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


class PrometheusWorkloadBackend(_Backend):
    """The prometheus Helm chart's server container: its flags, the web config Secret mount, its probes."""

    group = "apps"

    def __init__(self, module, api: ObjectApi | None = None):
        super().__init__(module, api)
        self.kind = self.params["kind"]
        self.plural = WORKLOAD_PLURALS[self.kind]
        self.container_name = self.params.get("container") or DEFAULT_CONTAINER
        self.mount_path = (self.params.get("web_config_mount_path") or DEFAULT_WEB_CONFIG_MOUNT).rstrip("/") or "/"
        self.key = self.params.get("web_config_key") or DEFAULT_WEB_CONFIG_KEY
        self.probes = self.params.get("probes") or "auto"
        self.warnings: list[str] = []
        self.result.update(kind=self.kind, container=self.container_name)

    # -- validation ------------------------------------------------------------------------------------------
    def check_params(self) -> None:
        check_url_settings(self.params.get("external_url"), self.params.get("route_prefix"))
        secret = self.params.get("web_config_secret")
        if secret and not _NAME_RE.match(secret):
            raise WiringError("web_config_secret must be a Secret name in the workload's namespace, not %r" % secret)
        if not SECRET_KEY_RE.match(self.key):
            raise WiringError("web_config_key %r is not a valid Secret key" % self.key)
        if not self.mount_path.startswith("/") or ":" in self.mount_path or self.mount_path == "/":
            raise WiringError("web_config_mount_path must be an absolute path other than / without ':', not %r"
                              % self.mount_path)

    @property
    def web_config_file(self) -> str:
        return "%s/%s" % (self.mount_path, self.key)

    # -- reading ---------------------------------------------------------------------------------------------
    def _pod_spec(self, obj: dict) -> dict:
        return (((obj or {}).get("spec") or {}).get("template") or {}).get("spec") or {}

    def _container(self, obj: dict) -> tuple[int, dict]:
        containers = self._pod_spec(obj).get("containers") or []
        for index, container in enumerate(containers):
            if container.get("name") == self.container_name:
                return index, container
        raise WiringError("no container %r (containers: %s); set the option container"
                          % (self.container_name, ", ".join(repr(c.get("name")) for c in containers) or "none"))

    def owned(self, obj: dict) -> dict:
        """What the backend owns, as text: three args, the volume, the mount, the probes (no secret in them)."""
        if not obj:
            return {}
        _index, container = self._container(obj)
        args = container.get("args") or []
        view = {}
        for flag in (EXTERNAL_URL_FLAG, ROUTE_PREFIX_FLAG, WEB_CONFIG_FLAG):
            value = flag_value(args, flag)
            if value is not None:
                view["--" + flag] = value
        for volume in self._pod_spec(obj).get("volumes") or []:
            if volume.get("name") == WEB_CONFIG_VOLUME:
                view["volume " + WEB_CONFIG_VOLUME] = "secret %s" % ((volume.get("secret") or {}).get("secretName"))
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") == WEB_CONFIG_VOLUME:
                view["volumeMount " + WEB_CONFIG_VOLUME] = "%s%s" % (
                    mount.get("mountPath"), " (readOnly)" if mount.get("readOnly") else "")
        for probe in PROBES:
            if container.get(probe):
                view[probe] = probe_text(container[probe])
        return view

    # -- computing -------------------------------------------------------------------------------------------
    def _new_args(self, args: list) -> list:
        options = {"external_url": EXTERNAL_URL_FLAG, "route_prefix": ROUTE_PREFIX_FLAG}
        for option, flag in options.items():
            value = self.params.get(option)
            if value is not None:
                args = set_flag(args, flag, value or None)
        secret = self.params.get("web_config_secret")
        if secret is not None:
            args = set_flag(args, WEB_CONFIG_FLAG, self.web_config_file if secret else None)
        return args

    def _new_volumes(self, pod_spec: dict, containers: list) -> list | None:
        """The pod's volumes with ours set or removed; None when they stay as they are."""
        secret = self.params.get("web_config_secret")
        volumes = copy.deepcopy(pod_spec.get("volumes") or [])
        index = next((i for i, v in enumerate(volumes) if v.get("name") == WEB_CONFIG_VOLUME), None)
        if secret is None:
            return None
        if secret:
            if index is None:
                volumes.append({"name": WEB_CONFIG_VOLUME, "secret": {"secretName": secret}})
            else:
                volume = volumes[index]
                if set(volume) - {"name", "secret"}:
                    raise WiringError("volume %r exists and is not a Secret volume: rename it, the module owns that "
                                      "name" % WEB_CONFIG_VOLUME)
                if (volume.get("secret") or {}).get("secretName") == secret:
                    return None
                volume["secret"] = dict(volume.get("secret") or {}, secretName=secret)
            return volumes
        # removal: drop the volume once no container mounts it any more
        if index is None:
            return None
        if any(m.get("name") == WEB_CONFIG_VOLUME for c in containers for m in c.get("volumeMounts") or []):
            return None
        del volumes[index]
        return volumes

    def _new_mounts(self, container: dict) -> list:
        secret = self.params.get("web_config_secret")
        mounts = copy.deepcopy(container.get("volumeMounts") or [])
        if secret is None:
            return mounts
        ours = [m for m in mounts if m.get("name") == WEB_CONFIG_VOLUME]
        others = [m for m in mounts if m.get("name") != WEB_CONFIG_VOLUME]
        if not secret:
            return others
        for mount in others:
            if (mount.get("mountPath") or "").rstrip("/") == self.mount_path:
                raise WiringError("container %r already mounts volume %r at %s; choose another web_config_mount_path"
                                  % (self.container_name, mount.get("name"), self.mount_path))
        if ours:
            mount = ours[0]
            if mount.get("mountPath") == self.mount_path and mount.get("readOnly") is True and not mount.get("subPath"):
                return mounts
            fixed = dict(mount, mountPath=self.mount_path, readOnly=True)
            fixed.pop("subPath", None)
            return [fixed if m is mount else m for m in mounts if m.get("name") != WEB_CONFIG_VOLUME or m is mount]
        return mounts + [{"name": WEB_CONFIG_VOLUME, "mountPath": self.mount_path, "readOnly": True}]

    def _new_probes(self, container: dict, args: list) -> dict:
        """probe name -> new probe, for the probes that change. Warns where a kept probe will fail."""
        auth = flag_value(args, WEB_CONFIG_FLAG) is not None
        prefix = effective_route_prefix(args)
        changes = {}
        for name in PROBES:
            probe = container.get(name)
            suffix = _probe_health_suffix(probe)
            if suffix is None:
                continue
            wanted_path = health_path(prefix, suffix)
            if self.probes == "tcp_socket" or (self.probes == "auto" and auth):
                new = {k: v for k, v in probe.items() if k != "httpGet"}
                new["tcpSocket"] = {"port": probe["httpGet"].get("port", int(listen_port(args)))}
                changes[name] = new
            elif self.probes == "auto":
                if probe["httpGet"].get("path") != wanted_path:
                    changes[name] = dict(probe, httpGet=dict(probe["httpGet"], path=wanted_path))
            else:  # keep
                if auth:
                    self.warnings.append(
                        "%s of container %r is an httpGet on %s: once --%s turns basic auth on, Prometheus answers "
                        "it with 401 (exporter-toolkit exempts no path) and the pod is restarted or never ready; "
                        "use probes=tcp_socket (chart: server.tcpSocketProbeEnabled=true)"
                        % (name, self.container_name, probe["httpGet"].get("path"), WEB_CONFIG_FLAG))
                elif probe["httpGet"].get("path") != wanted_path:
                    self.warnings.append(
                        "%s of container %r asks %s but Prometheus serves under %s: it will get 404"
                        % (name, self.container_name, probe["httpGet"].get("path"), prefix))
        return changes

    def _reload_warnings(self, containers: list, args: list) -> None:
        """The chart's config reloader posts to Prometheus's /-/reload over loopback, without credentials."""
        auth = flag_value(args, WEB_CONFIG_FLAG) is not None
        prefix = effective_route_prefix(args)
        port = listen_port(args)
        for container in containers:
            if container.get("name") == self.container_name:
                continue
            for arg in container.get("args") or []:
                match = _RELOAD_ARG_RE.match(arg) if isinstance(arg, str) else None
                if not match:
                    continue
                url = urlsplit(match.group(2))
                if url.hostname not in ("127.0.0.1", "localhost", "::1") or not url.path.endswith("/-/reload"):
                    continue
                if str(url.port or 80) != port:
                    continue
                if auth and not url.username:
                    self.warnings.append(
                        "container %r reloads Prometheus through %s without credentials: with basic auth on it gets "
                        "401 and configuration changes are no longer applied; give it credentials from a Secret "
                        "(chart: configmapReload.env with a secretKeyRef and configmapReload.reloadUrl "
                        "http://$(USER):$(PASSWORD)@127.0.0.1:%s%s/-/reload), see docs/kubernetes.md"
                        % (container.get("name"), url.path, port, prefix.rstrip("/")))
                if url.path != health_path(prefix, "/-/reload"):
                    self.warnings.append(
                        "container %r reloads Prometheus at %s but Prometheus serves under %s: reloads will get 404 "
                        "until its --%s is changed (chart: set server.prefixURL, which the chart uses for it)"
                        % (container.get("name"), url.path, prefix, match.group(1)))

    def compute(self, current: dict) -> dict | None:
        self.warnings = []
        pod_spec = self._pod_spec(current)
        index, container = self._container(current)
        if any(isinstance(c, str) and c.startswith(("--web.", "-web.")) for c in container.get("command") or []):
            raise WiringError("container %r passes --web.* flags in command, not args; the module edits args only"
                              % self.container_name)
        new_container = copy.deepcopy(container)
        args = self._new_args(list(container.get("args") or []))
        if args != (container.get("args") or []):
            new_container["args"] = args
        mounts = self._new_mounts(container)
        if mounts != (container.get("volumeMounts") or []):
            new_container["volumeMounts"] = mounts
            if not mounts:
                del new_container["volumeMounts"]
        new_container.update(self._new_probes(container, args))
        containers = copy.deepcopy(pod_spec.get("containers") or [])
        containers[index] = new_container
        volumes = self._new_volumes(pod_spec, containers)
        self._reload_warnings(containers, args)
        template_spec = {}
        if containers != (pod_spec.get("containers") or []):
            template_spec["containers"] = containers
        if volumes is not None:
            template_spec["volumes"] = volumes
        if not template_spec:
            return None
        return {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                "spec": {"template": {"spec": template_spec}}}

    def helm_values(self) -> dict:
        """The same settings as values of the prometheus chart (prometheus-community/helm-charts)."""
        server: dict = {}
        if self.params.get("external_url") is not None:
            server["baseURL"] = self.params["external_url"]
        if self.params.get("route_prefix") is not None:
            server["prefixURL"] = self.params["route_prefix"]
        if self.params.get("web_config_secret"):
            server["extraArgs"] = {WEB_CONFIG_FLAG: self.web_config_file}
            server["extraSecretMounts"] = [{"name": WEB_CONFIG_VOLUME, "mountPath": self.mount_path, "subPath": "",
                                            "secretName": self.params["web_config_secret"], "readOnly": True}]
        if self.probes == "tcp_socket" or (self.probes == "auto" and self.params.get("web_config_secret")):
            server["tcpSocketProbeEnabled"] = True
        return {"server": server}

    def apply(self) -> None:
        self.check_params()
        update = self.write(self.api, self.name, self.compute)
        after_obj = update["after"] if update["after"] is not None else _merge_patch(update["before"], update["patch"])
        before, after = self.owned(update["before"]), self.owned(after_obj)
        self.result.update(changed=update["patch"] is not None, conflicts_retried=update["conflicts"],
                           before=before, after=after, helm_values=self.helm_values())
        for warning in self.warnings:
            self.module.warn(warning)
        if self.module._diff:
            self.result["diff"] = {"before_header": self.where(), "after_header": self.where(),
                                   "before": _owned_text(before), "after": _owned_text(after)}
