# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of promaccess.core.k8s_basic_auth_secret. Private to promaccess.core: no stable API.

Uses only ``module.params``, ``module.check_mode``, ``module._diff``, ``module.warn`` and
``module.no_log_values`` (through ``hide_labelled_names``, which a stand-in without it skips), plus a SecretApi,
so tests can drive it with stand-ins. Users with a ``label`` are shown by it in results, warnings and the diff,
never by name.
"""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashingError, HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._common.users import (
    UserError,
    describe_users,
    hide_labelled_names,
    reconcile,
    shown,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import (
    AuthFormatError,
    check_secret_type,
    get_format,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import K8sBackend
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    LAST_APPLIED,
    SecretApi,
    decode_data,
    encode_data,
)


class BasicAuthSecretError(Exception):
    """Anything that stops the Secret from being managed; the message never holds a secret."""


class BasicAuthSecretBackend(K8sBackend):
    error = BasicAuthSecretError
    handled = (AuthFormatError, UserError, HashingError)

    def __init__(self, module, api: SecretApi | None = None):
        super().__init__(module, api)
        #: name -> label of the labelled users, whose names the module never returns (from here on).
        self.user_labels = hide_labelled_names(module)
        self.name = self.params["name"]
        self.result["name"] = self.name
        self.hash_operations = 0
        self.verify_operations = 0
        self.outcome = None
        self.before_users: dict[str, str] | None = None

    def where(self) -> str:
        return "Secret %s/%s" % (self.namespace, self.name)

    def apply(self) -> None:
        if self.params["state"] == "absent":
            self.absent()
        else:
            self.present()

    # -- state=absent --------------------------------------------------------------------------------------
    def absent(self) -> None:
        current = self.api.get(self.namespace, self.name)
        if current is None:
            return
        self.refuse_helm_managed(current, self.name, "its deletion")
        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = {
                "before_header": self.where(),
                "after_header": self.where(),
                "before": "%s exists (keys: %s)\n" % (self.where(), ", ".join(sorted(current.get("data") or {}))),
                "after": "",
            }
        if not self.module.check_mode:
            self.api.delete(self.namespace, self.name)

    # -- state=present -------------------------------------------------------------------------------------
    def present(self) -> None:
        fmt = get_format(self.params["format"])
        fmt.check_wanted(self.params["users"])
        labels = self.params["labels"] or {}
        for key, value in labels.items():
            if not isinstance(value, str):
                raise BasicAuthSecretError("label %r must have a string value" % (key,))
        self.result["format"] = fmt.name
        self.result["secret_type"] = fmt.secret_type

        def mutate(current):
            policy = HashPolicy(fmt.scheme, self.params["bcrypt_rounds"], self.params["rehash"])
            try:
                if current is not None:
                    check_secret_type(fmt, current.get("type"))
                data = decode_data(current)
                document, existing = fmt.parse(data)
                outcome = reconcile(
                    existing, self.params["users"], policy, self.params["exclusive"], fmt.allowed_hash_schemes
                )
                new_data = fmt.render(document, outcome.users)
            finally:
                self.hash_operations += policy.hash_operations
                self.verify_operations += policy.verify_operations
            self.outcome = outcome
            self.before_users = existing if current is not None else None
            # auth-map keys are user names: a labelled user's key is shown by its label
            self.result["secret_keys"] = sorted(shown(key, self.user_labels) for key in new_data)
            if current is None:
                return {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": (
                        {"name": self.name, "namespace": self.namespace, "labels": dict(labels)}
                        if labels
                        else {"name": self.name, "namespace": self.namespace}
                    ),
                    "type": fmt.secret_type,
                    "data": encode_data(new_data),
                }
            current_labels = current.get("metadata", {}).get("labels") or {}
            labels_differ = any(current_labels.get(k) != v for k, v in labels.items())
            has_last_applied = LAST_APPLIED in (current.get("metadata", {}).get("annotations") or {})
            if new_data == data and not labels_differ:
                if has_last_applied:
                    self.module.warn(
                        "%s carries a %s annotation, which holds a copy of its data; it is left alone because "
                        "nothing else changed" % (self.where(), LAST_APPLIED)
                    )
                return None
            wanted = dict(current)
            wanted["metadata"] = dict(current.get("metadata") or {})
            if labels_differ:
                wanted["metadata"]["labels"] = dict(current_labels, **labels)
            wanted["data"] = encode_data(new_data)
            if has_last_applied:
                self.module.warn(
                    "%s carried a %s annotation (a stale copy of its data); it was dropped"
                    % (self.where(), LAST_APPLIED)
                )
            return wanted

        update = self.write(self.api, self.name, mutate)
        changed = update["wanted"] is not None
        conflicts = update["conflicts"]

        outcome = self.outcome
        self.result.update(outcome.as_result(self.user_labels))
        self.result["changed"] = changed
        self.result["conflicts_retried"] = conflicts
        self.result["hash_operations"] = self.hash_operations
        self.result["verify_operations"] = self.verify_operations
        unreadable = [shown(name, self.user_labels) for name in fmt.unreadable_users(outcome.users)]
        if unreadable:
            self.module.warn(
                "%s keeps user(s) %s whose hashes %s cannot check (it reads only %s); give their passwords to "
                "rewrite them"
                % (self.where(), ", ".join(unreadable), fmt.consumer, ", ".join(fmt.allowed_hash_schemes))
            )
        if self.module._diff:
            header = "%s (%s users)" % (self.where(), fmt.name)
            self.result["diff"] = {
                "before_header": header,
                "after_header": header,
                "before": (
                    describe_users(self.before_users, self.user_labels) if self.before_users is not None else ""
                ),
                "after": describe_users(outcome.users, self.user_labels),
            }
