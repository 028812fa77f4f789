#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: prometheus_targets_wait
short_description: Wait until Prometheus scrapes its targets with the configuration it loaded last
version_added: 0.1.0
description:
  - Reads Prometheus's HTTP API at O(url) (C(/api/v1/status/runtimeinfo) and C(/api/v1/targets)) and waits until
    every active target of the O(scrape_pools) is up and was scraped after Prometheus loaded its configuration,
    and, with O(config_after), until that configuration was loaded after the time given.
  - Meant for a moved scrape credential. Read RV(last_config_time) first (a call without O(scrape_pools)), change
    the credential (a ServiceMonitor's Secret, which the Prometheus Operator renders into the configuration), then
    wait with O(config_after) set to that time. Both times are Prometheus's own, so the controller's clock does not
    matter.
  - Running out of O(timeout) fails the task, naming each pool and target still missing and the error Prometheus
    gave for it. It is never a success.
notes:
  - Prometheus 2.x gives its load time in whole seconds. A scrape then counts only from the second after the
    time shown, and a reload in the same second as the load before O(config_after) cannot be told from it (the
    wait then runs out); the operator and its config reloader take longer than that.
author:
  - promaccess.core maintainers (@promaccess)
attributes:
  check_mode:
    description: Reads and waits in check mode exactly as in a normal run; it changes nothing.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
  idempotent:
    description: Only reads.
    support: full
options:
  url:
    description:
      - The URL Prometheus is reached at (its external URL, with the route prefix), for example
        V(https://prometheus.example.org/). The API paths are appended to it.
    type: str
    required: true
  url_username:
    description: A basic-auth user name for O(url) (an ingress or Prometheus's own web config).
    type: str
  url_password:
    description: Its password.
    type: str
  validate_certs:
    description: Whether to verify the server's TLS certificate.
    type: bool
    default: true
  scrape_pools:
    description:
      - The scrape pools (job names) to wait for. A name ending in V(/) selects every pool it starts, for
        example V(serviceMonitor/monitoring/exporter/), the pools the Prometheus Operator makes of each endpoint
        of ServiceMonitor C(monitoring/exporter).
      - Empty - only read RV(last_config_time) (and wait for O(config_after), when given).
    type: list
    elements: str
    default: []
  config_after:
    description:
      - Wait until Prometheus loaded a configuration later than this time (RFC 3339, as RV(last_config_time)
        gives it) and the reload succeeded.
    type: str
  timeout:
    description: How many seconds to wait at most.
    type: int
    default: 300
  delay:
    description: Seconds between two reads.
    type: float
    default: 2
seealso:
  - module: promaccess.core.k8s_scrape_auth
"""

EXAMPLES = r"""
- name: The configuration Prometheus runs now
  promaccess.core.prometheus_targets_wait:
    url: https://prometheus.example.org/
    url_username: "{{ internal.username }}"
    url_password: "{{ internal.password }}"
  register: before
  no_log: true

- name: The ServiceMonitor sends the new token
  promaccess.core.k8s_scrape_auth:
    namespace: apps
    service_monitor: exporter
    secret_name: exporter-scrape
    token: "{{ new_token }}"
  no_log: true

- name: Prometheus loaded it and scrapes every target of the ServiceMonitor with it
  promaccess.core.prometheus_targets_wait:
    url: https://prometheus.example.org/
    url_username: "{{ internal.username }}"
    url_password: "{{ internal.password }}"
    scrape_pools: [serviceMonitor/apps/exporter/]
    config_after: "{{ before.last_config_time }}"
    timeout: 600
"""

RETURN = r"""
last_config_time:
  description: When Prometheus loaded the configuration it runs (its C(lastConfigTime)).
  returned: success
  type: str
  sample: "2026-12-03T04:40:01.123456789Z"
reload_success:
  description: Whether Prometheus's last configuration reload succeeded.
  returned: success
  type: bool
  sample: true
pools:
  description: Each pool asked for, when it was ready.
  returned: success
  type: list
  elements: dict
  contains:
    pool:
      description: The pool (or prefix) as given.
      type: str
    targets:
      description: How many active targets it has.
      type: int
    ready:
      description: How many of them are up and were scraped after the configuration was loaded.
      type: int
    problem:
      description: Always null on success.
      type: str
waited:
  description: Seconds waited.
  returned: success
  type: float
  sample: 12.5
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.promaccess.core.plugins.module_utils._prometheus.targets import TargetsError, wait


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            url_username=dict(type="str"),
            url_password=dict(type="str", no_log=True),
            validate_certs=dict(type="bool", default=True),
            scrape_pools=dict(type="list", elements="str", default=[]),
            config_after=dict(type="str"),
            timeout=dict(type="int", default=300),
            delay=dict(type="float", default=2),
        ),
        required_together=[("url_username", "url_password")],
        supports_check_mode=True,
    )
    p = module.params
    base = p["url"] if p["url"].endswith("/") else p["url"] + "/"

    def get(path):
        try:
            response = open_url(base + path, url_username=p["url_username"], url_password=p["url_password"],
                                force_basic_auth=p["url_username"] is not None, validate_certs=p["validate_certs"],
                                timeout=10)
            return json.loads(response.read())
        except Exception as exc:  # pylint: disable=broad-exception-caught  # urllib, HTTP and JSON errors alike
            raise TargetsError("cannot read %s%s: %s" % (base, path, getattr(exc, "reason", None) or exc)) from None

    try:
        result = wait(get, p["scrape_pools"], p["config_after"], p["timeout"], p["delay"])
    except TargetsError as exc:
        module.fail_json(msg="prometheus_targets_wait: %s" % exc)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
