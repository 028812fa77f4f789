# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading YAML documents that hold a top-level mapping. Private to promaccess.core: no stable API."""

from __future__ import annotations

import traceback

YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:  # pragma: no cover
    YAML_IMPORT_ERROR = traceback.format_exc()
    yaml = None


def load_mapping(text: str, error=ValueError) -> dict:
    """The mapping ``text`` holds ({} for an empty document). Raises ``error`` naming only the position of a
    syntax error, never the line itself (it may hold a secret)."""
    try:
        document = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " at line %d" % (mark.line + 1) if mark is not None else ""
        raise error("is not valid YAML%s" % where) from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise error("must hold a YAML mapping at the top level")
    return document
