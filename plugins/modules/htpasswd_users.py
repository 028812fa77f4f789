#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: htpasswd_users
short_description: Manage many users of an Apache htpasswd file in one task
version_added: 0.1.0
description:
  - Adds, updates and removes users of an htpasswd file as read by nginx C(auth_basic_user_file) and Apache.
  - All users are handled in one task. A given O(users[].password_hash) is compared as a string; a given
    O(users[].password) is verified against the stored hash and hashed only when it does not match, so an
    idempotent run does no hashing at all.
  - Keeps the order of existing lines, comments, users it is not told about, and hashes of other schemes
    (from C(htpasswd -B), C(-m), C(-s) or C(-5)).
  - bcrypt hashes are written with the C($2y$) prefix that C(htpasswd -B) writes; C($2a$) and C($2b$) hashes
    already in the file are read and kept.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - ansible.builtin.files
  - promaccess.core._users
  - promaccess.core._users.secret_file
attributes:
  check_mode:
    description: Computes every change, including which users would be hashed, without writing.
    support: full
  diff_mode:
    description:
      - Shows each user with its hash scheme and cost, never a password or a hash.
      - A user is shown by its O(users[].label) where it has one, never by its name.
    support: full
  safe_file_operations:
    description: Writes through a 0600 temporary file in the same directory and an atomic rename.
    support: full
  idempotent:
    description: A second run with the same input reports no change and does no hashing.
    support: full
options:
  hash_scheme:
    description:
      - The scheme for new hashes. nginx reads all three through the system C(crypt()).
    type: str
    default: bcrypt
    choices: [bcrypt, sha512_crypt, apr_md5_crypt]
requirements:
  - libpass (the maintained distribution of the passlib API)
  - bcrypt (for the bcrypt scheme)
seealso:
  - module: promaccess.core.web_config
  - module: community.general.htpasswd
"""

EXAMPLES = r"""
- name: Grant two teams access, keeping the internal user first
  promaccess.core.htpasswd_users:
    path: /etc/nginx/prometheus.htpasswd
    owner: root
    group: www-data
    users:
      - name: internal
        password_hash: "{{ internal_hash }}"
      - name: team-a
        password: "{{ team_a_password }}"
      - name: team-b
        password: "{{ team_b_password }}"

- name: Revoke a user
  promaccess.core.htpasswd_users:
    path: /etc/nginx/prometheus.htpasswd
    users:
      - name: team-b
        state: absent

- name: Keep only the listed users, raising every known password to cost 12
  promaccess.core.htpasswd_users:
    path: /etc/nginx/prometheus.htpasswd
    exclusive: true
    rehash: on_policy_change
    users: "{{ prometheus_users }}"
"""

RETURN = r"""
path:
  description: The managed file.
  returned: always
  type: str
  sample: /etc/nginx/prometheus.htpasswd
users_added:
  description:
    - Users that were (or, in check mode, would be) added, by O(users[].label) where given, else by name.
  returned: success
  type: list
  elements: str
  sample: [team-a, "team-b (current)"]
users_removed:
  description:
    - Users that were removed, by O(users[].label) where given, else by name.
  returned: success
  type: list
  elements: str
  sample: []
users_changed:
  description:
    - Users whose hash was replaced (new password or rehash), by O(users[].label) where given, else by name.
  returned: success
  type: list
  elements: str
  sample: []
hash_operations:
  description: How many password hashes were computed.
  returned: success
  type: int
  sample: 1
verify_operations:
  description: How many stored hashes were verified against a given password.
  returned: success
  type: int
  sample: 2
backup_file:
  description: The backup of the previous file.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/nginx/prometheus.htpasswd.1234.2026-11-23@10:00:00~
"""


from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import secret_file_spec, user_set_spec
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import PASSLIB_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._host_files.htpasswd import HtpasswdUsersBackend
from ansible_collections.promaccess.core.plugins.module_utils._host_files.user_file import UserFileError


def main():
    argument_spec = dict(
        hash_scheme=dict(type="str", default="bcrypt", choices=["bcrypt", "sha512_crypt", "apr_md5_crypt"]),
    )
    argument_spec.update(user_set_spec())
    argument_spec.update(secret_file_spec())
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    backend = HtpasswdUsersBackend(module)  # first: from here on, labelled user names are masked in every result
    if PASSLIB_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("libpass"), exception=PASSLIB_IMPORT_ERROR)
    try:
        result = backend.run()
    except UserFileError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
