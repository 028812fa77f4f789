# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin promaccess.core.fleet_plan: the playbooks' planner, run once on the controller."""

from __future__ import annotations

import datetime

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.promaccess.core.plugins.module_utils._common.fleet_plan_spec import FLEET_PLAN_ARGUMENT_SPEC
from ansible_collections.promaccess.core.plugins.plugin_utils import fleet_plan as planner
from ansible_collections.promaccess.core.plugins.plugin_utils import rotation_policy
from ansible_collections.promaccess.core.plugins.plugin_utils.data import plain
from ansible_collections.promaccess.core.plugins.plugin_utils.inventory import pattern_resolver


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def _var(self, task_vars: dict, name: str, default=None):
        """A controller variable, templated (task_vars hold them raw)."""
        if name not in task_vars:
            return default
        return plain(self._templar.template(task_vars[name]))

    def _group(self, task_vars: dict, var: str, default: str) -> list[str]:
        name = self._var(task_vars, var, default)
        return list(task_vars["groups"].get(name, []))

    def _host_vars(self, task_vars: dict, hosts: list[str], spec: dict) -> dict:
        """Each host's variables that the spec names, as the host sees them (group_vars, host_vars, -e)."""
        out = {}
        hostvars = task_vars["hostvars"]
        for host in hosts:
            hv = hostvars[host]
            out[host] = {}
            for name in spec:
                if name not in hv:
                    continue
                try:
                    out[host][name] = plain(hv[name])
                except AnsibleError as exc:
                    # Planning happens on the controller before any host's facts are gathered.
                    raise planner.PlanError(
                        "%s: %s cannot be worked out on the controller, where the plan is made before any fact "
                        "of the host is gathered (%s); give it from inventory values, or leave it unset for its "
                        "default" % (host, name, exc.message.splitlines()[0] if exc.message else type(exc).__name__)
                    ) from None
        return out

    def _resolver(self, task_vars: dict):
        return pattern_resolver(self._loader, task_vars["groups"])

    @staticmethod
    def _views(task_vars: dict) -> dict:
        """The store's views of every grant, active and revoked (secret: never returned)."""
        # Facts set by set_fact are data already: no templating (the views of 200 grants cost seconds).
        views = dict(plain(task_vars.get("promaccess_credentials") or {}))
        views.update(plain(task_vars.get("promaccess_revoked_credentials") or {}))
        return views

    def _plan(self, args: dict, task_vars: dict) -> dict:
        internal = self._var(task_vars, "promaccess_internal_grant", planner.DEFAULT_INTERNAL_GRANT)
        hosts = self._group(task_vars, "promaccess_hosts", planner.DEFAULT_HOSTS_GROUP)
        clusters = self._group(task_vars, "promaccess_k8s_hosts", planner.DEFAULT_CLUSTERS_GROUP)
        revoked = [g["grant"] for g in args["store_grants"] if g.get("status") == "revoked"]
        views = self._views(task_vars) if args["with_credentials"] else None
        policy = {name: self._var(task_vars, name) for name in rotation_policy.SETTINGS if name in task_vars}
        return planner.plan_fleet(
            self._var(task_vars, "promaccess_grants") or [],
            self._host_vars(task_vars, hosts, planner.HOST_SPEC),
            self._host_vars(task_vars, clusters, planner.CLUSTER_SPEC),
            self._resolver(task_vars),
            internal=internal,
            revoked=revoked,
            views=views,
            rotate=args["rotate"],
            revoke=args["revoke"],
            policy_settings=policy,
            store_grants=args["store_grants"],
        )

    def _from_hosts(self, task_vars: dict, plan: dict, var: str, cluster_var: str | None = None) -> dict:
        """``var`` of each planned host (``cluster_var`` of each cluster), None where a host never set it."""
        hostvars = task_vars["hostvars"]
        out = {}
        for part, name in (("hosts", var), ("clusters", cluster_var or var)):
            for host in plan[part]:
                hv = hostvars[host]
                out[host] = plain(hv[name]) if name in hv else None
        return out

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(FLEET_PLAN_ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            result.update(failed=True, msg="fleet_plan: " + "; ".join(validation.error_messages))
            return result
        args = validation.validated_parameters
        try:
            if args["stage"] == "plan":
                plan = self._plan(args, task_vars)
                # A fact of the controller, read by the host plays as hostvars['localhost'].ansible_facts.
                result["ansible_facts"] = {"promaccess_plan": plan}
                result["changed"] = False
                return result
            plan = plain((task_vars.get("ansible_facts") or {}).get("promaccess_plan"))
            if not isinstance(plan, dict):
                raise planner.PlanError("stage %s needs the plan of stage plan (promaccess_plan)" % args["stage"])
            if args["stage"] == "checks":
                # The plan made before minting stays; only its checks follow the credentials now read.
                plan["checks"] = planner.credential_checks(self._views(task_vars))
                result["ansible_facts"] = {"promaccess_plan": plan}
            elif args["stage"] == "evidence":
                collected = {host: rotation_policy.host_evidence(found) if found else None
                             for host, found in self._from_hosts(task_vars, plan, "promaccess_evidence").items()}
                parts = {host: planner.host_part(plan, host) for host in plan["hosts"]}
                result["evidence"] = rotation_policy.fleet_evidence(plan, parts, collected, args["grants"])
            elif args["stage"] == "results":
                verified = self._from_hosts(task_vars, plan, "promaccess_verified")
                handoff = planner.handoff_grants(plan, verified, args["handoff_only"])
                until = rotation_policy.deadlines(plan["policy"], self._views(task_vars), [g["name"] for g in handoff],
                                                  datetime.datetime.now(datetime.timezone.utc))
                result["handoff"] = [dict(g, grace_until=until.get(g["name"])) for g in handoff]
                result["grace_until"] = until
                result["all_verified"] = all(v is not None for v in verified.values())
                result["summary"] = planner.summary_lines(plan, verified, args["handoff_dir"])
            else:
                checks = self._from_hosts(task_vars, plan, "_promaccess_report_checks", "_promaccess_report_k8s_checks")
                limit = self._var(task_vars, "ansible_limit") or None
                limited = self._resolver(task_vars)([limit]) if limit else None
                tls = self._from_hosts(task_vars, plan, "_promaccess_report_tls")
                result["hosts"] = planner.report_hosts(plan, checks, limited, tls)
        except planner.PlanError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result["changed"] = False
        return result
