# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of promaccess.core.fleet_plan, shared by its action plugin and its documentation module.
Private to promaccess.core: no stable API."""

from __future__ import annotations

FLEET_PLAN_ARGUMENT_SPEC = {
    "stage": {"type": "str", "default": "plan", "choices": ["plan", "checks", "results", "report", "evidence"]},
    "store_grants": {"type": "list", "elements": "dict", "default": []},
    "with_credentials": {"type": "bool", "default": False},
    "rotate": {"type": "list", "elements": "str"},
    "revoke": {"type": "list", "elements": "str"},
    "handoff_only": {"type": "list", "elements": "str"},
    "handoff_dir": {"type": "str", "default": ""},
    "grants": {"type": "list", "elements": "str", "default": []},
}
