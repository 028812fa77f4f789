#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_store_info
short_description: What the age-encrypted credential store says about each grant, without its passwords
version_added: 0.1.0
description:
  - Decrypts the credential store (the one the P(promaccess.core.credential#lookup) lookup keeps) in memory
    and returns, per grant, its status (V(active), V(rotating), V(revoked) or V(superseded)), the phase of a rotation in
    progress, when its credential was minted and how many days ago, when it was last rotated and when it was
    revoked, and per credential its role, the fingerprint of its user name and the scheme of its hash.
  - With O(return_users=true) it also returns RV(users), the user names and hashes hosts are compared with by
    M(promaccess.core.access_info) and M(promaccess.core.k8s_access_info). Those are secrets - register the
    result with C(no_log) on the task. Passwords are never returned.
  - A store file that does not exist holds no grants (RV(exists=false)).
  - Changes nothing, and never writes the store. Run it on the controller (C(localhost)), where the store and
    the operator identity are.
author:
  - promaccess.core maintainers (@promaccess)
attributes:
  check_mode:
    description: Reads and reports in check mode exactly as in a normal run.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: Never changes anything.
    support: full
extends_documentation_fragment:
  - promaccess.core._credstore
  - promaccess.core._access_info.fingerprint_key
options:
  grants:
    description:
      - The grants to describe. All grants of the store when empty. Grants named here but not in the store are
        listed in RV(missing).
    type: list
    elements: str
    default: []
  return_users:
    description:
      - Also return RV(users), the user names and hashes of every credential of the grants (secret).
    type: bool
    default: false
requirements:
  - pyrage
  - PyYAML
notes:
  - A credential's role follows the store - V(current); V(pending), a rotation's new credential (to be on the
    hosts once the rotation reached phase C(added)); V(retired), the old one of a rotation in phase
    C(revoking) (to be removed from the hosts); V(revoked), every credential of a revoked grant.
seealso:
  - plugin: promaccess.core.credential
    plugin_type: lookup
  - module: promaccess.core.access_info
  - module: promaccess.core.k8s_access_info
"""

EXAMPLES = r"""
- name: Grants, their age and last rotation
  promaccess.core.credential_store_info:
    store: "{{ inventory_dir }}/credentials.yml.age"
    identity: ~/.config/promaccess/operator-key.txt
  delegate_to: localhost
  run_once: true
  register: store

- name: Grants older than 90 days
  ansible.builtin.debug:
    msg: "{{ store.grants | selectattr('age_days', 'gt', 90) | map(attribute='grant') }}"

- name: The users to compare the hosts with (secret)
  promaccess.core.credential_store_info:
    store: "{{ inventory_dir }}/credentials.yml.age"
    identity: ~/.config/promaccess/operator-key.txt
    return_users: true
  delegate_to: localhost
  run_once: true
  register: store_users
  no_log: true
"""

RETURN = r"""
store:
  description: The store file read.
  returned: always
  type: str
exists:
  description: Whether the store file exists.
  returned: always
  type: bool
format:
  description: V(sops) (a sops file) or V(age) (the age-encrypted store of the first releases).
  returned: always
  type: str
recipients:
  description:
    - Who a sops store is encrypted to, read from its metadata as C(kind:key) (C(age:age1...), C(kms:arn:...),
      C(pgp:FINGERPRINT), ...), top-level keys and key groups alike. Null for an age store, whose file does not
      name its recipients.
  returned: always
  type: list
  elements: str
grants:
  description: One entry per grant, sorted by name. No secret.
  returned: always
  type: list
  elements: dict
  contains:
    grant:
      description: The grant name.
      type: str
    status:
      description:
        - V(active), V(rotating) (a rotation is in progress), V(revoked), or V(superseded) (the shared internal
          credential of a store from an earlier release, once each target's own was copied from it).
      type: str
    phase:
      description: The phase of the rotation in progress (V(minted), V(added), V(handed_off), V(revoking)), or null.
      type: str
    minted_at:
      description: When the current credential was minted, UTC, ISO 8601.
      type: str
    age_days:
      description: Whole days since then.
      type: int
    rotated_at:
      description: When the last rotation finished, or null (never rotated).
      type: str
    revoked_at:
      description: When the grant was revoked, or null.
      type: str
    revocation_verified_at:
      description: When every host was seen refusing the revoked grant, or null.
      type: str
    superseded_at:
      description: When each target's internal credential was copied from this shared one, or null.
      type: str
    rotation_started_at:
      description: When the rotation in progress started, or null.
      type: str
    rotation_updated_at:
      description: When the rotation in progress last moved to a new phase, or null.
      type: str
    handed_off_at:
      description: When the rotation in progress handed the new credential off, or null.
      type: str
    grace_until:
      description: Until when the old credential stays valid after the hand-off (its grace period), or null.
      type: str
    credentials:
      description: The grant's credentials - the current one, and a rotation's new or retired one.
      type: list
      elements: dict
      contains:
        role:
          description: V(current), V(pending), V(retired) or V(revoked).
          type: str
        fingerprint:
          description: The fingerprint of the user name (see O(fingerprint_key)).
          type: str
        minted_at:
          description: When it was minted, UTC, ISO 8601.
          type: str
        age_days:
          description: Whole days since then.
          type: int
        hash_scheme:
          description: The scheme of its hash in the store.
          type: str
        hash_cost:
          description: The cost of that hash.
          type: int
missing:
  description: Grants named in O(grants) that are not in the store.
  returned: always
  type: list
  elements: str
users:
  description:
    - SECRET. Per credential of the grants, C(grant), C(role), C(name) (the user name), C(password_hash) and
      C(password_hashes) (the store's other hashes of it), as O(promaccess.core.access_info#module:expected_users)
      takes them.
  returned: when O(return_users=true)
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import credential_store_spec, fingerprint_key_spec
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._store.age import (
    PYRAGE_IMPORT_ERROR,
    AgeError,
    read_identities,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import (
    CredentialStore,
    CredentialStoreError,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.sops import module_runner
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore_info import store_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            credential_store_spec(),
            grants=dict(type="list", elements="str", default=[]),
            return_users=dict(type="bool", default=False),
            fingerprint_key=fingerprint_key_spec(),
        ),
        supports_check_mode=True,
    )
    if PYRAGE_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyrage"), exception=PYRAGE_IMPORT_ERROR)
    if YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    path = module.params["store"]
    try:
        store = CredentialStore(path, read_identities(module.params["identity"]), [],
                                sops_binary=module.params["sops_binary"], sops_config=module.params["sops_config"],
                                sops_runner=module_runner(module), run=module.params["run"])
        document = store.read()
    except (AgeError, CredentialStoreError) as exc:
        module.fail_json(msg=str(exc), store=path)
    for warning in store.warnings:
        module.warn(warning)
    result = dict(changed=False, store=path, exists=os.path.exists(path), format=store.format,
                  recipients=store.recipients_of_file() if store.format == "sops" else None)
    result.update(store_info(document, grants=module.params["grants"], with_users=module.params["return_users"],
                             fingerprint_key=module.params["fingerprint_key"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
