# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark callback (scripts/bench.py --only planning): when each task started and each host's result came,
written as JSON to $PROMACCESS_BENCH_TIMER at the end of the run. Kept out of the collection: the bench puts this
folder on ANSIBLE_CALLBACK_PLUGINS and enables it.

Per task: its name, the time it started (the strategy announcing it), the time of its last host result, and per
host its status and, for a plan, how many grants it gave the host (no secret: counts only)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_timer
    type: aggregate
    short_description: times each task for the promaccess.core benchmark
    description: Writes task start and result times to the file named by PROMACCESS_BENCH_TIMER.
"""


def _grants_planned(result: dict) -> dict | None:
    """host -> number of grants its plan holds, from a fleet_plan result or a set_fact of _plan."""
    facts = result.get("ansible_facts") or {}
    plan = facts.get("promaccess_plan")
    if isinstance(plan, dict) and isinstance(plan.get("hosts"), dict):
        sets = plan["grant_sets"]
        return {host: len(sets[p["grant_set"]]) for host, p in plan["hosts"].items()}
    if isinstance(facts.get("_plan"), dict):
        return {None: len(facts["_plan"].get("grants", []))}
    return None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._tasks.append({"name": task.get_name(), "start": time.time(), "end": None, "hosts": {}})

    def _done(self, result, status):
        if not self._tasks:
            return
        entry = self._tasks[-1]
        entry["end"] = time.time()
        host = result._host.get_name()  # pylint: disable=protected-access
        record = {"status": status}
        planned = _grants_planned(result._result)  # pylint: disable=protected-access
        if planned is not None:
            if None in planned:
                record["grants"] = planned[None]
            else:
                record["planned"] = planned
        entry["hosts"][host] = record

    def v2_runner_on_ok(self, result):
        self._done(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._done(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("PROMACCESS_BENCH_TIMER")
        if not path:
            return
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"tasks": self._tasks, "end": time.time()}, handle)
