"""Unit tests of the access-log evidence: when each credential was last accepted, never which name."""

from __future__ import annotations

import datetime
import os
import pathlib

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._audit import access_log
from ansible_collections.promaccess.core.plugins.module_utils._common import times
from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import audit_users, usage

UTC = datetime.timezone.utc
OLD = "o" * 64
NEW = "n" * 64


def line(user, when, status=200, addr="203.0.113.7"):
    return '%s - %s [%s] "GET /prometheus/api/v1/query?query=up HTTP/1.1" %d 612 "-" "curl/7.88.1"\n' % (
        addr, user, when, status)


def test_time_local_with_offsets():
    assert access_log.parse_time("03/Dec/2026:19:54:10 +0000") == datetime.datetime(2026, 12, 3, 19, 54, 10, tzinfo=UTC)
    assert access_log.parse_time("03/Dec/2026:20:54:10 +0100") == datetime.datetime(2026, 12, 3, 19, 54, 10, tzinfo=UTC)
    assert access_log.parse_time("03/Dec/2026:14:24:10 -0530") == datetime.datetime(2026, 12, 3, 19, 54, 10, tzinfo=UTC)
    assert access_log.parse_time("31/Feb/2026:00:00:00 +0000") is None
    assert access_log.parse_time("03/Dez/2026:00:00:00 +0000") is None


def test_a_401_is_not_a_use_and_the_newest_time_wins(tmp_path):
    log = tmp_path / "promaccess.access.log"
    log.write_text(
        line(OLD, "03/Dec/2026:10:00:00 +0000")
        + line(OLD, "03/Dec/2026:11:00:00 +0000", status=401)
        + line("-", "03/Dec/2026:11:30:00 +0000", status=401)
        + line(NEW, "03/Dec/2026:12:00:00 +0000", status=404)
        + "a torn line\n"
        + line("someone else", "03/Dec/2026:09:00:00 +0000")
    )
    found = access_log.last_seen(str(log), [OLD, NEW, "never"])
    assert found["seen"] == {OLD: datetime.datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
                             NEW: datetime.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)}
    assert found["since"] == datetime.datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert found["lines"] == 6 and found["exists"]


def test_the_rotated_log_extends_the_evidence_back(tmp_path):
    log = tmp_path / "a.log"
    (tmp_path / "a.log.1").write_text(line(OLD, "01/Dec/2026:08:00:00 +0000"))
    log.write_text(line(NEW, "02/Dec/2026:08:00:00 +0000"))
    found = access_log.last_seen(str(log), [OLD, NEW])
    assert found["since"] == datetime.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert set(found["seen"]) == {OLD, NEW}


def test_an_empty_log_reaches_back_to_its_modification_time(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("")
    os.utime(log, (1764547200, 1764547200))  # 2025-12-01T00:00:00Z
    found = access_log.last_seen(str(log), [OLD])
    assert times.iso(found["since"]) == "2025-12-01T00:00:00Z" and found["seen"] == {}


def test_a_given_name_with_spaces_is_found(tmp_path):
    log = tmp_path / "a.log"
    log.write_text(line("ops team", "03/Dec/2026:10:00:00 +0000"))
    assert access_log.last_seen(str(log), ["ops team"])["seen"]


def test_usage_reports_times_per_grant_and_no_name(tmp_path):
    log = tmp_path / "a.log"
    log.write_text(line(OLD, "03/Dec/2026:10:00:00 +0000"))
    expected = [{"grant": "team-a", "role": "current", "name": OLD}, {"grant": "team-a", "role": "pending", "name": NEW}]
    rows = audit_users({OLD: "$apr1$x$y", NEW: "$apr1$x$z"}, expected)["expected"]
    facts = usage(str(log), expected, rows)
    assert [r["last_seen"] for r in rows] == ["2026-12-03T10:00:00Z", None]
    assert facts == {"path": str(log), "exists": True, "since": "2026-12-03T10:00:00Z", "lines": 1, "error": None}
    assert OLD not in repr(rows) + repr(facts) and NEW not in repr(rows) + repr(facts)


def test_a_missing_log_is_an_error_the_decision_sees(tmp_path):
    expected = [{"grant": "team-a", "role": "current", "name": OLD}]
    rows = audit_users({}, expected)["expected"]
    facts = usage(str(tmp_path / "none.log"), expected, rows)
    assert facts["exists"] is False and "does not exist" in facts["error"] and rows[0]["last_seen"] is None


def test_a_log_that_cannot_be_read_is_an_error(tmp_path):
    """A directory in the log's place: open() fails for root too (the tests run as root)."""
    log = tmp_path / "a.log"
    log.mkdir()
    with pytest.raises(access_log.AccessLogError, match="cannot be read"):
        access_log.last_seen(str(log), [OLD])
    expected = [{"grant": "team-a", "role": "current", "name": OLD}]
    rows = audit_users({}, expected)["expected"]
    assert "cannot be read" in usage(str(log), expected, rows)["error"]


def test_the_playbooks_own_checks_are_not_use(tmp_path):
    log = tmp_path / "a.log"
    log.write_text(
        '127.0.0.1 - %s [03/Dec/2026:10:00:00 +0000] "GET /p/api/v1/status/buildinfo HTTP/1.1" 200 9 "-" "%s"\n'
        % (OLD, access_log.VERIFY_AGENT)
    )
    found = access_log.last_seen(str(log), [OLD])
    assert found["seen"] == {} and found["since"] is not None


def test_the_verify_agent_is_the_one_the_playbooks_send():
    role_vars = pathlib.Path(__file__).resolve().parents[5] / "roles/_provision/vars/main.yml"
    assert yaml.safe_load(role_vars.read_text())["_promaccess_verify_agent"] == access_log.VERIFY_AGENT
