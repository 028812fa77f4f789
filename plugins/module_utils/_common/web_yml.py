# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one reader and writer of exporter-toolkit web configurations (web.yml). Private to promaccess.core.

Used for a file on a host (``web_config``), for the ``web.yml`` key of a Secret (``k8s_basic_auth_secret``
format ``prometheus_web_config``) and by the read-only inspections (``access_info``, ``k8s_access_info``).
Messages follow a subject the caller puts in front (a path, a Secret key, "the document") and never quote
the document, nor name a user.
"""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import dump_document, load_mapping

USERS_KEY = "basic_auth_users"


class WebConfigError(Exception):
    """A web configuration that cannot be read or updated."""


def parse(text: str) -> tuple[dict, dict[str, str]]:
    """Return the whole document and its ``basic_auth_users`` map (ordered as in the file)."""
    document = load_mapping(text, WebConfigError)
    users = document.get(USERS_KEY) or {}
    if not isinstance(users, dict):
        raise WebConfigError("has %s that is not a mapping of user name to hash" % USERS_KEY)
    if not all(isinstance(name, str) and isinstance(hashed, str) for name, hashed in users.items()):
        raise WebConfigError("has a %s entry that does not map a string name to a string hash" % USERS_KEY)
    return document, dict(users)


def render(document: dict, users: dict[str, str]) -> str:
    """The document with its user map replaced; every other key keeps its value and place."""
    out = dict(document)
    out[USERS_KEY] = dict(users)
    return dump_document(out)


# -- TLS and HTTP headers (exporter-toolkit's tls_server_config and http_server_config) -------------------------
TLS_KEY = "tls_server_config"
HTTP_KEY = "http_server_config"
#: The minimum versions the collection writes: TLS 1.2 or 1.3, never older.
TLS_VERSIONS = ("TLS12", "TLS13")
#: exporter-toolkit's client_auth_type values (mTLS when a client CA is given).
CLIENT_AUTH_TYPES = ("NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
                     "RequireAndVerifyClientCert")
#: The response headers exporter-toolkit lets http_server_config set; it refuses every other.
SUPPORTED_HEADERS = ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection",
                     "Content-Security-Policy")
#: What the TLS keys of the collection mean in the file.
_TLS_FIELDS = ("cert_file", "key_file", "min_version", "client_ca_file", "client_auth_type")


def with_tls(document: dict, tls: dict) -> tuple[dict, bool]:
    """The document with ``tls`` (the collection's TLS fields; None values left out) set in its tls_server_config,
    every other key of that section (cipher_suites, curve_preferences, ...) kept. Returns (document, changed)."""
    current = document.get(TLS_KEY)
    if current is not None and not isinstance(current, dict):
        raise WebConfigError("has %s that is not a mapping" % TLS_KEY)
    wanted = {k: tls[k] for k in _TLS_FIELDS if tls.get(k) is not None}
    if wanted.get("min_version", "TLS12") not in TLS_VERSIONS:
        raise WebConfigError("min_version must be one of %s" % ", ".join(TLS_VERSIONS))
    if wanted.get("client_auth_type") is not None and wanted["client_auth_type"] not in CLIENT_AUTH_TYPES:
        raise WebConfigError("client_auth_type must be one of %s" % ", ".join(CLIENT_AUTH_TYPES))
    if wanted.get("client_auth_type", "NoClientCert") in CLIENT_AUTH_TYPES[2:] and not wanted.get("client_ca_file"):
        raise WebConfigError("client_auth_type %s needs a client_ca_file" % wanted["client_auth_type"])
    merged = dict(current or {})
    merged.update(wanted)
    if merged == (current or {}):
        return document, False
    out = dict(document)
    out[TLS_KEY] = merged
    return out, True


def with_headers(document: dict, headers: dict) -> tuple[dict, bool]:
    """The document with ``headers`` set in http_server_config.headers, other headers and keys kept. Returns
    (document, changed). A header exporter-toolkit does not support is refused (it would refuse the file)."""
    unknown = sorted(h for h in headers if h not in SUPPORTED_HEADERS)
    if unknown:
        raise WebConfigError("cannot set header(s) %s: exporter-toolkit supports only %s"
                             % (", ".join(unknown), ", ".join(SUPPORTED_HEADERS)))
    section = document.get(HTTP_KEY)
    if section is not None and not isinstance(section, dict):
        raise WebConfigError("has %s that is not a mapping" % HTTP_KEY)
    current = (section or {}).get("headers")
    if current is not None and not isinstance(current, dict):
        raise WebConfigError("has %s.headers that is not a mapping" % HTTP_KEY)
    merged = dict(current or {})
    merged.update({k: str(v) for k, v in headers.items()})
    if merged == (current or {}):
        return document, False
    out = dict(document)
    out[HTTP_KEY] = dict(section or {}, headers=merged)
    return out, True
