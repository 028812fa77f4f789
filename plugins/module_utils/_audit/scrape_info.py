# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of promaccess.core.k8s_scrape_access_info. Private to promaccess.core: no stable API.

Scrape credentials in a cluster, compared with the credential store: what a ServiceMonitor sends (the Secret keys
its endpoints reference through ``authorization``, ``bearerTokenSecret`` or ``basicAuth``) and what a scrape
target accepts (a token Secret of M(promaccess.core.k8s_token_secret)). A scrape credential is the store
credential's password itself, so it is verified against the store's hash (bcrypt work, one verification per pair
at most); the result has the shape of _audit/access_info.py's ``audit_users`` (the access report reads both) and
holds no token, password or user name: entries are fingerprints, keyed with the run's key.
"""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import (
    AccessInfoError,
    check_expected,
    latest_write,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashingError, HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._common.users import fingerprint
from ansible_collections.promaccess.core.plugins.module_utils._k8s import tokens as token_lines
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    LAST_APPLIED,
    K8sError,
    ObjectApi,
    SecretApi,
    decode_data,
    make_api_client,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.scrape_auth import (
    DEFAULT_KEYS,
    ScrapeAuthError,
    current_reference,
    select_endpoints,
)

SOURCES = ("service_monitor", "token_secret")


def _facts(params: dict) -> dict:
    return {
        "source": params["source"], "namespace": params["namespace"], "name": params["name"], "exists": False,
        "readable": False, "secrets": [], "endpoints": 0, "updated": None, "duplicate_names": 0,
        "last_applied_annotation": False, "error": None,
    }


def audit_credentials(found: list[dict] | None, expected, key: str | None, policy: HashPolicy) -> dict:
    """Compare the credentials ``found`` ({username or None, secret}) with ``expected`` (the store's entries of
    the planned grants): an entry is present when a credential found is its password (verified against its hash)
    and, for basic auth, its user name. Found credentials nobody expected are listed by fingerprint."""
    found = found or []
    wanted = check_expected(expected)
    matched = set()
    rows = []
    for entry in wanted:
        present = False
        for index, cred in enumerate(found):
            if cred["username"] is not None and cred["username"] != entry["name"]:
                continue
            if entry["password_hash"] and policy.verify(cred["secret"], entry["password_hash"]):
                present = True
                matched.add(index)
        rows.append({"grant": entry["grant"], "role": entry["role"], "fingerprint": fingerprint(entry["name"], key),
                     "present": present, "hash_scheme": None, "hash_cost": None,
                     "matches_store": True if present else None})
    unexpected = [
        {"fingerprint": fingerprint(cred["username"] if cred["username"] is not None else "token:" + cred["secret"],
                                    key),
         "hash_scheme": "plain", "hash_cost": None}
        for index, cred in enumerate(found) if index not in matched
    ]
    return {"expected": rows, "unexpected": unexpected, "unexpected_count": len(unexpected), "reserved_count": 0,
            "entries": len(found)}


class K8sScrapeAccessInfoBackend:
    """Backend of promaccess.core.k8s_scrape_access_info; uses only ``module.params``, a SecretApi and, for a
    ServiceMonitor, an ObjectApi."""

    def __init__(self, module, secrets=None, monitors=None):
        self.params = module.params
        self.secrets, self.monitors = secrets, monitors

    def _secret(self, facts: dict, namespace: str, name: str, referenced: bool = True) -> dict | None:
        """The Secret's data, its facts added to ``facts``; None when it cannot be read. A missing Secret is an
        error when a ServiceMonitor ``referenced`` it, else (the token Secret itself) only not there."""
        secret = self.secrets.get(namespace, name)
        if secret is None:
            if referenced:
                facts["error"] = "Secret %s/%s does not exist" % (namespace, name)
            return None
        metadata = secret.get("metadata") or {}
        facts["secrets"].append("%s/%s" % (namespace, name))
        facts["updated"] = max(filter(None, [facts["updated"], latest_write(metadata)]), default=None)
        facts["last_applied_annotation"] |= LAST_APPLIED in (metadata.get("annotations") or {})
        try:
            return decode_data(secret)
        except K8sError:
            facts["error"] = "Secret %s/%s: its data is not base64-encoded UTF-8 text" % (namespace, name)
            return None

    def _service_monitor(self, facts: dict) -> list[dict] | None:
        params = self.params
        namespace, name, auth_type = params["namespace"], params["name"], params["auth_type"]
        monitor = self.monitors.get(namespace, name)
        if monitor is None:
            return None
        facts["exists"] = True
        endpoints = (monitor.get("spec") or {}).get("endpoints") or []
        try:
            chosen = select_endpoints(endpoints, params["endpoint_ports"], params["endpoint_indexes"])
        except ScrapeAuthError as exc:
            facts["error"] = "ServiceMonitor %s/%s: %s" % (namespace, name, exc)
            return None
        facts["endpoints"] = len(chosen)
        found, seen = [], set()
        for index in chosen:
            ref = current_reference(endpoints[index], auth_type)
            if ref is None:
                continue  # this endpoint sends no credential of this type: nothing of the store is present
            data = self._secret(facts, namespace, ref["name"])
            if data is None:
                return None
            if auth_type == "bearer":
                cred = (None, data.get(ref.get("secret_key") or DEFAULT_KEYS["secret_key"]))
            else:
                cred = (data.get(ref.get("username_key") or DEFAULT_KEYS["username_key"]),
                        data.get(ref.get("password_key") or DEFAULT_KEYS["password_key"]))
            if cred[1] and cred not in seen:
                seen.add(cred)
                found.append({"username": cred[0], "secret": cred[1]})
        return found

    def _token_secret(self, facts: dict) -> list[dict] | None:
        params = self.params
        data = self._secret(facts, params["namespace"], params["name"], referenced=False)
        if data is None:
            return None
        facts["exists"] = True
        try:
            entries = token_lines.parse(data.get(params["key"], ""), params["format"])
        except token_lines.TokenSecretError as exc:
            facts["error"] = "Secret %s/%s, key %s: %s" % (params["namespace"], params["name"], params["key"], exc)
            return None
        listed = [e["token"] for e in entries if e["token"]]
        facts["duplicate_names"] = len(listed) - len(set(listed))
        return [{"username": None, "secret": token} for token in dict.fromkeys(listed)]

    def run(self) -> dict:
        params = self.params
        if params["source"] not in SOURCES:
            raise AccessInfoError("source must be one of %s" % ", ".join(SOURCES))
        check_expected(params["expected_users"])  # refuse bad input before any request
        facts, found = _facts(params), None
        try:
            if self.secrets is None:
                client = make_api_client(params)
                self.secrets = SecretApi(client)
                if params["source"] == "service_monitor":
                    self.monitors = ObjectApi(client, "monitoring.coreos.com", "v1", "servicemonitors")
            if params["source"] == "service_monitor":
                found = self._service_monitor(facts)
            else:
                found = self._token_secret(facts)
        except K8sError as exc:
            facts["error"] = str(exc)
            found = None
        facts["readable"] = found is not None and not facts["error"]
        if not facts["readable"]:
            found = None
        try:
            policy = HashPolicy("bcrypt", 12, "never")
        except HashingError as exc:
            raise AccessInfoError(str(exc)) from None
        result = {"changed": False, "secret": facts}
        result.update(audit_credentials(found, params["expected_users"], params.get("fingerprint_key"), policy))
        result["verify_operations"] = policy.verify_operations
        return result
