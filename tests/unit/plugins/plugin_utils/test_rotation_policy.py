"""Unit tests of the rotation policy as the planner applies it: grace per grant, 'due', evidence per host."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.promaccess.core.plugins.plugin_utils import fleet_plan as fp
from ansible_collections.promaccess.core.plugins.plugin_utils import rotation_policy as rp

from .test_fleet_plan import compact, grant

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_people_get_the_default_grace_scrape_and_internal_none():
    plan = compact([grant("team-a"), grant("team-b", grace="2h"), grant("quick", grace=0),
                    {"name": "exporter", "auth": "scrape"}])
    assert plan["policy"] == {"grace": {"team-a": 7 * 86400, "team-b": 7200}, "quiet": 86400, "max_age": 90 * 86400,
                              "end_grace": []}


def test_run_settings_override_the_defaults():
    plan = compact([grant("team-a"), grant("team-b", grace="1d")],
                   policy_settings={"promaccess_rotate_grace": "90s", "promaccess_rotate_quiet": "20s",
                                    "promaccess_rotate_max_age": 30})
    assert plan["policy"] == {"grace": {"team-a": 90, "team-b": 86400}, "quiet": 20, "max_age": 30 * 86400,
                              "end_grace": []}


def test_the_operator_ends_grace_periods_by_name_or_for_all():
    grants = [grant("team-a"), grant("team-b")]
    assert compact(grants, policy_settings={"promaccess_rotate_end_grace": True})["policy"]["end_grace"] == [
        "team-a", "team-b"]
    assert compact(grants, policy_settings={"promaccess_rotate_end_grace": ["team-b"]})["policy"]["end_grace"] == [
        "team-b"]
    with pytest.raises(fp.PlanError, match="not in the inventory: team-z"):
        compact(grants, policy_settings={"promaccess_rotate_end_grace": ["team-z"]})
    with pytest.raises(fp.PlanError, match="must be true or a list"):
        compact(grants, policy_settings={"promaccess_rotate_end_grace": "yes please"})


@pytest.mark.parametrize("grants, settings, message", [
    ([grant("team-a", grace="soon")], {}, "grant team-a: grace must be a number of days"),
    ([grant("team-a")], {"promaccess_rotate_quiet": "-1"}, "promaccess_rotate_quiet"),
    ([{"name": "exporter", "auth": "scrape", "grace": "1d"}], {}, "a scrape grant has none"),
])
def test_bad_policy_settings_are_refused_before_anything_changes(grants, settings, message):
    with pytest.raises(fp.PlanError, match=message):
        compact(grants, policy_settings=settings)


def store(name, minted_days=0, rotated_days=None, phase=None, status="active"):
    def ago(days):
        return None if days is None else (NOW - datetime.timedelta(days=days)).isoformat().replace("+00:00", "Z")
    return {"grant": name, "status": status, "phase": phase, "minted_at": ago(minted_days),
            "rotated_at": ago(rotated_days)}


def test_due_selects_old_credentials_and_resumes_rotations_in_progress():
    grants = [grant("old"), grant("young"), grant("rotated-lately"), grant("in-grace"), grant("gone")]
    summaries = [store("old", 120), store("young", 10), store("rotated-lately", 400, rotated_days=5),
                 store("in-grace", 200, phase="handed_off"), store("gone", 500, status="revoked"),
                 store("internal.h1", 95), store("internal.h2", 3), store("internal.h3", 89)]
    plan = compact(grants, rotate=["due"], store_grants=summaries, now=NOW)
    assert plan["due"] == {"due": ["internal.h1", "old"], "resume": ["in-grace"]}
    assert plan["rotating"] == ["in-grace", "internal.h1", "old"]


def test_due_with_nothing_due_rotates_nothing():
    plan = compact([grant("young")], rotate=["due"], store_grants=[store("young", 1)], now=NOW)
    assert plan["rotating"] == []


def test_one_retire_list_for_both_playbooks():
    """provision_access retires the grants in their grace period; a rotation also the grants it rotates, and
    still those of other grants whose grace period may have ended."""
    grants = [grant("team-a"), grant("team-b"), grant("team-c")]
    summaries = [store("team-a", 100, phase="handed_off"), store("team-b", 10), store("team-c", 10),
                 store("gone", 10, phase="handed_off", status="revoked")]
    assert compact(grants, store_grants=summaries, now=NOW)["retire"] == ["team-a"]
    rotating = compact(grants, rotate=["team-b"], store_grants=summaries, now=NOW)
    assert rotating["rotating"] == ["team-b"] and rotating["retire"] == ["team-b", "team-a"]
    assert compact(grants, rotate=["team-a"], store_grants=summaries, now=NOW)["retire"] == ["team-a"]
    assert compact(grants, store_grants=[store("team-a", 1)], now=NOW)["retire"] == []


def test_due_stands_alone():
    with pytest.raises(fp.PlanError, match="name no other grant beside it"):
        compact([grant("a")], rotate=["due", "a"], store_grants=[], now=NOW)


def test_evidence_per_host_nginx_keeps_it_native_does_not_a_silent_host_blocks():
    hosts = {"h1": {"promaccess_modes": ["nginx"]}, "h2": {"promaccess_modes": ["native"]},
             "h3": {"promaccess_modes": ["native", "nginx"]}}
    plan = compact([grant("team-a")], hosts=hosts)
    parts = {h: fp.host_part(plan, h) for h in plan["hosts"]}
    seen = {"kept": True, "error": None, "since": "2026-12-01T00:00:00Z", "old_seen": None,
            "new_seen": "2026-12-03T10:00:00Z"}
    out = rp.fleet_evidence(plan, parts, {"h1": {"team-a": seen}, "h3": None}, ["team-a"])
    assert out == {"team-a": [
        dict(seen, host="h1"),
        {"host": "h2", "kept": False},
        {"host": "h3", "kept": True, "error": "no evidence reported in this run"},
    ]}


def test_a_host_without_an_access_log_keeps_no_evidence():
    hosts = {"h1": {"promaccess_modes": ["nginx"], "promaccess_nginx_access_log": ""}}
    plan = compact([grant("team-a")], hosts=hosts)
    out = rp.fleet_evidence(plan, {"h1": fp.host_part(plan, "h1")}, {}, ["team-a"])
    assert out == {"team-a": [{"host": "h1", "kept": False}]}


def test_host_evidence_from_access_info_keys_by_grant_and_role():
    result = {"access_log": {"path": "/l", "exists": True, "since": "2026-12-01T00:00:00Z", "lines": 9, "error": None},
              "expected": [{"grant": "team-a", "role": "current", "last_seen": "2026-12-02T00:00:00Z"},
                           {"grant": "team-a", "role": "pending", "last_seen": None}]}
    assert rp.host_evidence(result) == {"team-a": {"kept": True, "error": None, "since": "2026-12-01T00:00:00Z",
                                                   "old_seen": "2026-12-02T00:00:00Z", "new_seen": None}}


def test_evidence_users_only_for_grants_in_their_grace_period():
    valid = [{"role": "current", "username": "old"}, {"role": "pending", "username": "new"}]
    views = {"a": {"phase": "handed_off", "valid": valid},
             "b": {"phase": None, "valid": [{"role": "current", "username": "x"}]}}
    assert rp.evidence_users(views, ["a", "b"]) == [{"grant": "a", "role": "current", "name": "old"},
                                                    {"grant": "a", "role": "pending", "name": "new"}]
