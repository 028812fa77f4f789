"""module_utils/_prometheus/targets: when a moved scrape credential is in use, from answers shaped as Prometheus's
HTTP API gives them (the shapes checked against a real Prometheus in tests/integration/test_prometheus_targets_wait.py)."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._prometheus.targets import (
    RUNTIMEINFO,
    TARGETS,
    TargetsError,
    parse_time,
    wait,
)

BEFORE = "2026-12-03T04:00:00.123456789Z"
LOADED = "2026-12-03T04:00:05.5Z"


def target(pool, health="up", last_scrape="2026-12-03T04:00:07.000000001Z", instance="10.0.0.1:9100", error=""):
    return {"scrapePool": pool, "health": health, "lastScrape": last_scrape, "lastError": error,
            "labels": {"instance": instance}, "scrapeUrl": "http://%s/metrics" % instance}


class Prometheus:
    """Answers in turn: each round (a read of the runtime information, then maybe of the targets) takes the next
    state; the last one repeats."""

    def __init__(self, *states):
        self.states = list(states)
        self.rounds = 0

    def get(self, path):
        if path == RUNTIMEINFO:
            self.rounds += 1
        state = self.states[min(self.rounds - 1, len(self.states) - 1)]
        if isinstance(state, Exception):
            raise state
        config, targets = state
        if path == RUNTIMEINFO:
            return {"status": "success", "data": {"lastConfigTime": config, "reloadConfigSuccess": True}}
        assert path == TARGETS
        return {"status": "success", "data": {"activeTargets": targets, "droppedTargets": []}}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run(prometheus, pools, after=BEFORE, timeout=10):
    clock = Clock()
    return wait(prometheus.get, pools, after, timeout, 1, clock=clock, sleep=clock.sleep)


def test_times_with_nanoseconds_and_the_zero_time():
    assert parse_time("2026-12-03T04:00:00.123456789Z") < parse_time("2026-12-03T04:00:00.1234571Z")
    assert parse_time("0001-01-01T00:00:00Z") is None and parse_time("") is None
    with pytest.raises(TargetsError, match="not RFC 3339"):
        parse_time("yesterday")


def test_ready_once_reloaded_and_every_target_scraped_up_after_the_load():
    pools = ["serviceMonitor/apps/exporter/"]
    prometheus = Prometheus(
        (BEFORE, [target("serviceMonitor/apps/exporter/0")]),  # not reloaded yet
        (LOADED, [target("serviceMonitor/apps/exporter/0", last_scrape="2026-12-03T04:00:05.4Z")]),  # scraped before
        (LOADED, [target("serviceMonitor/apps/exporter/0"), target("serviceMonitor/apps/exporter/1", health="down",
                                                                   error="server returned HTTP status 401")]),
        (LOADED, [target("serviceMonitor/apps/exporter/0"), target("serviceMonitor/apps/exporter/1"),
                  target("serviceMonitor/other/x/0", health="down")]),  # another pool: not ours
    )
    out = run(prometheus, pools)
    assert out["last_config_time"] == LOADED and out["reload_success"] is True
    assert out["pools"] == [{"pool": "serviceMonitor/apps/exporter/", "targets": 2, "ready": 2, "problem": None}]
    assert out["waited"] == 3


@pytest.mark.parametrize("state, message", [
    ((BEFORE, [target("p")]), "Prometheus has not loaded a configuration since %s" % BEFORE),
    ((LOADED, []), "p: no active target"),
    ((LOADED, [target("p", health="down", error="server returned HTTP status 401 Unauthorized")]),
     "p: 10.0.0.1:9100 is down: server returned HTTP status 401 Unauthorized"),
    ((LOADED, [target("p", last_scrape=LOADED)]), "p: 10.0.0.1:9100 not scraped since the configuration was loaded"),
    ((LOADED, [target("p", health="unknown", last_scrape="0001-01-01T00:00:00Z")]), "p: 10.0.0.1:9100 is unknown"),
])
def test_a_timeout_is_an_error_naming_what_is_missing(state, message):
    with pytest.raises(TargetsError, match="after 10 s: " + message.replace("(", r"\(")):
        run(Prometheus(state), ["p"])


def test_a_failed_reload_is_not_a_load():
    class Failed(Prometheus):
        def get(self, path):
            out = super().get(path)
            if path == RUNTIMEINFO:
                out["data"]["reloadConfigSuccess"] = False
            return out

    with pytest.raises(TargetsError, match="reload FAILED"):
        run(Failed((LOADED, [target("p")])), ["p"])


def test_unreadable_answers_are_read_again_until_the_timeout():
    prometheus = Prometheus(TargetsError("cannot read: connection refused"), (LOADED, [target("p")]))
    assert run(prometheus, ["p"])["pools"][0]["ready"] == 1
    with pytest.raises(TargetsError, match="connection refused"):
        run(Prometheus(TargetsError("cannot read: connection refused")), ["p"])


def test_without_pools_or_a_time_it_only_reads_the_configuration():
    out = run(Prometheus((LOADED, [])), [], after=None)
    assert out == {"last_config_time": LOADED, "reload_success": True, "pools": [], "waited": 0}


def test_a_load_time_in_whole_seconds_counts_scrapes_from_the_next_second():
    """Prometheus 2.x gives lastConfigTime in whole seconds: a scrape 0.5 s after the time shown may still be one
    of the configuration before."""
    early = (LOADED.replace(".5Z", "Z"), [target("p", last_scrape="2026-12-03T04:00:05.9Z")])
    later = (LOADED.replace(".5Z", "Z"), [target("p", last_scrape="2026-12-03T04:00:06.1Z")])
    with pytest.raises(TargetsError, match="not scraped since the configuration was loaded"):
        run(Prometheus(early), ["p"])
    assert run(Prometheus(early, later), ["p"])["pools"][0]["ready"] == 1
