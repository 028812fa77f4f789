#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_scrape_auth
short_description: Scrape credentials for a Prometheus Operator ServiceMonitor, in a Secret it references
version_added: 0.1.0
description:
  - Keeps a bearer token (or a basic-auth username and password) in a Secret in the ServiceMonitor's namespace,
    and makes the chosen ServiceMonitor (C(monitoring.coreos.com/v1)) endpoints reference it through
    C(authorization) (type C(Bearer)) or C(basicAuth).
  - A deprecated C(bearerTokenSecret) on a chosen endpoint is read (its Secret name and key are the defaults
    for O(secret_name) and O(secret_key)) and replaced by C(authorization). C(basicAuth) and C(authorization)
    exclude each other, so switching O(auth_type) removes the other one.
  - Only the auth fields of the chosen endpoints are changed (C(authorization), C(basicAuth),
    C(bearerTokenSecret)). A JSON merge patch cannot address one list element, so the endpoint list is sent
    whole together with the C(resourceVersion) that was read; a concurrent change makes the server answer 409,
    and the module reads again and recomputes. The Secret is updated with a C(PUT) carrying its
    C(resourceVersion), with the same retry.
  - Writes keep every reference valid at every moment - the Secret gets the new key first, then the endpoints
    are switched to it, then O(remove_keys) are removed. This is what rotation needs, see the examples.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._k8s_auth
  - promaccess.core._k8s_auth.HELM_MANAGED
  - promaccess.core._users.USERNAME_LABEL
attributes:
  check_mode:
    description: Reads the Secret and the ServiceMonitor and reports every change without writing.
    support: full
  diff_mode:
    description: Shows the Secret's key names, which keys get a new value, and the auth fields of the chosen
      endpoints (Secret references only); never a token or a password.
    support: full
  idempotent:
    description: A second run with the same input changes nothing.
    support: full
options:
  namespace:
    description:
      - The namespace of the ServiceMonitor, and of the Secret.
    type: str
    required: true
  service_monitor:
    description:
      - The name of the ServiceMonitor. It must exist; this module does not create it.
    type: str
    required: true
  endpoint_ports:
    description:
      - Manage the endpoints whose C(port) is one of these names.
      - Without O(endpoint_ports) and O(endpoint_indexes), the ServiceMonitor must have exactly one endpoint.
    type: list
    elements: str
    default: []
  endpoint_indexes:
    description:
      - Manage the endpoints at these positions of C(spec.endpoints) (from 0), for endpoints without a C(port).
    type: list
    elements: int
    default: []
  auth_type:
    description:
      - V(bearer) - C(authorization) with type C(Bearer) and C(credentials) from O(secret_key).
      - V(basic) - C(basicAuth) with C(username) from O(username_key) and C(password) from O(password_key).
    type: str
    choices: [bearer, basic]
    default: bearer
  secret_name:
    description:
      - The Secret holding the credential. Created (type C(Opaque)) when absent.
      - Defaults to the Secret the chosen endpoints already reference (also through C(bearerTokenSecret)).
    type: str
  secret_namespace:
    description:
      - Only there to be refused when it differs from O(namespace) - the Prometheus Operator reads scrape
        credentials from the ServiceMonitor's own namespace only.
    type: str
  secret_key:
    description:
      - The key of the Secret holding the bearer token (O(auth_type=bearer)).
      - Defaults to the key the endpoints already reference, else C(token). Give a new key to rotate.
    type: str
  token:
    description:
      - The bearer token to store under O(secret_key). Without it the key must already exist in the Secret
        (then only the reference is managed).
    type: str
  username_key:
    description:
      - The key of the Secret holding the username (O(auth_type=basic)); defaults to the referenced key, else
        C(username).
    type: str
  password_key:
    description:
      - The key of the Secret holding the password (O(auth_type=basic)); defaults to the referenced key, else
        C(password).
    type: str
  username:
    description:
      - The basic-auth username to store under O(username_key).
    type: str
  password:
    description:
      - The basic-auth password to store under O(password_key).
    type: str
  remove_keys:
    description:
      - Keys to remove from the Secret after the endpoints have been switched, such as the previous token's
        key after a rotation. A key that an endpoint of this ServiceMonitor still references is refused.
    type: list
    elements: str
    default: []
  secret_labels:
    description:
      - Labels to set on the Secret. Labels not named here are kept.
    type: dict
    default: {}
  wire_endpoints:
    description:
      - Whether to point the endpoints at the Secret (V(true)), or only to write the Secret (V(false)).
      - V(false) is for a ServiceMonitor a chart renders from its values (the certctl chart's
        C(monitoring.serviceMonitor.bearerTokenSecret)), which the next C(helm upgrade) would reset. The
        ServiceMonitor is then only read; every selected endpoint must already reference the Secret and keys
        (through C(authorization.credentials) or C(bearerTokenSecret) for a bearer token), else the module fails
        before writing anything, naming the values to set. A rotation then changes the value in place at the same
        key; Prometheus Operator follows the Secret. O(remove_keys) still applies.
    type: bool
    default: true
notes:
  - The credentials need C(get), C(create) and C(update) on C(secrets), and C(get) and C(patch) on
    C(servicemonitors.monitoring.coreos.com), in the namespace.
  - Tokens and passwords are compared as strings with the Secret's value; no hashing is involved.
requirements:
  - kubernetes (the Python client)
  - PyYAML
seealso:
  - module: promaccess.core.k8s_basic_auth_secret
  - name: Prometheus Operator API, Endpoint
    description: The ServiceMonitor endpoint fields, with C(bearerTokenSecret) marked deprecated.
    link: https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.Endpoint
"""

EXAMPLES = r"""
- name: Bearer token for the metrics endpoint (the certctl runbook), minted by the caller
  promaccess.core.k8s_scrape_auth:
    namespace: certctl
    service_monitor: certctl-server
    endpoint_ports: [https]
    secret_name: certctl-prometheus-key
    secret_key: api-key
    token: "{{ minted_api_key }}"

- name: Migrate a deprecated bearerTokenSecret to authorization, same Secret and key
  promaccess.core.k8s_scrape_auth:
    namespace: certctl
    service_monitor: certctl-server

- name: Rotate, step 1 - new token under a new key, endpoints switched to it, old key removed
  promaccess.core.k8s_scrape_auth:
    namespace: certctl
    service_monitor: certctl-server
    secret_name: certctl-prometheus-key
    secret_key: api-key-2
    token: "{{ new_api_key }}"
    remove_keys: [api-key]
# Step 2 (outside this module): after one scrape interval, revoke the old key at its issuer.

- name: Basic auth for an exporter behind a password
  promaccess.core.k8s_scrape_auth:
    namespace: monitoring
    service_monitor: node-exporter
    endpoint_indexes: [0]
    auth_type: basic
    secret_name: node-exporter-scrape
    username: prometheus
    password: "{{ scrape_password }}"
"""

RETURN = r"""
namespace:
  description: The namespace of the ServiceMonitor and the Secret.
  returned: always
  type: str
  sample: certctl
service_monitor:
  description: The name of the ServiceMonitor.
  returned: always
  type: str
  sample: certctl-server
secret_name:
  description: The Secret the endpoints reference.
  returned: success
  type: str
  sample: certctl-prometheus-key
auth_type:
  description: The kind of auth the endpoints use.
  returned: success
  type: str
  sample: bearer
referenced_keys:
  description: The Secret keys the chosen endpoints reference after the run.
  returned: success
  type: list
  elements: str
  sample: [api-key]
secret_keys:
  description: The keys of the Secret after the run (never their values).
  returned: success
  type: list
  elements: str
  sample: [api-key]
secret_values_changed:
  description: Keys whose value was (or would be) written because it was absent or different.
  returned: success
  type: list
  elements: str
  sample: [api-key]
keys_removed:
  description: Keys removed from the Secret (O(remove_keys) that were present).
  returned: success
  type: list
  elements: str
  sample: []
secret_changed:
  description: Whether the Secret was (or would be) written.
  returned: success
  type: bool
  sample: true
service_monitor_changed:
  description: Whether the ServiceMonitor was (or would be) patched.
  returned: success
  type: bool
  sample: true
endpoints_changed:
  description: The endpoints whose auth fields changed, as C(port NAME) or C(endpoints[INDEX]).
  returned: success
  type: list
  elements: str
  sample: [port https]
migrated_from_bearer_token_secret:
  description: The endpoints whose deprecated C(bearerTokenSecret) was replaced by C(authorization).
  returned: success
  type: list
  elements: str
  sample: []
conflicts_retried:
  description: How many conflicting updates (HTTP 409) were retried on a fresh read.
  returned: success
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._common.users import hide_labelled_name
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import write_spec
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    KUBERNETES_IMPORT_ERROR,
    connection_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.scrape_auth import (
    ScrapeAuthBackend,
    ScrapeAuthError,
)


def main():
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        service_monitor=dict(type="str", required=True),
        endpoint_ports=dict(type="list", elements="str", default=[]),
        endpoint_indexes=dict(type="list", elements="int", default=[]),
        auth_type=dict(type="str", default="bearer", choices=["bearer", "basic"]),
        secret_name=dict(type="str"),
        secret_namespace=dict(type="str", no_log=False),
        secret_key=dict(type="str", no_log=False),
        token=dict(type="str", no_log=True),
        username_key=dict(type="str", no_log=False),
        password_key=dict(type="str", no_log=False),
        username=dict(type="str"),
        username_label=dict(type="str"),
        password=dict(type="str", no_log=True),
        remove_keys=dict(type="list", elements="str", default=[], no_log=False),
        secret_labels=dict(type="dict", default={}, no_log=False),
        wire_endpoints=dict(type="bool", default=True),
    )
    argument_spec.update(connection_spec())
    argument_spec.update(write_spec())
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[
            ("endpoint_ports", "endpoint_indexes"),
            ("token", "username"),
            ("token", "password"),
            ("secret_key", "username_key"),
            ("secret_key", "password_key"),
        ],
    )
    hide_labelled_name(module, module.params["username"], module.params["username_label"])
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    params = module.params
    if params["auth_type"] == "bearer" and (params["username"] is not None or params["password"] is not None):
        module.fail_json(msg="username and password are for auth_type=basic; give token for auth_type=bearer")
    if params["auth_type"] == "basic" and params["token"] is not None:
        module.fail_json(msg="token is for auth_type=bearer; give username and password for auth_type=basic")
    try:
        result = ScrapeAuthBackend(module).run()
    except ScrapeAuthError as exc:
        module.fail_json(msg=str(exc), namespace=params["namespace"], service_monitor=params["service_monitor"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
