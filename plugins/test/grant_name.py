# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test grant_name (documented in grant_name.yml beside): the collection's one grant-name rule, for roles."""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._common.names import grant_name_problem


def grant_name(value) -> bool:
    return grant_name_problem(value) is None


class TestModule:
    def tests(self):
        return {"grant_name": grant_name}
