# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read-only inspection of a user file or basic-auth Secret against the store. Private to promaccess.core.

The backends of promaccess.core.access_info and promaccess.core.k8s_access_info. They read an htpasswd file,
an exporter-toolkit ``web.yml`` or a Kubernetes basic-auth Secret, and compare the users found there with the
users the credential store expects (by name, and by hash as a plain string: no bcrypt work). Nothing they
return names a user or holds a hash: a user name is half a credential. Entries are identified by a
fingerprint of the name (``_common/users.fingerprint``), keyed with the ``fingerprint_key`` the controller
draws per report run and gives the store inspection too, so both sides compute the same fingerprints and
nobody without the key can test a guessed name against them. Error messages are written here, never passed on from a parser,
because a parser's message may quote a line of the file.
"""

from __future__ import annotations

import grp
import hmac
import os
import pwd
import re
import stat

from ansible_collections.promaccess.core.plugins.module_utils._audit import access_log
from ansible_collections.promaccess.core.plugins.module_utils._common import times, web_yml
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import identify
from ansible_collections.promaccess.core.plugins.module_utils._common.io import FileWriteError, read_file
from ansible_collections.promaccess.core.plugins.module_utils._common.users import fingerprint
from ansible_collections.promaccess.core.plugins.module_utils._host_files.htpasswd import HtpasswdError, HtpasswdFile
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import (
    AuthFormatError,
    AuthMapFormat,
    HtpasswdKeyFormat,
    WebConfigFormat,
    get_format,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    LAST_APPLIED,
    K8sError,
    SecretApi,
    decode_data,
    make_api_client,
)

#: Formats of a user file on a host.
FILE_FORMATS = ("htpasswd", "web_config")
#: What a credential is to the store (see _store/credstore.grant_view).
ROLES = ("current", "pending", "retired", "revoked")

_LINE_RE = re.compile(r"^line (\d+)")


def expected_users_spec() -> dict:
    """The ``expected_users`` option of access_info and k8s_access_info: names and hashes are no_log."""
    return dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            grant=dict(type="str", required=True),
            role=dict(type="str", default="current", choices=list(ROLES)),
            name=dict(type="str", required=True, no_log=True),
            password_hash=dict(type="str", no_log=True),
            password_hashes=dict(type="list", elements="str", no_log=True),
        ),
    )


class AccessInfoError(Exception):
    """Input the inspection cannot work with (never a problem of the inspected file: that is reported)."""


class _Unreadable(Exception):
    """The inspected file or Secret cannot be read as user data; the message is safe to return."""


# -- parsing, with messages that never quote the data ---------------------------------------------------------
def parse_htpasswd(text: str) -> tuple[dict[str, str], int]:
    """The users of htpasswd text (first entry per name, as nginx reads it) and how many names repeat."""
    try:
        document = HtpasswdFile.parse(text)
    except HtpasswdError as exc:
        match = _LINE_RE.match(str(exc))
        where = "line %s" % match.group(1) if match else "a line"
        raise _Unreadable("%s is not a 'user:hash' entry" % where) from None
    return document.users(), len(document.duplicates())


def parse_web_config(text: str) -> dict[str, str]:
    """The ``basic_auth_users`` of an exporter-toolkit web configuration."""
    try:
        return web_yml.parse(text)[1]
    except web_yml.WebConfigError as exc:
        raise _Unreadable("the document %s" % exc) from None


# -- the comparison ------------------------------------------------------------------------------------------
def check_expected(expected) -> list[dict]:
    """Validate the expected entries: grant, role, name and (optional) password_hash, as strings, and the
    store's other hashes of the credential (``password_hashes``); ``hashes`` holds all of them."""
    out = []
    for index, entry in enumerate(expected or []):
        if not isinstance(entry, dict):
            raise AccessInfoError("expected_users[%d] must be a dictionary" % index)
        grant, role, name = entry.get("grant"), entry.get("role") or "current", entry.get("name")
        if not isinstance(grant, str) or not grant:
            raise AccessInfoError("expected_users[%d] needs a grant" % index)
        if role not in ROLES:
            raise AccessInfoError("expected_users[%d] (grant %s): role must be one of %s" % (index, grant, ", ".join(ROLES)))
        if not isinstance(name, str) or not name:
            raise AccessInfoError("expected_users[%d] (grant %s) needs a name" % (index, grant))
        hashed = entry.get("password_hash")
        if hashed is not None and not isinstance(hashed, str):
            raise AccessInfoError("expected_users[%d] (grant %s): password_hash must be a string" % (index, grant))
        others = entry.get("password_hashes") or []
        if not isinstance(others, (list, tuple)) or not all(isinstance(h, str) for h in others):
            raise AccessInfoError("expected_users[%d] (grant %s): password_hashes must be a list of strings" % (index, grant))
        hashes = ([hashed] if hashed is not None else []) + list(others)
        out.append({"grant": grant, "role": role, "name": name, "password_hash": hashed, "hashes": hashes})
    return out


def audit_users(found: dict[str, str] | None, expected, key: str | None = None, reserved: int = 0,
                compare_hashes: bool = True) -> dict:
    """Compare the users ``found`` (name -> hash, in file order; None when there is nothing to read) with
    ``expected``.

    Returns ``expected``: per expected entry, in order, its grant, role, fingerprint, whether it is present,
    the scheme and cost of the hash found, and whether that hash is the store's (a string comparison; None
    without ``compare_hashes``, for a Secret a chart renders from plain passwords with hashes of its own);
    ``unexpected``: the entries found that nobody expected, by fingerprint and scheme, except those among the
    first ``reserved`` entries (the reserved head of a chart's values, counted in ``reserved_count``);
    ``entries``: how many users were found. ``key`` is the fingerprint key (see ``_common/users.fingerprint``).
    """
    found = found or {}
    wanted = check_expected(expected)
    rows = []
    for entry in wanted:
        hashed = found.get(entry["name"])
        info = identify(hashed) if hashed is not None else None
        matches = None
        if hashed is not None and entry["hashes"] and compare_hashes:
            # Any hash the store made of this credential (its bcrypt one, or the fast scheme of a consumer that
            # hashes per request): a string comparison each, every one made.
            matches = False
            for candidate in entry["hashes"]:
                matches = hmac.compare_digest(hashed.encode("utf-8"), candidate.encode("utf-8")) or matches
        rows.append({
            "grant": entry["grant"],
            "role": entry["role"],
            "fingerprint": fingerprint(entry["name"], key),
            "present": hashed is not None,
            "hash_scheme": info.scheme if info else None,
            "hash_cost": info.cost if info else None,
            "matches_store": matches,
        })
    names = {entry["name"] for entry in wanted}
    unexpected, held = [], 0
    for position, (name, hashed) in enumerate(found.items()):
        if name in names:
            continue
        if position < reserved:
            held += 1
            continue
        info = identify(hashed)
        unexpected.append({"fingerprint": fingerprint(name, key), "hash_scheme": info.scheme, "hash_cost": info.cost})
    return {"expected": rows, "unexpected": unexpected, "unexpected_count": len(unexpected), "reserved_count": held,
            "entries": len(found)}


# -- a file on the host --------------------------------------------------------------------------------------
def _owner(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _group(gid: int) -> str | None:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


def inspect_file(path: str, fmt: str) -> tuple[dict, dict[str, str] | None]:
    """Facts about a user file (never its content) and its users; users is None when it cannot be read."""
    if fmt not in FILE_FORMATS:
        raise AccessInfoError("unknown format %r; expected one of %s" % (fmt, ", ".join(FILE_FORMATS)))
    facts = {
        "path": path, "format": fmt, "exists": False, "readable": False, "mode": None, "owner": None,
        "group": None, "size": None, "mtime": None, "duplicate_names": 0, "error": None,
    }
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return facts, None
    except OSError as exc:
        facts["error"] = "cannot stat %s: %s" % (path, exc.strerror or exc)
        return facts, None
    facts.update(
        exists=True, mode="%04o" % stat.S_IMODE(st.st_mode), owner=_owner(st.st_uid), group=_group(st.st_gid),
        size=st.st_size, mtime=times.iso(times.from_timestamp(st.st_mtime)),
    )
    if not stat.S_ISREG(st.st_mode):
        facts["error"] = "%s is not a regular file" % path
        return facts, None
    try:
        raw = read_file(path)
    except FileWriteError as exc:
        facts["error"] = str(exc)
        return facts, None
    if raw is None:  # removed between stat and read
        facts["exists"] = False
        return facts, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        facts["error"] = "%s is not UTF-8 text (byte %d)" % (path, exc.start)
        return facts, None
    try:
        if fmt == "htpasswd":
            users, facts["duplicate_names"] = parse_htpasswd(text)
        else:
            users = parse_web_config(text)
    except _Unreadable as exc:
        facts["error"] = "%s: %s" % (path, exc)
        return facts, None
    facts["readable"] = True
    return facts, users


class AccessInfoBackend:
    """Backend of promaccess.core.access_info; uses only ``module.params``."""

    def __init__(self, module):
        self.module = module
        self.params = module.params

    def run(self) -> dict:
        facts, users = inspect_file(self.params["path"], self.params["format"])
        result = {"changed": False, "file": facts}
        result.update(audit_users(users, self.params["expected_users"], self.params.get("fingerprint_key")))
        if self.params.get("access_log"):
            result["access_log"] = usage(self.params["access_log"], self.params["expected_users"], result["expected"])
        return result


def usage(path: str, expected, rows: list[dict]) -> dict:
    """Add ``last_seen`` to each row of audit_users (in the order of ``expected``) from the access log at
    ``path``; return the facts of the log itself (no line of it, no user name)."""
    names = [entry["name"] for entry in check_expected(expected)]
    try:
        found = access_log.last_seen(path, names)
    except access_log.AccessLogError as exc:
        for row in rows:
            row["last_seen"] = None
        return {"path": path, "exists": True, "since": None, "lines": 0, "error": str(exc)}
    for row, name in zip(rows, names):
        row["last_seen"] = times.iso(found["seen"].get(name))
    return {"path": path, "exists": found["exists"], "since": times.iso(found["since"]), "lines": found["lines"],
            "error": None if found["exists"] else "access log %s does not exist" % path}


# -- a Secret in a cluster -----------------------------------------------------------------------------------
def users_of_secret(fmt, data: dict[str, str]) -> tuple[dict[str, str], int]:
    """The users a consumer reads from decoded Secret data, and how many names repeat (htpasswd formats)."""
    if isinstance(fmt, HtpasswdKeyFormat):
        return parse_htpasswd(data.get(fmt.key, ""))
    if isinstance(fmt, WebConfigFormat):
        return parse_web_config(data.get(fmt.key, "")), 0
    if isinstance(fmt, AuthMapFormat):
        try:
            return fmt.parse(data)[1], 0
        except AuthFormatError:  # its message names the key, which is a user name here
            raise _Unreadable("a key of the Secret does not hold a single password hash") from None
    raise AccessInfoError("format %s cannot be inspected" % fmt.name)  # pragma: no cover - every format is above


def latest_write(metadata: dict) -> str | None:
    times = [entry.get("time") for entry in metadata.get("managedFields") or [] if isinstance(entry, dict)]
    times = [t for t in times if isinstance(t, str)]
    return max(times) if times else metadata.get("creationTimestamp")


def _secret_facts(namespace: str, name: str, fmt) -> dict:
    return {
        "namespace": namespace, "name": name, "format": fmt.name, "exists": False, "readable": False,
        "type": None, "expected_type": fmt.secret_type, "created": None, "updated": None,
        "resource_version": None, "last_applied_annotation": False, "duplicate_names": 0, "error": None,
    }


#: Where a cluster's users can be read: a Secret, or (a web.yml the prometheus chart renders from its
#: serverFiles) a ConfigMap, whose data is plain text.
KINDS = ("Secret", "ConfigMap")


def inspect_secret(api, namespace: str, name: str, format_name: str,
                   kind: str = "Secret") -> tuple[dict, dict[str, str] | None]:
    """Facts about a basic-auth Secret, or a ConfigMap holding the same data in plain text (never its data, nor
    its keys, which are user names in auth-map) and its users; users is None when it cannot be read."""
    fmt = get_format(format_name)
    facts = _secret_facts(namespace, name, fmt)
    if kind == "ConfigMap":  # K8sAccessInfoBackend.run checked the format
        facts["expected_type"] = "ConfigMap"
    try:
        obj = api.get_config_map(namespace, name) if kind == "ConfigMap" else api.get(namespace, name)
    except K8sError as exc:
        facts["error"] = str(exc)
        return facts, None
    if obj is None:
        return facts, None
    metadata = obj.get("metadata") or {}
    facts.update(
        exists=True, type="ConfigMap" if kind == "ConfigMap" else obj.get("type") or "Opaque",
        created=metadata.get("creationTimestamp"),
        updated=latest_write(metadata), resource_version=metadata.get("resourceVersion"),
        last_applied_annotation=LAST_APPLIED in (metadata.get("annotations") or {}),
    )
    if facts["type"] != facts["expected_type"]:
        facts["error"] = "the Secret has type %r but %s reads type %r" % (facts["type"], fmt.consumer, fmt.secret_type)
        return facts, None
    try:
        data = dict(obj.get("data") or {}) if kind == "ConfigMap" else decode_data(obj)
        users, facts["duplicate_names"] = users_of_secret(fmt, data)
    except K8sError:
        facts["error"] = "the Secret's data is not base64-encoded UTF-8 text"
        return facts, None
    except _Unreadable as exc:
        facts["error"] = "the %s's data is not what %s reads: %s" % (kind, fmt.consumer, exc)
        return facts, None
    facts["readable"] = True
    return facts, users


class K8sAccessInfoBackend:
    """Backend of promaccess.core.k8s_access_info; uses only ``module.params`` and a SecretApi."""

    def __init__(self, module, api=None):
        self.module = module
        self.params = module.params
        self.api = api

    def run(self) -> dict:
        params = self.params
        check_expected(params["expected_users"])  # refuse bad input before any request
        try:
            fmt = get_format(params["format"])
        except AuthFormatError as exc:
            raise AccessInfoError(str(exc)) from exc
        if (params.get("kind") or "Secret") not in KINDS:
            raise AccessInfoError("kind must be one of %s" % ", ".join(KINDS))
        if params.get("kind") == "ConfigMap" and not isinstance(fmt, WebConfigFormat):
            raise AccessInfoError("only format prometheus_web_config can be read from a ConfigMap (a chart's "
                                  "serverFiles web.yml)")
        facts, users = _secret_facts(params["namespace"], params["name"], fmt), None
        try:
            if self.api is None:
                self.api = SecretApi(make_api_client(params))
        except K8sError as exc:
            facts["error"] = str(exc)
        else:
            facts, users = inspect_secret(self.api, params["namespace"], params["name"], fmt.name,
                                          params.get("kind") or "Secret")
        result = {"changed": False, "secret": facts}
        result.update(audit_users(users, params["expected_users"], params.get("fingerprint_key"),
                                  params.get("reserved") or 0, params.get("compare_hashes", True)))
        return result
