# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of promaccess.core.k8s_scrape_auth. Private to promaccess.core: no stable API.

Manages a scrape credential in a Secret and the ServiceMonitor endpoints that reference it. Uses only
``module.params``, ``module.check_mode``, ``module._diff`` and ``module.warn`` plus a SecretApi and an ObjectApi,
so tests can drive it with stand-ins. The order of writes keeps every reference valid at every moment: the new
key is written to the Secret first, then the endpoints are switched to it, and only then are keys removed.
"""

from __future__ import annotations

import copy

from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import yaml
from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import K8sBackend
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    K8sError,
    ObjectApi,
    SecretApi,
    decode_data,
    encode_data,
)

OWNED_FIELDS = ("authorization", "basicAuth", "bearerTokenSecret")
# Scrape auth the operator refuses to combine with ``authorization`` / ``basicAuth``, and that we do not own.
FOREIGN_AUTH_FIELDS = ("oauth2", "bearerTokenFile")
DEFAULT_KEYS = {"secret_key": "token", "username_key": "username", "password_key": "password"}


class ScrapeAuthError(Exception):
    """Anything that stops the scrape credential from being managed; never holds a secret."""


# -- pure helpers (unit tested) ------------------------------------------------------------------------------
def endpoint_label(endpoint: dict, index: int) -> str:
    return "port %s" % endpoint["port"] if endpoint.get("port") else "endpoints[%d]" % index


def select_endpoints(endpoints: list, ports: list, indexes: list) -> list[int]:
    """Indexes of the endpoints to manage: by ``port`` name, by index, or the only one there is."""
    if ports:
        chosen = []
        for port in ports:
            found = [i for i, ep in enumerate(endpoints) if ep.get("port") == port]
            if not found:
                raise ScrapeAuthError(
                    "no endpoint with port %r (ports: %s)"
                    % (port, ", ".join(repr(ep.get("port")) for ep in endpoints if ep.get("port")) or "none named")
                )
            chosen.extend(i for i in found if i not in chosen)
        return chosen
    if indexes:
        for index in indexes:
            if not 0 <= index < len(endpoints):
                raise ScrapeAuthError("no endpoint at index %d (there are %d)" % (index, len(endpoints)))
        return sorted(set(indexes))
    if len(endpoints) != 1:
        raise ScrapeAuthError(
            "it has %d endpoints: choose with endpoint_ports or endpoint_indexes" % len(endpoints)
        )
    return [0]


def current_reference(endpoint: dict, auth_type: str) -> dict | None:
    """The Secret reference of an endpoint for ``auth_type``: {name, key} or {name, username_key, password_key}."""
    if auth_type == "bearer":
        for ref in ((endpoint.get("authorization") or {}).get("credentials"), endpoint.get("bearerTokenSecret")):
            if ref and ref.get("name"):
                return {"name": ref["name"], "secret_key": ref.get("key")}
        return None
    basic = endpoint.get("basicAuth") or {}
    user, password = basic.get("username") or {}, basic.get("password") or {}
    if user.get("name") and user.get("name") == password.get("name"):
        return {"name": user["name"], "username_key": user.get("key"), "password_key": password.get("key")}
    return None


def wanted_fields(auth_type: str, secret_name: str, keys: dict) -> dict:
    if auth_type == "bearer":
        return {"authorization": {"type": "Bearer", "credentials": {"name": secret_name, "key": keys["secret_key"]}}}
    return {
        "basicAuth": {
            "username": {"name": secret_name, "key": keys["username_key"]},
            "password": {"name": secret_name, "key": keys["password_key"]},
        }
    }


def owned_view(endpoint: dict) -> dict:
    return {field: endpoint[field] for field in OWNED_FIELDS if field in endpoint}


def rewire(endpoint: dict, wanted: dict) -> tuple[dict, bool]:
    """The endpoint with its owned auth fields replaced by ``wanted``; other fields untouched."""
    new = {k: v for k, v in endpoint.items() if k not in OWNED_FIELDS}
    new.update(copy.deepcopy(wanted))
    return new, owned_view(new) != owned_view(endpoint)


def referenced_keys(endpoints: list, secret_name: str) -> set[str]:
    """Keys of ``secret_name`` referenced by any endpoint (for any auth kind)."""
    keys = set()
    for endpoint in endpoints:
        refs = [(endpoint.get("authorization") or {}).get("credentials"), endpoint.get("bearerTokenSecret")]
        basic = endpoint.get("basicAuth") or {}
        refs += [basic.get("username"), basic.get("password")]
        keys.update(ref.get("key") for ref in refs if ref and ref.get("name") == secret_name and ref.get("key"))
    return keys


def check_value(what: str, value: str) -> None:
    if value == "" or value != value.strip() or "\n" in value or "\r" in value:
        raise ScrapeAuthError(
            "%s must be non-empty, without leading or trailing whitespace or line breaks (they would end up in "
            "the Authorization header)" % what
        )


# -- backend ---------------------------------------------------------------------------------------------
class ScrapeAuthBackend(K8sBackend):
    error = ScrapeAuthError

    def __init__(self, module, secrets: SecretApi | None = None, monitors: ObjectApi | None = None):
        super().__init__(module)
        self.monitor = self.params["service_monitor"]
        self.auth_type = self.params["auth_type"]
        self.secrets = secrets
        self.monitors = monitors
        self.result["service_monitor"] = self.monitor

    def where(self) -> str:
        return "ServiceMonitor %s/%s" % (self.namespace, self.monitor)

    def connected(self) -> bool:
        return self.secrets is not None and self.monitors is not None

    def connect(self, api_client) -> None:
        self.secrets = self.secrets or SecretApi(api_client)
        self.monitors = self.monitors or ObjectApi(api_client, "monitoring.coreos.com", "v1", "servicemonitors")

    # -- what to write -------------------------------------------------------------------------------------
    def resolve(self, monitor: dict) -> tuple[list[int], str, dict]:
        """Selected endpoint indexes, Secret name and keys (given, else the existing reference, else defaults)."""
        endpoints = (monitor.get("spec") or {}).get("endpoints") or []
        chosen = select_endpoints(endpoints, self.params["endpoint_ports"], self.params["endpoint_indexes"])
        for index in chosen:
            foreign = [f for f in FOREIGN_AUTH_FIELDS if f in endpoints[index]]
            if foreign:
                raise ScrapeAuthError(
                    "%s uses %s, which cannot be combined with %s; remove it first"
                    % (endpoint_label(endpoints[index], index), ", ".join(foreign),
                       "authorization" if self.auth_type == "bearer" else "basicAuth")
                )
        refs = [current_reference(endpoints[i], self.auth_type) for i in chosen]
        known = [r for r in refs if r]
        name = self.params["secret_name"]
        if name is None:
            names = {r["name"] for r in known}
            if len(names) != 1 or len(known) != len(refs):
                raise ScrapeAuthError(
                    "give secret_name: the selected endpoints %s" % (
                        "reference different Secrets (%s)" % ", ".join(sorted(names)) if len(names) > 1
                        else "do not all reference a Secret yet")
                )
            name = names.pop()
        keys = {}
        for option in ("secret_key",) if self.auth_type == "bearer" else ("username_key", "password_key"):
            value = self.params[option]
            if value is None:
                existing = {r.get(option) for r in known if r["name"] == name and r.get(option)}
                value = existing.pop() if len(existing) == 1 else DEFAULT_KEYS[option]
            keys[option] = value
        return chosen, name, keys

    def check_references(self, monitor: dict, chosen: list[int], secret_name: str, keys: dict) -> None:
        """With ``wire_endpoints: false`` (a chart renders the ServiceMonitor from its values), every selected
        endpoint must already reference the Secret and keys this run writes; the message names the values to set."""
        endpoints = (monitor.get("spec") or {}).get("endpoints") or []
        wrong = []
        for index in chosen:
            ref = current_reference(endpoints[index], self.auth_type) or {}
            if ref.get("name") != secret_name or any(ref.get(option) != key for option, key in keys.items()):
                wrong.append(endpoint_label(endpoints[index], index))
        if not wrong:
            return
        if self.auth_type == "bearer":
            values = "bearerTokenSecret (or authorization.credentials): {name: %s, key: %s}" % (
                secret_name, keys["secret_key"])
        else:
            values = "basicAuth: {username: {name: %s, key: %s}, password: {name: %s, key: %s}}" % (
                secret_name, keys["username_key"], secret_name, keys["password_key"])
        raise ScrapeAuthError(
            "wire_endpoints is false, but %s of the ServiceMonitor do(es) not reference Secret %r with key(s) %s: "
            "set %s in the chart's values for this ServiceMonitor's endpoint and run helm upgrade, then run again"
            % (", ".join(wrong), secret_name, ", ".join(keys.values()), values))

    def secret_values(self, keys: dict) -> dict:
        """Key -> value to write (only what was given)."""
        if self.auth_type == "bearer":
            token = self.params["token"]
            if token is None:
                return {}
            check_value("token", token)
            return {keys["secret_key"]: token}
        values = {}
        for option, key in (("username", "username_key"), ("password", "password_key")):
            if self.params[option] is not None:
                check_value(option, self.params[option])
                values[keys[key]] = self.params[option]
        return values

    # -- the run -------------------------------------------------------------------------------------------
    def apply(self) -> None:
        if self.params["secret_namespace"] not in (None, self.namespace):
            raise ScrapeAuthError(
                "the Secret must be in the ServiceMonitor's namespace %r, not %r: the Prometheus Operator reads "
                "scrape credentials only from the ServiceMonitor's own namespace"
                % (self.namespace, self.params["secret_namespace"])
            )
        monitor = self.monitors.get_existing(self.namespace, self.monitor)
        chosen, secret_name, keys = self.resolve(monitor)
        wire = self.params.get("wire_endpoints", True)
        if not wire:
            self.check_references(monitor, chosen, secret_name, keys)
        values = self.secret_values(keys)
        needed = set(keys.values())
        remove = list(self.params["remove_keys"])
        clash = needed & set(remove)
        if clash:
            raise ScrapeAuthError("remove_keys names %s, which the endpoints are to reference" % ", ".join(sorted(clash)))
        labels = self.params["secret_labels"] or {}
        self.result.update(secret_name=secret_name, auth_type=self.auth_type,
                           referenced_keys=sorted(needed))

        # 1. the Secret gets the keys the endpoints will reference
        state = {"values_changed": [], "keys_before": None}

        def add_keys(current):
            data = decode_data(current)
            if state["keys_before"] is None:
                state["keys_before"] = sorted(data) if current is not None else None
            missing = sorted(k for k in needed if k not in data and k not in values)
            if missing:
                raise ScrapeAuthError(
                    "Secret %r has no key %s and no value was given for it (%s)"
                    % (secret_name, ", ".join(missing), "token" if self.auth_type == "bearer" else "username/password")
                )
            state["values_changed"] = sorted(k for k, v in values.items() if data.get(k) != v)
            current_labels = ((current or {}).get("metadata") or {}).get("labels") or {}
            labels_differ = any(current_labels.get(k) != v for k, v in labels.items())
            if not state["values_changed"] and not labels_differ:
                return None
            if current is None:
                meta = {"name": secret_name, "namespace": self.namespace}
                if labels:
                    meta["labels"] = dict(labels)
                return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                        "data": encode_data(values)}
            wanted = dict(current)
            wanted["metadata"] = dict(current.get("metadata") or {})
            if labels_differ:
                wanted["metadata"]["labels"] = dict(current_labels, **labels)
            wanted["data"] = dict(current.get("data") or {}, **encode_data(values))
            return wanted

        update = self.write(self.secrets, secret_name, add_keys)
        secret_changed = update["wanted"] is not None
        conflicts = update["conflicts"]
        if update["after"] is not None:
            keys_after = set(decode_data(update["after"]))
        else:  # check mode: what the write would leave
            keys_after = set(decode_data(update["before"])) | set(values)

        # 2. the endpoints reference it
        wanted = wanted_fields(self.auth_type, secret_name, keys)
        report = {"endpoints_changed": [], "migrated": [], "before": [], "after": [], "endpoints": []}

        def compute(current):
            endpoints = (current.get("spec") or {}).get("endpoints") or []
            indexes, name_now, keys_now = self.resolve(current)
            if name_now != secret_name or keys_now != keys:
                raise K8sError("the ServiceMonitor changed while it was being updated; run again", 409)
            new_endpoints = list(endpoints)
            report.update(endpoints_changed=[], migrated=[], before=[], after=[])
            for index in indexes:
                label = endpoint_label(endpoints[index], index)
                new, changed = rewire(endpoints[index], wanted)
                report["before"].append(dict({"endpoint": label}, **owned_view(endpoints[index])))
                report["after"].append(dict({"endpoint": label}, **owned_view(new)))
                if changed:
                    new_endpoints[index] = new
                    report["endpoints_changed"].append(label)
                    if "bearerTokenSecret" in endpoints[index]:
                        report["migrated"].append(label)
            report["endpoints"] = new_endpoints
            if not report["endpoints_changed"]:
                return None
            return {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                    "spec": {"endpoints": new_endpoints}}

        if wire:
            sm_update = self.write(self.monitors, self.monitor, compute)
            conflicts += sm_update["conflicts"]
            monitor_changed = sm_update["patch"] is not None
        else:  # the chart renders the references (checked above): the ServiceMonitor is only read
            report["endpoints"] = (monitor.get("spec") or {}).get("endpoints") or []
            monitor_changed = False

        # 3. keys no endpoint of this ServiceMonitor references any more may go
        still = referenced_keys(report["endpoints"], secret_name)
        busy = sorted(set(remove) & still)
        if busy:
            raise ScrapeAuthError(
                "cannot remove key(s) %s of Secret %r: endpoints of this ServiceMonitor still reference them"
                % (", ".join(busy), secret_name)
            )
        removed = sorted(set(remove) & keys_after)
        if removed and not self.module.check_mode:
            def drop_keys(current):
                data = dict((current or {}).get("data") or {})
                if current is None or not set(remove) & set(data):
                    return None
                wanted_secret = dict(current)
                wanted_secret["data"] = {k: v for k, v in data.items() if k not in remove}
                return wanted_secret

            update = self.write(self.secrets, secret_name, drop_keys)
            conflicts += update["conflicts"]
            removed = sorted(set(remove) & set((update["before"] or {}).get("data") or {}))
        keys_after -= set(removed)

        self.result.update(
            changed=secret_changed or monitor_changed or bool(removed),
            secret_changed=secret_changed or bool(removed),
            service_monitor_changed=monitor_changed,
            secret_keys=sorted(keys_after),
            secret_values_changed=state["values_changed"],
            keys_removed=removed,
            endpoints_changed=report["endpoints_changed"],
            migrated_from_bearer_token_secret=report["migrated"],
            conflicts_retried=conflicts,
        )
        if self.module._diff:
            header = "Secret %s/%s and ServiceMonitor %s/%s" % (self.namespace, secret_name, self.namespace, self.monitor)
            before = {"secret_keys": state["keys_before"], "endpoints": report["before"]}
            after = {"secret_keys": sorted(keys_after), "secret_values_changed": state["values_changed"],
                     "endpoints": report["after"]}
            self.result["diff"] = {
                "before_header": header,
                "after_header": header,
                "before": yaml.safe_dump(before, sort_keys=False),
                "after": yaml.safe_dump(after, sort_keys=False),
            }
