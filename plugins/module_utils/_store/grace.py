# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When a rotated grant's old credential may be retired. Private to promaccess.core. No I/O: ``now`` is given.

A rotation of a grant handed to people stops after the hand-off with old and new both valid: the store records
``rotation.handed_off_at`` and ``rotation.grace_until``. A later run retires the old credential when

* the deadline has come (``now >= grace_until``), or
* the evidence shows that the grantee has switched: on every host that keeps evidence (the access log of the
  nginx location the collection manages), the old credential was not accepted during the last ``quiet`` seconds,
  the new one was accepted at least once since the hand-off, the logs reach back over that whole quiet time,
  and the quiet time has passed since the hand-off. A host that should keep evidence but could not be read
  blocks an early retirement; a host that keeps none (native Prometheus logs no users) does not count; with no
  host keeping evidence, only the deadline counts.

Evidence per host, as the playbooks hand it over (grant names and times only, never a user name)::

    {"host": "prom-1", "kept": True, "error": None, "since": "2026-12-01T00:00:00Z",
     "old_seen": "2026-12-02T10:00:00Z", "new_seen": None}
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.promaccess.core.plugins.module_utils._common import times
from ansible_collections.promaccess.core.plugins.module_utils._common.times import iso

SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")

#: Defaults: the grace period of a grant handed to people, the quiet time an early retirement needs, and the
#: maximum age of a credential under the rotation policy.
DEFAULT_GRACE = "7d"
DEFAULT_QUIET = "1d"
DEFAULT_MAX_AGE = "90d"


class GraceError(Exception):
    """A duration or a time that cannot be read. The message names the setting, never a secret."""


def duration(value, what: str) -> int:
    """Seconds of a duration: a number of days (``7``), or a number with a unit (``90s``, ``30m``, ``12h``,
    ``7d``, ``2w``). Zero is allowed (no grace); negative or other values are refused."""
    if isinstance(value, bool):
        raise GraceError("%s must be a number of days or a duration such as 7d, 12h or 90s (got %r)" % (what, value))
    if isinstance(value, int):
        if value < 0:
            raise GraceError("%s must not be negative (got %d)" % (what, value))
        return value * SECONDS["d"]
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise GraceError("%s must be a number of days or a duration such as 7d, 12h or 90s (got %r)" % (what, value))
    return int(match.group(1)) * SECONDS[match.group(2) or "d"]


def parse_time(value) -> datetime.datetime | None:
    """An ISO 8601 time (``2026-01-02T03:04:05Z``) as an aware UTC datetime; None when absent."""
    try:
        return times.parse(value)
    except times.TimeFormatError as exc:
        raise GraceError(str(exc)) from None


def deadline(handed_off_at: datetime.datetime, grace_seconds: int) -> datetime.datetime:
    return handed_off_at + datetime.timedelta(seconds=grace_seconds)


def _read_evidence(entry: dict) -> dict:
    """One host's evidence with its times read once."""
    return {"host": entry["host"], "error": entry.get("error"), "since": parse_time(entry.get("since")),
            "old_seen": parse_time(entry.get("old_seen")), "new_seen": parse_time(entry.get("new_seen"))}


def decide(now: datetime.datetime, handed_off_at, grace_until, evidence: list | None, quiet_seconds: int) -> dict:
    """Whether to retire the old credential now: ``{"retire": bool, "reason": str, "detail": str}``.

    ``reason``: ``no_grace`` (no deadline recorded: retire as before), ``deadline`` (it has come), ``silent``
    (the evidence shows the switch), or, when it waits, ``in_grace`` with ``detail`` saying what is missing.
    """
    until = parse_time(grace_until)
    if until is None:
        return {"retire": True, "reason": "no_grace", "detail": "no grace period recorded"}
    if now >= until:
        return {"retire": True, "reason": "deadline", "detail": "the grace period ended at %s" % iso(until)}
    wait = {"retire": False, "reason": "in_grace"}
    handed = parse_time(handed_off_at)
    quiet_start = now - datetime.timedelta(seconds=quiet_seconds)
    if handed is None or quiet_start < handed:
        return dict(wait, detail="the quiet time (%d s) has not passed since the hand-off" % quiet_seconds)
    kept = [_read_evidence(e) for e in (evidence or []) if e.get("kept")]
    if not kept:
        return dict(wait, detail="no host keeps evidence of use: the old credential is retired at %s" % iso(until))
    unread = sorted(e["host"] for e in kept if e["error"])
    if unread:
        return dict(wait, detail="no evidence could be read on %s" % ", ".join(unread))
    short = sorted(e["host"] for e in kept if e["since"] is None or e["since"] > quiet_start)
    if short:
        return dict(wait, detail="the access logs of %s do not reach back over the quiet time" % ", ".join(short))
    used = sorted((e["old_seen"], e["host"]) for e in kept if e["old_seen"] is not None and e["old_seen"] >= quiet_start)
    if used:
        seen, host = used[-1]
        return dict(wait, detail="the old credential was used at %s on %s" % (iso(seen), host))
    if not any(e["new_seen"] is not None and e["new_seen"] >= handed for e in kept):
        return dict(wait, detail="the new credential has not been used yet")
    return {"retire": True, "reason": "silent",
            "detail": "the old credential was not used for %d s and the new one is in use" % quiet_seconds}


def due_at(since, max_age_seconds: int | None) -> datetime.datetime | None:
    """When a credential current since ``since`` (minted or last rotated) becomes due under the maximum age;
    None without a policy (no or zero maximum age) or without a start."""
    start = parse_time(since)
    if start is None or not max_age_seconds or max_age_seconds <= 0:
        return None
    return start + datetime.timedelta(seconds=max_age_seconds)


def rotation_due(now: datetime.datetime, since, max_age_seconds: int) -> bool:
    """Whether a credential current since ``since`` is due under the maximum age (:func:`due_at`)."""
    when = due_at(since, max_age_seconds)
    return when is not None and now >= when
