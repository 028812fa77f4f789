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
