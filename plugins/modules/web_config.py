#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: web_config
short_description: Manage basic_auth_users in a Prometheus / exporter-toolkit web configuration file
version_added: 0.1.0
description:
  - Manages the C(basic_auth_users) map of the file that Prometheus and its exporters read with
    C(--web.config.file), keeping every other key (C(tls_server_config), C(http_server_config), ...).
  - Same user semantics as M(promaccess.core.htpasswd_users), but bcrypt only, as exporter-toolkit reads only bcrypt.
  - The new file is checked with C(promtool check web-config) before it replaces the old one; when promtool
    rejects it, the old file stays in place and the task fails with promtool's message.
  - Prometheus reads this file on every request, so a change takes effect without a restart.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - ansible.builtin.files
  - promaccess.core._users
  - promaccess.core._users.secret_file
attributes:
  check_mode:
    description: Computes every change without writing or validating.
    support: full
  diff_mode:
    description:
      - Shows each user with its hash scheme and cost, never a password or a hash.
      - A user is shown by its O(users[].label) where it has one, never by its name.
    support: full
  safe_file_operations:
    description: Writes through a 0600 temporary file in the same directory, validates it, then renames it.
    support: full
  idempotent:
    description: A second run with the same input reports no change and does no hashing.
    support: full
options:
  promtool:
    description:
      - Name or path of C(promtool).
    type: str
    default: promtool
  require_promtool:
    description:
      - Fail when promtool is not found, instead of writing without validation and warning.
    type: bool
    default: false
  allow_no_users:
    description:
      - Allow a result with no users. exporter-toolkit turns authentication B(off) when C(basic_auth_users)
        is empty, so this is refused unless set.
    type: bool
    default: false
notes:
  - YAML comments in the file are not kept when the users change; the file is re-rendered from its data.
requirements:
  - libpass (the maintained distribution of the passlib API)
  - bcrypt
  - PyYAML
seealso:
  - module: promaccess.core.htpasswd_users
  - name: exporter-toolkit web configuration
    description: The format of the file.
    link: https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
"""

EXAMPLES = r"""
- name: Give Prometheus native basic auth, internal user first
  promaccess.core.web_config:
    path: /etc/prometheus/web.yml
    group: prometheus
    require_promtool: true
    users:
      - name: internal
        password: "{{ internal_password }}"
      - name: team-a
        password_hash: "{{ team_a_hash }}"
"""

RETURN = r"""
path:
  description: The managed file.
  returned: always
  type: str
  sample: /etc/prometheus/web.yml
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
  description: How many bcrypt hashes were computed.
  returned: success
  type: int
  sample: 1
verify_operations:
  description: How many stored hashes were verified against a given password.
  returned: success
  type: int
  sample: 1
validated:
  description: Whether promtool accepted the new file.
  returned: when the file was written and promtool was found
  type: bool
  sample: true
backup_file:
  description: The backup of the previous file.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/prometheus/web.yml.1234.2026-11-23@10:00:00~
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import secret_file_spec, user_set_spec
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import PASSLIB_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._host_files.user_file import UserFileError
from ansible_collections.promaccess.core.plugins.module_utils._host_files.web_config import WebConfigBackend


def main():
    argument_spec = dict(
        promtool=dict(type="str", default="promtool"),
        require_promtool=dict(type="bool", default=False),
        allow_no_users=dict(type="bool", default=False),
    )
    argument_spec.update(user_set_spec())
    argument_spec.update(secret_file_spec())
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    backend = WebConfigBackend(module)  # first: from here on, labelled user names are masked in every result
    if PASSLIB_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("libpass"), exception=PASSLIB_IMPORT_ERROR)
    if YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        result = backend.run()
    except UserFileError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
