"""Unit tests for the one way the collection reads and writes times (_common/times)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._common import times

UTC = datetime.timezone.utc


def test_parse_reads_z_offsets_and_naive_times_as_utc():
    want = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert times.parse("2026-01-02T03:04:05Z") == want
    assert times.parse("2026-01-02T04:04:05+01:00") == want
    assert times.parse("2026-01-02T03:04:05") == want
    assert times.parse(datetime.datetime(2026, 1, 2, 3, 4, 5)) == want
    assert times.parse("2026-01-02T04:04:05+01:00").tzinfo == UTC


@pytest.mark.parametrize("absent", [None, ""])
def test_parse_gives_none_when_absent(absent):
    assert times.parse(absent) is None and times.parse(absent, lenient=True) is None


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00Z", 12])
def test_parse_refuses_what_is_not_a_time_unless_lenient(bad):
    with pytest.raises(times.TimeFormatError, match="not an ISO 8601 time"):
        times.parse(bad)
    assert times.parse(bad, lenient=True) is None


def test_iso_writes_utc_with_z_to_the_second():
    stamp = datetime.datetime(2026, 1, 2, 4, 4, 5, 987654, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert times.iso(stamp) == "2026-01-02T03:04:05Z"
    assert times.iso("2026-01-02T04:04:05+01:00") == "2026-01-02T03:04:05Z"
    assert times.iso(None) is None and times.iso("garbage") is None


def test_now_and_timestamps_are_aware_utc():
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    assert before <= times.now() <= datetime.datetime.now(UTC)
    assert times.now().microsecond == 0
    assert times.now_iso().endswith("Z") and times.parse(times.now_iso()) >= before
    assert times.from_timestamp(0) == datetime.datetime(1970, 1, 1, tzinfo=UTC)
