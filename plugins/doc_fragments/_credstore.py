# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation fragment for the modules that open the credential store. Private to promaccess.core."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  store:
    description:
      - The age-encrypted credential store file on the controller (the one the
        P(promaccess.core.credential#lookup) lookup keeps).
      - Can also be set with the E(PROMACCESS_CREDENTIAL_STORE) environment variable.
    type: path
    required: true
  identity:
    description:
      - The operator identity file (C(key.txt) from C(age-keygen)), or an unencrypted SSH private key.
      - Can also be set with the E(PROMACCESS_AGE_IDENTITY) environment variable.
    type: path
    required: true
"""
