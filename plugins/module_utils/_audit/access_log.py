# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When each credential was last accepted, from the access log of the nginx location the collection manages.
Private to promaccess.core; runs on the host (promaccess.core.access_info).

nginx_auth writes ``access_log <file> combined;`` into its location, so each line is nginx's ``combined``
format::

    203.0.113.7 - <user> [03/Dec/2026:19:54:10 +0000] "GET /prometheus/api/v1/query HTTP/1.1" 200 ...

``$remote_user`` is the name a client sent, accepted or not: a line counts as a use of that name only when its
status is not 401, and when its user agent is not VERIFY_AGENT (the playbooks' own checks, which would otherwise
make every run look like a use of each credential it checks). The file and its rotated predecessor (``<file>.1``, logrotate's ``delaycompress``) are read;
``since`` is the time of the oldest line read (an empty file: its modification time, when it was created or
emptied), so the caller knows how far back the evidence reaches. The result holds times only: no user name,
address or request leaves this module.
"""

from __future__ import annotations

import datetime
import os
import re

from ansible_collections.promaccess.core.plugins.module_utils._common import times

#: ``$remote_addr - $remote_user [$time_local] "$request" $status``: the user name may hold spaces (a given one).
_LINE = re.compile(r'^\S+ - (?P<user>.*?) \[(?P<time>[^\]]+)\] "(?:[^"\\]|\\.)*" (?P<status>\d{3}) ')
_MONTHS = {m: i + 1 for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                           "Nov", "Dec"))}
_TIME = re.compile(r"^(\d{2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")


#: The User-Agent of the playbooks' own checks (roles/_provision/vars/main.yml: _promaccess_verify_agent).
VERIFY_AGENT = "promaccess.core-verify"
_VERIFY_TAIL = '"%s"' % VERIFY_AGENT


class AccessLogError(Exception):
    """A log that exists but cannot be read. The message names the file, never a line of it."""


def parse_time(text: str) -> datetime.datetime | None:
    """nginx's ``$time_local`` (``03/Dec/2026:19:54:10 +0100``, English month names whatever the locale) as an
    aware UTC datetime; None when it does not parse."""
    match = _TIME.match(text)
    if not match or match.group(2) not in _MONTHS:
        return None
    day, _mon, year, hour, minute, second, sign, off_h, off_m = match.groups()
    offset = datetime.timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    try:
        local = datetime.datetime(int(year), _MONTHS[match.group(2)], int(day), int(hour), int(minute), int(second),
                                  tzinfo=datetime.timezone(offset))
    except ValueError:
        return None
    return local.astimezone(datetime.timezone.utc)


def scan(lines, names: set) -> tuple[dict, datetime.datetime | None, int]:
    """``(last_seen, first, count)``: per name of ``names`` the newest time it was accepted, the oldest time of
    any line, and how many lines were read. Lines that do not parse are skipped (a custom format, a torn write)."""
    last: dict = {}
    first = None
    count = 0
    for line in lines:
        count += 1
        match = _LINE.match(line)
        if not match:
            continue
        stamp = parse_time(match.group("time"))
        if stamp is None:
            continue
        if first is None or stamp < first:
            first = stamp
        user = match.group("user")
        if user not in names or match.group("status") == "401" or line.rstrip().endswith(_VERIFY_TAIL):
            continue
        if user not in last or stamp > last[user]:
            last[user] = stamp
    return last, first, count


def last_seen(path: str, names) -> dict:
    """What the log at ``path`` (and ``path.1``) says of ``names``: ``{exists, since, lines, seen}``, ``seen``
    mapping each name that was accepted to its newest time (aware UTC datetimes; the caller keys the result by
    grant, never by name). Raises AccessLogError when a file exists but cannot be read."""
    wanted = set(names)
    seen: dict = {}
    since = None
    lines = 0
    exists = os.path.exists(path)
    for candidate in (path + ".1", path):
        if not os.path.exists(candidate):
            continue
        try:
            with open(candidate, "r", encoding="utf-8", errors="replace") as handle:
                found, first, count = scan(handle, wanted)
            if count == 0 and candidate == path and since is None:
                first = times.from_timestamp(os.stat(candidate).st_mtime)
        except OSError as exc:
            raise AccessLogError("access log %s cannot be read: %s" % (candidate, exc.strerror or exc)) from None
        lines += count
        if first is not None and (since is None or first < since):
            since = first
        for name, stamp in found.items():
            if name not in seen or stamp > seen[name]:
                seen[name] = stamp
    return {"exists": exists, "since": since, "lines": lines, "seen": seen}
