"""Unit tests of the grace-period decision: when a rotated grant's old credential may be retired."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._store import grace

UTC = datetime.timezone.utc
HANDED = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
UNTIL = HANDED + datetime.timedelta(days=7)
QUIET = 3600


def at(hours: float) -> datetime.datetime:
    return HANDED + datetime.timedelta(hours=hours)


def iso(stamp):
    return grace.iso(stamp)


def host(name="prom-1", kept=True, error=None, since=HANDED - datetime.timedelta(days=1), old=None, new=None):
    return {"host": name, "kept": kept, "error": error, "since": iso(since) if since else None,
            "old_seen": iso(old) if old else None, "new_seen": iso(new) if new else None}


def decide(now, evidence, until=UNTIL, handed=HANDED, quiet=QUIET):
    return grace.decide(now, iso(handed) if handed else None, iso(until) if until else None, evidence, quiet)


@pytest.mark.parametrize("value, seconds", [
    (7, 7 * 86400), (0, 0), ("7", 7 * 86400), ("7d", 7 * 86400), ("12h", 43200), ("30m", 1800), ("90s", 90),
    ("2w", 14 * 86400), (" 5 d ", 5 * 86400),
])
def test_durations(value, seconds):
    assert grace.duration(value, "promaccess_rotate_grace") == seconds


@pytest.mark.parametrize("value", [-1, "-1d", "7y", "", "1.5d", True, None, [7]])
def test_bad_durations_are_refused_naming_the_setting(value):
    with pytest.raises(grace.GraceError, match="promaccess_rotate_grace"):
        grace.duration(value, "promaccess_rotate_grace")


def test_no_grace_recorded_retires_as_before():
    assert decide(at(0), [], until=None) == {"retire": True, "reason": "no_grace", "detail": "no grace period recorded"}


def test_deadline_exactly_now_retires():
    out = decide(UNTIL, [host(old=UNTIL)])
    assert out["retire"] and out["reason"] == "deadline"


def test_one_second_before_the_deadline_a_user_of_the_old_credential_keeps_it():
    out = decide(UNTIL - datetime.timedelta(seconds=1), [host(old=UNTIL - datetime.timedelta(seconds=2), new=at(1))])
    assert not out["retire"] and out["reason"] == "in_grace"
    assert "old credential was used at" in out["detail"] and "prom-1" in out["detail"]


def test_silence_on_every_host_with_the_new_one_in_use_retires_early():
    evidence = [host("prom-1", old=at(0.5), new=at(0.6)), host("prom-2", old=None, new=None), host("native", kept=False)]
    out = decide(at(2), evidence)
    assert out["retire"] and out["reason"] == "silent"


def test_old_credential_used_within_the_quiet_time_on_one_host_waits():
    evidence = [host("prom-1", new=at(0.6)), host("prom-2", old=at(1.5))]
    out = decide(at(2), evidence)
    assert not out["retire"] and "prom-2" in out["detail"]


def test_use_exactly_at_the_start_of_the_quiet_time_counts_as_use():
    out = decide(at(2), [host(old=at(1), new=at(1.5))])
    assert not out["retire"]
    out = decide(at(2), [host(old=at(1) - datetime.timedelta(seconds=1), new=at(1.5))])
    assert out["retire"]


def test_quiet_time_not_yet_passed_since_the_hand_off_waits():
    out = decide(at(0.5), [host(new=at(0.1))])
    assert not out["retire"] and "has not passed since the hand-off" in out["detail"]


def test_new_credential_never_used_waits_for_the_deadline():
    out = decide(at(5), [host(old=at(0.2))])
    assert not out["retire"] and out["detail"] == "the new credential has not been used yet"


def test_new_credential_seen_only_before_the_hand_off_does_not_count():
    out = decide(at(5), [host(new=HANDED - datetime.timedelta(seconds=1))])
    assert not out["retire"]


def test_evidence_newer_than_the_hand_off_counts_when_it_covers_the_quiet_time():
    out = decide(at(5), [host(since=at(3), new=at(3.5))])
    assert out["retire"] and out["reason"] == "silent"


def test_evidence_that_begins_inside_the_quiet_time_waits():
    out = decide(at(5), [host(since=at(4.5), new=at(4.6))])
    assert not out["retire"] and "do not reach back" in out["detail"]


def test_a_log_with_no_time_at_all_waits():
    out = decide(at(5), [host(since=None, new=at(4.6))])
    assert not out["retire"]


def test_a_host_whose_log_could_not_be_read_blocks_early_retirement():
    out = decide(at(5), [host("prom-1", new=at(1)), host("prom-2", error="permission denied")])
    assert not out["retire"] and "prom-2" in out["detail"]


def test_without_any_host_keeping_evidence_only_the_deadline_counts():
    out = decide(at(100), [host(kept=False), host("prom-2", kept=False)])
    assert not out["retire"] and iso(UNTIL) in out["detail"]
    assert decide(UNTIL, [host(kept=False)])["retire"]


def test_rotation_due_under_the_maximum_age():
    now = datetime.datetime(2026, 12, 3, tzinfo=UTC)
    assert grace.rotation_due(now, iso(now - datetime.timedelta(days=90)), 90 * 86400)
    assert not grace.rotation_due(now, iso(now - datetime.timedelta(days=89, hours=23)), 90 * 86400)
    assert not grace.rotation_due(now, None, 90 * 86400)
    assert not grace.rotation_due(now, iso(now - datetime.timedelta(days=900)), 0)


def test_due_at_is_the_one_due_date_the_report_and_the_planner_use():
    since = "2026-01-01T00:00:00Z"
    assert grace.due_at(since, 90 * 86400) == datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone.utc)
    assert grace.due_at(since, 0) is None and grace.due_at(since, None) is None and grace.due_at(None, 86400) is None
    with pytest.raises(grace.GraceError):
        grace.due_at("not a time", 86400)
