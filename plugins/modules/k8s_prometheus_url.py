#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_prometheus_url
short_description: Set the external URL, route prefix and web config of Prometheus on Kubernetes
version_added: 0.1.0
description:
  - With O(kind=Prometheus) (the default), sets C(spec.externalUrl) and C(spec.routePrefix) of an existing
    Prometheus Operator C(Prometheus) object (C(monitoring.coreos.com/v1)), so that the links Prometheus renders
    point at the ingress URL users reach it by. Nothing else in the object is sent - the change is a JSON merge
    patch naming only these fields.
  - With O(kind=Deployment) or O(kind=StatefulSet) (the prometheus Helm chart, no operator; the chart runs
    C(prometheus-server) as a Deployment by default), sets the C(--web.external-url=), C(--web.route-prefix=)
    and C(--web.config.file=) args of one container of an existing workload, keeping every other arg and the
    order of all of them. With O(web_config_secret), the Secret is mounted read-only at
    O(web_config_mount_path) (a volume named C(promaccess-web-config) and its mount, added when missing) and
    C(--web.config.file) points at its O(web_config_key). The container's httpGet probes on Prometheus's own
    C(/-/healthy) and C(/-/ready) are adapted as O(probes) says. Nothing else is changed. The containers list
    (and the volumes list, when it changes) is sent whole as read, with the C(resourceVersion) read, so a
    concurrent change makes the API server answer 409, and the module reads again.
  - Changing the pod template makes Kubernetes roll the pods out again (the chart's default strategy is
    C(Recreate), so Prometheus is down while the new pod starts).
  - B(helm upgrade overwrites a direct patch of a chart's workload) (Helm's three-way merge sets C(args) back
    to the chart's). Put the returned RV(helm_values) into the release's values file; patch directly only for
    workloads Helm does not manage, or to bridge the time until the next release.
  - An option left out is not managed; an empty string removes the field or arg (the default applies again);
    O(web_config_secret=) (empty) also removes the volume and its mount, but leaves the probes as they are.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._k8s_auth
  - promaccess.core._k8s_auth.HELM_MANAGED
attributes:
  check_mode:
    description: Reads the object and reports what would change.
    support: full
  diff_mode:
    description: Shows the owned fields before and after (args, the Secret's name, mount path, probe kinds; no secret).
    support: full
  idempotent:
    description: Nothing is sent when everything owned is already as wanted.
    support: full
options:
  namespace:
    description:
      - The namespace of the object.
    type: str
    required: true
  name:
    description:
      - The name of the C(Prometheus) object, or of the Deployment or StatefulSet. It must exist.
    type: str
    required: true
  kind:
    description:
      - V(Prometheus) - a Prometheus Operator C(Prometheus) object.
      - V(Deployment), V(StatefulSet) - a workload running Prometheus from its args, as the prometheus Helm
        chart makes it (C(server.statefulSet.enabled=true) gives a StatefulSet).
    type: str
    choices: [Prometheus, Deployment, StatefulSet]
    default: Prometheus
  external_url:
    description:
      - The absolute http(s) URL Prometheus is reached at from outside, such as the ingress URL.
    type: str
  route_prefix:
    description:
      - The path prefix Prometheus serves under (C(spec.routePrefix), C(--web.route-prefix)); must start with
        C(/). Prometheus derives it from O(external_url) when it is not set.
    type: str
  container:
    description:
      - The container running Prometheus, with O(kind=Deployment) or O(kind=StatefulSet).
    type: str
    default: prometheus-server
  web_config_secret:
    description:
      - With O(kind=Deployment) or O(kind=StatefulSet) only. The Secret in the workload's namespace holding
        the exporter-toolkit web config, as M(promaccess.core.k8s_basic_auth_secret) writes it with
        O(promaccess.core.k8s_basic_auth_secret#module:format=prometheus_web_config) (key C(web.yml)).
      - It is mounted read-only and C(--web.config.file) is set to
        C(<web_config_mount_path>/<web_config_key>); an empty string removes both.
      - The C(Prometheus) CRD has no basic-auth users, so this is refused with O(kind=Prometheus).
    type: str
  web_config_key:
    description:
      - The key of O(web_config_secret) holding the web config.
    type: str
    default: web.yml
  web_config_mount_path:
    description:
      - Where the Secret is mounted in the container. Not C(/etc/prometheus), where the image keeps the
        console templates a mount would hide.
    type: str
    default: /etc/prometheus-web-config
  probes:
    description:
      - What happens to the container's httpGet liveness, readiness and startup probes on Prometheus's
        C(/-/healthy) and C(/-/ready), with O(kind=Deployment) or O(kind=StatefulSet).
      - With basic auth on, Prometheus answers them with 401 (exporter-toolkit exempts no path), so the pod
        is restarted again and again or never becomes ready. A password in the probe's C(httpHeaders) would
        sit in clear text in the pod spec, so the module never puts one there.
      - V(auto) - when the container has C(--web.config.file) after the run, such probes become C(tcpSocket)
        probes on the same port with the same timings; otherwise their paths follow the route prefix
        (C(<prefix>/-/healthy)), as the chart does.
      - V(tcp_socket) - always turn them into C(tcpSocket) probes.
      - V(keep) - never change them; a warning says when they will fail.
      - A C(tcpSocket) probe only sees that the port accepts connections; a Prometheus still replaying its
        write-ahead log counts as ready.
    type: str
    choices: [auto, tcp_socket, keep]
    default: auto
notes:
  - The credentials need C(get) and C(patch) on C(prometheuses.monitoring.coreos.com), or on
    C(deployments.apps) / C(statefulsets.apps), in the namespace.
  - The chart's config reloader sidecar posts to C(/-/reload) without credentials. With basic auth on, its
    reloads get 401 and configuration changes are no longer applied; the module warns and does not change
    the sidecar. See the collection's C(docs/kubernetes.md) for credentials from a Secret.
  - For the prometheus Helm chart the same settings are chart values, returned as RV(helm_values), namely
    C(server.baseURL), C(server.prefixURL), C(server.extraArgs), C(server.extraSecretMounts),
    C(server.tcpSocketProbeEnabled).
requirements:
  - kubernetes (the Python client)
seealso:
  - module: promaccess.core.k8s_ingress_auth
  - module: promaccess.core.k8s_basic_auth_secret
"""

EXAMPLES = r"""
- name: Prometheus Operator - reached through the ingress at /prometheus
  promaccess.core.k8s_prometheus_url:
    namespace: monitoring
    name: k8s
    external_url: https://metrics.example.org/prometheus
    route_prefix: /prometheus

- name: The web config Secret, with the users
  promaccess.core.k8s_basic_auth_secret:
    namespace: monitoring
    name: prometheus-web-config
    format: prometheus_web_config
    users: "{{ prometheus_users }}"
  no_log: true

- name: prometheus Helm chart - URL, prefix and basic auth in the server container
  promaccess.core.k8s_prometheus_url:
    namespace: monitoring
    name: prometheus-server
    kind: Deployment
    external_url: https://metrics.example.org/prometheus
    route_prefix: /prometheus
    web_config_secret: prometheus-web-config
  register: prometheus_server

- name: The same as chart values, for the release's values file
  ansible.builtin.copy:
    content: "{{ prometheus_server.helm_values | to_nice_yaml }}"
    dest: values-promaccess.yml
    mode: "0644"
"""

RETURN = r"""
namespace:
  description: The namespace of the object.
  returned: always
  type: str
  sample: monitoring
name:
  description: The name of the object.
  returned: always
  type: str
  sample: k8s
kind:
  description: The kind of the object.
  returned: when O(kind) is V(Deployment) or V(StatefulSet)
  type: str
  sample: Deployment
container:
  description: The container whose args were managed.
  returned: when O(kind) is V(Deployment) or V(StatefulSet)
  type: str
  sample: prometheus-server
before:
  description:
    - What the module owns, as it was. With O(kind=Prometheus), C(externalUrl) and C(routePrefix) (absent keys
      were not set).
    - With a workload, the owned args (C(--web.external-url), ...), the volume and mount
      (C(volume promaccess-web-config), C(volumeMount promaccess-web-config)) and the container's probes, as
      text (no secret is in any of them).
  returned: success
  type: dict
  sample: {}
after:
  description: The same after the run (in check mode, as it would be).
  returned: success
  type: dict
  sample: {externalUrl: "https://metrics.example.org/prometheus", routePrefix: /prometheus}
helm_values:
  description:
    - The same settings as values of the prometheus Helm chart (prometheus-community/helm-charts
      C(charts/prometheus)), for the release's values file. Keys only for the options given; an option given
      as an empty string gives an empty C(baseURL)/C(prefixURL), and no web config entries (remove them from
      your values).
  returned: when O(kind) is V(Deployment) or V(StatefulSet)
  type: dict
  sample:
    server:
      baseURL: https://metrics.example.org/prometheus
      prefixURL: /prometheus
      extraArgs: {web.config.file: /etc/prometheus-web-config/web.yml}
      extraSecretMounts:
        - {name: promaccess-web-config, mountPath: /etc/prometheus-web-config, subPath: "",
           secretName: prometheus-web-config, readOnly: true}
      tcpSocketProbeEnabled: true
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
    DEFAULT_CONTAINER,
    DEFAULT_WEB_CONFIG_KEY,
    DEFAULT_WEB_CONFIG_MOUNT,
    KINDS,
    PROBE_MODES,
    PrometheusUrlBackend,
    PrometheusWorkloadBackend,
    WiringError,
)


def main():
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        kind=dict(type="str", choices=KINDS, default="Prometheus"),
        external_url=dict(type="str"),
        route_prefix=dict(type="str"),
        container=dict(type="str", default=DEFAULT_CONTAINER),
        web_config_secret=dict(type="str", no_log=False),
        web_config_key=dict(type="str", default=DEFAULT_WEB_CONFIG_KEY, no_log=False),
        web_config_mount_path=dict(type="str", default=DEFAULT_WEB_CONFIG_MOUNT),
        probes=dict(type="str", choices=PROBE_MODES, default="auto"),
    )
    argument_spec.update(connection_spec())
    argument_spec.update(write_spec())
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("external_url", "route_prefix", "web_config_secret")],
    )
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        if module.params["kind"] == "Prometheus":
            if module.params["web_config_secret"] is not None:
                raise WiringError(
                    "web_config_secret applies to kind Deployment or StatefulSet (the prometheus Helm chart): the "
                    "Prometheus Operator writes Prometheus's web config itself, and its CRD has no basic-auth users"
                )
            result = PrometheusUrlBackend(module).run()
        else:
            result = PrometheusWorkloadBackend(module).run()
    except WiringError as exc:
        module.fail_json(msg=str(exc), namespace=module.params["namespace"], name=module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
