#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: prometheus_scrape_auth
short_description: Give Prometheus scrape jobs basic_auth or authorization with a password file
version_added: 0.1.0
description:
  - Turning on basic auth in Prometheus (C(--web.config.file)) breaks whatever scrapes it without credentials,
    first of all its own self-scrape job. This module keeps such a job working.
  - In Prometheus's main configuration file it sets, on every scrape job named by O(job_name),
    C(basic_auth) with C(username) and C(password_file) (O(auth_type=basic_auth)), or C(authorization) with
    C(type) and C(credentials_file) (O(auth_type=authorization)). With O(state=absent) it removes that block.
  - Prometheus reads C(password_file) and C(credentials_file) again on every scrape, so rotating the password
    needs no reload; only a change of the main configuration file does (RV(reload_needed)).
  - Given O(password), the module also writes the password file (mode V(0640) by default), before the
    configuration, as C(promtool check config) may check that the file exists.
  - The new configuration is checked with C(promtool check config) from a temporary file in the same directory
    (so relative paths resolve as they will for Prometheus) before it replaces the old one; when promtool
    rejects it the old file stays in place and the task fails with promtool's message.
  - Every other key of the file is kept, in its order. A job that already authenticates another way
    (C(oauth2), C(bearer_token), C(bearer_token_file), or the other of C(basic_auth) and C(authorization))
    is refused unless O(force=true); a job name that the file does not have is refused, listing the jobs it has.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._users.USERNAME_LABEL
attributes:
  check_mode:
    description: Computes every change, including whether the password file differs, without writing or validating.
    support: full
  diff_mode:
    description: Shows the text of the configuration file before and after (inline secrets of other jobs hidden);
      the password file is only reported as changed, never shown.
    support: full
  safe_file_operations:
    description: Writes both files through a 0600 temporary file in the same directory and an atomic rename;
      the configuration is validated before the rename.
    support: full
  idempotent:
    description: A second run with the same input reports no change and writes nothing.
    support: full
options:
  path:
    description:
      - Prometheus's main configuration file (C(--config.file)).
    type: path
    default: /etc/prometheus/prometheus.yml
  job_name:
    description:
      - The scrape jobs to change, by C(job_name). Each must exist in O(path).
    type: list
    elements: str
    default: [prometheus]
  state:
    description:
      - V(present) sets the auth block on the jobs, V(absent) removes the O(auth_type) block from them.
    type: str
    default: present
    choices: [present, absent]
  auth_type:
    description:
      - V(basic_auth) sets C(basic_auth) with O(username) and C(password_file).
      - V(authorization) sets C(authorization) with C(type) O(authorization_type) and C(credentials_file).
    type: str
    default: basic_auth
    choices: [basic_auth, authorization]
  username:
    description:
      - The user name for C(basic_auth). Required with O(state=present) and O(auth_type=basic_auth).
    type: str
  password_file:
    description:
      - The file Prometheus reads the password (or credentials) from, written into the configuration as given.
        A relative path is relative to the directory of O(path), for Prometheus and for this module.
      - Required with O(state=present).
    type: path
    aliases: [credentials_file]
  password:
    description:
      - When given, the module writes this password (one line, followed by a newline) into O(password_file).
        It appears in no output and no diff.
      - Prometheus trims the content of the file, so a password with leading or trailing whitespace is refused.
      - Ignored with O(state=absent).
    type: str
  password_file_mode:
    description:
      - Mode of the password file when the module writes it (O(password) set).
    type: raw
    default: '0640'
  password_file_owner:
    description:
      - Owner of the password file when the module writes it.
    type: str
  password_file_group:
    description:
      - Group of the password file when the module writes it; Prometheus must be able to read it
        (Debian's service runs as group C(prometheus)).
    type: str
  authorization_type:
    description:
      - The C(type) of the C(authorization) block (O(auth_type=authorization)).
    type: str
    default: Bearer
  force:
    description:
      - Replace another way of authenticating that the job already has (C(oauth2), C(bearer_token), ...),
        instead of refusing.
    type: bool
    default: false
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
  backup:
    description:
      - Keep a timestamped copy of the previous configuration file when it changes.
    type: bool
    default: false
  scheme:
    description:
      - The C(scheme) the jobs scrape with; V(https) once their target serves TLS. Left as it is when not given.
    type: str
    choices: [http, https]
  tls_ca_file:
    description:
      - The CA certificate file the jobs verify their target's certificate with (C(tls_config.ca_file)); the
        other keys of C(tls_config) are kept. Left as it is when not given.
    type: path
notes:
  - The configuration file is re-rendered with PyYAML when it changes, so its YAML comments are lost then
    (keys keep their order and values). When nothing changes the file is not touched.
  - Reload Prometheus when RV(reload_needed) is true (C(systemctl reload prometheus), SIGHUP, or a POST to
    C(/-/reload) with C(--web.enable-lifecycle), which needs credentials once basic auth is on). A changed
    password file alone needs nothing.
  - Jobs in files listed under C(scrape_config_files) are not managed.
requirements:
  - PyYAML
seealso:
  - module: promaccess.core.web_config
  - name: Prometheus scrape_config
    description: The C(basic_auth) and C(authorization) blocks of a scrape job.
    link: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config
"""

EXAMPLES = r"""
- name: Keep Prometheus's self-scrape working once basic auth is on
  promaccess.core.prometheus_scrape_auth:
    path: /etc/prometheus/prometheus.yml
    job_name: [prometheus]
    username: internal
    password_file: /etc/prometheus/internal.password
    password: "{{ internal_password }}"
    password_file_owner: root
    password_file_group: prometheus
    require_promtool: true
  register: scrape_auth
  notify: Reload Prometheus

- name: The same, once Prometheus's own port serves TLS (its certificate checked against the CA)
  promaccess.core.prometheus_scrape_auth:
    path: /etc/prometheus/prometheus.yml
    username: internal
    password_file: /etc/prometheus/internal.password
    scheme: https
    tls_ca_file: /etc/promaccess/tls/ca.crt
  notify: Reload Prometheus

- name: Use a bearer token file for a job instead
  promaccess.core.prometheus_scrape_auth:
    job_name: [federate]
    auth_type: authorization
    password_file: /etc/prometheus/federate.token

- name: Remove basic_auth from the self-scrape job
  promaccess.core.prometheus_scrape_auth:
    job_name: [prometheus]
    state: absent
"""

RETURN = r"""
path:
  description: The configuration file.
  returned: always
  type: str
  sample: /etc/prometheus/prometheus.yml
jobs_changed:
  description: Names of the jobs whose auth block was (or, in check mode, would be) changed.
  returned: success
  type: list
  elements: str
  sample: [prometheus]
reload_needed:
  description: Whether the configuration file changed (or would change in check mode), so Prometheus must be
    reloaded. A changed password file alone does not need a reload.
  returned: success
  type: bool
  sample: true
password_file_changed:
  description: Whether the password file was (or would be) written or its mode or owner changed.
  returned: success
  type: bool
  sample: false
validated:
  description: Whether promtool accepted the new configuration.
  returned: when the configuration was written and promtool was found
  type: bool
  sample: true
backup_file:
  description: The backup of the previous configuration.
  returned: changed and O(backup=true)
  type: str
  sample: /etc/prometheus/prometheus.yml.1234.2026-11-23@10:00:00~
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._common.io import DEFAULT_SECRET_MODE
from ansible_collections.promaccess.core.plugins.module_utils._common.users import hide_labelled_name
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._host_files.scrape_config import (
    ScrapeAuthBackend,
    ScrapeConfigError,
)


def main():
    argument_spec = dict(
        path=dict(type="path", default="/etc/prometheus/prometheus.yml"),
        job_name=dict(type="list", elements="str", default=["prometheus"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        auth_type=dict(type="str", default="basic_auth", choices=["basic_auth", "authorization"]),
        username=dict(type="str"),
        username_label=dict(type="str"),
        password_file=dict(type="path", aliases=["credentials_file"], no_log=False),
        password=dict(type="str", no_log=True),
        password_file_mode=dict(type="raw", default=DEFAULT_SECRET_MODE, no_log=False),
        password_file_owner=dict(type="str", no_log=False),
        password_file_group=dict(type="str", no_log=False),
        authorization_type=dict(type="str", default="Bearer"),
        force=dict(type="bool", default=False),
        promtool=dict(type="str", default="promtool"),
        require_promtool=dict(type="bool", default=False),
        backup=dict(type="bool", default=False),
        scheme=dict(type="str", choices=["http", "https"]),
        tls_ca_file=dict(type="path"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["password_file"])],
    )
    hide_labelled_name(module, module.params["username"], module.params["username_label"])
    if YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        result = ScrapeAuthBackend(module).run()
    except ScrapeConfigError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
