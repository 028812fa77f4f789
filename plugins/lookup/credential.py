# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: credential
short_description: Get a grant's credential from the age-encrypted credential store, minting it when missing
version_added: 0.1.0
author:
  - promaccess.core maintainers (@promaccess)
description:
  - Returns, for each grant name, its credential from the credential store on the controller, a YAML file
    encrypted with age, decrypted in memory with the operator identity and never written in plaintext.
  - A grant missing from the store is minted (64 characters from C([A-Za-z0-9]) for the user name and the
    password, drawn with Python's C(secrets), as C(pwgen -s 64 1) does), hashed once with bcrypt (cost 12)
    and stored, so later runs return the same credential.
  - The store is updated under an exclusive lock on C(<store>.lock), read again under the lock and replaced
    atomically, so runs at the same time never lose an update. A new store is written only after it was
    checked to decrypt with O(identity).
  - The store is written even in check mode when a grant is minted, so that the check and the real run agree.
options:
  _terms:
    description: Grant names.
    required: true
    type: list
    elements: str
  store:
    description:
      - The store file. A relative path is taken from the playbook directory.
      - A file named C(*.sops.yaml) is a sops file, encrypted and decrypted by the C(sops) binary, whose
        recipients are kept in the file (a new one gets those of the first matching creation rule of
        C(.sops.yaml); change them with C(sops updatekeys)). Any other name is the age-encrypted store of the
        first releases, encrypted to O(identity) and O(recipients) at each write.
    type: path
    required: true
    env:
      - name: PROMACCESS_CREDENTIAL_STORE
  sops_binary:
    description: The C(sops) binary for a sops store; by default the C(sops) found on E(PATH).
    type: path
    env:
      - name: PROMACCESS_SOPS_BINARY
  sops_config:
    description:
      - The C(.sops.yaml) whose creation rules give a new sops store its recipients; by default sops looks for
        C(.sops.yaml) in the store's folder and the folders above it.
    type: path
    env:
      - name: PROMACCESS_SOPS_CONFIG
  run:
    description:
      - An id of the playbook run this task belongs to (the playbooks set one per run). The store then refuses
        to be read or written by that run once it was changed underneath it other than through promaccess
        (another operator's commit pulled mid-run, an edit by hand), and the run stops without writing. The
        store's lock file beside it keeps what each run has seen.
    type: str
  identity:
    description:
      - The operator identity file (C(key.txt) from C(age-keygen)), or an unencrypted SSH private key.
    type: path
    required: true
    env:
      - name: PROMACCESS_AGE_IDENTITY
  recipients:
    description:
      - Extra public keys (C(age1...), C(ssh-ed25519 ...), C(ssh-rsa ...)) an age store is encrypted to when it is
        written, for other operators. The public keys of O(identity) are always added.
      - Refused for a sops store, whose recipients are kept in the file.
    type: list
    elements: str
    default: []
    env:
      - name: PROMACCESS_CREDENTIAL_RECIPIENTS
  recipients_file:
    description: Files of extra recipients, one per line, in C(age -R) format.
    type: list
    elements: path
    default: []
    env:
      - name: PROMACCESS_CREDENTIAL_RECIPIENTS_FILE
  username:
    description: A caller-supplied user name for the grant instead of a minted one. Only with one grant.
    type: str
  password:
    description: A caller-supplied password for the grant instead of a minted one. Only with one grant.
    type: str
  create:
    description: Mint a missing grant. When V(false), a missing grant is an error.
    type: bool
    default: true
  allow_revoked:
    description:
      - Return a revoked grant (its C(refused) credentials, for checking that hosts turn them away) instead of
        failing. Never mints.
    type: bool
    default: false
  inherit:
    description:
      - Maps a grant to another grant it starts as a copy of when it is not in the store yet. The playbooks use
        it for the per-target internal credentials (C(internal.HOST)) of a store that holds one shared internal
        credential, so that credential stays valid on every target until that target's copy is rotated.
      - The copy is made once; the source is then marked superseded, and a target added later gets a credential
        of its own. A source that is missing or revoked gives nothing to copy, and the grant is minted.
    type: dict
    default: {}
  armor:
    description: Write the store ASCII-armored (text, easier to keep in git). Both forms are read.
    type: bool
    default: true
  lock_timeout:
    description: Seconds to wait for another run holding the store lock.
    type: float
    default: 60
notes:
  - age does not authenticate the sender; anyone holding a recipient's public key can write a store the
    identity decrypts. Keep the store where only operators can write.
  - The values returned are secrets. Pass them only to options marked C(no_log) (such as
    M(promaccess.core.age_handoff) O(promaccess.core.age_handoff#module:password)), or use the
    C(password_hash) on hosts; do not C(set_fact) or C(debug) them.
seealso:
  - module: promaccess.core.age_handoff
  - module: promaccess.core.htpasswd_users
"""

EXAMPLES = r"""
- name: Hand a credential to team-a, minting it on the first run
  promaccess.core.age_handoff:
    path: "{{ playbook_dir }}/handoff/team-a.txt.age"
    recipients: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq]
    url: https://prometheus.example.org
    username: "{{ cred.username }}"
    password: "{{ cred.password }}"
  delegate_to: localhost
  vars:
    cred: "{{ lookup('promaccess.core.credential', 'team-a', store=inventory_dir ~ '/credentials.age') }}"

- name: Put the grant on the host by its stored hash (string comparison, no bcrypt work)
  promaccess.core.htpasswd_users:
    path: /etc/nginx/prometheus.htpasswd
    users:
      - name: "{{ cred.username }}"
        password_hash: "{{ cred.password_hash }}"
  vars:
    cred: "{{ lookup('promaccess.core.credential', 'team-a', store=inventory_dir ~ '/credentials.age') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per grant.
  type: list
  elements: dict
  contains:
    grant:
      description: The grant name.
      type: str
    username:
      description:
        - The user name. Secret, like the password - a minted user name is half of the credential; modules are
          given it with a C(label) (RV(_raw[].users)) so that it stays out of their output.
      type: str
    password:
      description: The password (secret).
      type: str
    password_hash:
      description: The canonical bcrypt hash of the password (C($2y$), cost 12), for O(promaccess.core.htpasswd_users#module:users[].password_hash).
      type: str
    minted_at:
      description: When the credential was minted or set, UTC, ISO 8601.
      type: str
    origin:
      description:
        - V(minted) (the store drew it) or V(given) (a password a person chose). Missing in a store of an earlier
          release until its next update; the views (RV(_raw[].valid) and the others) always carry it.
      type: str
    password_hashes:
      description:
        - A minted credential's hashes in other schemes, made once (C(apr_md5_crypt), the C($apr1$) hash that the
          hash policy writes for consumers that hash on every request). Secret.
      type: dict
    status:
      description:
        - V(active), V(rotating) (a rotation is in progress), V(revoked), or V(superseded) (the shared internal
          credential of a store from an earlier release, once each target's own was copied from it).
      type: str
    phase:
      description: The phase of the rotation in progress (V(minted), V(added), V(handed_off), V(revoking)), or null.
      type: str
    valid:
      description:
        - The credentials every host must accept, current first, then a rotation's new one once every host holds
          it (from phase V(added) on). Each has C(username),
          C(password), C(password_hash), C(password_hashes), C(minted_at), C(origin) and C(role) (V(current) or
          V(pending)). Secret.
      type: list
      elements: dict
    present:
      description:
        - The credentials hosts are to hold - the valid ones, plus a rotation's new one while it is being added
          (phase V(minted)), before every host has it. Secret.
      type: list
      elements: dict
    refused:
      description: The credentials hosts must turn away (a rotation's retired one, a revoked grant's). Secret.
      type: list
      elements: dict
    users:
      description:
        - Entries for O(promaccess.core.htpasswd_users#module:users) and the other user-file modules, the
          RV(_raw[].present) credentials by hash, the refused ones C(state=absent). Each has a C(label),
          V(<grant> (<role>)), which the modules show instead of the user name. Secret.
      type: list
      elements: dict
    handoff:
      description: The credential the grantee is to hold now (the new one once a rotation has handed it off). Secret.
      type: dict
    consumer:
      description: The credential a consumer of the grant on a host (the self-scrape job) uses, the newest present one. Secret.
      type: dict
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.promaccess.core.plugins.module_utils._store.age import (
    PYRAGE_IMPORT_ERROR,
    AgeError,
    load_recipients,
    read_identities,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import (
    CredentialStore,
    CredentialStoreError,
)
from ansible_collections.promaccess.core.plugins.plugin_utils import sops_runner

display = Display()


def _plain(value):
    """A plain str (or None) from a possibly tagged Ansible string."""
    return None if value is None else str(value)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if PYRAGE_IMPORT_ERROR is not None:
            raise AnsibleLookupError("the credential lookup needs the 'pyrage' Python package on the controller")
        # Plain str: Ansible's tagged strings cannot be dumped by yaml.safe_dump into the store.
        username = _plain(self.get_option("username"))
        password = _plain(self.get_option("password"))
        if (username is not None or password is not None) and len(terms) != 1:
            raise AnsibleLookupError("username and password can be given for exactly one grant")
        store_path = os.path.expanduser(self.get_option("store"))
        if not os.path.isabs(store_path):
            store_path = os.path.join(self._loader.get_basedir(), store_path)
        try:
            identities = read_identities(self.get_option("identity"))
            recipients = load_recipients(
                self.get_option("recipients"), self.get_option("recipients_file"), extra=identities.public
            )
            store = CredentialStore(
                store_path,
                identities,
                recipients,
                armor=self.get_option("armor"),
                lock_timeout=self.get_option("lock_timeout"),
                sops_binary=self.get_option("sops_binary"),
                sops_config=self.get_option("sops_config"),
                recipients_given=bool(self.get_option("recipients") or self.get_option("recipients_file")),
                sops_runner=sops_runner.run,
                run=self.get_option("run") or None,
            )
            grants = [_plain(term) for term in terms]
            if username is not None or password is not None:
                out = [store.get(grants[0], username, password, self.get_option("create"), self.get_option("allow_revoked"))]
                actions = {grants[0]: store.last_action}
            else:  # one read of the store for every grant, one write for all that are minted
                inherit = {_plain(k): _plain(v) for k, v in (self.get_option("inherit") or {}).items()}
                out = store.get_many(grants, self.get_option("create"), self.get_option("allow_revoked"), inherit)
                actions = store.actions
            for grant in grants:
                display.vvv("promaccess.core.credential: grant %r %s in %s" % (grant, actions.get(grant), store_path))
            for warning in store.warnings:
                display.warning("promaccess.core.credential: %s" % warning)
        except (AgeError, CredentialStoreError) as exc:
            raise AnsibleLookupError(str(exc)) from None
        return out
