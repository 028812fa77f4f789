#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_access_info
short_description: Compare a Kubernetes basic-auth Secret with the users the credential store expects
version_added: 0.1.0
description:
  - Reads a basic-auth Secret in the format its consumer reads (the formats of
    M(promaccess.core.k8s_basic_auth_secret)) and tells, for each expected user, whether it is there, the scheme
    of its hash, and whether that hash is the one in the credential store. The hashes are compared as strings, with no
    bcrypt work.
  - Lists the entries nobody expected, by fingerprint and hash scheme, and facts about the Secret (existence,
    type, creation and last write, whether a C(kubectl.kubernetes.io/last-applied-configuration) annotation
    keeps a second copy of its data).
  - Changes nothing; needs only C(get) on C(secrets). Returns no user name, no hash, and not the Secret's keys
    (in the V(ingress_nginx_auth_map) format they are the user names). Entries are identified by fingerprint,
    a fingerprint of the user name, keyed with O(fingerprint_key).
  - A Secret that does not exist or cannot be read (no such namespace, RBAC, API unreachable, wrong type, data
    the consumer cannot read) is reported in RV(secret) (C(exists), C(error)), not as a failure, so that an
    audit of a fleet goes on.
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
  namespace:
    description: The namespace of the Secret.
    type: str
    required: true
  name:
    description: The name of the Secret.
    type: str
    required: true
  format:
    description:
      - Who reads the Secret, which decides where the users are; see
        O(promaccess.core.k8s_basic_auth_secret#module:format).
    type: str
    required: true
    choices: [ingress_nginx_auth_file, ingress_nginx_auth_map, nginx_ingress_htpasswd, envoy_gateway, traefik, prometheus_web_config]
  kind:
    description:
      - Where the users are. V(ConfigMap) is for a C(web.yml) a chart renders into a ConfigMap (the prometheus
        chart's C(serverFiles), key C(web.yml)), with O(format=prometheus_web_config) only; RV(secret) then
        describes the ConfigMap (RV(secret.type) V(ConfigMap)). Needs C(get) on C(configmaps).
    type: str
    default: Secret
    choices: [Secret, ConfigMap]
  reserved:
    description:
      - How many entries at the head of the Secret belong to someone else (the reserved head of a Helm chart's
        users, see O(promaccess.core.helm_values_users#module:reserved)). Those among them that are not in
        O(expected_users) are counted in RV(reserved_count), not listed in RV(unexpected).
    type: int
    default: 0
  compare_hashes:
    description:
      - Whether to compare each hash found with the store's. V(false) for a Secret a chart renders from plain
        passwords with hashes of its own (Helm's C(htpasswd)), which never equal the store's; RV(expected[].matches_store)
        is then null.
    type: bool
    default: true
requirements:
  - kubernetes (the Python client)
seealso:
  - module: promaccess.core.access_info
  - module: promaccess.core.k8s_basic_auth_secret
  - module: promaccess.core.credential_store_info
"""

EXAMPLES = r"""
- name: Compare the ingress Secret with the store
  promaccess.core.k8s_access_info:
    kubeconfig: ~/.kube/prod
    context: prod
    namespace: monitoring
    name: prometheus-basic-auth
    format: ingress_nginx_auth_file
    expected_users: "{{ store.users | selectattr('grant', 'in', ['internal', 'team-a']) }}"
  register: secret_users
"""

RETURN = r"""
secret:
  description: Facts about the Secret; never its data or its keys.
  returned: always
  type: dict
  contains:
    namespace:
      description: The namespace.
      type: str
    name:
      description: The name.
      type: str
    format:
      description: The format it was read as.
      type: str
    exists:
      description: Whether the Secret exists.
      type: bool
    readable:
      description: Whether its users could be read.
      type: bool
    type:
      description: The Secret's C(type); null when it does not exist.
      type: str
    expected_type:
      description: The C(type) the consumer of the format reads.
      type: str
    created:
      description: The Secret's C(creationTimestamp).
      type: str
    updated:
      description: The latest write recorded in its C(managedFields), or its creation time.
      type: str
    resource_version:
      description: Its C(resourceVersion).
      type: str
    last_applied_annotation:
      description: Whether it carries a C(kubectl.kubernetes.io/last-applied-configuration) annotation (a second copy of its data).
      type: bool
    duplicate_names:
      description: How many user names appear on more than one line (htpasswd formats).
      type: int
    error:
      description: Why the Secret could not be read, or null. Never quotes its data.
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
      description: Whether the user is in the Secret.
      type: bool
    hash_scheme:
      description: The scheme of the hash found; null when absent.
      type: str
    hash_cost:
      description: The cost or rounds of that hash; null when it has none.
      type: int
    matches_store:
      description: Whether the hash found is the store's; null when the user is absent or no hash was given.
      type: bool
unexpected:
  description: Entries of the Secret that are not in O(expected_users).
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
  description: How many entries of the reserved head (O(reserved)) are not in O(expected_users).
  returned: always
  type: int
  sample: 0
entries:
  description: How many users the Secret holds.
  returned: always
  type: int
  sample: 2
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import (
    AccessInfoError,
    K8sAccessInfoBackend,
    expected_users_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import fingerprint_key_spec
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import FORMAT_NAMES
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    KUBERNETES_IMPORT_ERROR,
    connection_spec,
)


def main():
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        format=dict(type="str", required=True, choices=FORMAT_NAMES),
        expected_users=expected_users_spec(),
        fingerprint_key=fingerprint_key_spec(),
        reserved=dict(type="int", default=0),
        compare_hashes=dict(type="bool", default=True),
        kind=dict(type="str", default="Secret", choices=["Secret", "ConfigMap"]),
    )
    argument_spec.update(connection_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if module.params["format"] == "prometheus_web_config" and YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        result = K8sAccessInfoBackend(module).run()
    except AccessInfoError as exc:
        module.fail_json(msg=str(exc), namespace=module.params["namespace"], name=module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
