# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backends of promaccess.core.k8s_ingress_auth and k8s_prometheus_url. Private to promaccess.core: no stable API.

Each owns a few fields of an existing object (Ingress annotations; a Prometheus's ``spec.externalUrl`` and
``spec.routePrefix``) and changes them with a JSON merge patch that names only those fields, so whatever else the
object holds, and whoever else manages it, is left alone. Uses only ``module.params``, ``module.check_mode`` and
``module._diff`` plus an ObjectApi.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.promaccess.core.plugins.module_utils._k8s_client import K8sError, ObjectApi, make_api_client

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


class _Backend:
    plural = ""
    group = ""
    kind = ""

    def __init__(self, module, api: ObjectApi | None = None):
        self.module = module
        self.params = module.params
        self.namespace = self.params["namespace"]
        self.name = self.params["name"]
        self.api = api
        self.result: dict = {"changed": False, "namespace": self.namespace, "name": self.name}

    def where(self) -> str:
        return "%s %s/%s" % (self.kind, self.namespace, self.name)

    def run(self) -> dict:
        try:
            if self.api is None:
                self.api = ObjectApi(make_api_client(self.params), self.group, "v1", self.plural)
            self.apply()
        except (K8sError, WiringError) as exc:
            raise WiringError("%s: %s" % (self.where(), exc)) from exc
        return self.result

    def owned(self, obj: dict) -> dict:
        raise NotImplementedError

    def compute(self, current: dict) -> dict | None:
        raise NotImplementedError

    def apply(self) -> None:
        update = self.api.update(self.namespace, self.name, self.compute, write=not self.module.check_mode)
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
        parts = urlsplit(external_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WiringError("external_url must be an absolute http(s) URL, not %r" % external_url)
        if parts.query or parts.fragment:
            raise WiringError("external_url must not have a query or fragment: %r" % external_url)
    if route_prefix and not route_prefix.startswith("/"):
        raise WiringError("route_prefix must start with '/', not %r" % route_prefix)


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
