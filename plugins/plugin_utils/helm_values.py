# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The values a helm upgrade gets from the operator's values files, plain or sops-encrypted, merged as Helm merges
its ``--values`` files. Private to promaccess.core: no stable API."""

from __future__ import annotations

import yaml

from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import SAFE_LOADER
from ansible_collections.promaccess.core.plugins.module_utils._store.sops import Sops, SopsError, sops_metadata


class ValuesFileError(ValueError):
    """A values file that cannot be read, parsed or decrypted. The message names the file, never a value."""


def merge(base: dict, override: dict) -> dict:
    """``override`` over ``base`` the way Helm merges two ``--values`` files: mappings are merged key by key,
    recursively; any other value (a list, a string, a null) replaces the earlier one. A null is kept: Helm then
    drops the chart's default for that key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_values(path: str, sops_factory) -> dict:
    """One values file as a mapping: a sops file is decrypted in memory (``sops_factory(path)`` gives the
    :class:`Sops` to use), its ``sops`` metadata dropped."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ValuesFileError("values file %s cannot be read: %s" % (path, exc.strerror)) from None
    if sops_metadata(raw) is not None:
        try:
            raw = sops_factory(path).decrypt(path, "values file %s" % path)
        except SopsError as exc:
            raise ValuesFileError(str(exc)) from None
    try:
        document = yaml.load(raw.decode("utf-8"), Loader=SAFE_LOADER)  # nosec B506 - a safe loader
    except (UnicodeDecodeError, yaml.YAMLError):
        raise ValuesFileError("values file %s is not valid YAML" % path) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ValuesFileError("values file %s does not hold a mapping at its top" % path)
    document.pop("sops", None)
    return document


def release_values(paths, identity: str | None, runner, binary: str | None = None, config: str | None = None) -> dict:
    """Every file of ``paths`` read and merged in order, the last one winning."""
    def factory(path):
        if not identity:
            raise SopsError("values file %s is a sops file: give the operator identity that decrypts it" % path)
        return Sops(identity, runner, binary, config, subject="values file %s" % path)

    out: dict = {}
    for path in paths:
        out = merge(out, read_values(path, factory))
    return out
