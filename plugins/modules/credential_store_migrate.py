#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_store_migrate
short_description: Convert an age-encrypted credential store of the first releases into a sops store
version_added: 0.1.0
description:
  - Reads the age-encrypted store O(source) with O(identity) and writes every grant, as it is, into the new sops
    store O(store), whose recipients are those of the creation rule of C(.sops.yaml) that matches its path.
    The new store must decrypt with O(identity) to the same document, or nothing is written.
  - Never overwrites, an existing O(store) is refused. O(source) is left in place; delete it (and its C(.lock))
    once the sops store is committed.
  - Credentials, hashes, rotation and revocation states and dates are copied unchanged, so every host keeps
    accepting every credential; the next C(provision_access) run with the new store changes nothing.
  - Runs on the controller. Returns grant names only, never a secret.
author:
  - promaccess.core maintainers (@promaccess)
attributes:
  check_mode:
    description: Reads O(source) and checks O(store) is free, writes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  idempotent:
    description: A second run fails because O(store) exists; nothing is changed.
    support: none
extends_documentation_fragment:
  - promaccess.core._credstore
options:
  source:
    description: The age-encrypted store to convert (the old C(promaccess_credential_store)).
    type: path
    required: true
  lock_timeout:
    description: Seconds to wait for another run holding either store's lock.
    type: float
    default: 60
notes:
  - The playbook C(promaccess.core.migrate_store) runs this module on the controller.
seealso:
  - module: promaccess.core.credential_store
  - plugin: promaccess.core.credential
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Convert the age store into a sops store beside the repository's .sops.yaml
  promaccess.core.credential_store_migrate:
    source: ~/promaccess/credentials.yml.age
    store: ~/ops-repo/promaccess/credentials.sops.yaml
    identity: ~/.config/promaccess/key.txt
"""

RETURN = r"""
grants:
  description: The grants copied, in store order.
  returned: success
  type: list
  elements: str
recipients:
  description: Who the new store is encrypted to, from its sops metadata (C(kind:key)); null in check mode.
  returned: success
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import credential_store_spec
from ansible_collections.promaccess.core.plugins.module_utils._store.age import (
    PYRAGE_IMPORT_ERROR,
    AgeError,
    read_identities,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import (
    CredentialStore,
    CredentialStoreError,
    migrate,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.sops import module_runner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            credential_store_spec(),
            source=dict(type="path", required=True),
            lock_timeout=dict(type="float", default=60),
        ),
        supports_check_mode=True,
    )
    if PYRAGE_IMPORT_ERROR is not None:
        module.fail_json(msg="the credential store needs the 'pyrage' Python package on the controller")
    params = module.params
    try:
        identities = read_identities(params["identity"])
        source = CredentialStore(os.path.abspath(params["source"]), identities, list(identities.public),
                                 lock_timeout=params["lock_timeout"])
        target = CredentialStore(os.path.abspath(params["store"]), identities, [], lock_timeout=params["lock_timeout"],
                                 sops_binary=params["sops_binary"], sops_config=params["sops_config"],
                                 dry_run=module.check_mode, sops_runner=module_runner(module))
        grants = migrate(source, target)
    except (AgeError, CredentialStoreError) as exc:
        module.fail_json(msg=str(exc))
    recipients = None if module.check_mode else target.recipients_of_file()
    module.exit_json(changed=True, grants=grants, recipients=recipients)


if __name__ == "__main__":
    main()
