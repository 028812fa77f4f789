# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
r"""The backend shared by modules that keep a set of users in one local file. Private to promaccess.core.

A backend reads the file, reconciles the wanted users with it, renders the new text, and writes it only when
the users changed, through a staged 0600 file that a subclass may validate first. The file keeps its line
endings: subclasses parse and render text with ``\n`` only, and a file whose lines end in CRLF is read and
written back with CRLF here, in the one place. It uses only
``module.params``, ``module.check_mode``, ``module._diff``, the file helpers of AnsibleModule and
``module.no_log_values`` (through ``hide_labelled_names``, which a stand-in without it skips), so tests can drive
it with a stand-in module. Users with a ``label`` are shown by it in results and the diff, never by name.
"""

from __future__ import annotations

import os

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashingError, HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._common.io import (
    DEFAULT_SECRET_MODE,
    FileWriteError,
    install_file,
    read_file,
    staged_file,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.users import (
    UserError,
    describe_users,
    hide_labelled_names,
    reconcile,
)


class UserFileError(Exception):
    """Anything that stops a user file from being updated; the message never holds a secret."""


def detect_newline(text: str) -> str:
    r"""The line ending of a file's text: ``\r\n`` when most of its line breaks are CRLF, else ``\n``."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def to_lf(text: str, newline: str) -> str:
    r"""``text`` with its ``newline`` line breaks as ``\n``, for a parser that knows only ``\n``."""
    return text.replace(newline, "\n") if newline != "\n" else text


def from_lf(text: str, newline: str) -> str:
    r"""Rendered ``\n`` text with the file's own line breaks."""
    return text.replace("\n", newline) if newline != "\n" else text


class UserFileBackend:
    """Subclasses implement ``parse``, ``render`` and optionally ``validate``."""

    #: Hash schemes the consumer of the file can read; None for any.
    allowed_hash_schemes: tuple[str, ...] | None = None
    scheme = "bcrypt"

    def __init__(self, module):
        self.module = module
        self.path = module.params["path"]
        self.result: dict = {"path": self.path, "changed": False}
        #: name -> label of the labelled users, whose names the module never returns (from here on).
        self.labels = hide_labelled_names(module)

    # -- to be provided by subclasses ----------------------------------------------------------------------
    def parse(self, text: str):
        """Return (document, users) where users is an ordered name -> hash map."""
        raise NotImplementedError

    def render(self, document, users: dict[str, str]) -> str:
        raise NotImplementedError

    def validate(self, staged_path: str) -> None:
        """Raise UserFileError when the staged file must not replace the current one."""

    def check_existing(self, document, wanted: list[dict]) -> None:
        """Raise UserFileError for an existing file the wanted change cannot be applied to."""

    def update_document(self, document):
        """Return (document, changed): the document with the module's settings other than users applied."""
        return document, False

    # -- the shared flow -----------------------------------------------------------------------------------
    def policy(self) -> HashPolicy:
        try:
            return HashPolicy(self.scheme, self.module.params["bcrypt_rounds"], self.module.params["rehash"])
        except HashingError as exc:
            raise UserFileError(str(exc)) from exc

    def file_args(self) -> dict:
        args = self.module.load_file_common_arguments(self.module.params)
        if args.get("mode") is None:
            args["mode"] = DEFAULT_SECRET_MODE
        return args

    def run(self) -> dict:
        policy = self.policy()
        try:
            raw = read_file(self.path)
        except FileWriteError as exc:
            raise UserFileError(str(exc)) from exc
        if raw is None:
            if not self.module.params["create"]:
                raise UserFileError("%s does not exist and create=false" % self.path)
            if os.path.isdir(os.path.dirname(os.path.abspath(self.path))) is False:
                raise UserFileError("cannot create %s: its directory does not exist" % self.path)
        try:
            text = raw.decode("utf-8") if raw is not None else ""
        except UnicodeDecodeError as exc:
            raise UserFileError("%s is not valid UTF-8 text (byte %d)" % (self.path, exc.start)) from exc
        newline = detect_newline(text)
        document, existing = self.parse(to_lf(text, newline))
        wanted = self.module.params["users"]
        self.check_existing(document, wanted)
        try:
            outcome = reconcile(
                existing, wanted, policy, self.module.params["exclusive"], self.allowed_hash_schemes
            )
        except UserError as exc:
            raise UserFileError(str(exc)) from exc

        document, settings_changed = self.update_document(document)
        changed = outcome.changed or settings_changed or raw is None
        self.result.update(outcome.as_result(self.labels))
        self.result["hash_operations"] = policy.hash_operations
        self.result["verify_operations"] = policy.verify_operations
        if self.module._diff:
            self.result["diff"] = {
                "before_header": "%s (users)" % self.path,
                "after_header": "%s (users)" % self.path,
                "before": describe_users(existing, self.labels) if raw is not None else "",
                "after": describe_users(outcome.users, self.labels),
            }
        file_args = self.file_args()
        content = from_lf(self.render(document, outcome.users), newline).encode("utf-8") if changed else None
        if content is not None and not self.module.check_mode:
            try:
                if self.module.params["backup"] and raw is not None:
                    self.result["backup_file"] = self.module.backup_local(self.path)
                with staged_file(self.path, content) as staged:
                    self.validate(staged)
                    install_file(self.module, staged, self.path, file_args)
            except FileWriteError as exc:
                raise UserFileError(str(exc)) from exc
        if raw is not None or not self.module.check_mode:
            changed = self.module.set_fs_attributes_if_different(file_args, changed)
        self.result["changed"] = changed
        return self.result
