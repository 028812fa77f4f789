#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_token_secret
short_description: The bearer tokens a scrape target accepts, in a Kubernetes Secret it reads
version_added: 0.1.0
description:
  - Keeps a list of bearer tokens under one key of a Secret that a scrape target reads (mounted as a file), for
    example an exporter's accepted API keys or the static token file of C(kube-rbac-proxy). The scraper's side,
    the Secret a ServiceMonitor references, is M(promaccess.core.k8s_scrape_auth).
  - Tokens are matched by value, so the old and the new token of a rotation can be accepted at the same time;
    O(tokens[].state=absent) removes one. Existing lines keep their order; new tokens are appended.
  - Reads the live Secret and writes only when the key's content or O(labels) differ, with the
    C(resourceVersion) that was read; when someone else wrote in between (HTTP 409) it reads again and
    recomputes, a bounded number of times. Other keys of the Secret are kept.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._k8s_auth
  - promaccess.core._k8s_auth.HELM_MANAGED
attributes:
  check_mode:
    description: Reads the Secret and reports the change without writing.
    support: full
  diff_mode:
    description: Shows the tokens by position and name, never a token.
    support: full
  idempotent:
    description: A second run with the same input changes nothing.
    support: full
options:
  namespace:
    description:
      - The namespace of the Secret.
    type: str
    required: true
  name:
    description:
      - The name of the Secret. Created (type C(Opaque)) when absent and a token is to be present.
    type: str
    required: true
  key:
    description:
      - The key of the Secret that holds the tokens.
    type: str
    default: tokens
  format:
    description:
      - V(lines) - one token per line; blank lines and C(#) comments are kept.
      - V(static_csv) - C(token,user,uid[,groups]) per line, the static token file format of kube-apiserver and
        C(kube-rbac-proxy). New lines are written as C(token,NAME,NAME) with O(tokens[].name).
    type: str
    choices: [lines, static_csv]
    default: lines
  tokens:
    description:
      - The tokens to accept or to remove.
    type: list
    elements: dict
    default: []
    suboptions:
      token:
        description:
          - The token, printable ASCII without spaces, commas, quotes, C(#) or backslashes.
        type: str
        required: true
      name:
        description:
          - A name for the token, shown in diffs and results, and the user (and uid) of a V(static_csv) line.
        type: str
      state:
        description:
          - V(present) accepts the token, V(absent) removes it.
        type: str
        choices: [present, absent]
        default: present
  exclusive:
    description:
      - Remove every token that O(tokens) does not list as present.
    type: bool
    default: false
  labels:
    description:
      - Labels to set on the Secret. Labels not named here are kept.
    type: dict
    default: {}
notes:
  - The credentials need C(get), C(create) and C(update) on C(secrets) in the namespace.
  - The target must read the file again when it changes (kubelet updates a mounted Secret within about a minute;
    a C(subPath) mount is never updated).
requirements:
  - kubernetes (the Python client)
seealso:
  - module: promaccess.core.k8s_scrape_auth
  - name: Static token file
    description: The C(token,user,uid,"groups") format.
    link: https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file
"""

EXAMPLES = r"""
- name: The exporter accepts the scrape token of Prometheus
  promaccess.core.k8s_token_secret:
    namespace: apps
    name: exporter-accepted-tokens
    tokens:
      - name: prometheus
        token: "{{ scrape_token }}"

- name: During a rotation, old and new are both accepted; afterwards the old one is removed
  promaccess.core.k8s_token_secret:
    namespace: apps
    name: exporter-accepted-tokens
    format: static_csv
    tokens:
      - name: prometheus
        token: "{{ new_token }}"
      - name: prometheus
        token: "{{ old_token }}"
        state: "{{ 'absent' if rotation_done else 'present' }}"
"""

RETURN = r"""
namespace:
  description: The namespace of the Secret.
  returned: always
  type: str
  sample: apps
name:
  description: The name of the Secret.
  returned: always
  type: str
  sample: exporter-accepted-tokens
key:
  description: The key that holds the tokens.
  returned: always
  type: str
  sample: tokens
format:
  description: The format of the key.
  returned: always
  type: str
  sample: lines
tokens:
  description: How many tokens the key holds after the run.
  returned: success
  type: int
  sample: 2
added:
  description: The names of the tokens that were (or would be) added (C(unnamed) without a name).
  returned: success
  type: list
  elements: str
  sample: [prometheus]
removed:
  description: The names of the tokens that were (or would be) removed (C(unnamed) without a name).
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

from ansible_collections.promaccess.core.plugins.module_utils._k8s.base import write_spec
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import (
    KUBERNETES_IMPORT_ERROR,
    connection_spec,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.tokens import (
    TokenSecretBackend,
    TokenSecretError,
)


def main():
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        key=dict(type="str", default="tokens", no_log=False),
        format=dict(type="str", default="lines", choices=["lines", "static_csv"]),
        tokens=dict(
            type="list",
            elements="dict",
            default=[],
            no_log=False,  # the list itself is not secret: its token sub-option is no_log
            options=dict(
                token=dict(type="str", required=True, no_log=True),
                name=dict(type="str"),
                state=dict(type="str", default="present", choices=["present", "absent"]),
            ),
        ),
        exclusive=dict(type="bool", default=False),
        labels=dict(type="dict", default={}),
    )
    argument_spec.update(connection_spec())
    argument_spec.update(write_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = TokenSecretBackend(module).run()
    except TokenSecretError as exc:
        module.fail_json(msg=str(exc), namespace=module.params["namespace"], name=module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
