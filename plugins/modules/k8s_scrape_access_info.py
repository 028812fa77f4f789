#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_scrape_access_info
short_description: Compare a cluster's scrape credentials with the credential store
version_added: 0.1.0
description:
  - With O(source=service_monitor), reads the ServiceMonitor O(name) and the Secret keys its endpoints reference
    (C(authorization.credentials), C(bearerTokenSecret), or C(basicAuth)), the credential Prometheus sends to
    the target, as M(promaccess.core.k8s_scrape_auth) writes it.
  - With O(source=token_secret), reads the token Secret O(name) of a scrape target (the tokens it accepts, as
    M(promaccess.core.k8s_token_secret) writes them).
  - Tells, for each expected credential, whether it is there. A scrape credential is the store credential's
    password itself, so it is verified against O(expected_users[].password_hash) (bcrypt work, at most one
    verification per credential found and expected). Credentials nobody expected are listed by fingerprint.
  - Changes nothing; needs C(get) on C(secrets) and, for a ServiceMonitor, on C(servicemonitors). Returns no
    token, password or user name.
  - An object that does not exist or cannot be read is reported in RV(secret) (C(exists), C(error)), not as a
    failure, so that an audit of a fleet goes on.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._access_info
  - promaccess.core._access_info.fingerprint_key
  - promaccess.core._k8s_auth
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
  source:
    description: What to read - the sending side (V(service_monitor)) or the accepting side (V(token_secret)).
    type: str
    required: true
    choices: [service_monitor, token_secret]
  namespace:
    description: The namespace of the ServiceMonitor (and the Secrets it references) or of the token Secret.
    type: str
    required: true
  name:
    description: The name of the ServiceMonitor or of the token Secret.
    type: str
    required: true
  auth_type:
    description: For a ServiceMonitor, how it authenticates (as O(promaccess.core.k8s_scrape_auth#module:auth_type)).
    type: str
    default: bearer
    choices: [bearer, basic]
  endpoint_ports:
    description: For a ServiceMonitor, the endpoints to read by port name; see O(promaccess.core.k8s_scrape_auth#module:endpoint_ports).
    type: list
    elements: str
    default: []
  endpoint_indexes:
    description: For a ServiceMonitor, the endpoints to read by index.
    type: list
    elements: int
    default: []
  key:
    description: For a token Secret, the key holding the tokens.
    type: str
    default: tokens
  format:
    description: For a token Secret, how the tokens are written (as O(promaccess.core.k8s_token_secret#module:format)).
    type: str
    default: lines
    choices: [lines, static_csv]
requirements:
  - kubernetes (the Python client)
  - libpass and bcrypt
seealso:
  - module: promaccess.core.k8s_scrape_auth
  - module: promaccess.core.k8s_token_secret
  - module: promaccess.core.k8s_access_info
"""

EXAMPLES = r"""
- name: Which store credential the ServiceMonitor sends
  promaccess.core.k8s_scrape_access_info:
    source: service_monitor
    namespace: apps
    name: certctl
    expected_users: "{{ store.users | selectattr('grant', 'equalto', 'prometheus-scrape') }}"
  register: sent
"""

RETURN = r"""
secret:
  description: Facts about what was read; never its data.
  returned: always
  type: dict
  contains:
    source:
      description: O(source).
      type: str
    namespace:
      description: The namespace.
      type: str
    name:
      description: The ServiceMonitor or token Secret.
      type: str
    exists:
      description: Whether the ServiceMonitor or the token Secret exists.
      type: bool
    readable:
      description: Whether its credentials could be read.
      type: bool
    secrets:
      description: The Secrets read, as C(namespace/name).
      type: list
      elements: str
    endpoints:
      description: For a ServiceMonitor, how many endpoints were read.
      type: int
    updated:
      description: The latest write of the Secrets read (their C(managedFields)), or their creation time.
      type: str
    last_applied_annotation:
      description: Whether a Secret read carries a C(kubectl.kubernetes.io/last-applied-configuration) annotation.
      type: bool
    duplicate_names:
      description: For a token Secret, how many tokens are listed more than once.
      type: int
    error:
      description: Why the credentials could not be read, or null. Never quotes a Secret's data.
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
      description: Whether the credential was found (its password verified against the store's hash).
      type: bool
    hash_scheme:
      description: Always null (a scrape credential is not hashed).
      type: str
    hash_cost:
      description: Always null.
      type: int
    matches_store:
      description: True when present, else null.
      type: bool
unexpected:
  description: Credentials found that are none of O(expected_users).
  returned: always
  type: list
  elements: dict
  contains:
    fingerprint:
      description: The fingerprint of its user name (basic auth) or of the token.
      type: str
    hash_scheme:
      description: Always V(plain).
      type: str
    hash_cost:
      description: Always null.
      type: int
unexpected_count:
  description: How many entries are in RV(unexpected).
  returned: always
  type: int
  sample: 0
reserved_count:
  description: Always 0 (kept for the shape the access report reads).
  returned: always
  type: int
  sample: 0
entries:
  description: How many distinct credentials were found.
  returned: always
  type: int
  sample: 1
verify_operations:
  description: How many bcrypt verifications were made.
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import (
    AccessInfoError,
    expected_users_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._audit.scrape_info import K8sScrapeAccessInfoBackend
from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import fingerprint_key_spec
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    KUBERNETES_IMPORT_ERROR,
    connection_spec,
)


def main():
    argument_spec = dict(
        source=dict(type="str", required=True, choices=["service_monitor", "token_secret"]),
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        auth_type=dict(type="str", default="bearer", choices=["bearer", "basic"]),
        endpoint_ports=dict(type="list", elements="str", default=[]),
        endpoint_indexes=dict(type="list", elements="int", default=[]),
        key=dict(type="str", default="tokens", no_log=False),
        format=dict(type="str", default="lines", choices=["lines", "static_csv"]),
        expected_users=expected_users_spec(),
        fingerprint_key=fingerprint_key_spec(),
    )
    argument_spec.update(connection_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = K8sScrapeAccessInfoBackend(module).run()
    except AccessInfoError as exc:
        module.fail_json(msg=str(exc), namespace=module.params["namespace"], name=module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
