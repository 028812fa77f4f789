#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_plan
short_description: Plan who gets what on every Prometheus host and Kubernetes cluster of the inventory
version_added: 0.1.0
description:
  - The planner of the collection's playbooks (C(promaccess.core.provision_access) and the others),
    run once on the controller (C(localhost)) for the whole fleet. It is an action plugin, so nothing runs on a
    managed host.
  - With O(stage=plan) it reads C(promaccess_grants), C(promaccess_internal_grant), C(promaccess_hosts),
    C(promaccess_k8s_hosts) and the inventory groups from the controller's variables, and every planned host's
    and cluster's C(promaccess_*) variables from C(hostvars); it validates them against one specification (grant
    names, C(auth) kinds, recipients, host patterns that select nothing, modes, URLs, secret formats, scrape
    settings), fills in every default, and sets the controller's fact C(promaccess_plan).
  - The plan holds no secret. Per host and cluster it lists the grants of each user file or Secret in order (the
    host's or cluster's own internal credential first, then the grants of the inventory in their order; revoked
    grants follow, to be removed) and the endpoints; per grant, which of its credentials must get 200 or 401 (by index into the
    credential store's views). Grant lists are shared between hosts that hold the same ones, so the plan grows
    with the hosts, not with hosts times grants. Each host play expands its own part.
  - With O(stage=results) it reads each planned host's C(promaccess_verified) and returns the grants to hand
    off (RV(handoff)) and the summary lines (RV(summary)). With O(stage=report) it reads each host's
    inspection results and returns RV(hosts), the input of the P(promaccess.core.access_report#filter) filter.
    With O(stage=evidence) it reads each planned host's C(promaccess_evidence) (when each credential of a grant
    in its grace period was last accepted there) and returns RV(evidence), the O(promaccess.core.credential_store#module:evidence)
    of the step that retires old credentials.
  - The rotation policy is planned too, from the controller's C(promaccess_rotate_grace) (default V(7d)),
    C(promaccess_rotate_quiet) (V(1d)), C(promaccess_rotate_max_age) (V(90d)) and each grant's C(grace), into
    C(promaccess_plan.policy); O(rotate=[due]) selects the grants the policy says are due.
author:
  - promaccess.core maintainers (@promaccess)
attributes:
  check_mode:
    description: Plans the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
  idempotent:
    description: Never changes anything.
    support: full
options:
  stage:
    description:
      - V(plan) validates the settings and returns the plan; V(checks) adds to that plan the checks of the
        credentials now read (the C(promaccess_credentials) and C(promaccess_revoked_credentials) facts) without
        planning again; V(results) and V(report) read what the host plays left. All but V(plan) need the fact
        C(promaccess_plan).
    type: str
    choices: [plan, checks, results, report, evidence]
    default: plan
  store_grants:
    description:
      - The grants of the credential store as M(promaccess.core.credential_store_info) returns them (the C(grants)
        of that module). Grants with status V(revoked) are removed from every host and cluster.
    type: list
    elements: dict
    default: []
  with_credentials:
    description:
      - Read the store's views of the grants from the facts C(promaccess_credentials) and
        C(promaccess_revoked_credentials) and plan the checks. Without it the plan has no checks.
    type: bool
    default: false
  rotate:
    description:
      - C(promaccess_rotate) of C(promaccess.core.rotate_credentials), checked and expanded into
        C(promaccess_plan.rotating) (V(all) is the internal grant and every grant of the inventory; V(due), alone,
        every credential at least C(promaccess_rotate_max_age) old and every rotation in progress, by
        O(store_grants)).
    type: list
    elements: str
  revoke:
    description:
      - C(promaccess_revoke) of C(promaccess.core.revoke_access), checked (the internal grant and a grant
        a ServiceMonitor still sends are refused) into C(promaccess_plan.revoking).
    type: list
    elements: str
  handoff_only:
    description: With O(stage=results), hand off only these grants (a rotation hands off the rotated ones).
    type: list
    elements: str
  handoff_dir:
    description: With O(stage=results), the hand-off folder named in the summary.
    type: str
    default: ""
  grants:
    description: With O(stage=evidence), the grants whose evidence of use to gather.
    type: list
    elements: str
    default: []
notes:
  - Defaults of the host and cluster settings live in the planner, and nowhere else; docs/provision_access.md
    lists them.
seealso:
  - module: promaccess.core.credential_store_info
"""

EXAMPLES = r"""
- name: Plan the fleet (no credentials yet), before anything is minted or changed
  promaccess.core.fleet_plan:
    store_grants: "{{ store_info.grants }}"

- name: Once the credentials are read, add their checks to the plan
  promaccess.core.fleet_plan:
    stage: checks

- name: Hand-off list and summary once every host ran
  promaccess.core.fleet_plan:
    stage: results
    handoff_dir: /srv/handoff
  register: results
"""

RETURN = r"""
ansible_facts:
  description: With O(stage=plan) or O(stage=checks), the plan.
  returned: when O(stage=plan) or O(stage=checks)
  type: dict
  contains:
    promaccess_plan:
      description:
        - The plan of the whole fleet (no secret), read by the host plays as
          C(hostvars['localhost'].ansible_facts.promaccess_plan).
        - C(hosts) and C(clusters) (inventory name to its compact part; the P(promaccess.core.fleet_part#filter)
          filter expands one), C(grant_sets) (the distinct grant lists the parts refer to), C(checks) (per grant,
          which credential must get 200 or 401), C(internal_grant), C(internal_credentials) (the internal
          credential of each host and cluster, C(promaccess_internal_credential), by default C(internal.<host>);
          each part names its own as C(internal)), C(inherit) (per internal credential, the shared one it starts as a
          copy of in a store made before credentials per target), C(fetch) (the grants whose credentials the
          play reads from the store), C(revoked), C(handoff) (grants handed to people, with their recipients), and
          C(rotating) or C(revoking) when asked.
      type: dict
      returned: always
handoff:
  description:
    - The grants to hand off, each with the URL for its message and C(grace_until), until when the credential
      it replaces stays valid (null when it replaces none or gets no grace period).
  returned: when O(stage=results)
  type: list
  elements: dict
grace_until:
  description: Per grant handed off with a grace period, its deadline (ISO 8601, UTC), for the store's C(handed_off) step.
  returned: when O(stage=results)
  type: dict
all_verified:
  description: Whether every planned host and cluster was applied and verified in this run.
  returned: when O(stage=results)
  type: bool
summary:
  description: Every endpoint and what was verified against it.
  returned: when O(stage=results)
  type: list
  elements: str
hosts:
  description: Per host and cluster, its targets and inspection results, for the access_report filter.
  returned: when O(stage=report)
  type: list
  elements: dict
evidence:
  description:
    - Per grant of O(grants), the evidence of each host and cluster that holds it -
      C({host, kept, error, since, old_seen, new_seen}); grant names, host names and times only.
  returned: when O(stage=evidence)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.promaccess.core.plugins.module_utils._common.fleet_plan_spec import FLEET_PLAN_ARGUMENT_SPEC


def main():  # pragma: no cover - the action plugin does the work
    module = AnsibleModule(argument_spec=FLEET_PLAN_ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="promaccess.core.fleet_plan is an action plugin; it runs on the controller only")


if __name__ == "__main__":
    main()
