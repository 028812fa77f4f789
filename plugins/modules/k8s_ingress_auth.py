#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_ingress_auth
short_description: Set the basic-auth annotations of an existing Kubernetes Ingress
version_added: 0.1.0
description:
  - Sets (or removes) only the annotations that make the chosen ingress controller require basic auth checked
    against a Secret, on an Ingress that already exists. Other annotations, and the rest of the Ingress, are
    left alone - the change is a JSON merge patch on C(metadata.annotations) naming only the owned keys.
  - The Secret itself is managed by M(promaccess.core.k8s_basic_auth_secret); use the matching O(promaccess.core.k8s_basic_auth_secret#module:format)
    there (V(ingress_nginx_auth_file), V(ingress_nginx_auth_map) or V(nginx_ingress_htpasswd)).
  - Traefik needs a C(Middleware) object of kind BasicAuth referenced from the Ingress; that is not managed
    here (see the collection's C(docs/kubernetes.md)).
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._k8s_auth
  - promaccess.core._k8s_auth.HELM_MANAGED
attributes:
  check_mode:
    description: Reads the Ingress and reports which annotations would change.
    support: full
  diff_mode:
    description: Shows the owned annotations before and after.
    support: full
  idempotent:
    description: Nothing is sent when the annotations are already as wanted.
    support: full
options:
  namespace:
    description:
      - The namespace of the Ingress.
    type: str
    required: true
  name:
    description:
      - The name of the Ingress. It must exist.
    type: str
    required: true
  controller:
    description:
      - V(ingress_nginx) - the community ingress-nginx controller (retired in March 2026, still widely run);
        annotations C(nginx.ingress.kubernetes.io/auth-type), C(auth-secret), C(auth-secret-type) and
        C(auth-realm).
      - V(nginx_ingress) - F5 NGINX Ingress Controller; annotations C(nginx.org/basic-auth-secret) and
        C(nginx.org/basic-auth-realm).
    type: str
    required: true
    choices: [ingress_nginx, nginx_ingress]
  secret_name:
    description:
      - The Secret holding the users, in the Ingress's namespace. ingress-nginx also reads C(namespace/name)
        when it runs with C(--allow-cross-namespace-resources); F5 does not.
      - Required with O(state=present).
    type: str
  auth_secret_type:
    description:
      - ingress-nginx only - V(auth-file) (htpasswd lines under key C(auth)) or V(auth-map) (a key per user).
    type: str
    choices: [auth-file, auth-map]
    default: auth-file
  realm:
    description:
      - The realm shown in the browser's login prompt.
    type: str
    default: Prometheus
  state:
    description:
      - V(present) sets the annotations; V(absent) removes the ones this module owns for O(controller).
    type: str
    choices: [present, absent]
    default: present
notes:
  - The credentials need C(get) and C(patch) on C(ingresses.networking.k8s.io) in the namespace.
requirements:
  - kubernetes (the Python client)
seealso:
  - module: promaccess.core.k8s_basic_auth_secret
  - name: ingress-nginx basic authentication
    description: The annotations used for O(controller=ingress_nginx).
    link: https://kubernetes.github.io/ingress-nginx/examples/auth/basic/
  - name: F5 NGINX Ingress Controller annotations
    description: The C(nginx.org/basic-auth-secret) annotation.
    link: https://docs.nginx.com/nginx-ingress-controller/configuration/ingress-resources/advanced-configuration-with-annotations/
"""

EXAMPLES = r"""
- name: Basic auth on the Prometheus ingress (ingress-nginx)
  promaccess.core.k8s_ingress_auth:
    namespace: monitoring
    name: prometheus
    controller: ingress_nginx
    secret_name: prometheus-basic-auth

- name: Basic auth on the Prometheus ingress (F5 NGINX Ingress Controller)
  promaccess.core.k8s_ingress_auth:
    namespace: monitoring
    name: prometheus
    controller: nginx_ingress
    secret_name: prometheus-htpasswd
    realm: Monitoring

- name: Remove the auth annotations
  promaccess.core.k8s_ingress_auth:
    namespace: monitoring
    name: prometheus
    controller: ingress_nginx
    state: absent
"""

RETURN = r"""
namespace:
  description: The namespace of the Ingress.
  returned: always
  type: str
  sample: monitoring
name:
  description: The name of the Ingress.
  returned: always
  type: str
  sample: prometheus
before:
  description: The owned annotations before the run.
  returned: success
  type: dict
  sample: {}
after:
  description: The owned annotations after the run (in check mode, as they would be).
  returned: success
  type: dict
  sample:
    nginx.ingress.kubernetes.io/auth-type: basic
    nginx.ingress.kubernetes.io/auth-secret: prometheus-basic-auth
    nginx.ingress.kubernetes.io/auth-secret-type: auth-file
    nginx.ingress.kubernetes.io/auth-realm: Prometheus
conflicts_retried:
  description: How many conflicting updates (HTTP 409) were retried on a fresh read.
  returned: success
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import write_spec
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    KUBERNETES_IMPORT_ERROR,
    connection_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.wiring import (
    CONTROLLERS,
    IngressAuthBackend,
    WiringError,
)


def main():
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        controller=dict(type="str", required=True, choices=CONTROLLERS),
        secret_name=dict(type="str"),
        auth_secret_type=dict(type="str", default="auth-file", choices=["auth-file", "auth-map"]),
        realm=dict(type="str", default="Prometheus"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    argument_spec.update(connection_spec())
    argument_spec.update(write_spec())
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "present", ("secret_name",))]
    )
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = IngressAuthBackend(module).run()
    except WiringError as exc:
        module.fail_json(msg=str(exc), namespace=module.params["namespace"], name=module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
