# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the backends of the k8s_* modules that change objects. Private to promaccess.core.

One construction (``module.params`` and an API object a test may pass in), one run (connect, apply, and every
error of the Kubernetes API or of the backend reported once, prefixed with the object it concerns) and one
write path: ``write`` hands the compute function to ``SecretApi.update`` or ``ObjectApi.update`` with
``write=not module.check_mode``, so check mode computes everything and skips only the write.
"""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import K8sError, SecretApi, make_api_client


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
        except (K8sError, self.error) + tuple(self.handled) as exc:
            raise self.error("%s: %s" % (self.where(), exc)) from exc
        return self.result

    def write(self, api, name: str, compute) -> dict:
        """``api.update`` of object ``name`` in the backend's namespace; in check mode nothing is sent."""
        return api.update(self.namespace, name, compute, write=not self.module.check_mode)
