#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_prometheus_url
short_description: Set the external URL and route prefix of a Prometheus Operator Prometheus
version_added: 0.1.0
description:
  - Sets C(spec.externalUrl) and C(spec.routePrefix) of an existing C(Prometheus) object
    (C(monitoring.coreos.com/v1)), so that the links Prometheus renders point at the ingress URL users reach it
    by. Nothing else in the object is sent - the change is a JSON merge patch naming only these fields.
  - An option left out is not managed; an empty string removes the field (the operator's default applies).
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._k8s_auth
attributes:
  check_mode:
    description: Reads the object and reports what would change.
    support: full
  diff_mode:
    description: Shows the two fields before and after.
    support: full
  idempotent:
    description: Nothing is sent when the fields are already as wanted.
    support: full
options:
  namespace:
    description:
      - The namespace of the Prometheus object.
    type: str
    required: true
  name:
    description:
      - The name of the Prometheus object. It must exist.
    type: str
    required: true
  external_url:
    description:
      - The absolute http(s) URL Prometheus is reached at from outside, such as the ingress URL.
    type: str
  route_prefix:
    description:
      - The path prefix Prometheus serves under (C(spec.routePrefix)); must start with C(/). The operator
        derives it from O(external_url) when it is not set.
    type: str
notes:
  - The credentials need C(get) and C(patch) on C(prometheuses.monitoring.coreos.com) in the namespace.
  - The prometheus Helm chart (not the operator) takes the same settings as C(server.baseURL) and
    C(server.prefixURL), or C(--web.external-url) / C(--web.route-prefix) in C(server.extraArgs).
requirements:
  - kubernetes (the Python client)
seealso:
  - module: promaccess.core.k8s_ingress_auth
"""

EXAMPLES = r"""
- name: Prometheus is reached through the ingress at /prometheus
  promaccess.core.k8s_prometheus_url:
    namespace: monitoring
    name: k8s
    external_url: https://metrics.example.org/prometheus
    route_prefix: /prometheus
"""

RETURN = r"""
namespace:
  description: The namespace of the Prometheus object.
  returned: always
  type: str
  sample: monitoring
name:
  description: The name of the Prometheus object.
  returned: always
  type: str
  sample: k8s
before:
  description: C(externalUrl) and C(routePrefix) as they were (absent keys were not set).
  returned: success
  type: dict
  sample: {}
after:
  description: C(externalUrl) and C(routePrefix) after the run (in check mode, as they would be).
  returned: success
  type: dict
  sample: {externalUrl: "https://metrics.example.org/prometheus", routePrefix: /prometheus}
conflicts_retried:
  description: How many conflicting updates (HTTP 409) were retried on a fresh read.
  returned: success
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._k8s_client import (
    KUBERNETES_IMPORT_ERROR,
    connection_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s_wiring import PrometheusUrlBackend, WiringError


def main():
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        external_url=dict(type="str"),
        route_prefix=dict(type="str"),
    )
    argument_spec.update(connection_spec())
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True, required_one_of=[("external_url", "route_prefix")]
    )
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = PrometheusUrlBackend(module).run()
    except WiringError as exc:
        module.fail_json(msg=str(exc), namespace=module.params["namespace"], name=module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
