# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation fragment for the expected users of the inspection modules. Private to promaccess.core."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  expected_users:
    description:
      - The users to compare with, normally every credential the credential store holds for the grants planned
        on this target (M(promaccess.core.credential_store_info) with O(promaccess.core.credential_store_info#module:return_users=true)).
      - The user names and hashes are secrets; they are not logged and never returned.
    type: list
    elements: dict
    default: []
    suboptions:
      grant:
        description: The grant the credential belongs to.
        type: str
        required: true
      role:
        description:
          - What the credential is to the store - V(current); V(pending), a rotation's new credential;
            V(retired), a rotation's old credential being removed; V(revoked), a credential of a revoked grant.
        type: str
        default: current
        choices: [current, pending, retired, revoked]
      name:
        description: The user name.
        type: str
        required: true
      password_hash:
        description:
          - The hash in the store, compared with the one found as a string (no bcrypt work). Without it,
            RV(expected[].matches_store) is null.
        type: str
"""
