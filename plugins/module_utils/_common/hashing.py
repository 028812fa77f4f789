# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Password hashing policy. Private to promaccess.core: no stable API, may change without notice."""

from __future__ import annotations

import re
import traceback

PASSLIB_IMPORT_ERROR = None
try:
    # The passlib API, provided by the maintained ``libpass`` distribution (passlib 1.7.4 fails with bcrypt 5).
    from passlib import exc as passlib_exc
    from passlib import hash as passlib_hash
except ImportError:  # pragma: no cover - exercised through missing_required_lib in the modules
    PASSLIB_IMPORT_ERROR = traceback.format_exc()
    passlib_exc = None
    passlib_hash = None

#: Schemes this collection writes. Any scheme below may be read and kept. ``ldap_sha1`` ({SHA}, unsalted SHA-1)
#: is weak and written only for targets that read nothing else (Envoy Gateway's basic auth).
WRITABLE_SCHEMES = ("bcrypt", "sha512_crypt", "apr_md5_crypt", "ldap_sha1")
BCRYPT_MAX_BYTES = 72
BCRYPT_MIN_ROUNDS = 4
BCRYPT_MAX_ROUNDS = 31
SHA512_DEFAULT_ROUNDS = 5000  # what glibc and `htpasswd -5` use; nginx calls crypt() on every request

_BCRYPT_RE = re.compile(r"^\$(2[abxy]?)\$(\d\d)\$[./A-Za-z0-9]{53}$")
_SHA512_RE = re.compile(r"^\$6\$(?:rounds=(\d+)\$)?[^$:]{0,16}\$[./A-Za-z0-9]{86}$")
_SHA256_RE = re.compile(r"^\$5\$(?:rounds=(\d+)\$)?[^$:]{0,16}\$[./A-Za-z0-9]{43}$")
_APR1_RE = re.compile(r"^\$apr1\$[^$:]{0,8}\$[./A-Za-z0-9]{22}$")
_MD5_RE = re.compile(r"^\$1\$[^$:]{0,8}\$[./A-Za-z0-9]{22}$")
_SHA1_RE = re.compile(r"^\{SHA\}[A-Za-z0-9+/]{27}=$")
_DES_RE = re.compile(r"^[./A-Za-z0-9]{13}$")


class HashingError(Exception):
    """A password or hash that cannot be handled. The message never contains the password."""


class HashInfo:
    """What can be told about a stored hash without knowing the password."""

    __slots__ = ("scheme", "cost")

    def __init__(self, scheme: str, cost: int | None = None):
        self.scheme = scheme
        self.cost = cost

    def describe(self) -> str:
        return self.scheme if self.cost is None else "%s (cost %d)" % (self.scheme, self.cost)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "HashInfo(%r, %r)" % (self.scheme, self.cost)


def identify(hashed: str) -> HashInfo:
    """Return the scheme (and cost where it has one) of a stored hash; ``unknown`` when unrecognised."""
    m = _BCRYPT_RE.match(hashed)
    if m:
        return HashInfo("bcrypt", int(m.group(2)))
    m = _SHA512_RE.match(hashed)
    if m:
        return HashInfo("sha512_crypt", int(m.group(1)) if m.group(1) else SHA512_DEFAULT_ROUNDS)
    m = _SHA256_RE.match(hashed)
    if m:
        return HashInfo("sha256_crypt", int(m.group(1)) if m.group(1) else SHA512_DEFAULT_ROUNDS)
    if _APR1_RE.match(hashed):
        return HashInfo("apr_md5_crypt")
    if _MD5_RE.match(hashed):
        return HashInfo("md5_crypt")
    if _SHA1_RE.match(hashed):
        return HashInfo("ldap_sha1")
    if _DES_RE.match(hashed):
        return HashInfo("des_crypt")
    return HashInfo("unknown")


_VERIFIERS = {
    "bcrypt": "bcrypt",
    "sha512_crypt": "sha512_crypt",
    "sha256_crypt": "sha256_crypt",
    "apr_md5_crypt": "apr_md5_crypt",
    "md5_crypt": "md5_crypt",
    "ldap_sha1": "ldap_sha1",
    "des_crypt": "des_crypt",
}


class HashPolicy:
    """The scheme and cost to write, and counters of the expensive operations done under it.

    ``hash_operations`` and ``verify_operations`` count every call that ran a password hash function, so that
    tests and benchmarks can prove that idempotent runs do no bcrypt work.
    """

    def __init__(self, scheme: str = "bcrypt", bcrypt_rounds: int = 12, rehash: str = "never"):
        if scheme not in WRITABLE_SCHEMES:
            raise HashingError(
                "unknown hash scheme %r; supported: %s" % (scheme, ", ".join(WRITABLE_SCHEMES))
            )
        if not BCRYPT_MIN_ROUNDS <= bcrypt_rounds <= BCRYPT_MAX_ROUNDS:
            raise HashingError(
                "bcrypt_rounds must be between %d and %d, got %d"
                % (BCRYPT_MIN_ROUNDS, BCRYPT_MAX_ROUNDS, bcrypt_rounds)
            )
        if rehash not in ("never", "on_policy_change"):
            raise HashingError("rehash must be 'never' or 'on_policy_change', got %r" % (rehash,))
        self.scheme = scheme
        self.bcrypt_rounds = bcrypt_rounds
        self.rehash = rehash
        self.hash_operations = 0
        self.verify_operations = 0

    # -- checks --------------------------------------------------------------------------------------------
    def check_password(self, name: str, password: str) -> None:
        """Refuse passwords the target would mangle. Raises HashingError naming the user, never the password."""
        if password == "":
            raise HashingError("user %r: password must not be empty" % (name,))
        if "\n" in password or "\r" in password:
            raise HashingError("user %r: password must not contain a newline" % (name,))
        if "\x00" in password:
            raise HashingError("user %r: password must not contain a NUL character" % (name,))
        if self.scheme == "bcrypt" and len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
            raise HashingError(
                "user %r: password is %d bytes; bcrypt uses only the first %d bytes and would silently "
                "accept any password sharing them" % (name, len(password.encode("utf-8")), BCRYPT_MAX_BYTES)
            )

    def is_current(self, hashed: str) -> bool:
        """True when a stored hash already follows this policy (scheme, and at least the asked bcrypt cost)."""
        info = identify(hashed)
        if info.scheme != self.scheme:
            return False
        if self.scheme == "bcrypt":
            return (info.cost or 0) >= self.bcrypt_rounds
        return True

    # -- operations ----------------------------------------------------------------------------------------
    def _handler(self, scheme: str):
        ensure_backend(scheme)
        return getattr(passlib_hash, _VERIFIERS[scheme])

    def hash(self, name: str, password: str) -> str:
        """Hash ``password`` under this policy. Counts one hash operation."""
        self.check_password(name, password)
        if self.scheme == "bcrypt":
            handler = self._handler("bcrypt").using(ident="2y", rounds=self.bcrypt_rounds)
        elif self.scheme == "sha512_crypt":
            handler = self._handler("sha512_crypt").using(rounds=SHA512_DEFAULT_ROUNDS)
        elif self.scheme == "ldap_sha1":
            handler = self._handler("ldap_sha1")
        else:
            handler = self._handler("apr_md5_crypt")
        self.hash_operations += 1
        hashed = handler.hash(password)
        if identify(hashed).scheme != self.scheme:
            # Never write what a consumer cannot read (a peer role ships '*0' when bcrypt breaks).
            raise HashingError(
                "user %r: the %s backend produced a malformed hash; refusing to write it" % (name, self.scheme)
            )
        return hashed

    def verify(self, password: str, hashed: str) -> bool | None:
        """Check ``password`` against ``hashed``. None when the scheme cannot be verified here."""
        info = identify(hashed)
        if info.scheme not in _VERIFIERS:
            return None
        handler = self._handler(info.scheme)
        self.verify_operations += 1
        try:
            return bool(handler.verify(password, hashed))
        except ValueError:
            return None


def ensure_backend(scheme: str = "bcrypt") -> None:
    """Raise HashingError with a clear message when passlib or its bcrypt backend cannot be used."""
    if PASSLIB_IMPORT_ERROR is not None:
        raise HashingError("the passlib API is not importable; install the 'libpass' Python distribution")
    if scheme == "bcrypt":
        try:
            passlib_hash.bcrypt.get_backend()
        except passlib_exc.MissingBackendError as exc:
            raise HashingError(
                "no bcrypt backend could be loaded (%s); install the 'bcrypt' Python package "
                "(with 'libpass', not passlib 1.7.4)" % (exc,)
            ) from exc


def check_hash_string(name: str, hashed: str, allowed_schemes: tuple[str, ...] | None = None) -> HashInfo:
    """Validate a caller-supplied ``password_hash``; return its HashInfo."""
    if not hashed or any(c in hashed for c in "\n\r\x00:"):
        raise HashingError("user %r: password_hash is empty or contains ':' or a control character" % (name,))
    info = identify(hashed)
    if allowed_schemes is not None and info.scheme not in allowed_schemes:
        raise HashingError(
            "user %r: password_hash uses scheme %s; this target accepts only %s"
            % (name, info.scheme, ", ".join(allowed_schemes))
        )
    return info
