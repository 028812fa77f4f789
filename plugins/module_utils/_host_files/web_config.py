# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exporter-toolkit web configuration (``--web.config.file``). Private to promaccess.core."""

from __future__ import annotations

import traceback

from ansible_collections.promaccess.core.plugins.module_utils._host_files.user_file import UserFileBackend, UserFileError
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import load_mapping

YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:  # pragma: no cover
    YAML_IMPORT_ERROR = traceback.format_exc()
    yaml = None

USERS_KEY = "basic_auth_users"


class WebConfigError(Exception):
    """A web configuration that cannot be read or updated."""


def parse(text: str) -> tuple[dict, dict[str, str]]:
    """Return the whole document and its ``basic_auth_users`` map (ordered as in the file)."""
    document = load_mapping(text, WebConfigError)
    users = document.get(USERS_KEY) or {}
    if not isinstance(users, dict):
        raise WebConfigError("%s must be a mapping of user name to bcrypt hash" % USERS_KEY)
    for name, hashed in users.items():
        if not isinstance(name, str) or not isinstance(hashed, str):
            raise WebConfigError("%s entry %r must map a string name to a string hash" % (USERS_KEY, name))
    return document, dict(users)


def render(document: dict, users: dict[str, str]) -> str:
    """The document with its user map replaced; every other key keeps its value and place."""
    out = dict(document)
    out[USERS_KEY] = dict(users)
    return yaml.safe_dump(out, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)


class WebConfigBackend(UserFileBackend):
    """Backend of promaccess.core.web_config: bcrypt only, validated by promtool before it takes effect."""

    allowed_hash_schemes = ("bcrypt",)
    scheme = "bcrypt"

    def parse(self, text):
        if YAML_IMPORT_ERROR is not None:
            raise UserFileError("PyYAML is required to manage %s" % self.path)
        try:
            return parse(text)
        except WebConfigError as exc:
            raise UserFileError("%s %s" % (self.path, exc)) from exc

    def render(self, document, users):
        if not users and not self.module.params["allow_no_users"]:
            raise UserFileError(
                "%s would be left with no basic_auth_users, which turns authentication off; "
                "set allow_no_users=true if that is intended" % self.path
            )
        return render(document, users)

    def promtool(self) -> str | None:
        wanted = self.module.params["promtool"] or "promtool"
        found = self.module.get_bin_path(wanted, required=False)
        if found is None and self.module.params["require_promtool"]:
            raise UserFileError("promtool (%s) was not found and require_promtool=true" % wanted)
        return found

    def validate(self, staged_path):
        promtool = self.promtool()
        if promtool is None:
            self.module.warn("promtool was not found: %s was written without validation" % self.path)
            return
        rc, out, err = self.module.run_command([promtool, "check", "web-config", staged_path])
        self.result["validated"] = rc == 0
        if rc != 0:
            message = (err or out).strip().replace(staged_path, self.path)
            raise UserFileError(
                "promtool check web-config rejected the new %s, which was not written: %s" % (self.path, message)
            )
