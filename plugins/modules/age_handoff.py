#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: age_handoff
short_description: Write a grant's credential as an age-encrypted hand-off file, and the message to send with it
version_added: 0.1.0
description:
  - Encrypts the user name, the password and the endpoint URL of one grant with age (through pyrage, in
    memory) to the recipients' public keys, and writes the result atomically, mode C(0600) unless O(mode)
    says otherwise. The recipient decrypts it with C(age --decrypt -i key.txt -o credentials.txt credentials.txt.age).
  - age output is randomised, so the module keeps a sidecar metadata file (O(metadata_path)) with a salted
    scrypt digest of what was encrypted (never the secret), the recipients and the checksum of the file. A run
    with the same content, recipients and armor reports no change and leaves the file byte-identical.
  - Renders the message to send with the file (endpoint URL, the decrypt command, the PII warning), which holds
    no secret, as the RV(message) return value and optionally into O(message_path).
  - The arguments reach the module through pipelining only (the action plugin turns it on for this task and
    refuses to run when it cannot), so the plaintext is never written to a temporary file.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  action:
    description: An action plugin forces pipelining so the arguments never touch the disk.
    support: full
  async:
    description: Refused, because async execution writes the arguments to a file.
    support: none
  check_mode:
    description: Tells whether the file would be encrypted anew, without writing.
    support: full
  diff_mode:
    description: Shows recipients, armor and URL before and after; never the credential.
    support: full
  safe_file_operations:
    description: Writes through a 0600 temporary file in the same directory and an atomic rename.
    support: full
  idempotent:
    description: A second run with the same input reports no change and leaves the file byte-identical.
    support: full
options:
  path:
    description: The hand-off file to write, for example C(credentials.txt.age).
    type: path
    required: true
    aliases: [dest]
  username:
    description:
      - The grant's user name. A secret like O(password) (a minted user name is half of the credential), so it is
        C(no_log) and never appears in the result, the diff, the metadata file or the message.
    type: str
    required: true
  password:
    description: The grant's password.
    type: str
    required: true
  url:
    description: The endpoint URL, written into the hand-off file and the message.
    type: str
  ca_name:
    description:
      - The file name of the CA certificate sent along with the hand-off (the endpoint's certificate is signed by
        a CA the recipient does not trust yet); the message then says to trust it for this endpoint. The module
        does not write that file.
    type: str
  replaces_until:
    description:
      - When this credential replaces one the recipient holds (a rotation with a grace period), until when the old
        one keeps working (ISO 8601, UTC); the message then asks them to switch before that time.
    type: str
  recipients:
    description:
      - Public keys to encrypt to, any mix of age X25519 keys (C(age1...)), C(ssh-ed25519) and C(ssh-rsa) public
        keys (as in a C(.pub) file, the comment is ignored). Each recipient can decrypt on their own.
      - At least one recipient must be given here or in O(recipients_files).
    type: list
    elements: str
    default: []
  recipients_files:
    description: Files of recipients, one per line, blank lines and C(#) comments ignored (the C(age -R) format).
    type: list
    elements: path
    default: []
    aliases: [recipients_file]
  armor:
    description: Write ASCII-armored (PEM-like text) instead of binary age output.
    type: bool
    default: false
  metadata_path:
    description: The sidecar metadata file. Defaults to O(path) with C(.meta.json) appended.
    type: path
  message_path:
    description: Also write the message to send with the hand-off file here (it holds no secret).
    type: path
  recipient_name:
    description: The name to greet in the message.
    type: str
notes:
  - O(mode) defaults to C(0600) for the hand-off, metadata and message files.
  - Use it with C(delegate_to=localhost) to write the file on the controller, ready to send.
requirements:
  - pyrage
seealso:
  - plugin: promaccess.core.credential
    plugin_type: lookup
  - name: age
    description: The age file encryption tool and format.
    link: https://age-encryption.org
"""

EXAMPLES = r"""
- name: Hand team-a its credential from the credential store
  promaccess.core.age_handoff:
    path: "{{ playbook_dir }}/handoff/team-a/credentials.txt.age"
    recipients:
      - age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
    url: https://prometheus.example.org
    username: "{{ cred.username }}"
    password: "{{ cred.password }}"
    recipient_name: Team A
    message_path: "{{ playbook_dir }}/handoff/team-a/message.txt"
  vars:
    cred: "{{ lookup('promaccess.core.credential', 'team-a') }}"
  delegate_to: localhost

- name: Encrypt to two SSH keys and a recipients file, armored
  promaccess.core.age_handoff:
    path: /srv/handoff/team-b.txt.age
    recipients:
      - "{{ lookup('ansible.builtin.file', 'keys/alice.pub') }}"
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEL4nwRGD+rq8WkuFlIwV8Fqhuilb9hvscNqlwwPqwT3 bob@example.org
    recipients_files:
      - /srv/handoff/team-b.recipients
    armor: true
    username: "{{ cred.username }}"
    password: "{{ cred.password }}"
  vars:
    cred: "{{ lookup('promaccess.core.credential', 'team-b') }}"
"""

RETURN = r"""
path:
  description: The hand-off file.
  returned: always
  type: str
  sample: /srv/handoff/team-a/credentials.txt.age
metadata_path:
  description: The sidecar metadata file.
  returned: always
  type: str
  sample: /srv/handoff/team-a/credentials.txt.age.meta.json
recipients:
  description: The recipients encrypted to, canonical (SSH comments dropped) and sorted.
  returned: success
  type: list
  elements: str
  sample: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq]
armor:
  description: Whether the file is ASCII-armored.
  returned: success
  type: bool
  sample: false
message:
  description: The message to send with the file. It holds no secret.
  returned: success
  type: str
  sample: "Hello Team A\n\nWe have provisioned credentials ..."
message_path:
  description: Where the message was written.
  returned: success and O(message_path) was given
  type: str
  sample: /srv/handoff/team-a/message.txt
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.promaccess.core.plugins.module_utils._store.age import PYRAGE_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._store.handoff import HandoffBackend, HandoffError


def main():
    argument_spec = dict(
        path=dict(type="path", required=True, aliases=["dest"]),
        username=dict(type="str", required=True, no_log=True),
        password=dict(type="str", required=True, no_log=True),
        url=dict(type="str"),
        recipients=dict(type="list", elements="str", default=[]),
        recipients_files=dict(type="list", elements="path", default=[], aliases=["recipients_file"]),
        armor=dict(type="bool", default=False),
        metadata_path=dict(type="path"),
        message_path=dict(type="path"),
        recipient_name=dict(type="str"),
        ca_name=dict(type="str"),
        replaces_until=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    if PYRAGE_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyrage"), exception=PYRAGE_IMPORT_ERROR)
    try:
        result = HandoffBackend(module).run()
    except HandoffError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
