# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one PyYAML import of the collection, and the YAML reading and writing it serves. Private to promaccess.core.

Every other file takes ``yaml``, ``YAML_IMPORT_ERROR`` and the loader and dumper from here, so a missing PyYAML
is detected in one place and reported by the modules with ``missing_required_lib('PyYAML')``.

ruamel.yaml is imported here too (``RUAMEL_IMPORT_ERROR``), for the files a person keeps in git and a module
edits in place (Helm values): its round trip keeps comments, key order, quotes and indentation.
"""

from __future__ import annotations

import io
import traceback

RUAMEL_IMPORT_ERROR = None
try:
    from ruamel.yaml import YAML as _RoundTripYAML
    from ruamel.yaml.error import YAMLError as RoundTripError
    from ruamel.yaml.scalarstring import LiteralScalarString  # pylint: disable=unused-import  # for _helm
    from ruamel.yaml.util import load_yaml_guess_indent
except ImportError:  # pragma: no cover
    RUAMEL_IMPORT_ERROR = traceback.format_exc()
    _RoundTripYAML = None
    RoundTripError = Exception
    LiteralScalarString = str
    load_yaml_guess_indent = None

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


def key_path_text(keys) -> str:
    """A key path of a YAML document as messages and diffs show it: ``'a' -> 'b.c'`` (keys may hold dots)."""
    return " -> ".join(repr(k) for k in keys)


def dump_document(document) -> str:
    """``document`` as block-style YAML, keys in their order, long lines kept whole (a file a person edits)."""
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)


def load_round_trip(text: str, error=ValueError):
    """The document ``text`` holds, for an edit that keeps comments, order, quotes and indentation, and the
    dumper that writes it back in the same style: ``(document, dumper)``. Raises ``error`` naming only the
    position of a syntax error, never the line itself (it may hold a secret)."""
    dumper = _RoundTripYAML()
    dumper.preserve_quotes = True
    dumper.width = 4096
    try:
        _unused, sequence, offset = load_yaml_guess_indent(text)
        document = dumper.load(text)
    except RoundTripError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = " at line %d" % (mark.line + 1) if mark is not None else ""
        raise error("is not valid YAML%s" % where) from None
    mapping = min((len(line) - len(line.lstrip(" ")) for line in text.splitlines()
                   if line.startswith(" ") and not line.lstrip(" ").startswith(("-", "#")) and line.strip()),
                  default=2)
    offset = offset or 0
    dumper.indent(mapping=mapping, sequence=max(sequence or mapping, offset + 2), offset=offset)
    return document, dumper


def dump_round_trip(document, dumper) -> str:
    """``document`` (from load_round_trip) as text, in the style it was read in."""
    out = io.StringIO()
    dumper.dump(document, out)
    return out.getvalue()
