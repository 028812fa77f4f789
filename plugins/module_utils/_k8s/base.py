# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the backends of the k8s_* modules that change objects. Private to promaccess.core.

One construction (``module.params`` and an API object a test may pass in), one run (connect, apply, and every
error of the Kubernetes API or of the backend reported once, prefixed with the object it concerns) and one
write path: ``write`` hands the compute function to ``SecretApi.update`` or ``ObjectApi.update`` with
``write=not module.check_mode``, so check mode computes everything and skips only the write.

The write path is also where an object that Helm manages is refused (``helm_managed``, :func:`write_spec`): the
next ``helm upgrade`` would undo the change, so grantees would get 401 again until the next run, and a chart's
own users could be removed. The change belongs in the release's values (``helm_values_users``).
"""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import K8sError, SecretApi, make_api_client


#: How Helm marks what it manages: the label every chart sets, and the annotations Helm 3 itself adds.
HELM_MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
HELM_RELEASE_NAME = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


def write_spec() -> dict:
    """The option of every k8s_* module that changes objects: what to do with one Helm manages."""
    return dict(helm_managed=dict(type="str", default="refuse", choices=["refuse", "allow"]))


def helm_release(obj) -> str | None:
    """The Helm release that manages ``obj`` ("release NAME in namespace NS", or "a Helm release" when only the
    managed-by label says so), or None when Helm does not manage it."""
    metadata = (obj or {}).get("metadata") or {}
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    name = annotations.get(HELM_RELEASE_NAME)
    if name:
        return "release %r in namespace %r" % (name, annotations.get(HELM_RELEASE_NAMESPACE) or metadata.get("namespace"))
    if labels.get(HELM_MANAGED_BY[0]) == HELM_MANAGED_BY[1]:
        return "a Helm release"
    return None


class K8sBackend:
    """Subclasses set ``error`` (their exception) and ``handled`` (other exceptions reported the same way) and
    implement ``where`` and ``apply``; one that needs other APIs than one SecretApi overrides ``connect``."""

    error: type = K8sError
    handled: tuple = ()

    def __init__(self, module, api=None):
        self.module = module
        self.params = module.params
        self.namespace = self.params["namespace"]
        self.api = api
        self.result: dict = {"changed": False, "namespace": self.namespace}

    def where(self) -> str:
        """The object the backend manages, for messages."""
        raise NotImplementedError

    def apply(self) -> None:
        """Compute and (unless in check mode) write; fill ``self.result``."""
        raise NotImplementedError

    def connected(self) -> bool:
        return self.api is not None

    def connect(self, api_client) -> None:
        self.api = SecretApi(api_client)

    def run(self) -> dict:
        try:
            if not self.connected():
                self.connect(make_api_client(self.params))
            self.apply()
        except (K8sError, self.error, *self.handled) as exc:
            raise self.error("%s: %s" % (self.where(), exc)) from exc
        return self.result

    def write(self, api, name: str, compute) -> dict:
        """``api.update`` of object ``name`` in the backend's namespace; in check mode nothing is sent.

        A change to an object Helm manages is refused (before anything is sent, in check mode too) unless
        ``helm_managed=allow``; an object that needs no change is left alone either way."""

        def guarded(current):
            wanted = compute(current)
            if wanted is not None:
                self.refuse_helm_managed(current, name)
            return wanted

        return api.update(self.namespace, name, guarded, write=not self.module.check_mode)

    def refuse_helm_managed(self, current, name: str, change: str = "this change") -> None:
        """Raise unless ``current`` (the live object, or None) is free of Helm or ``helm_managed=allow``."""
        release = helm_release(current)
        if release and self.params.get("helm_managed", "refuse") != "allow":
            kind = current.get("kind") or "object"
            if kind == "ServiceMonitor":  # its credential reference belongs in the chart's values, its Secret to us
                instead = ("set the endpoint's bearerTokenSecret (or authorization, basicAuth) in the release's "
                           "values and keep only the Secret here (wire_endpoints=false; the playbooks: "
                           "wire_endpoints: false in the promaccess_k8s_scrape_auth entry, the default with "
                           "promaccess_k8s_delivery values; docs/kubernetes.md)")
            else:
                instead = ("change the release's values instead (the playbooks: promaccess_k8s_delivery values; a "
                           "task: promaccess.core.helm_values_users; docs/helm_values.md)")
            raise self.error(
                "%s %r is managed by Helm (%s): the next helm upgrade would undo %s. To fix it, %s, or set "
                "helm_managed=allow (the playbooks: promaccess_k8s_helm_managed) to change it anyway"
                % (kind, name, release, change, instead)
            )
