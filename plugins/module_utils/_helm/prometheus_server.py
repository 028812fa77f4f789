# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The prometheus chart's server wired to its own web config, in a Helm values file. Private to promaccess.core:
no stable API.

When the users sit in ``serverFiles."web.yml".basic_auth_users`` (shape ``map`` of _helm/values_users.py), the
prometheus chart's server must also be told to read that file and to authenticate where it calls itself, or the
pod never becomes ready:

- ``<server>.extraArgs."web.config.file"``: the mounted web.yml (``/etc/config/web.yml``: the chart mounts its
  ``serverFiles`` ConfigMap at ``/etc/config``); the chart turns every ``extraArgs`` entry into a ``--key=value``
  flag. Other arguments are kept.
- ``<server>.probeHeaders``: the ``Authorization`` header the readiness, liveness and startup probes send (Basic,
  with the probe user's credential); other headers are kept, in their order.
- optionally the chart's self-scrape job in ``serverFiles."prometheus.yml".scrape_configs``: its ``basic_auth``
  with the same credential. The job must already be in the file: a list in a values file replaces the chart's
  whole list, so adding one would drop the chart's other jobs.

Everything is changed in place in the document, so a plain file keeps its comments; the caller writes it. Only
descriptions reach results and diffs: never the header, the password or a labelled user name.
"""

from __future__ import annotations

import base64

from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import key_path_text

#: Where the prometheus chart mounts its serverFiles (the ConfigMap ``config-volume``).
DEFAULT_WEB_CONFIG_FILE = "/etc/config/web.yml"
DEFAULT_SELF_SCRAPE_JOB = "prometheus"
HEADER = "Authorization"


class ServerError(Exception):
    """The server part of the values file cannot be wired. The message names the file and the cause."""


def basic_header(username: str, password: str) -> str:
    """The value of an ``Authorization`` header for HTTP basic auth (RFC 7617)."""
    return "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")


def _mapping_at(document, keys, where: str, new_mapping, create: bool):
    """The mapping at ``keys`` (created, with the mappings on the way, when ``create``); a list or a scalar on the
    way is an error."""
    node = document
    for depth, key in enumerate(keys):
        child = node.get(key)
        if child is None:
            if not create:
                raise ServerError("%s has no key %s" % (where, key_path_text(keys[:depth + 1])))
            child = node[key] = new_mapping()
        elif not isinstance(child, dict):
            kind = "a list" if isinstance(child, list) else "a scalar"
            raise ServerError("%s: %s is %s, not a mapping" % (where, key_path_text(keys[:depth + 1]), kind))
        node = child
    return node


def _list_at(document, keys, where: str):
    node = document
    for depth, key in enumerate(keys[:-1]):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ServerError("%s has no mapping at %s" % (where, key_path_text(keys[:depth + 1])))
    value = node.get(keys[-1])
    if not isinstance(value, list):
        raise ServerError("%s: %s must be the list of scrape configs, and %s" % (
            where, key_path_text(keys), "is missing" if value is None else "is not a list"))
    return value


def wire_server(document, server: dict, where: str, new_mapping, create: bool) -> tuple[list, list, list]:
    """Wire the server of ``document`` (changed in place) for the probe user of ``server``.

    ``server``: the module's ``server`` option (key_path, web_config_file, probe_username, probe_username_label,
    probe_password, scrape_configs_key_path, self_scrape_job). Returns (the key paths whose value changed, for a
    sops write; the lines describing the wiring before; after).
    """
    keys = list(server["key_path"])
    label = server.get("probe_username_label") or "the probe user"
    header = basic_header(server["probe_username"], server["probe_password"])
    web_config_file = server.get("web_config_file") or DEFAULT_WEB_CONFIG_FILE
    changed = []
    before, after = [], []

    node = _mapping_at(document, keys, where, new_mapping, create)
    args = node.get("extraArgs")
    if args is None:
        args = node["extraArgs"] = new_mapping()
    elif not isinstance(args, dict):
        raise ServerError("%s: %s is not a mapping of flags" % (where, key_path_text(keys + ["extraArgs"])))
    before.append("extraArgs web.config.file: %s\n" % args.get("web.config.file", "(not set)"))
    after.append("extraArgs web.config.file: %s\n" % web_config_file)
    if args.get("web.config.file") != web_config_file:
        args["web.config.file"] = web_config_file
        changed.append(keys + ["extraArgs"])

    headers = node.get("probeHeaders")
    if headers is None:
        headers = node["probeHeaders"] = []
    elif not isinstance(headers, list):
        raise ServerError("%s: %s is not a list of {name, value}" % (where, key_path_text(keys + ["probeHeaders"])))
    found = [h for h in headers if isinstance(h, dict) and str(h.get("name", "")).lower() == HEADER.lower()]
    if len(found) > 1:
        raise ServerError("%s: %s has more than one Authorization header" % (where, key_path_text(keys + ["probeHeaders"])))
    if found:
        before.append("probe header Authorization: %s\n" % (
            "basic auth of %s" % label if found[0].get("value") == header else "another credential"))
    else:
        before.append("probe header Authorization: (none)\n")
    after.append("probe header Authorization: basic auth of %s\n" % label)
    if not found:
        entry = new_mapping()
        entry.update({"name": HEADER, "value": header})
        headers.append(entry)
        changed.append(keys + ["probeHeaders"])
    elif found[0].get("value") != header:
        found[0]["value"] = header  # in place: the entry's comments stay
        changed.append(keys + ["probeHeaders"])

    scrape_keys = server.get("scrape_configs_key_path")
    if scrape_keys:
        scrape_keys = list(scrape_keys)
        job_name = server.get("self_scrape_job") or DEFAULT_SELF_SCRAPE_JOB
        jobs = [j for j in _list_at(document, scrape_keys, where) if isinstance(j, dict) and j.get("job_name") == job_name]
        if len(jobs) != 1:
            raise ServerError(
                "%s: %s has %s job named %r; it must hold the chart's self-scrape job (a list in a values file "
                "replaces the chart's whole list, so it is never added here: copy the chart's job into the file)"
                % (where, key_path_text(scrape_keys), "no" if not jobs else "more than one", job_name))
        job = jobs[0]
        auth = job.get("basic_auth")
        same = isinstance(auth, dict) and auth.get("username") == server["probe_username"] \
            and auth.get("password") == server["probe_password"] and "password_file" not in auth
        before.append("job %s basic_auth: %s\n" % (job_name, "basic auth of %s" % label if same else
                                                   "another credential" if auth else "(none)"))
        after.append("job %s basic_auth: basic auth of %s\n" % (job_name, label))
        if not same:
            if not isinstance(auth, dict):
                auth = job["basic_auth"] = new_mapping()
            auth.pop("password_file", None)
            auth["username"] = server["probe_username"]
            auth["password"] = server["probe_password"]
            changed.append(scrape_keys)
    return changed, before, after
