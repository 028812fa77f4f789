# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one rule for grant names. Private to promaccess.core: no stable API.

A grant name becomes a folder of the hand-off directory, a key of the credential store and part of log labels,
so it is kept to letters, digits, '.', '_' and '-', starting with a letter or digit. The playbooks' planner, the
credential store and the hand-off all call :func:`check_grant_name`.
"""

from __future__ import annotations

import re

GRANT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
GRANT_NAME_RE = re.compile(GRANT_NAME_PATTERN)
GRANT_NAME_MAX = 128
GRANT_NAME_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most %d characters" % (
    GRANT_NAME_MAX
)


def grant_name_problem(name) -> str | None:
    """Why ``name`` is not a valid grant name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "a grant name must be a non-empty string (got %r)" % (name,)
    if len(name) > GRANT_NAME_MAX or not GRANT_NAME_RE.match(name):
        return "grant name %r must be %s" % (name[:40], GRANT_NAME_RULE)
    return None


def check_grant_name(name, error=ValueError) -> str:
    """Return ``name`` when it is a valid grant name, else raise ``error`` saying why."""
    problem = grant_name_problem(name)
    if problem:
        raise error(problem)
    return name
