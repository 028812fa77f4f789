# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters fleet_part, target_users, scrape_secrets, values_users, values_server, tls_names and evidence_users
(documented in the .yml files beside): one host's part of the fleet plan, the users of one of its user files or
Secrets, a cluster's scrape credentials filled in from the store's views, the users and the prometheus chart's
server wiring of a cluster's Helm values file, the names of a host's issued certificate, and the credentials
whose use a host's access log is searched for during a grace period."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.promaccess.core.plugins.plugin_utils.data import plain
from ansible_collections.promaccess.core.plugins.plugin_utils.rotation_policy import evidence_users as _evidence_users
from ansible_collections.promaccess.core.plugins.plugin_utils.tls_policy import certificate_names
from ansible_collections.promaccess.core.plugins.plugin_utils.fleet_plan import (
    PlanError,
    host_part,
    scrape_secrets as _scrape_secrets,
    target_users as _target_users,
    values_server as _values_server,
    values_users as _values_users,
)


def fleet_part(plan, host, part="hosts"):
    if not isinstance(plan, dict) or "grant_sets" not in plan:
        raise AnsibleFilterError("fleet_part: expected the plan made by promaccess.core.fleet_plan")
    try:
        return host_part(plain(plan), str(host), str(part))
    except PlanError as exc:
        raise AnsibleFilterError("fleet_part: %s" % exc) from None


def _from_views(name, build, *args):
    """``build(*args)``, its KeyError or TypeError (a grant missing from the store's views) said in one line
    naming only the grant or key, never a credential."""
    try:
        return build(*args)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("%s: no credential for %s in the store's views" % (name, exc)) from None


def scrape_secrets(scrape, views):
    return _from_views("scrape_secrets", _scrape_secrets, plain(scrape), plain(views))


def target_users(grants, views, consumer, bcrypt_grants=None):
    return _from_views("target_users", _target_users, plain(views), list(plain(grants)), str(consumer),
                       list(plain(bcrypt_grants or [])))


def values_users(grants, views, shape="list", consumer="", bcrypt_grants=None):
    return _from_views("values_users", _values_users, plain(views), list(plain(grants)), str(shape), str(consumer),
                       list(plain(bcrypt_grants or [])))


def values_server(server, views, internal):
    return _from_views("values_server", _values_server, plain(server), plain(views), str(internal))


def tls_names(host_names, extra=None):
    if not isinstance(host_names, (list, tuple)) or not [n for n in host_names if str(n).strip()]:
        raise AnsibleFilterError("tls_names: expected a list holding at least one host name")
    return certificate_names([str(n) for n in host_names], [str(n) for n in extra or []])


def evidence_users(grants, views):
    return _from_views("evidence_users", _evidence_users, plain(views), list(plain(grants)))


class FilterModule:
    def filters(self):
        return {"fleet_part": fleet_part, "target_users": target_users, "scrape_secrets": scrape_secrets,
                "values_users": values_users,
                "values_server": values_server, "tls_names": tls_names, "evidence_users": evidence_users}
