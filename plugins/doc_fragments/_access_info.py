# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation fragment for the expected users and fingerprint key of the inspection modules. Private to promaccess.core."""

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
      password_hashes:
        description:
          - The other hashes the store made of the same credential (the fast scheme a consumer that hashes on
            every request gets, see the hash policy in the collection's docs). The hash found matches the store
            when it equals O(expected_users[].password_hash) or one of these.
        type: list
        elements: str
"""

    # The option of the inspection modules and credential_store_info (promaccess.core._access_info.fingerprint_key).
    FINGERPRINT_KEY = r"""
options:
  fingerprint_key:
    description:
      - The key of the user-name fingerprints in the result (HMAC-SHA256, first 12 hex digits). Give the same
        key to M(promaccess.core.credential_store_info) and to every inspection whose results are compared, as
        the C(promaccess.core.access_report) playbook does with a key it draws per run; then nobody without the
        key can test a guessed user name against a fingerprint.
      - Without it a fingerprint is the first 12 hex digits of the plain SHA-256 of the user name - a short,
        unsalted digest that identifies a name one already knows and can be brute-forced for a short or
        guessable name, not a secret.
    type: str
"""
