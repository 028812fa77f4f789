"""Benchmark helper (scripts/bench.py --only planning): the planner's pure function, plan_fleet, timed in Python.

    python tests/bench/plan_direct.py INVENTORY.yml COLLECTIONS_ROOT [--repeat 3] [--profile FILE]

Reads the bench inventory with Ansible's InventoryManager (not timed), takes each Prometheus host's promaccess_*
variables from its groups and the controller's fake views, backs ``resolve`` with Ansible's pattern engine as the
action plugin does, then times plan_fleet alone (``--repeat`` runs; the fastest and the median are printed as
JSON). With --profile, one more run under cProfile writes its stats there (pstats format).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("inventory")
    p.add_argument("collections")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", default=None)
    args = p.parse_args()
    sys.path.insert(0, args.collections)
    # pylint: disable=import-outside-toplevel
    from ansible.inventory.helpers import get_group_vars
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible_collections.promaccess.core.plugins.plugin_utils import fleet_plan as planner
    from ansible_collections.promaccess.core.plugins.plugin_utils.data import plain
    from ansible_collections.promaccess.core.plugins.plugin_utils.inventory import pattern_resolver

    inventory = InventoryManager(DataLoader(), sources=[args.inventory])
    groups = inventory.get_groups_dict()
    controller = inventory.get_host("localhost")
    cvars = dict(get_group_vars(controller.get_groups()), **controller.get_vars())
    hosts = {}
    for name in groups[planner.DEFAULT_HOSTS_GROUP]:
        host = inventory.get_host(name)
        hvars = dict(get_group_vars(host.get_groups()), **host.get_vars())
        hosts[name] = {k: plain(hvars[k]) for k in planner.HOST_SPEC if k in hvars}
    views = dict(cvars["bench_views"], **cvars["bench_revoked_views"])
    revoked = [g["grant"] for g in cvars["bench_store_grants"] if g.get("status") == "revoked"]
    grants = plain(cvars["promaccess_grants"])

    resolve = pattern_resolver(DataLoader(), groups)

    def once():
        return planner.plan_fleet(grants, hosts, {}, resolve, internal=cvars.get("promaccess_internal_grant",
                                  planner.DEFAULT_INTERNAL_GRANT), revoked=revoked, views=views)

    times, plan = [], None
    for _run in range(max(1, args.repeat)):
        started = time.perf_counter()
        plan = once()
        times.append(time.perf_counter() - started)
    if args.profile:
        import cProfile

        cProfile.runctx("once()", globals(), {"once": once}, args.profile)
    print(json.dumps({"runs": times, "best": min(times), "median": statistics.median(times),
                      "hosts": len(plan["hosts"]),
                      "grants_planned": sum(len(plan["grant_sets"][h["grant_set"]]) for h in plan["hosts"].values())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
