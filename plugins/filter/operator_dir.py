# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter operator_dir (documented in operator_dir.yml beside): the operator's folder on the controller."""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

#: The root of this collection (plugins/filter/operator_dir.py -> ansible_collections/promaccess/core).
COLLECTION_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def _inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def operator_dir(sources, cwd: str | None = None, collection_dir: str | None = None) -> str:
    """The folder the controller writes the operator's files into by default.

    The folder of the first inventory source on disk (a directory source is that folder, a file source its
    parent) that is not inside this collection, else the current working directory. ``sources`` is
    ``ansible_inventory_sources``; a host list such as ``localhost,`` or a missing default inventory is skipped.
    """
    if sources is None:
        sources = []
    elif isinstance(sources, str):
        sources = [sources]
    elif not isinstance(sources, (list, tuple)):
        raise AnsibleFilterError("operator_dir: expected ansible_inventory_sources, a list of paths")
    collection_dir = collection_dir or COLLECTION_DIR
    for source in sources:
        if not isinstance(source, str) or not source:
            continue
        path = os.path.abspath(os.path.expanduser(str(source)))
        if os.path.isdir(path):
            folder = path
        elif os.path.isfile(path):
            folder = os.path.dirname(path)
        else:
            continue
        if not _inside(folder, collection_dir):
            return folder
    return os.path.abspath(str(cwd) if cwd else os.getcwd())


class FilterModule:
    def filters(self):
        return {"operator_dir": operator_dir}
