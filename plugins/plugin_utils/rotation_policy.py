# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rotation policy, for the planner: grace periods, the quiet time, the maximum age, ``promaccess_rotate:
[due]``, and the evidence of use the hosts report. The decision itself (retire now or wait) is
``module_utils/_store/grace.decide``, which the credential_store module applies.

Grace periods are for grants handed to people (``auth`` other than ``scrape``): their consumers are outside the
inventory. Internal credentials and scrape grants, whose consumers the collection moves itself, get none.
"""

from __future__ import annotations

import datetime

from ansible_collections.promaccess.core.plugins.module_utils._common import times
from ansible_collections.promaccess.core.plugins.module_utils._store import grace

#: Controller settings, with their defaults.
SETTINGS = {
    "promaccess_rotate_grace": grace.DEFAULT_GRACE,
    "promaccess_rotate_quiet": grace.DEFAULT_QUIET,
    "promaccess_rotate_max_age": grace.DEFAULT_MAX_AGE,
    # true (every grant) or a list of grants whose grace period the operator ends in this run
    "promaccess_rotate_end_grace": False,
}
#: The keyword of promaccess_rotate that selects what the policy says is due.
DUE = "due"


class PolicyError(Exception):
    """A policy setting that cannot work. The message names the setting."""


def _seconds(value, what: str) -> int:
    try:
        return grace.duration(value, what)
    except grace.GraceError as exc:
        raise PolicyError(str(exc)) from None


def policy(grants: list[dict], given: dict) -> dict:
    """``{"grace": {grant: seconds}, "quiet": seconds, "max_age": seconds, "end_grace": [grant, ...]}`` from the
    controller settings ``given`` (SETTINGS' names) and each grant's own ``grace``. ``grants``: checked grants
    (fleet_plan)."""
    values = {name: given.get(name, default) for name, default in SETTINGS.items()}
    default_grace = _seconds(values["promaccess_rotate_grace"], "promaccess_rotate_grace")
    out = {
        "grace": {},
        "quiet": _seconds(values["promaccess_rotate_quiet"], "promaccess_rotate_quiet"),
        "max_age": _seconds(values["promaccess_rotate_max_age"], "promaccess_rotate_max_age"),
    }
    end = values["promaccess_rotate_end_grace"]
    if isinstance(end, str) and end.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        end = end.strip().lower() in ("true", "yes", "on", "1")  # -e promaccess_rotate_end_grace=true
    names = [g["name"] for g in grants]
    if end is True:
        out["end_grace"] = names
    elif end in (False, None, "", []):
        out["end_grace"] = []
    elif isinstance(end, (list, tuple)) and all(isinstance(n, str) for n in end):
        unknown = sorted(set(end) - set(names))
        if unknown:
            raise PolicyError("promaccess_rotate_end_grace names grants that are not in the inventory: %s"
                              % ", ".join(unknown))
        out["end_grace"] = list(end)
    else:
        raise PolicyError("promaccess_rotate_end_grace must be true or a list of grant names (got %r)" % (end,))
    for g in grants:
        if "grace" in g and g["auth"] == "scrape":
            raise PolicyError("grant %s: grace is for grants handed to people; a scrape grant has none" % g["name"])
        if g["auth"] == "scrape":
            continue
        seconds = _seconds(g["grace"], "grant %s: grace" % g["name"]) if "grace" in g else default_grace
        if seconds:
            out["grace"][g["name"]] = seconds
    return out


def since(summary: dict) -> str | None:
    """When a grant's current credential became current: its last rotation, else its minting."""
    return summary.get("rotated_at") or summary.get("minted_at")


def due(store_grants: list[dict], names: list[str], max_age: int, now: datetime.datetime) -> dict:
    """What ``promaccess_rotate: [due]`` selects among ``names`` (the inventory's grants and internal
    credentials): ``{"due": [...], "resume": [...]}``, the grants whose current credential is at least
    ``max_age`` seconds old, and those with a rotation in progress (in a grace period, or stopped by a failure)."""
    by_name = {g.get("grant"): g for g in store_grants or []}
    out: dict = {"due": [], "resume": []}
    for name in names:
        summary = by_name.get(name)
        if summary is None or summary.get("status") == "revoked":
            continue
        if summary.get("phase"):
            out["resume"].append(name)
        elif grace.rotation_due(now, since(summary), max_age):
            out["due"].append(name)
    return out


# -- evidence of use ---------------------------------------------------------------------------------------
def evidence_users(views: dict, grants: list) -> list[dict]:
    """SECRET (no_log tasks only): access_info's expected_users for the grants in their grace period that a
    host's nginx holds: each grant's old (``current``) and new (``pending``) credential."""
    out = []
    for grant in grants:
        view = views[grant]
        if view.get("phase") != "handed_off":
            continue
        for cred in view["valid"]:
            out.append({"grant": grant, "role": cred["role"], "name": cred["username"]})
    return out


def host_evidence(result: dict) -> dict:
    """access_info's result (with ``access_log``) as ``{grant: {kept, error, since, old_seen, new_seen}}``."""
    log = result.get("access_log") or {}
    out: dict = {}
    for row in result.get("expected") or []:
        entry = out.setdefault(row["grant"], {"kept": True, "error": log.get("error"), "since": log.get("since"),
                                              "old_seen": None, "new_seen": None})
        entry["old_seen" if row["role"] == "current" else "new_seen"] = row.get("last_seen")
    return out


def fleet_evidence(plan: dict, host_parts: dict, collected: dict, grants: list) -> dict:
    """Per grant of ``grants``, the evidence of every host that holds it, for the credential_store module.

    ``host_parts``: host -> its expanded plan part (``nginx_grants``, settings); ``collected``: host -> what
    :func:`host_evidence` made there (None for a host that reported nothing, which then blocks an early
    retirement). A host holds evidence when its nginx holds the grant and logs to an access log; other hosts
    (native only, clusters) count as keeping none."""
    out: dict = {g: [] for g in grants}
    for host, part in host_parts.items():
        nginx = "nginx" in part["settings"]["promaccess_modes"] and bool(part["settings"].get("promaccess_nginx_access_log"))
        here = set(part.get("nginx_grants") or []) if nginx else set()
        for grant in grants:
            if grant not in set(part.get("grants") or []):
                continue
            if grant not in here:
                out[grant].append({"host": host, "kept": False})
                continue
            found = (collected.get(host) or {}).get(grant)
            if found is None:
                out[grant].append({"host": host, "kept": True, "error": "no evidence reported in this run"})
            else:
                out[grant].append(dict(found, host=host))
    for cluster in plan.get("clusters") or {}:
        for grant in grants:
            if grant in set(plan["grant_sets"][plan["clusters"][cluster]["grant_set"]]):
                out[grant].append({"host": cluster, "kept": False})
    return out


def deadlines(policy: dict, views: dict, grants, now: datetime.datetime) -> dict:
    """Until when each grant's old credential stays valid, for its hand-off message and the store: the deadline
    the store holds for a grant already in its grace period (so a later run writes the same message), ``now``
    plus the grant's grace period for one handed off now (phase ``added``), none otherwise."""
    out = {}
    for grant in grants:
        view = views.get(grant) or {}
        rotation = view.get("rotation") if isinstance(view.get("rotation"), dict) else {}
        if view.get("phase") == "handed_off" and rotation.get("grace_until"):
            out[grant] = rotation["grace_until"]
        elif view.get("phase") == "added" and policy["grace"].get(grant):
            out[grant] = times.iso(grace.deadline(now, policy["grace"][grant]))
    return out
