#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_basic_auth_secret
short_description: Manage the basic-auth users of a Kubernetes Secret, in the format its consumer reads
version_added: 0.1.0
description:
  - Keeps one set of basic-auth users in a Kubernetes Secret, rendered for the ingress controller, gateway or
    Prometheus that reads it. See O(format).
  - Same user semantics as M(promaccess.core.htpasswd_users) - existing users keep their order (a first,
    reserved entry stays first), O(exclusive) removes unlisted users, a given O(users[].password_hash) is
    compared as a string, and a given O(users[].password) is verified against the stored hash and hashed only
    when it does not match, so an idempotent run does no hashing.
  - Reads the live Secret and writes only when its data or O(labels) differ. Updates carry the
    C(resourceVersion) that was read; when someone else wrote in between (HTTP 409) the Secret is read again
    and the change recomputed, a bounded number of times.
  - Never writes a C(kubectl.kubernetes.io/last-applied-configuration) annotation, which would hold a second
    copy of the data; one left by C(kubectl apply) is dropped when the Secret is rewritten.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._users
  - promaccess.core._k8s_auth
  - promaccess.core._k8s_auth.HELM_MANAGED
attributes:
  check_mode:
    description: Reads the live Secret and computes every change, including which users would be hashed.
    support: full
  diff_mode:
    description:
      - Shows each user with its hash scheme and cost, never a password or a hash.
      - A user is shown by its O(users[].label) where it has one, never by its name.
    support: full
  idempotent:
    description: A second run with the same input reports no change and does no hashing.
    support: full
options:
  namespace:
    description:
      - The namespace of the Secret. It must exist.
    type: str
    required: true
  name:
    description:
      - The name of the Secret.
    type: str
    required: true
  format:
    description:
      - Who reads the Secret, which decides its keys, its type and the hash scheme.
      - V(ingress_nginx_auth_file) - ingress-nginx C(auth-secret-type=auth-file) (the default there); htpasswd
        lines under key C(auth); bcrypt hashes are written, any C(crypt()) scheme already there is kept.
      - V(ingress_nginx_auth_map) - ingress-nginx C(auth-secret-type=auth-map); one key per user holding its
        hash. Kubernetes sorts the keys, so user order is not kept, and names must be valid Secret keys.
      - V(nginx_ingress_htpasswd) - F5 NGINX Ingress Controller C(nginx.org/basic-auth-secret); Secret type
        C(nginx.org/htpasswd), htpasswd lines under key C(htpasswd).
      - V(envoy_gateway) - Envoy Gateway C(SecurityPolicy) basicAuth; htpasswd lines under key C(.htpasswd).
        Envoy accepts only C({SHA}) (unsalted SHA-1) hashes, so that is what is written and a bcrypt
        O(users[].password_hash) is refused. C({SHA}) is weak; use long random passwords there.
      - V(traefik) - Traefik BasicAuth middleware C(secret); htpasswd lines under key C(users) (bcrypt, MD5 and
        SHA-1 hashes are readable by Traefik).
      - V(prometheus_web_config) - Prometheus's own C(--web.config.file) as key C(web.yml) with
        C(basic_auth_users); bcrypt only. Other settings in the file are kept. The last user cannot be removed
        (that would turn authentication off); delete the Secret instead.
    type: str
    required: true
    choices: [ingress_nginx_auth_file, ingress_nginx_auth_map, nginx_ingress_htpasswd, envoy_gateway, traefik, prometheus_web_config]
  labels:
    description:
      - Labels to set on the Secret. Labels not named here are kept.
    type: dict
    default: {}
  state:
    description:
      - V(present) manages the users in the Secret, creating it when needed.
      - V(absent) deletes the whole Secret; O(users) is ignored then.
    type: str
    default: present
    choices: [present, absent]
requirements:
  - kubernetes (the Python client)
  - libpass (the maintained distribution of the passlib API)
  - bcrypt (for bcrypt hashes)
seealso:
  - module: promaccess.core.htpasswd_users
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Users of the Prometheus ingress (ingress-nginx), internal user kept first
  promaccess.core.k8s_basic_auth_secret:
    namespace: monitoring
    name: prometheus-basic-auth
    format: ingress_nginx_auth_file
    users:
      - name: internal
        password_hash: "{{ internal_hash }}"
      - name: team-a
        password: "{{ team_a_password }}"

- name: Prometheus's own web config, from a Secret mounted as --web.config.file
  promaccess.core.k8s_basic_auth_secret:
    kubeconfig: ~/.kube/prod
    context: prod
    namespace: monitoring
    name: prometheus-web-config
    format: prometheus_web_config
    exclusive: true
    users: "{{ prometheus_users }}"

- name: Remove the Secret
  promaccess.core.k8s_basic_auth_secret:
    namespace: monitoring
    name: prometheus-basic-auth
    format: ingress_nginx_auth_file
    state: absent
"""

RETURN = r"""
namespace:
  description: The namespace of the Secret.
  returned: always
  type: str
  sample: monitoring
name:
  description: The name of the Secret.
  returned: always
  type: str
  sample: prometheus-basic-auth
format:
  description: The format the Secret is kept in.
  returned: O(state=present)
  type: str
  sample: ingress_nginx_auth_file
secret_type:
  description: The Secret's C(type).
  returned: O(state=present)
  type: str
  sample: Opaque
secret_keys:
  description:
    - The keys of the Secret's data after the change (never their values).
    - With O(format=ingress_nginx_auth_map) the keys are user names; a user with an O(users[].label) is listed by
      its label.
  returned: O(state=present)
  type: list
  elements: str
  sample: [auth]
users_added:
  description:
    - Users that were (or, in check mode, would be) added, by O(users[].label) where given, else by name.
  returned: O(state=present)
  type: list
  elements: str
  sample: [team-a, "team-b (current)"]
users_removed:
  description:
    - Users that were removed, by O(users[].label) where given, else by name.
  returned: O(state=present)
  type: list
  elements: str
  sample: []
users_changed:
  description:
    - Users whose hash was replaced (new password or rehash), by O(users[].label) where given, else by name.
  returned: O(state=present)
  type: list
  elements: str
  sample: []
hash_operations:
  description: How many password hashes were computed (summed over retries after a conflict).
  returned: O(state=present)
  type: int
  sample: 1
verify_operations:
  description: How many stored hashes were verified against a given password.
  returned: O(state=present)
  type: int
  sample: 2
conflicts_retried:
  description: How many conflicting updates (HTTP 409) were retried on a fresh read.
  returned: O(state=present)
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import user_set_spec
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import PASSLIB_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import write_spec
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import FORMAT_NAMES
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    KUBERNETES_IMPORT_ERROR,
    connection_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.secret import (
    BasicAuthSecretBackend,
    BasicAuthSecretError,
)


def main():
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        format=dict(type="str", required=True, choices=FORMAT_NAMES),
        labels=dict(type="dict", default={}),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    argument_spec.update(user_set_spec())
    argument_spec.update(connection_spec())
    argument_spec.update(write_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    backend = BasicAuthSecretBackend(module)  # first: from here on, labelled user names are masked in every result
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if PASSLIB_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("libpass"), exception=PASSLIB_IMPORT_ERROR)
    try:
        result = backend.run()
    except BasicAuthSecretError as exc:
        module.fail_json(msg=str(exc), namespace=module.params["namespace"], name=module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
