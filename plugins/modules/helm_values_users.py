#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: helm_values_users
short_description: Manage the basic-auth users inside a Helm values file, plain or sops-encrypted
version_added: 0.1.0
description:
  - Adds, updates and removes the users a chart reads from its values, at the key path O(key_path) of the values
    file O(path), in one of the shapes charts take (O(shape)).
  - V(list) is a list of C({username, password}) mappings with plain passwords, which the chart hashes when it
    renders (2i2c's support chart, C(prometheusIngressAuthSecret.users), with Helm's C(htpasswd)). The first
    O(reserved) entries stay first and are never changed or removed; other keys of an entry are kept.
  - V(map) is a mapping user name -> hash (C(basic_auth_users) of the exporter-toolkit C(web.yml) that the
    prometheus chart mounts from C(serverFiles)). V(htpasswd) is one string of C(user:hash) lines. For both, a
    given O(users[].password) is verified against the stored hash and hashed (bcrypt, O(bcrypt_rounds)) only when
    it does not match, so an idempotent run does no hashing.
  - A sops file (recognised by its C(sops) metadata, whatever its name) stays encrypted with its own recipients
    and key groups (age, KMS, PGP, or others this machine cannot use). It is decrypted with C(sops decrypt) and only
    the changed key path is written back with C(sops set) and C(sops unset) on a staged copy beside it, which
    must decrypt to what was meant before it replaces the file. Values that did not change keep their
    ciphertext, so a git diff shows only the changed users.
  - A plain file is edited keeping its comments, key order, quotes and indentation, checked by reading it back,
    and replaced atomically with its mode kept.
  - A run that changes nothing writes nothing. Any error (a key path that runs through a list or a scalar, a
    value of the wrong type for O(shape), a malformed file, a sops file that cannot be decrypted) names the file
    and the cause and leaves the file as it was.
  - Runs where the values file is, normally the controller (the operator's checkout of the infrastructure
    repository). It never runs C(helm).
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - promaccess.core._users
attributes:
  check_mode:
    description: Computes every change, including which users would be hashed, without writing.
    support: full
  diff_mode:
    description:
      - Shows each user with its hash scheme and cost (V(list) - that its password is plain), never a password
        or a hash. A user is shown by its O(users[].label) where it has one, never by its name; the reserved
        entries of a list are shown by their position only.
    support: full
  safe_file_operations:
    description: Writes through a 0600 temporary file in the same directory and an atomic rename.
    support: full
  idempotent:
    description: A second run with the same input reports no change, does no hashing and writes nothing.
    support: full
options:
  path:
    description:
      - The Helm values file, plain YAML or sops-encrypted. It must exist.
    type: path
    required: true
  key_path:
    description:
      - The keys leading to the users, from the top of the file, for example
        V([prometheusIngressAuthSecret, users]) or V([prometheus, serverFiles, web.yml, basic_auth_users]).
      - A list, as keys may contain dots. Every key but the last must lead to a mapping.
    type: list
    elements: str
    required: true
  shape:
    description:
      - How the chart keeps its users at O(key_path).
      - V(list) - a list of C({username, password}) mappings with plain passwords; a user given by
        O(users[].password_hash) is refused, as the chart hashes the password itself.
      - V(map) - a mapping of user names to hashes.
      - V(htpasswd) - a string of C(user:hash) lines.
    type: str
    required: true
    choices: [list, map, htpasswd]
  reserved:
    description:
      - How many entries (V(list)) or users (V(map), V(htpasswd)) at the head stay first and are never changed or
        removed, not even with O(exclusive=true); naming one of them in O(users) is an error.
      - By default V(1) for V(list) (the chart's own first user) and V(0) for the other shapes.
      - Existing users keep their order, and new users are appended, in every shape.
    type: int
  create_key:
    description:
      - Create the mappings along O(key_path), and the users value itself, when they are missing. With V(false),
        a missing key is an error.
    type: bool
    default: true
  server:
    description:
      - Also wires the prometheus chart's server to the web config whose C(basic_auth_users) O(key_path) holds
        (usually with O(shape=map)), in the same write; without it the pod would never become ready, as
        Prometheus then asks its own probes for a password.
      - Sets C(extraArgs."web.config.file") under O(server.key_path) (other flags kept) and the C(Authorization)
        header of C(probeHeaders) to HTTP basic auth with O(server.probe_username) (other headers kept), and, with
        O(server.scrape_configs_key_path), the C(basic_auth) of the chart's self-scrape job.
      - The probe user must be one of the file's users after the change.
    type: dict
    suboptions:
      key_path:
        description: The keys leading to the chart's server values, for example V([prometheus, server]).
        type: list
        elements: str
        required: true
      web_config_file:
        description: Where the chart mounts the C(web.yml) of its C(serverFiles).
        type: str
        default: /etc/config/web.yml
      probe_username:
        description:
          - The user the probes and the self-scrape authenticate as (the cluster's internal credential).
        type: str
        required: true
      probe_username_label:
        description:
          - How results and diffs show O(server.probe_username); when given, the name itself is masked in
            everything the module returns.
        type: str
      probe_password:
        description: Its password.
        type: str
        required: true
      scrape_configs_key_path:
        description:
          - The keys leading to the C(scrape_configs) list of the chart's C(prometheus.yml), for example
            V([prometheus, serverFiles, prometheus.yml, scrape_configs]). Its job O(server.self_scrape_job) gets
            C(basic_auth) with the probe user.
          - The job must already be in the file (copy it from the chart's values), as a list in a values file
            replaces the chart's whole list, so the module never adds one.
        type: list
        elements: str
      self_scrape_job:
        description: The C(job_name) of the chart's self-scrape job.
        type: str
        default: prometheus
  identity:
    description:
      - The operator identity that decrypts a sops file (C(key.txt) from C(age-keygen), or an unencrypted SSH
        private key). Needed only for a sops file.
      - Can also be set with the E(PROMACCESS_AGE_IDENTITY) environment variable.
    type: path
  sops_binary:
    description:
      - The C(sops) binary for a sops file; by default the C(sops) found on E(PATH).
      - Can also be set with the E(PROMACCESS_SOPS_BINARY) environment variable.
    type: path
  sops_config:
    description:
      - A C(.sops.yaml) for sops to read; by default sops looks for C(.sops.yaml) in the file's folder and the
        folders above it. A write never changes the file's recipients.
      - Can also be set with the E(PROMACCESS_SOPS_CONFIG) environment variable.
    type: path
notes:
  - O(rehash) and O(bcrypt_rounds) apply to V(map) and V(htpasswd); a V(list) password is never hashed here, but
    one longer than 72 bytes is refused, as bcrypt (Helm's C(htpasswd)) would ignore the rest.
  - The chart reads the file only on the next C(helm upgrade); this module does not run it.
requirements:
  - PyYAML
  - ruamel.yaml (keeps comments and layout of a plain file)
  - libpass and bcrypt (for V(map) and V(htpasswd))
  - the C(sops) binary, for a sops file
seealso:
  - module: promaccess.core.htpasswd_users
  - module: promaccess.core.web_config
  - module: promaccess.core.credential_store
"""

EXAMPLES = r"""
- name: A grantee in 2i2c's support chart, below the chart's reserved first user (sops file)
  promaccess.core.helm_values_users:
    path: ~/infrastructure/config/clusters/example/enc-support.secret.values.yaml
    identity: ~/.config/promaccess/key.txt
    key_path: [prometheusIngressAuthSecret, users]
    shape: list
    users:
      - name: "{{ minted.username }}"
        label: team-a (current)
        password: "{{ minted.password }}"
  delegate_to: localhost

- name: The prometheus chart's own web config (bcrypt hashes), its server flag, probe header and self-scrape job
  promaccess.core.helm_values_users:
    path: ~/infrastructure/config/clusters/example/enc-prometheus.secret.values.yaml
    identity: ~/.config/promaccess/key.txt
    key_path: [prometheus, serverFiles, web.yml, basic_auth_users]
    shape: map
    users:
      - name: "{{ internal.username }}"
        label: internal.example (current)
        password: "{{ internal.password }}"
      - name: team-a
        password: "{{ team_a_password }}"
    server:
      key_path: [prometheus, server]
      probe_username: "{{ internal.username }}"
      probe_username_label: internal.example (current)
      probe_password: "{{ internal.password }}"
      scrape_configs_key_path: [prometheus, serverFiles, prometheus.yml, scrape_configs]
  delegate_to: localhost

- name: Only the listed users in a chart's htpasswd string, keeping its first user
  promaccess.core.helm_values_users:
    path: values.yaml
    key_path: [ingress, basicAuth, htpasswd]
    shape: htpasswd
    reserved: 1
    exclusive: true
    users: "{{ grantees }}"
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The values file.
  returned: success
  type: str
  sample: config/clusters/example/enc-support.secret.values.yaml
key_path:
  description: The keys leading to the users.
  returned: success
  type: list
  elements: str
  sample: [prometheusIngressAuthSecret, users]
shape:
  description: The shape of the users at O(key_path).
  returned: success
  type: str
  sample: list
encrypted:
  description: Whether the file is a sops file.
  returned: success
  type: bool
  sample: true
users_added:
  description:
    - Users that were (or, in check mode, would be) added, by O(users[].label) where given, else by name.
  returned: success
  type: list
  elements: str
  sample: ["team-a (current)"]
users_removed:
  description:
    - Users that were removed, by O(users[].label) where given, else by name.
  returned: success
  type: list
  elements: str
  sample: []
users_changed:
  description:
    - Users whose password or hash was replaced, by O(users[].label) where given, else by name.
  returned: success
  type: list
  elements: str
  sample: []
server_changed:
  description: Whether the server's wiring (O(server)) changed, or would in check mode.
  returned: success
  type: bool
  sample: false
hash_operations:
  description: How many password hashes were computed (always 0 for V(list)).
  returned: success
  type: int
  sample: 1
verify_operations:
  description: How many stored hashes were verified against a given password (always 0 for V(list)).
  returned: success
  type: int
  sample: 2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import sops_file_spec, user_set_spec
from ansible_collections.promaccess.core.plugins.module_utils._helm.values_users import ValuesError, run
from ansible_collections.promaccess.core.plugins.module_utils._store.sops import module_runner


def main():
    argument_spec = dict(
        path=dict(type="path", required=True),
        key_path=dict(type="list", elements="str", required=True, no_log=False),
        shape=dict(type="str", required=True, choices=["list", "map", "htpasswd"]),
        reserved=dict(type="int"),
        create_key=dict(type="bool", default=True),
        server=dict(
            type="dict",
            options=dict(
                key_path=dict(type="list", elements="str", required=True, no_log=False),
                web_config_file=dict(type="str", default="/etc/config/web.yml"),
                probe_username=dict(type="str", required=True),
                probe_username_label=dict(type="str"),
                probe_password=dict(type="str", required=True, no_log=True),
                scrape_configs_key_path=dict(type="list", elements="str", no_log=False),
                self_scrape_job=dict(type="str", default="prometheus"),
            ),
        ),
    )
    argument_spec.update(user_set_spec())
    argument_spec.update(sops_file_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        result = run(module, module_runner(module))  # run() masks labelled user names first
    except ValuesError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
