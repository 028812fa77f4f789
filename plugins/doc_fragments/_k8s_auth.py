# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation fragment for Kubernetes connection options. Private to promaccess.core."""

from __future__ import annotations


class ModuleDocFragment:
    # Named, and read from the same environment variables, as in kubernetes.core.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file. Without it (and without O(host)), C(~/.kube/config) is used, and failing
        that the in-cluster service account.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: path
  context:
    description:
      - The kubeconfig context to use instead of its current context.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - The URL of the API server, overriding the kubeconfig's.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - A bearer token for the API server, overriding the kubeconfig's credentials.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. The kubeconfig's setting applies when not given.
      - Can also be set with the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA certificate bundle to verify the API server with.
      - Can also be set with the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
notes:
  - The credentials need C(get), C(create), C(update) and C(delete) on C(secrets) in the namespace; C(get) on
    C(namespaces) is used in check mode only to tell a missing namespace, and is not required.
"""

    # The modules that change objects: what to do with one that Helm manages.
    HELM_MANAGED = r"""
options:
  helm_managed:
    description:
      - What to do when an object this module would change is managed by Helm (label
        C(app.kubernetes.io/managed-by=Helm) or annotation C(meta.helm.sh/release-name)).
      - V(refuse) fails, naming the release, before anything is sent (in check mode too), as the next
        C(helm upgrade) would undo the change. Change the release's values instead
        (M(promaccess.core.helm_values_users)).
      - V(allow) changes it anyway, for example to bridge the time until the values are applied.
      - An object that needs no change is left alone either way.
    type: str
    default: refuse
    choices: [refuse, allow]
"""
