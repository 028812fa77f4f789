# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host patterns resolved by Ansible's own pattern engine. Private to promaccess.core: no stable API."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager


def pattern_resolver(loader, groups: dict):
    """``resolve(patterns) -> set of host names`` over the inventory's ``groups`` (group -> member names), built
    the way the ``inventory_hostnames`` lookup builds its InventoryManager. Patterns are joined with ``:`` as the
    playbooks document them (``[prometheus, "!prom-3"]``); a pattern Ansible cannot parse selects nothing."""
    manager = InventoryManager(loader, parse=False)
    for group, members in groups.items():
        manager.add_group(group)
        for host in members:
            manager.add_host(host, group=group)

    def resolve(patterns: list[str]) -> set:
        try:
            return {h.name for h in manager.get_hosts(pattern=":".join(patterns))}
        except AnsibleError:
            return set()

    return resolve
