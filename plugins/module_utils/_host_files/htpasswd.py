# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading and writing Apache htpasswd files, keeping what is not ours. Private to promaccess.core."""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._common.users import shown
from ansible_collections.promaccess.core.plugins.module_utils._host_files.user_file import UserFileBackend, UserFileError


class HtpasswdError(Exception):
    """An htpasswd file that cannot be parsed; the message names the line, never its hash."""


class HtpasswdFile:
    """An htpasswd file as an ordered list of lines.

    Each line is ``("user", name, hash)`` or ``("other", raw)`` for blank lines and ``#`` comments (nginx
    reads the latter). Lines are kept in order; only users we are told to change are touched.
    """

    def __init__(self, lines: list[tuple] | None = None):
        self.lines = lines or []

    @classmethod
    def parse(cls, text: str) -> "HtpasswdFile":
        lines: list[tuple] = []
        first_seen: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if stripped == "" or stripped.startswith("#"):
                lines.append(("other", raw))
                continue
            name, sep, hashed = raw.partition(":")
            if not sep:
                raise HtpasswdError("line %d is malformed: expected 'user:hash'" % number)
            if name == "":
                raise HtpasswdError("line %d is malformed: empty user name" % number)
            if hashed == "":
                raise HtpasswdError("line %d is malformed: user %r has an empty hash" % (number, name))
            lines.append(("user", name, hashed, number))
            first_seen.setdefault(name, number)
        return cls(lines)

    def users(self) -> dict[str, str]:
        """First entry per name (the one nginx and Apache use), in file order."""
        out: dict[str, str] = {}
        for line in self.lines:
            if line[0] == "user" and line[1] not in out:
                out[line[1]] = line[2]
        return out

    def duplicates(self) -> dict[str, list[int]]:
        """Names that appear on more than one line, with their line numbers."""
        where: dict[str, list[int]] = {}
        for line in self.lines:
            if line[0] == "user":
                where.setdefault(line[1], []).append(line[3])
        return {name: numbers for name, numbers in where.items() if len(numbers) > 1}

    def render(self, users: dict[str, str]) -> str:
        """Text of the file holding ``users`` (name -> hash): existing lines keep their place, removed users
        disappear, new users are appended in the order of ``users``."""
        out: list[str] = []
        written = set()
        for line in self.lines:
            if line[0] == "other":
                out.append(line[1])
                continue
            name = line[1]
            if name not in users:
                continue
            if name in written:
                out.append("%s:%s" % (name, line[2]))  # a later duplicate we were not asked about: keep it
                continue
            out.append("%s:%s" % (name, users[name]))
            written.add(name)
        for name, hashed in users.items():
            if name not in written:
                out.append("%s:%s" % (name, hashed))
                written.add(name)
        return "".join(line + "\n" for line in out)


class HtpasswdUsersBackend(UserFileBackend):
    """Backend of promaccess.core.htpasswd_users."""

    def __init__(self, module):
        super().__init__(module)
        self.scheme = module.params["hash_scheme"]

    def parse(self, text):
        try:
            document = HtpasswdFile.parse(text)
        except HtpasswdError as exc:
            raise UserFileError("%s: %s" % (self.path, exc)) from exc
        return document, document.users()

    def check_existing(self, document, wanted):
        duplicates = document.duplicates()
        for user in wanted or []:
            if isinstance(user, dict) and user.get("name") in duplicates:
                raise UserFileError(
                    "%s: user %r appears on lines %s; remove the duplicates first"
                    % (self.path, shown(user["name"], self.labels), ", ".join(str(n) for n in duplicates[user["name"]]))
                )

    def render(self, document, users):
        return document.render(users)
