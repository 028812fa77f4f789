# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: helm_values
short_description: The values of a Helm release from the operator's values files, plain or sops-encrypted
version_added: 0.1.0
author:
  - promaccess.core maintainers (@promaccess)
description:
  - Reads the values files given, in order, decrypting a sops file (recognised by its C(sops) metadata) in memory
    with the C(sops) binary, and merges them as C(helm upgrade --values a --values b) does. Mappings merge key
    by key; any other value of a later file replaces the earlier one, a null included.
  - Returns one mapping, to give to M(kubernetes.core.helm) as O(kubernetes.core.helm#module:release_values), so
    that no decrypted file is written and the module's idempotence check compares all the values.
  - The result holds secrets; use it only in C(no_log) tasks.
options:
  _terms:
    description: The values files, in the order C(helm) takes them. A relative path is taken from the playbook
      directory.
    required: true
    type: list
    elements: path
  identity:
    description: The operator identity that decrypts the sops files (an age C(key.txt) or an SSH private key).
    type: path
    env:
      - name: PROMACCESS_AGE_IDENTITY
  sops_binary:
    description: The C(sops) binary; by default the C(sops) found on E(PATH).
    type: path
    env:
      - name: PROMACCESS_SOPS_BINARY
  sops_config:
    description: A C(.sops.yaml) for sops to read.
    type: path
    env:
      - name: PROMACCESS_SOPS_CONFIG
seealso:
  - module: promaccess.core.helm_values_users
  - module: kubernetes.core.helm
"""

EXAMPLES = r"""
- name: Upgrade the support chart with its plain and its encrypted values
  kubernetes.core.helm:
    release_name: support
    chart_ref: ./helm-charts/support
    release_namespace: support
    release_values: >-
      {{ lookup('promaccess.core.helm_values', 'config/clusters/example/support.values.yaml',
                'config/clusters/example/enc-support.secret.values.yaml', identity='~/.config/sops/age/keys.txt') }}
  no_log: true
"""

RETURN = r"""
_raw:
  description: One mapping, the merged values.
  type: list
  elements: dict
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.promaccess.core.plugins.plugin_utils import sops_runner
from ansible_collections.promaccess.core.plugins.plugin_utils.helm_values import ValuesFileError, release_values


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        paths = []
        for term in terms:
            path = os.path.expanduser(str(term))
            paths.append(path if os.path.isabs(path) else os.path.join(self._loader.get_basedir(), path))
        identity = self.get_option("identity")
        try:
            values = release_values(paths, os.path.expanduser(identity) if identity else None, sops_runner.run,
                                    self.get_option("sops_binary"), self.get_option("sops_config"))
        except ValuesFileError as exc:
            raise AnsibleLookupError(str(exc)) from None
        return [values]
