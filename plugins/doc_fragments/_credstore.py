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
      - The credential store file on the controller (the one the P(promaccess.core.credential#lookup) lookup
        keeps). A file named C(*.sops.yaml) is a sops file, encrypted and decrypted by the C(sops) binary, whose
        recipients are kept in the file; a new one gets those of the first matching creation rule of
        C(.sops.yaml), and no write changes them (use C(sops updatekeys)). Any other name is the age-encrypted
        store of the first releases (migrate it with the C(promaccess.core.migrate_store) playbook).
      - Can also be set with the E(PROMACCESS_CREDENTIAL_STORE) environment variable.
    type: path
    required: true
  identity:
    description:
      - The operator identity file (C(key.txt) from C(age-keygen)), or an unencrypted SSH private key.
      - Can also be set with the E(PROMACCESS_AGE_IDENTITY) environment variable.
    type: path
    required: true
  sops_binary:
    description:
      - The C(sops) binary for a sops store; by default the C(sops) found on E(PATH).
      - Can also be set with the E(PROMACCESS_SOPS_BINARY) environment variable.
    type: path
  sops_config:
    description:
      - The C(.sops.yaml) whose creation rules give a new sops store its recipients; by default sops looks for
        C(.sops.yaml) in the store's folder and the folders above it.
      - Can also be set with the E(PROMACCESS_SOPS_CONFIG) environment variable.
    type: path
  run:
    description:
      - An id of the playbook run this task belongs to (the playbooks set one per run). The store then refuses
        to be read or written by that run once it was changed underneath it other than through promaccess
        (another operator's commit pulled mid-run, an edit by hand), and the run stops without writing. The
        store's lock file beside it keeps what each run has seen.
    type: str
"""
