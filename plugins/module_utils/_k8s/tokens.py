# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of promaccess.core.k8s_token_secret. Private to promaccess.core: no stable API.

The bearer tokens a scrape target accepts, kept under one key of a Secret the target reads (mounted as a file):

- ``lines``: one token per line (blank lines and ``#`` comments are kept as they are);
- ``static_csv``: the static token file of kube-apiserver and kube-rbac-proxy, ``token,user,uid[,"groups"]``
  (the module writes ``token,name,name``).

Tokens are compared as strings (the target does the same); no hashing is involved. Entries are matched by their
token, so one name may hold two tokens at once (the old and the new one during a rotation). Uses only
``module.params``, ``module.check_mode`` and ``module._diff``, plus a SecretApi, so tests can drive it with
stand-ins.
"""

from __future__ import annotations

import csv
import io

from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import K8sBackend
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import SecretApi, decode_data, encode_data

FORMATS = ("lines", "static_csv")
#: What a token may hold: printable ASCII without spaces, commas or quotes (it goes into a line or a CSV cell).
_TOKEN_FORBIDDEN = set(' ,"#\\')


class TokenSecretError(Exception):
    """Anything that stops the Secret from being managed; the message never holds a token."""


def check_token(token, where: str) -> None:
    if not isinstance(token, str) or not token:
        raise TokenSecretError("%s: the token must be a non-empty string" % where)
    if any(ord(c) <= 32 or ord(c) >= 127 or c in _TOKEN_FORBIDDEN for c in token):
        raise TokenSecretError(
            "%s: the token must be printable ASCII without spaces, commas, quotes, '#' or backslashes" % where
        )


def check_name(name, where: str) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not name or any(ord(c) < 32 or c in ',"' for c in name):
        raise TokenSecretError("%s: name %r must be non-empty, without control characters, commas or quotes"
                               % (where, name))


def parse(text: str, fmt: str) -> list[dict]:
    """The lines of the key: dicts with ``token`` (None for a blank or comment line), ``name`` and ``raw``."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            entries.append({"token": None, "name": None, "raw": raw})
            continue
        if fmt == "lines":
            entries.append({"token": stripped, "name": None, "raw": raw})
            continue
        row = next(csv.reader([stripped]))
        if len(row) < 3 or not row[0]:
            raise TokenSecretError("line %d is not token,user,uid[,groups] (static_csv)" % number)
        entries.append({"token": row[0], "name": row[1], "raw": raw})
    return entries


def render_entry(token: str, name: str | None, fmt: str) -> str:
    if fmt == "lines":
        return token
    label = name or "scrape"
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([token, label, label])
    return out.getvalue()


def render(entries: list[dict]) -> str:
    return "".join(entry["raw"] + "\n" for entry in entries)


def reconcile(existing: list[dict], wanted: list[dict], fmt: str, exclusive: bool) -> dict:
    """Apply the wanted tokens to the existing entries: present ones appended when missing, absent ones removed.

    With ``exclusive`` every token that is not wanted present goes. Returns the new entries and, per change,
    the wanted entry's name (or ``unnamed``), never a token.
    """
    present, absent = {}, {}
    for index, item in enumerate(wanted):
        where = "tokens[%d]" % index
        check_token(item.get("token"), where)
        check_name(item.get("name"), where)
        if item.get("state", "present") == "absent":
            absent[item["token"]] = item
        else:
            present.setdefault(item["token"], item)
    both = set(absent) & set(present)
    if both:
        raise TokenSecretError("a token is listed both present and absent (%s)"
                               % ", ".join(sorted(present[t].get("name") or "unnamed" for t in both)))
    entries, removed, kept_tokens = [], [], set()
    for entry in existing:
        token = entry["token"]
        if token is not None and (token in absent or (exclusive and token not in present) or token in kept_tokens):
            removed.append((absent.get(token) or {}).get("name") or entry["name"] or "unnamed")
            continue
        if token is not None:
            kept_tokens.add(token)
        entries.append(entry)
    added = []
    for token, item in present.items():
        if token not in kept_tokens:
            entries.append({"token": token, "name": item.get("name"), "raw": render_entry(token, item.get("name"), fmt)})
            added.append(item.get("name") or "unnamed")
    return {"entries": entries, "added": added, "removed": removed}


def describe(entries: list[dict]) -> str:
    """One line per token, without the token: its position and name."""
    lines = ["token %d: %s" % (n, e["name"] or "unnamed") for n, e in enumerate(
        (e for e in entries if e["token"] is not None), start=1)]
    return "".join(line + "\n" for line in lines)


class TokenSecretBackend(K8sBackend):
    error = TokenSecretError

    def __init__(self, module, api: SecretApi | None = None):
        super().__init__(module, api)
        self.name = self.params["name"]
        self.result.update(name=self.name, key=self.params["key"], format=self.params["format"])
        self.outcome: dict | None = None
        self.before: list[dict] | None = None

    def where(self) -> str:
        return "Secret %s/%s key %s" % (self.namespace, self.name, self.params["key"])

    def mutate(self, current):
        key, fmt = self.params["key"], self.params["format"]
        labels = self.params["labels"] or {}
        data = decode_data(current)
        existing = parse(data.get(key, ""), fmt)
        outcome = reconcile(existing, self.params["tokens"], fmt, self.params["exclusive"])
        self.outcome, self.before = outcome, existing
        text = render(outcome["entries"])
        if current is None:
            if not any(e["token"] for e in outcome["entries"]):
                return None  # nothing to accept: no Secret is created
            metadata = {"name": self.name, "namespace": self.namespace}
            if labels:
                metadata["labels"] = dict(labels)
            return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque",
                    "data": encode_data({key: text})}
        current_labels = (current.get("metadata") or {}).get("labels") or {}
        labels_differ = any(current_labels.get(k) != v for k, v in labels.items())
        if data.get(key) == text or (key not in data and not text):
            if not labels_differ:
                return None
        wanted = dict(current)
        wanted["metadata"] = dict(current.get("metadata") or {})
        if labels_differ:
            wanted["metadata"]["labels"] = dict(current_labels, **labels)
        wanted["data"] = encode_data(dict(data, **{key: text}))
        return wanted

    def apply(self) -> None:
        if self.params["format"] not in FORMATS:
            raise TokenSecretError("format must be one of %s" % ", ".join(FORMATS))
        for label, value in (self.params["labels"] or {}).items():
            if not isinstance(value, str):
                raise TokenSecretError("label %r must have a string value" % (label,))
        update = self.write(self.api, self.name, self.mutate)
        changed, conflicts = update["wanted"] is not None, update["conflicts"]
        outcome = self.outcome
        self.result.update(
            changed=changed,
            conflicts_retried=conflicts,
            tokens=sum(1 for e in outcome["entries"] if e["token"] is not None),
            added=outcome["added"],
            removed=outcome["removed"],
        )
        if self.module._diff:
            self.result["diff"] = {"before_header": self.where(), "after_header": self.where(),
                                   "before": describe(self.before), "after": describe(outcome["entries"])}
