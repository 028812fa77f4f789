# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Times as the collection writes them: ISO 8601 in UTC with a ``Z`` suffix, to the second
(``2026-01-02T03:04:05Z``). Private to promaccess.core: no stable API.

The credential store, the rotation's grace period, the access log evidence and the access report all read and
write times through these helpers, so the store and the report agree on the format.
"""

from __future__ import annotations

import datetime


class TimeFormatError(ValueError):
    """A value that should be an ISO 8601 time and is not. The message quotes the value (a time, never a secret)."""


def parse(value, lenient: bool = False) -> datetime.datetime | None:
    """``value`` (an ISO 8601 string, or a datetime) as an aware UTC datetime; None when absent (None or "").

    A time without an offset is taken as UTC. An unreadable value raises :class:`TimeFormatError`, or gives
    None with ``lenient`` (for reports that show what the store holds rather than refuse it)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        stamp = value
    elif lenient and not isinstance(value, str):
        return None
    else:
        try:
            stamp = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            if lenient:
                return None
            raise TimeFormatError("%r is not an ISO 8601 time" % (value,)) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.astimezone(datetime.timezone.utc)


def iso(value) -> str | None:
    """A datetime, or an ISO 8601 string, written the collection's way; None when absent or unreadable."""
    stamp = parse(value, lenient=True)
    if stamp is None:
        return None
    return stamp.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def now() -> datetime.datetime:
    """The current time in UTC, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def now_iso() -> str:
    """The current time written the collection's way."""
    return iso(now())


def from_timestamp(timestamp: float) -> datetime.datetime:
    """A POSIX timestamp (a file's mtime) as an aware UTC datetime."""
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
