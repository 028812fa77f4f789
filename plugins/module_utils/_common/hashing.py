# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Password hashing policy. Private to promaccess.core: no stable API, may change without notice."""

from __future__ import annotations

import re
import traceback
import warnings

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
_SSHA_RE = re.compile(r"^\{SSHA\}[A-Za-z0-9+/]{28,}={0,2}$")
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
    if _SSHA_RE.match(hashed):
        return HashInfo("ldap_salted_sha1")
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
    "ldap_salted_sha1": "ldap_salted_sha1",
    "des_crypt": "des_crypt",
}

#: Schemes a caller may give as ``password_hash``: what nginx reads (its own ``$apr1$``, ``{SHA}`` and ``{SSHA}``,
#: the system crypt() for the rest) and, except ``{SSHA}``, Apache's htpasswd. In the order libpass's
#: ``identify`` is asked which one a string claims to be.
GIVEN_HASH_SCHEMES = (
    "bcrypt",
    "sha512_crypt",
    "sha256_crypt",
    "apr_md5_crypt",
    "md5_crypt",
    "ldap_sha1",
    "ldap_salted_sha1",
    "des_crypt",
)
#: bcrypt variants crypt_blowfish (Apache) and libxcrypt (nginx) both check; ``$2x$`` and ``$2$`` are refused.
BCRYPT_IDENTS = ("$2y$", "$2b$", "$2a$")

_GIVEN_HASH_FORMS = {
    "bcrypt": "$2y$, $2b$ or $2a$, a two-digit cost from 04 to 31, '$', then 22 salt and 31 hash characters of "
    "[./A-Za-z0-9] whose last ones have their unused bits clear",
    "sha512_crypt": "$6$, optional rounds=N$ (1000 or more), a salt of up to 16 characters, '$', then 86 "
    "characters of [./A-Za-z0-9]",
    "sha256_crypt": "$5$, optional rounds=N$ (1000 or more), a salt of up to 16 characters, '$', then 43 "
    "characters of [./A-Za-z0-9]",
    "apr_md5_crypt": "$apr1$, a salt of up to 8 characters, '$', then 22 characters of [./A-Za-z0-9]",
    "md5_crypt": "$1$, a salt of up to 8 characters, '$', then 22 characters of [./A-Za-z0-9]",
    "ldap_sha1": "{SHA} and the base64 of a 20-byte SHA-1 digest",
    "ldap_salted_sha1": "{SSHA} and the base64 of a 20-byte SHA-1 digest and a 4 to 16-byte salt",
    "des_crypt": "13 characters of [./A-Za-z0-9]",
}


#: The scheme the credential store adds, beside its bcrypt hash, to each credential it minted: the one scheme
#: that every consumer verifying on each request without a cache accepts (nginx's own ``$apr1$``, Traefik,
#: Apache's htpasswd) and that verifies in well under a millisecond. docs/hash_policy.md says why and measures it.
FAST_SCHEME = "apr_md5_crypt"

#: Per consumer of a user file or Secret (a host file kind or a Secret format): the scheme a credential the store
#: minted is written in. bcrypt where the consumer reads nothing else or caches what it verified
#: (exporter-toolkit's web.yml); FAST_SCHEME where the consumer runs the hash on every request.
MINTED_SCHEME_BY_CONSUMER = {
    "web_config": "bcrypt",
    "prometheus_web_config": "bcrypt",
    "htpasswd": FAST_SCHEME,
    "ingress_nginx_auth_file": FAST_SCHEME,
    "ingress_nginx_auth_map": FAST_SCHEME,
    "nginx_ingress_htpasswd": FAST_SCHEME,
    "traefik": FAST_SCHEME,
}
#: What a grant's ``hash`` setting may say: ``auto`` (by origin and consumer) or ``bcrypt`` (everywhere).
GRANT_HASH_POLICIES = ("auto", "bcrypt")
#: Where a credential came from: minted by the store (64 random characters) or given by a person.
ORIGINS = ("minted", "given")


def consumer_scheme(consumer: str, origin: str | None, policy: str = "auto") -> str:
    """The scheme a credential of ``origin`` is written in for ``consumer`` under a grant's ``policy``.

    Only a credential the store minted gets a fast scheme, and only for a consumer in MINTED_SCHEME_BY_CONSUMER:
    a password a person chose, a grant whose policy is ``bcrypt``, or a consumer not listed keeps bcrypt.
    """
    if policy not in GRANT_HASH_POLICIES:
        raise HashingError("hash policy must be one of %s, got %r" % (", ".join(GRANT_HASH_POLICIES), policy))
    if policy == "bcrypt" or origin != "minted":
        return "bcrypt"
    return MINTED_SCHEME_BY_CONSUMER.get(consumer, "bcrypt")


def stored_hash(credential, scheme: str) -> str | None:
    """The credential's well-formed ``scheme`` hash among the store's ``password_hashes``, None without one."""
    hashes = credential.get("password_hashes") if isinstance(credential, dict) else None
    hashed = hashes.get(scheme) if isinstance(hashes, dict) else None
    return hashed if isinstance(hashed, str) and identify(hashed).scheme == scheme else None


def credential_hash(credential: dict, consumer: str, policy: str = "auto") -> str | None:
    """The hash string ``consumer`` gets for one credential of the store (its ``password_hash``, bcrypt, and
    ``password_hashes``, scheme -> hash): a string the store made once, so hosts compare strings. bcrypt when
    the store holds no hash of the chosen scheme (a credential minted before this policy, until the store
    completes it)."""
    scheme = consumer_scheme(consumer, credential.get("origin"), policy)
    return (stored_hash(credential, scheme) if scheme != "bcrypt" else None) or credential.get("password_hash")


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
        #: Hash operations per scheme (``hash_operations`` is their sum).
        self.hashes_by_scheme: dict[str, int] = {}

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
        self.hashes_by_scheme[self.scheme] = self.hashes_by_scheme.get(self.scheme, 0) + 1
        hashed = handler.hash(password)
        if identify(hashed).scheme != self.scheme:
            # Never write what a consumer cannot read (a peer role ships '*0' when bcrypt breaks).
            raise HashingError(
                "user %r: the %s backend produced a malformed hash; refusing to write it" % (name, self.scheme)
            )
        return hashed

    def hash_as(self, scheme: str, name: str, password: str) -> str:
        """Hash ``password`` in ``scheme`` (one of WRITABLE_SCHEMES) at this policy's bcrypt cost. Counts one
        hash operation."""
        other = HashPolicy(scheme, self.bcrypt_rounds)
        hashed = other.hash(name, password)
        self.hash_operations += 1
        self.hashes_by_scheme[scheme] = self.hashes_by_scheme.get(scheme, 0) + 1
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


def ensure_backend(scheme: str | None = "bcrypt") -> None:
    """Raise HashingError with a clear message when passlib or its bcrypt backend cannot be used.

    With ``scheme=None`` only the passlib API is required (parsing a hash needs no bcrypt backend).
    """
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


def claimed_scheme(hashed: str) -> str | None:
    """The scheme whose prefix ``hashed`` carries, among GIVEN_HASH_SCHEMES, by libpass's ``identify``."""
    ensure_backend(None)
    for scheme in GIVEN_HASH_SCHEMES:
        if getattr(passlib_hash, scheme).identify(hashed):
            return scheme
    return None


def is_well_formed(scheme: str, hashed: str) -> bool:
    """True when ``hashed`` is exactly a complete hash of ``scheme`` as nginx and Apache check it.

    libpass parses it (cost, salt and checksum length and alphabet); it warns, and repairs, where the last
    character of a bcrypt salt or checksum has its unused bits set, which crypt_blowfish never matches, so that
    warning is a refusal here. The parsed hash must render back to the very same string.
    """
    ensure_backend(None)
    if scheme == "bcrypt" and not hashed.startswith(BCRYPT_IDENTS):
        return False
    handler = getattr(passlib_hash, scheme)
    with warnings.catch_warnings():
        warnings.simplefilter("error", passlib_exc.PasslibHashWarning)
        try:
            parsed = handler.from_string(hashed)
        except (ValueError, TypeError, passlib_exc.PasslibHashWarning):
            return False
    if getattr(parsed, "checksum", None) is None:  # a bare setting string ("$2y$05$<salt>"): no hash at all
        return False
    return parsed.to_string() == hashed and identify(hashed).scheme == scheme


def check_hash_string(name: str, hashed: str, allowed_schemes: tuple[str, ...] | None = None) -> HashInfo:
    """Validate a caller-supplied ``password_hash``; return its HashInfo.

    The one check of a given hash, for every target: no character that corrupts a user file, a scheme of
    GIVEN_HASH_SCHEMES (and of ``allowed_schemes`` when given), and a well-formed hash of that scheme, so that
    no user is locked out by a hash that nginx or Apache would refuse for every password. Messages name the
    user and the scheme, never the hash.
    """
    if not hashed or any(c in hashed for c in "\n\r\x00:"):
        raise HashingError("user %r: password_hash is empty or contains ':' or a control character" % (name,))
    scheme = claimed_scheme(hashed)
    if scheme is None:
        raise HashingError(
            "user %r: password_hash is not a hash of a supported scheme (%s); nginx and Apache would refuse "
            "every password against it" % (name, ", ".join(GIVEN_HASH_SCHEMES))
        )
    if allowed_schemes is not None and scheme not in allowed_schemes:
        raise HashingError(
            "user %r: password_hash uses scheme %s; this target accepts only %s"
            % (name, scheme, ", ".join(allowed_schemes))
        )
    if not is_well_formed(scheme, hashed):
        raise HashingError(
            "user %r: password_hash is not a well-formed %s hash (expected %s); nginx and Apache would refuse "
            "every password against it" % (name, scheme, _GIVEN_HASH_FORMS[scheme])
        )
    return identify(hashed)
