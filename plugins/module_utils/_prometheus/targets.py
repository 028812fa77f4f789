# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether Prometheus scrapes with the configuration it has now: its HTTP API (``/api/v1/status/runtimeinfo``,
``/api/v1/targets``), read by promaccess.core.prometheus_targets_wait. Private to promaccess.core: no stable API.

A moved scrape credential is in use once (1) Prometheus loaded a configuration after the one it had before the
move (``lastConfigTime`` later than the one read before, with ``reloadConfigSuccess``: the operator renders the
credential into the configuration, the config reloader reloads it), and (2) every active target of the scrape
pools asked for was scraped after that load and is up. Both times are Prometheus's own clock, so the controller's
clock never matters. ``get(path)`` (the HTTP GET of an API path, returning the decoded JSON) is a parameter, so
the rules are tested without a server; ``clock`` and ``sleep`` too.
"""

from __future__ import annotations

import datetime
import re
import time

RUNTIMEINFO = "api/v1/status/runtimeinfo"
TARGETS = "api/v1/targets?state=active"
_FRACTION = re.compile(r"\.(\d+)")


class TargetsError(Exception):
    """Prometheus's API cannot be read, or the wait ran out. The message names pools and targets, never a
    credential."""


def parse_time(value) -> datetime.datetime | None:
    """An RFC 3339 time as Prometheus writes it (nanoseconds, ``Z``), or None for none or the zero time."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], value.replace("Z", "+00:00"), count=1)
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise TargetsError("Prometheus returned a time that is not RFC 3339: %r" % value[:40]) from None


def _data(answer, what: str) -> dict:
    if not isinstance(answer, dict) or answer.get("status") != "success" or not isinstance(answer.get("data"), dict):
        raise TargetsError("Prometheus's %s did not answer with status success" % what)
    return answer["data"]


def config_state(get) -> dict:
    """``last_config_time`` (the string Prometheus gave) and ``reload_success`` of the running configuration."""
    data = _data(get(RUNTIMEINFO), RUNTIMEINFO)
    return {"last_config_time": data.get("lastConfigTime"), "reload_success": bool(data.get("reloadConfigSuccess"))}


def _selected(pool: str, wanted: list[str]) -> str | None:
    for want in wanted:
        if pool == want or (want.endswith("/") and pool.startswith(want)):
            return want
    return None


def pools_state(get, wanted: list[str], loaded: datetime.datetime | None) -> list[dict]:
    """Per scrape pool asked for (an exact name, or a prefix ending in ``/``), its active targets: how many,
    how many up and scraped after ``loaded`` (the configuration's load time), and the first problem seen."""
    targets = _data(get(TARGETS), TARGETS).get("activeTargets") or []
    rows = {want: {"pool": want, "targets": 0, "ready": 0, "problem": None} for want in wanted}
    for target in targets:
        want = _selected(str(target.get("scrapePool") or ""), wanted)
        if want is None:
            continue
        row = rows[want]
        row["targets"] += 1
        scraped = parse_time(target.get("lastScrape"))
        instance = (target.get("labels") or {}).get("instance") or target.get("scrapeUrl") or "?"
        if target.get("health") != "up":
            problem = "%s is %s: %s" % (instance, target.get("health") or "unknown",
                                        (target.get("lastError") or "no error given")[:200])
        elif scraped is None or (loaded is not None and scraped <= loaded):
            problem = "%s not scraped since the configuration was loaded" % instance
        else:
            row["ready"] += 1
            continue
        row["problem"] = row["problem"] or problem  # the first one
    for row in rows.values():
        if not row["targets"]:
            row["problem"] = "no active target"
    return list(rows.values())


def _missing(get, pools, after, config_after):
    config = config_state(get)
    loaded = parse_time(config["last_config_time"])
    if after is not None and (loaded is None or loaded <= after or not config["reload_success"]):
        return ("Prometheus has not loaded a configuration since %s (last loaded %s, reload %s)"
                % (config_after, config["last_config_time"], "succeeded" if config["reload_success"] else "FAILED"),
                config, [])
    if loaded is not None and "." not in config["last_config_time"]:
        # Whole seconds (Prometheus 2.x): the load may have come up to a second later than the time shown, so
        # only a scrape from the next second on is surely one with the loaded configuration.
        loaded += datetime.timedelta(seconds=1)
    rows = pools_state(get, pools, loaded)
    bad = [r for r in rows if r["problem"]]
    return ("; ".join("%s: %s" % (r["pool"], r["problem"]) for r in bad) if bad else None), config, rows


def wait(get, pools: list[str], config_after: str | None, timeout: float, delay: float,
         clock=time.monotonic, sleep=time.sleep) -> dict:
    """Wait until Prometheus loaded a configuration later than ``config_after`` (when given) and every pool is
    ready (see :func:`pools_state`). Returns the state reached; raises TargetsError at ``timeout`` seconds, naming
    what was still missing."""
    after = parse_time(config_after)
    started = clock()
    while True:
        try:
            missing, config, rows = _missing(get, pools, after, config_after)
        except TargetsError as exc:  # Prometheus restarting or reloading: read again until the timeout
            missing, config, rows = str(exc), {}, []
        waited = round(clock() - started, 1)
        if missing is None:
            return dict(config, pools=rows, waited=waited)
        if clock() - started >= timeout:
            raise TargetsError("after %.0f s: %s" % (waited, missing))
        sleep(delay)
