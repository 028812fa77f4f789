#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: access_info
short_description: Compare an htpasswd file or Prometheus web.yml with the users the credential store expects
version_added: 0.1.0
description:
  - Reads a user file on the host - an htpasswd file (nginx C(auth_basic_user_file)) or the exporter-toolkit
    C(web.yml) of Prometheus (C(basic_auth_users)) - and tells, for each expected user, whether it is there, the
    scheme of its hash, and whether that hash is the one in the credential store. The hashes are compared as
    strings, with no bcrypt work.
  - Lists the entries of the file nobody expected, by fingerprint and hash scheme, and facts about the file
    (existence, mode, owner, size, modification time).
  - Changes nothing. Returns no user name and no hash - a user name is half a credential. Entries are identified
    by a fingerprint of the user name, keyed with O(fingerprint_key).
  - A file that does not exist or cannot be read is reported in RV(file) (C(exists), C(error)), not as a
    failure, so that an audit of a fleet goes on.
  - Used by the C(promaccess.core.access_report) playbook, which builds O(expected_users) from the credential
    store (M(promaccess.core.credential_store_info)).
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._access_info
  - promaccess.core._access_info.fingerprint_key
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
options:
  path:
    description: The user file to read.
    type: path
    required: true
  format:
    description:
      - V(htpasswd) - C(name:hash) lines; the first entry of a name counts, as nginx reads it.
      - V(web_config) - the exporter-toolkit web configuration (C(--web.config.file)), its C(basic_auth_users).
    type: str
    required: true
    choices: [htpasswd, web_config]
  access_log:
    description:
      - The access log of the nginx location that checks against O(path) (as O(promaccess.core.nginx_auth#module:access_log)
        writes it, nginx's C(combined) format), and its rotated predecessor C(<access_log>.1).
      - Adds to each entry of RV(expected) when it was last accepted (RV(expected[].last_seen)), and returns
        RV(access_log). A request answered 401 does not count.
    type: path
requirements:
  - PyYAML (for O(format=web_config))
seealso:
  - module: promaccess.core.k8s_access_info
  - module: promaccess.core.credential_store_info
  - module: promaccess.core.htpasswd_users
  - module: promaccess.core.web_config
"""

EXAMPLES = r"""
- name: Compare nginx's htpasswd file with the store
  promaccess.core.access_info:
    path: /etc/nginx/prometheus.htpasswd
    format: htpasswd
    expected_users:
      - grant: team-a
        role: current
        name: "{{ team_a.username }}"
        password_hash: "{{ team_a.password_hash }}"
  register: nginx_users

- name: Fail when the file was edited by hand
  ansible.builtin.assert:
    that:
      - nginx_users.expected | rejectattr('matches_store') | list | length == 0
      - nginx_users.unexpected_count == 0
"""

RETURN = r"""
file:
  description: Facts about the file; never its content.
  returned: always
  type: dict
  contains:
    path:
      description: The path read.
      type: str
    format:
      description: The format it was read as.
      type: str
    exists:
      description: Whether the file exists.
      type: bool
    readable:
      description: Whether its users could be read.
      type: bool
    mode:
      description: Its permissions, in octal. Null when it does not exist.
      type: str
      sample: "0640"
    owner:
      description: Its owner's name. Null when it does not exist or the uid has no name.
      type: str
    group:
      description: Its group's name. Null when it does not exist or the gid has no name.
      type: str
    size:
      description: Its size in bytes.
      type: int
    mtime:
      description: When it was last modified, UTC, ISO 8601.
      type: str
      sample: "2026-01-02T03:04:05Z"
    duplicate_names:
      description: How many user names appear on more than one line (htpasswd).
      type: int
    error:
      description: Why the file could not be read, or null. Never quotes the file.
      type: str
expected:
  description: Per entry of O(expected_users), in order.
  returned: always
  type: list
  elements: dict
  contains:
    grant:
      description: The grant.
      type: str
    role:
      description: The role given in O(expected_users[].role).
      type: str
    fingerprint:
      description: The fingerprint of the user name (see O(fingerprint_key)).
      type: str
    present:
      description: Whether the user is in the file.
      type: bool
    hash_scheme:
      description: The scheme of the hash in the file (bcrypt, sha512_crypt, apr_md5_crypt, ldap_sha1, ...); null when absent.
      type: str
    hash_cost:
      description: The cost (bcrypt) or rounds (sha-crypt) of that hash; null when it has none.
      type: int
    matches_store:
      description: Whether the hash in the file is the store's; null when the user is absent or no hash was given.
      type: bool
    last_seen:
      description:
        - With O(access_log), when a request with this credential was last answered with anything but 401, UTC,
          ISO 8601; null when the log does not show one.
      type: str
      returned: when O(access_log) is given
access_log:
  description: Facts about the access log read; never a line of it.
  returned: when O(access_log) is given
  type: dict
  contains:
    path:
      description: The log read.
      type: str
    exists:
      description: Whether it exists.
      type: bool
    since:
      description:
        - How far back the evidence reaches, UTC, ISO 8601 - the time of the oldest line read, or for an empty log
          its modification time. Null when unknown.
      type: str
    lines:
      description: How many lines were read.
      type: int
    error:
      description: Why the log gives no evidence (missing, unreadable), or null.
      type: str
unexpected:
  description: Entries of the file that are not in O(expected_users).
  returned: always
  type: list
  elements: dict
  contains:
    fingerprint:
      description: The fingerprint of the user name (see O(fingerprint_key)).
      type: str
    hash_scheme:
      description: The scheme of its hash.
      type: str
    hash_cost:
      description: The cost or rounds of its hash, or null.
      type: int
unexpected_count:
  description: How many entries are in RV(unexpected).
  returned: always
  type: int
  sample: 0
reserved_count:
  description: Always 0 for a file (see O(promaccess.core.k8s_access_info#module:reserved)).
  returned: always
  type: int
  sample: 0
entries:
  description: How many users the file holds.
  returned: always
  type: int
  sample: 2
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import (
    FILE_FORMATS,
    AccessInfoBackend,
    AccessInfoError,
    expected_users_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import fingerprint_key_spec
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            format=dict(type="str", required=True, choices=list(FILE_FORMATS)),
            expected_users=expected_users_spec(),
            fingerprint_key=fingerprint_key_spec(),
            access_log=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if module.params["format"] == "web_config" and YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        result = AccessInfoBackend(module).run()
    except AccessInfoError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
