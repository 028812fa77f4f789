# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters fleet_part, scrape_secrets and values_users (documented in the .yml files beside): one host's part of
the fleet plan, a cluster's scrape credentials filled in from the store's views, and the users of a cluster's
Helm values file."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.promaccess.core.plugins.plugin_utils.data import plain
from ansible_collections.promaccess.core.plugins.plugin_utils.fleet_plan import (
    PlanError,
    host_part,
    scrape_secrets as _scrape_secrets,
    values_users as _values_users,
)


def fleet_part(plan, host, part="hosts"):
    if not isinstance(plan, dict) or "grant_sets" not in plan:
        raise AnsibleFilterError("fleet_part: expected the plan made by promaccess.core.fleet_plan")
    try:
        return host_part(plain(plan), str(host), str(part))
    except PlanError as exc:
        raise AnsibleFilterError("fleet_part: %s" % exc) from None


def scrape_secrets(scrape, views):
    try:
        return _scrape_secrets(plain(scrape), plain(views))
    except (KeyError, TypeError) as exc:
        # Only the grant name or key is named, never a credential.
        raise AnsibleFilterError("scrape_secrets: no credential for %s in the store's views" % exc) from None


def values_users(grants, views, shape="list"):
    try:
        return _values_users(plain(views), list(plain(grants)), str(shape))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("values_users: no credential for %s in the store's views" % exc) from None


class FilterModule:
    def filters(self):
        return {"fleet_part": fleet_part, "scrape_secrets": scrape_secrets, "values_users": values_users}
