# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of promaccess.core.web_config (``--web.config.file`` on a host). Private to promaccess.core.

The document itself is read and written by ``_common/web_yml.py``, which the Kubernetes format and the
inspections share.
"""

from __future__ import annotations

from ansible_collections.promaccess.core.plugins.module_utils._common.certs import CertificateError, check_server_files
from ansible_collections.promaccess.core.plugins.module_utils._common.promtool import check_staged
from ansible_collections.promaccess.core.plugins.module_utils._common.web_yml import (
    WebConfigError,
    parse,
    render,
    with_headers,
    with_tls,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import YAML_IMPORT_ERROR
from ansible_collections.promaccess.core.plugins.module_utils._host_files.user_file import UserFileBackend, UserFileError


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

    def update_document(self, document):
        """TLS (``tls_server_config``) and response headers (``http_headers``), when given: the certificate is
        checked first (key, dates, client CA), so a file that would stop every handshake is never written."""
        tls, headers = self.module.params.get("tls_server_config"), self.module.params.get("http_headers")
        changed = False
        try:
            if tls is not None:
                try:
                    facts = check_server_files(tls["cert_file"], tls["key_file"], tls.get("client_ca_file"))
                except CertificateError as exc:
                    raise UserFileError("%s was not changed: %s" % (self.path, exc)) from exc
                self.result["certificate"] = facts
                document, tls_changed = with_tls(document, tls)
                self.result["tls_changed"] = tls_changed
                changed = changed or tls_changed
            if headers:
                document, headers_changed = with_headers(document, headers)
                self.result["headers_changed"] = headers_changed
                changed = changed or headers_changed
        except WebConfigError as exc:
            raise UserFileError("%s %s" % (self.path, exc)) from exc
        return document, changed

    def render(self, document, users):
        if not users and not self.module.params["allow_no_users"]:
            raise UserFileError(
                "%s would be left with no basic_auth_users, which turns authentication off; "
                "set allow_no_users=true if that is intended" % self.path
            )
        return render(document, users)

    def validate(self, staged_path):
        check_staged(self.module, "web-config", staged_path, self.path, self.result, UserFileError)
