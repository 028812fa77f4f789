# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one PyYAML import of the collection, and the YAML reading and writing it serves. Private to promaccess.core.

Every other file takes ``yaml``, ``YAML_IMPORT_ERROR`` and the loader and dumper from here, so a missing PyYAML
is detected in one place and reported by the modules with ``missing_required_lib('PyYAML')``.
"""

from __future__ import annotations

import traceback

YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:  # pragma: no cover
    YAML_IMPORT_ERROR = traceback.format_exc()
    yaml = None

#: libyaml's safe loader and dumper when PyYAML was built with it (about ten times faster on a credential store
#: of hundreds of grants), else the pure-Python ones; both read and write the same YAML.
SAFE_LOADER = getattr(yaml, "CSafeLoader", None) or getattr(yaml, "SafeLoader", None)
SAFE_DUMPER = getattr(yaml, "CSafeDumper", None) or getattr(yaml, "SafeDumper", None)


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


def dump_document(document) -> str:
    """``document`` as block-style YAML, keys in their order, long lines kept whole (a file a person edits)."""
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
