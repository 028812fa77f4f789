#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_store
short_description: Move grants through rotation and revocation in the controller's credential store
version_added: 0.1.0
description:
  - Records where each grant stands in the age-encrypted credential store on the controller (the store the
    P(promaccess.core.credential#lookup) lookup reads and mints into), so that a rotation or a revocation
    that stopped half-way resumes where it stopped.
  - A rotation goes C(started) (the new credential is minted and hashed once) -> C(added) (every host holds old
    and new and accepts the new) -> C(handed_off) (the new hand-off file is written) -> C(revoking) (the new
    credential becomes current; the old one is to be removed from the hosts) -> C(finished). A step is never
    skipped; asking for a step already passed changes nothing.
  - A revocation goes C(revoked) (no credential of the grant is valid any more) -> C(revocation_verified)
    (every host refuses it; the passwords are dropped from the store, the user names and hashes are kept for
    audits).
  - Runs on the controller (C(delegate_to) or a play on C(localhost)). Returns no secret.
author:
  - promaccess.core maintainers (@promaccess)
attributes:
  check_mode:
    description: Works out the change without writing the store.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  idempotent:
    description: A step already reached changes nothing.
    support: full
extends_documentation_fragment:
  - promaccess.core._credstore
options:
  recipients:
    description:
      - Extra public keys an age store is encrypted to when written; the identity's own are always added.
      - Refused for a sops store, whose recipients are kept in the file.
    type: list
    elements: str
    default: []
  recipients_file:
    description: Files of extra recipients, one per line, in C(age -R) format.
    type: list
    elements: path
    default: []
  armor:
    description: Write the store ASCII-armored.
    type: bool
    default: true
  lock_timeout:
    description: Seconds to wait for another run holding the store lock.
    type: float
    default: 60
  grants:
    description:
      - The grants to act on. Each must be in the store.
    type: list
    elements: str
    required: true
  step:
    description:
      - V(started), V(added), V(handed_off), V(revoking), V(finished) move a rotation; V(revoked) and
        V(revocation_verified) a revocation. To read only, use M(promaccess.core.credential_store_info).
    type: str
    choices: [started, added, handed_off, revoking, finished, revoked, revocation_verified]
    required: true
  grace_until:
    description:
      - With O(step=handed_off), per grant (grant name to a time, ISO 8601 UTC) until when its old credential
        stays valid, the time its hand-off message names. A later O(step=revoking) retires it only when that time
        has come or O(evidence) shows the switch.
      - Grants not named here get no grace period (their old credential is retired by the next V(revoking)).
    type: dict
    default: {}
  evidence:
    description:
      - With O(step=revoking), per grant the evidence of use from each host, as a list of
        C({host, kept, error, since, old_seen, new_seen}) (times UTC, ISO 8601; C(kept) false for a host that
        keeps no evidence). Grant names and times only, never a user name.
      - An old credential in its grace period is retired early when, on every host that keeps evidence, it was
        not used for O(quiet) seconds and the new one was used since the hand-off; see docs/rotation.md.
    type: dict
    default: {}
  quiet:
    description: The quiet time, in seconds, an early retirement needs (see O(evidence)).
    type: int
    default: 86400
  end_grace:
    description:
      - With O(step=revoking), the grants whose grace period the operator ends now (they know the holders have
        switched), so their old credential is retired whatever the deadline and the evidence say.
    type: list
    elements: str
    default: []
notes:
  - The playbooks promaccess.core.rotate_credentials and promaccess.core.revoke_access drive this module
    between their host plays; see docs/rotation.md.
seealso:
  - plugin: promaccess.core.credential
    plugin_type: lookup
  - module: promaccess.core.credential_store_info
"""

EXAMPLES = r"""
- name: Start rotating team-a (mints the new credential once; resumes a rotation already under way)
  promaccess.core.credential_store:
    store: "{{ inventory_dir }}/credentials.age"
    identity: ~/.config/promaccess/key.txt
    grants: [team-a]
    step: started
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
grants:
  description: Per grant, where it stands after the run. No secret.
  returned: always
  type: dict
  sample:
    team-a: {status: rotating, phase: minted, minted_at: "2026-11-23T10:00:00Z", rotated_at: null,
             revoked_at: null, started_at: "2026-11-23T10:00:00Z", changed: true}
  contains:
    status:
      description: V(active), V(rotating) or V(revoked).
      type: str
    phase:
      description: The rotation phase (V(minted), V(added), V(handed_off), V(revoking)), or null.
      type: str
    minted_at:
      description: When the current credential was minted, UTC, ISO 8601.
      type: str
    rotated_at:
      description: When the last rotation finished, or null.
      type: str
    revoked_at:
      description: When the grant was revoked, or null.
      type: str
    started_at:
      description: When the rotation in progress started, or null.
      type: str
    handed_off_at:
      description: When the new credential was handed off, or null.
      type: str
    grace_until:
      description: Until when the old credential stays valid after the hand-off, or null (no grace period).
      type: str
    decision:
      description:
        - With O(step=revoking), for a grant in its grace period, what was decided, C({retire, reason, detail})
          (reason V(deadline), V(silent), V(ended) by O(end_grace), V(no_grace), or V(in_grace); detail says what it
          waits for). Null otherwise.
      type: dict
    changed:
      description: Whether this grant's record changed.
      type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.promaccess.core.plugins.module_utils._common.argspec import credential_store_spec
from ansible_collections.promaccess.core.plugins.module_utils._store.age import (
    PYRAGE_IMPORT_ERROR,
    AgeError,
    load_recipients,
    read_identities,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import (
    CredentialStore,
    CredentialStoreError,
    summary,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.sops import module_runner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            credential_store_spec(),
            recipients=dict(type="list", elements="str", default=[]),
            recipients_file=dict(type="list", elements="path", default=[]),
            armor=dict(type="bool", default=True),
            lock_timeout=dict(type="float", default=60),
            grants=dict(type="list", elements="str", required=True),
            step=dict(
                type="str",
                required=True,
                choices=["started", "added", "handed_off", "revoking", "finished", "revoked", "revocation_verified"],
            ),
            grace_until=dict(type="dict", default={}),
            evidence=dict(type="dict", default={}),
            quiet=dict(type="int", default=86400),
            end_grace=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    if PYRAGE_IMPORT_ERROR is not None:
        module.fail_json(msg="the credential store needs the 'pyrage' Python package on the controller")
    params = module.params
    step = params["step"]
    results, changed = {}, False
    try:
        identities = read_identities(params["identity"])
        recipients = load_recipients(params["recipients"], params["recipients_file"], extra=identities.public)
        store = CredentialStore(
            os.path.abspath(params["store"]),
            identities,
            recipients,
            armor=params["armor"],
            lock_timeout=params["lock_timeout"],
            dry_run=module.check_mode,
            sops_binary=params["sops_binary"],
            sops_config=params["sops_config"],
            recipients_given=bool(params["recipients"] or params["recipients_file"]),
            sops_runner=module_runner(module),
            run=params["run"],
        )
        grants = params["grants"]
        if not grants:
            module.fail_json(msg="grants must name at least one grant")
        for grant in grants:
            if step == "revoked":
                view = store.revoke(grant)
            elif step == "revocation_verified":
                view = store.revocation_verified(grant)
            else:
                view = store.rotation_step(grant, step, grace_until=params["grace_until"].get(grant),
                                           evidence=params["evidence"].get(grant), quiet_seconds=params["quiet"],
                                           end_grace=grant in params["end_grace"])
            grant_changed = store.last_action == "changed"
            changed = changed or grant_changed
            decision = getattr(store, "last_decision", None) if step == "revoking" else None
            results[grant] = dict(summary(view), changed=grant_changed, decision=decision)
    except (AgeError, CredentialStoreError) as exc:
        module.fail_json(msg=str(exc), grants=results, changed=changed)
    for warning in store.warnings:
        module.warn(warning)
    module.exit_json(changed=changed, grants=results)


if __name__ == "__main__":
    main()
