# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Basic-auth user sets as the Secret data each Kubernetes consumer reads. Private to promaccess.core.

Plain Python: every function here works on decoded Secret data (key -> text), never on base64 and never on
the API. ``parse`` returns a document (what must be kept on rewrite) and the ordered user map (name -> hash)
that ``_common/users.reconcile`` works on; ``render`` turns them back into the complete new Secret data.
"""

from __future__ import annotations

import re

from ansible_collections.promaccess.core.plugins.module_utils._common import web_yml
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import identify
from ansible_collections.promaccess.core.plugins.module_utils._host_files.htpasswd import HtpasswdError, HtpasswdFile

#: What the Kubernetes API accepts as a key of a Secret's data.
SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
SECRET_KEY_MAX = 253

OPAQUE = "Opaque"


class AuthFormatError(Exception):
    """Secret data that cannot be read or written in a format. Messages name keys and users, never hashes."""


class SecretFormat:
    """One consumer's view of a basic-auth Secret."""

    #: The value of the module's ``format`` option.
    name = ""
    #: Who reads the Secret, for messages.
    consumer = ""
    #: The Secret ``type`` the consumer demands (immutable once the Secret exists).
    secret_type = OPAQUE
    #: The scheme new hashes are written in.
    scheme = "bcrypt"
    #: The schemes the consumer can check; None for any crypt() scheme.
    allowed_hash_schemes: tuple[str, ...] | None = None
    #: Why other schemes are refused, appended to refusal messages.
    refusal_reason = ""

    def parse(self, data: dict[str, str]):
        """Return (document, users) from decoded Secret data."""
        raise NotImplementedError

    def render(self, document, users: dict[str, str]) -> dict[str, str]:
        """Return the complete decoded Secret data holding ``users`` (name -> hash, in order)."""
        raise NotImplementedError

    # -- checks shared by all formats --------------------------------------------------------------------
    def check_wanted(self, wanted: list[dict]) -> None:
        """Refuse a given password_hash the consumer cannot read, saying why (before any hashing)."""
        if self.allowed_hash_schemes is None:
            return
        for user in wanted or []:
            if not isinstance(user, dict) or user.get("state", "present") == "absent":
                continue
            hashed = user.get("password_hash")
            if hashed is None:
                continue
            scheme = identify(hashed).scheme
            if scheme not in self.allowed_hash_schemes:
                raise AuthFormatError(
                    "user %r: password_hash uses scheme %s, which %s cannot check; it accepts only %s. %s"
                    % (
                        user.get("name"),
                        scheme,
                        self.consumer,
                        ", ".join(self.allowed_hash_schemes),
                        self.refusal_reason,
                    )
                )

    def unreadable_users(self, users: dict[str, str]) -> list[str]:
        """Users whose stored hash the consumer cannot check (kept as they are, but worth a warning)."""
        if self.allowed_hash_schemes is None:
            return []
        return [n for n, h in users.items() if identify(h).scheme not in self.allowed_hash_schemes]


class HtpasswdKeyFormat(SecretFormat):
    """htpasswd lines (``name:hash``) under one key; other keys of the Secret are kept."""

    def __init__(self, name, consumer, key, secret_type=OPAQUE, scheme="bcrypt", allowed=None, reason=""):
        self.name = name
        self.consumer = consumer
        self.key = key
        self.secret_type = secret_type
        self.scheme = scheme
        self.allowed_hash_schemes = allowed
        self.refusal_reason = reason

    def parse(self, data):
        text = (data or {}).get(self.key, "")
        try:
            document = HtpasswdFile.parse(text)
        except HtpasswdError as exc:
            raise AuthFormatError("key %r: %s" % (self.key, exc)) from exc
        duplicates = document.duplicates()
        if duplicates:
            raise AuthFormatError(
                "key %r lists user(s) %s more than once; remove the duplicates first"
                % (self.key, ", ".join(repr(n) for n in sorted(duplicates)))
            )
        return (dict(data or {}), document), document.users()

    def render(self, document, users):
        data, htpasswd = document
        out = dict(data)
        out[self.key] = htpasswd.render(users)
        return out


class AuthMapFormat(SecretFormat):
    """ingress-nginx ``auth-secret-type: auth-map``: one key per user, its value the hash.

    Kubernetes keeps the keys of a Secret's data sorted, so the order of users is not kept in this format.
    """

    name = "ingress_nginx_auth_map"
    consumer = "ingress-nginx (auth-secret-type: auth-map)"

    def parse(self, data):
        users = {}
        for key, value in sorted((data or {}).items()):
            value = value.strip()
            if value == "" or any(c in value for c in "\n\r:"):
                raise AuthFormatError("key %r does not hold a single password hash" % (key,))
            users[key] = value
        return None, users

    def render(self, document, users):
        for name in users:
            if not SECRET_KEY_RE.match(name) or len(name) > SECRET_KEY_MAX:
                raise AuthFormatError(
                    "user %r cannot be a key of a Secret (only letters, digits, '-', '_' and '.'); "
                    "use the ingress_nginx_auth_file format for this user name" % (name,)
                )
        return dict(users)


class WebConfigFormat(SecretFormat):
    """Prometheus's own ``--web.config.file`` (exporter-toolkit), as a Secret key; bcrypt only."""

    name = "prometheus_web_config"
    consumer = "Prometheus (--web.config.file)"
    scheme = "bcrypt"
    allowed_hash_schemes = ("bcrypt",)
    refusal_reason = "The exporter-toolkit web configuration checks basic_auth_users only against bcrypt hashes."
    key = "web.yml"

    def parse(self, data):
        text = (data or {}).get(self.key, "")
        try:
            document, users = web_yml.parse(text)
        except web_yml.WebConfigError as exc:
            raise AuthFormatError("key %r %s" % (self.key, exc)) from exc
        return (dict(data or {}), document), users

    def render(self, document, users):
        data, web = document
        if not users:
            raise AuthFormatError(
                "key %r would be left with no basic_auth_users, which turns authentication off in Prometheus; "
                "remove the Secret (state=absent) or keep at least one user" % (self.key,)
            )
        out = dict(data)
        out[self.key] = web_yml.render(web, users)
        return out


ENVOY_REASON = (
    "Envoy Gateway's basic auth reads .htpasswd with SHA-1 ({SHA}) hashes only and rejects every other "
    "scheme, so a bcrypt hash there would lock the user out. {SHA} is unsalted SHA-1, weak against offline "
    "guessing: keep this Secret's RBAC tight and use long random passwords."
)

FORMATS: dict[str, SecretFormat] = {
    f.name: f
    for f in (
        HtpasswdKeyFormat("ingress_nginx_auth_file", "ingress-nginx (auth-secret-type: auth-file)", "auth"),
        AuthMapFormat(),
        HtpasswdKeyFormat(
            "nginx_ingress_htpasswd",
            "F5 NGINX Ingress Controller (nginx.org/basic-auth-secret)",
            "htpasswd",
            secret_type="nginx.org/htpasswd",
        ),
        HtpasswdKeyFormat(
            "envoy_gateway",
            "Envoy Gateway (SecurityPolicy basicAuth)",
            ".htpasswd",
            scheme="ldap_sha1",
            allowed=("ldap_sha1",),
            reason=ENVOY_REASON,
        ),
        HtpasswdKeyFormat(
            "traefik",
            "Traefik (BasicAuth middleware)",
            "users",
            allowed=("bcrypt", "apr_md5_crypt", "ldap_sha1"),
            reason="Traefik checks htpasswd users only against bcrypt, MD5 (apr1) and SHA-1 hashes.",
        ),
        WebConfigFormat(),
    )
}

FORMAT_NAMES = list(FORMATS)


def get_format(name: str) -> SecretFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise AuthFormatError("unknown format %r; known: %s" % (name, ", ".join(FORMAT_NAMES))) from None


def check_secret_type(fmt: SecretFormat, current_type: str | None) -> None:
    """A Secret's type cannot be changed; refuse to manage one of another type than the consumer needs."""
    current = current_type or OPAQUE
    if current != fmt.secret_type:
        raise AuthFormatError(
            "the Secret has type %r but %s needs type %r; a Secret's type cannot be changed in place, "
            "so delete it first (state=absent) or choose another name" % (current, fmt.consumer, fmt.secret_type)
        )
