# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Atomic, never-world-readable file writes for secret-bearing files. Private to promaccess.core."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

DEFAULT_SECRET_MODE = "0640"


class FileWriteError(Exception):
    """A file could not be read or written; the message names the path and the cause."""


def read_file(path: str) -> bytes | None:
    """Content of ``path``, or None when it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileWriteError("cannot read %s: %s" % (path, exc.strerror or exc)) from exc


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@contextlib.contextmanager
def staged_file(path: str, content: bytes):
    """Yield the path of a 0600 temporary file holding ``content`` in the directory of ``path``.

    The caller may validate it (``promtool``, ``nginx -t``) and then move it into place; it is removed if it
    is still there when the block ends, so a failed validation leaves the old file untouched.
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(directory):
        raise FileWriteError("cannot write %s: directory %s does not exist" % (path, directory))
    try:
        with _umask(0o077):
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    except OSError as exc:
        raise FileWriteError("cannot write %s: %s" % (path, exc.strerror or exc)) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        yield tmp
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _narrow_existing_mode(path: str, mode) -> None:
    """``atomic_move`` copies the old file's mode onto the new one. When the old file is looser than wanted
    (say 0644 for a wanted 0640), narrow it first to what both allow, so the new content is never readable
    more widely than asked; readers the wanted mode allows keep reading."""
    if not isinstance(mode, int):
        try:
            mode = int(str(mode), 8)
        except (TypeError, ValueError):
            return  # symbolic or no mode: set_fs_attributes_if_different applies it after the move
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        os.chmod(path, current & mode)


def install_file(module, staged: str, path: str, file_args: dict) -> None:
    """Move a staged file over ``path`` atomically and apply ownership and mode.

    The staged file gets its final owner and mode before the rename, and the rename happens under umask 077,
    so the secret is never readable by others, not even for a moment (``atomic_move`` alone makes a new file
    ``0666 & ~umask`` first).
    """
    staged_args = dict(file_args, path=staged)
    module.set_fs_attributes_if_different(staged_args, False)
    _narrow_existing_mode(path, file_args.get("mode"))
    with _umask(0o077):
        module.atomic_move(staged, path, unsafe_writes=module.params.get("unsafe_writes", False))
