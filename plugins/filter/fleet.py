# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter scrape_secrets (documented in scrape_secrets.yml beside): the planner's scrape part with secrets."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.promaccess.core.plugins.plugin_utils.fleet_plan import plain, scrape_secrets as _scrape_secrets


def scrape_secrets(scrape, views):
    try:
        return _scrape_secrets(plain(scrape), plain(views))
    except (KeyError, TypeError) as exc:
        # Only the grant name or key is named, never a credential.
        raise AnsibleFilterError("scrape_secrets: no credential for %s in the store's views" % exc) from None


class FilterModule:
    def filters(self):
        return {"scrape_secrets": scrape_secrets}
