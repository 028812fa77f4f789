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
  - With O(tls_server_config) it also serves HTTPS - the certificate and key are checked first (the key belongs
    to the certificate, the certificate is valid now, the client CA file exists); with O(http_headers) it sets
    the response headers exporter-toolkit supports (HSTS among them). Other keys of both sections are kept.
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
  tls_server_config:
    description:
      - TLS for Prometheus's own port - set in the file's C(tls_server_config), keeping its other keys
        (C(cipher_suites), C(curve_preferences), ...). Not given, the section is left as it is.
    type: dict
    suboptions:
      cert_file:
        description: The server certificate (PEM; the server's own first, then its chain), as Prometheus reads it.
        type: path
        required: true
      key_file:
        description: Its private key (PEM, unencrypted). Never read into the result.
        type: path
        required: true
      min_version:
        description: The oldest TLS version served.
        type: str
        choices: [TLS12, TLS13]
        default: TLS12
      client_ca_file:
        description: CA certificates that sign client certificates (mutual TLS).
        type: path
      client_auth_type:
        description:
          - Whether a client certificate is asked for. The values that require one need O(tls_server_config.client_ca_file).
        type: str
        choices: [NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert]
  http_headers:
    description:
      - Response headers to set in C(http_server_config.headers), for example
        C(Strict-Transport-Security), C(X-Content-Type-Options), C(X-Frame-Options). Headers already in the file
        and not named here are kept. exporter-toolkit supports only C(Strict-Transport-Security),
        C(X-Content-Type-Options), C(X-Frame-Options), C(X-XSS-Protection) and C(Content-Security-Policy); others
        are refused.
    type: dict
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
  - cryptography (only with O(tls_server_config))
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

- name: Serve Prometheus's own port over TLS 1.2 or newer, with HSTS
  promaccess.core.web_config:
    path: /etc/prometheus/web.yml
    group: prometheus
    require_promtool: true
    tls_server_config:
      cert_file: /etc/prometheus/tls/server.crt
      key_file: /etc/prometheus/tls/server.key
      min_version: TLS12
    http_headers:
      Strict-Transport-Security: max-age=31536000
      X-Content-Type-Options: nosniff
    users:
      - name: internal
        password_hash: "{{ internal_hash }}"
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
certificate:
  description: The server certificate's expiry, checked before the file was written.
  returned: when O(tls_server_config) is given
  type: dict
  contains:
    not_after:
      description: When it expires (UTC, ISO 8601).
      type: str
      sample: "2027-12-03T10:00:00Z"
    days_left:
      description: Whole days until then.
      type: int
      sample: 364
tls_changed:
  description: Whether C(tls_server_config) was (or would be) changed.
  returned: when O(tls_server_config) is given
  type: bool
  sample: true
headers_changed:
  description: Whether C(http_server_config.headers) was (or would be) changed.
  returned: when O(http_headers) is given
  type: bool
  sample: false
backup_file:
  description: The backup of the previous file.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/prometheus/web.yml.1234.2026-11-23@10:00:00~
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import secret_file_spec, user_set_spec
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import PASSLIB_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._common.certs import CRYPTOGRAPHY_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._common.web_yml import CLIENT_AUTH_TYPES, TLS_VERSIONS
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._host_files.user_file import UserFileError
from ansible_collections.promaccess.core.plugins.module_utils._host_files.web_config import WebConfigBackend


def main():
    argument_spec = dict(
        promtool=dict(type="str", default="promtool"),
        require_promtool=dict(type="bool", default=False),
        allow_no_users=dict(type="bool", default=False),
        tls_server_config=dict(type="dict", options=dict(
            cert_file=dict(type="path", required=True),
            key_file=dict(type="path", required=True),
            min_version=dict(type="str", default="TLS12", choices=list(TLS_VERSIONS)),
            client_ca_file=dict(type="path"),
            client_auth_type=dict(type="str", choices=list(CLIENT_AUTH_TYPES)),
        )),
        http_headers=dict(type="dict"),
    )
    argument_spec.update(user_set_spec())
    argument_spec.update(secret_file_spec())
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    backend = WebConfigBackend(module)  # first: from here on, labelled user names are masked in every result
    if PASSLIB_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("libpass"), exception=PASSLIB_IMPORT_ERROR)
    if YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    if module.params["tls_server_config"] is not None and CRYPTOGRAPHY_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        result = backend.run()
    except UserFileError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
