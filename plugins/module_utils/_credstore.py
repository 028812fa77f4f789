# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The age-encrypted credential store on the controller. Private to promaccess.core.

One YAML document per environment, encrypted with age and decrypted in memory only::

    version: 1
    grants:
      team-a:
        username: <64 random characters>
        password: <64 random characters>
        password_hash: $2y$12$...          # canonical bcrypt hash: hosts compare strings, no bcrypt work
        minted_at: '2026-01-02T03:04:05Z'  # UTC, ISO 8601

Keys of a grant that this version does not know (a rotation phase, a previous credential) are kept as they
are. Updates happen under an exclusive ``fcntl`` lock on ``<store>.lock``: the store is read again under the
lock, changed, encrypted, checked to decrypt with the operator identity, staged in a 0600 file beside the
store and renamed over it, so two runs at once never lose an update and a reader never sees half a file.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import os
import time
import traceback

YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:  # pragma: no cover - reported when the store is used
    YAML_IMPORT_ERROR = traceback.format_exc()
    yaml = None

from ansible_collections.promaccess.core.plugins.module_utils._age import (
    AgeError,
    Identities,
    Recipient,
    decrypt,
    encrypt,
)
from ansible_collections.promaccess.core.plugins.module_utils._credentials import (
    CredentialError,
    check_field,
    mint,
)
from ansible_collections.promaccess.core.plugins.module_utils._hashing import HashingError, HashPolicy, identify
from ansible_collections.promaccess.core.plugins.module_utils._io import FileWriteError, read_file, staged_file

STORE_VERSION = 1
STORE_BCRYPT_ROUNDS = 12
LOCK_POLL_SECONDS = 0.05


class CredentialStoreError(Exception):
    """A store that cannot be read or updated. The message names the store and grant, never a secret."""


def now_utc() -> str:
    """The current time in UTC as ISO 8601 with a Z suffix, to the second."""
    stamp = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return stamp.isoformat().replace("+00:00", "Z")


def check_grant(grant) -> None:
    if not isinstance(grant, str) or not grant.strip() or any(ord(c) < 32 or ord(c) == 127 for c in grant):
        raise CredentialStoreError("grant name %r must be a non-empty string without control characters" % (grant,))


class CredentialStore:
    """Get-or-mint access to one store file."""

    def __init__(
        self,
        path: str,
        identities: Identities,
        recipients: list[Recipient],
        armor: bool = True,
        policy: HashPolicy | None = None,
        lock_timeout: float = 60.0,
    ):
        self.path = path
        self.identities = identities
        self.recipients = recipients
        self.armor = armor
        self.policy = policy or HashPolicy("bcrypt", STORE_BCRYPT_ROUNDS)
        if YAML_IMPORT_ERROR is not None:
            raise CredentialStoreError("the credential store needs the 'PyYAML' Python package")
        self.lock_timeout = lock_timeout
        self.lock_path = path + ".lock"
        #: What the last get() did: found, minted, supplied (caller's credential stored) or completed.
        self.last_action: str | None = None
        self.writes = 0

    # -- reading -------------------------------------------------------------------------------------------
    def read(self) -> dict:
        """The decrypted document; an empty one when the file does not exist yet."""
        try:
            raw = read_file(self.path)
        except FileWriteError as exc:
            raise CredentialStoreError(str(exc)) from exc
        if raw is None:
            return {"version": STORE_VERSION, "grants": {}}
        try:
            plaintext = decrypt(raw, self.identities, "credential store %s" % self.path)
        except AgeError as exc:
            raise CredentialStoreError(str(exc)) from exc
        try:
            document = yaml.safe_load(plaintext.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise CredentialStoreError("credential store %s does not decrypt to UTF-8 text" % self.path) from exc
        except yaml.YAMLError as exc:
            # The YAML error text quotes the offending line, which may hold a password: give the position only.
            mark = getattr(exc, "problem_mark", None)
            where = " at line %d column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
            raise CredentialStoreError("credential store %s is not valid YAML%s" % (self.path, where)) from None
        return self._check_document(document)

    def _check_document(self, document) -> dict:
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise CredentialStoreError("credential store %s must hold a mapping with a 'grants' key" % self.path)
        version = document.setdefault("version", STORE_VERSION)
        if version != STORE_VERSION:
            raise CredentialStoreError(
                "credential store %s has version %r; this collection reads version %d"
                % (self.path, version, STORE_VERSION)
            )
        grants = document.setdefault("grants", {})
        if grants is None:
            grants = document["grants"] = {}
        if not isinstance(grants, dict):
            raise CredentialStoreError("credential store %s: 'grants' must be a mapping of grant names" % self.path)
        for name, record in grants.items():
            if not isinstance(record, dict):
                raise CredentialStoreError("credential store %s: grant %r must be a mapping" % (self.path, name))
            minted_at = record.get("minted_at")
            if isinstance(minted_at, datetime.datetime):  # written by hand without quotes
                if minted_at.tzinfo is not None:
                    minted_at = minted_at.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                record["minted_at"] = minted_at.replace(microsecond=0).isoformat() + "Z"
        return document

    # -- get or mint ---------------------------------------------------------------------------------------
    def _needs_update(self, record, username: str | None, password: str | None) -> bool:
        if not isinstance(record, dict):
            return True
        if not isinstance(record.get("username"), str) or not isinstance(record.get("password"), str):
            return True
        if username is not None and record["username"] != username:
            return True
        if password is not None and record["password"] != password:
            return True
        hashed = record.get("password_hash")
        if not isinstance(hashed, str) or identify(hashed).scheme != "bcrypt":
            return True
        return not isinstance(record.get("minted_at"), str)

    def get(self, grant: str, username: str | None = None, password: str | None = None, create: bool = True) -> dict:
        """Return the grant's record (username, password, password_hash, minted_at), minting it when missing.

        A caller-supplied ``username`` or ``password`` replaces the stored one (and is hashed once); what is
        not supplied is minted when the grant is new. A record missing its hash or date is completed.
        """
        check_grant(grant)
        try:
            for field, value in (("username", username), ("password", password)):
                if value is not None:
                    check_field(field, value, "grant %r" % grant)
        except CredentialError as exc:
            raise CredentialStoreError(str(exc)) from exc

        record = self.read()["grants"].get(grant)
        if not self._needs_update(record, username, password):
            self.last_action = "found"
            return self._public(grant, record)
        if record is None and not create:
            raise CredentialStoreError("grant %r is not in credential store %s and create=false" % (grant, self.path))

        with self._locked():
            document = self.read()  # again, under the lock: another run may have added the grant meanwhile
            grants = document["grants"]
            record = grants.get(grant)
            if not self._needs_update(record, username, password):
                self.last_action = "found"
                return self._public(grant, record)
            if record is None and not create:
                raise CredentialStoreError(
                    "grant %r is not in credential store %s and create=false" % (grant, self.path)
                )
            record = self._updated(grant, record, username, password)
            grants[grant] = record
            self._save(document)
        return self._public(grant, record)

    def _updated(self, grant: str, record, username: str | None, password: str | None) -> dict:
        new = dict(record) if isinstance(record, dict) else {}
        old_user, old_password = new.get("username"), new.get("password")
        complete = isinstance(old_user, str) and isinstance(old_password, str)
        new_user = username if username is not None else (old_user if isinstance(old_user, str) else mint())
        new_password = password if password is not None else (old_password if isinstance(old_password, str) else mint())
        replaced = not complete or new_user != old_user or new_password != old_password
        try:
            check_field("username", new_user, "grant %r" % grant)
            check_field("password", new_password, "grant %r" % grant)
            if replaced or not isinstance(new.get("password_hash"), str) or identify(new["password_hash"]).scheme != "bcrypt":
                new["password_hash"] = self.policy.hash(grant, new_password)
        except (CredentialError, HashingError) as exc:
            raise CredentialStoreError(str(exc)) from exc
        new["username"] = new_user
        new["password"] = new_password
        if replaced or not isinstance(new.get("minted_at"), str):
            new["minted_at"] = now_utc()
        if record is None:
            self.last_action = "supplied" if (username is not None or password is not None) else "minted"
        else:
            self.last_action = "supplied" if replaced else "completed"
        ordered = {key: new[key] for key in ("username", "password", "password_hash", "minted_at")}
        ordered.update((key, value) for key, value in new.items() if key not in ordered)
        return ordered

    @staticmethod
    def _public(grant: str, record: dict) -> dict:
        out = dict(record)
        out["grant"] = grant
        return out

    # -- writing -------------------------------------------------------------------------------------------
    def _save(self, document: dict) -> None:
        plaintext = yaml.safe_dump(document, sort_keys=False, default_flow_style=False).encode("utf-8")
        try:
            ciphertext = encrypt(plaintext, self.recipients, self.armor)
            # Never replace a store with one the operator cannot read back.
            if decrypt(ciphertext, self.identities, "the new credential store") != plaintext:
                raise CredentialStoreError("the new credential store did not decrypt to what was written")
        except AgeError as exc:
            raise CredentialStoreError(
                "%s; the store must be encrypted to the public key of the identity that reads it" % exc
            ) from exc
        try:
            with staged_file(self.path, ciphertext) as staged:
                os.replace(staged, self.path)
        except (FileWriteError, OSError) as exc:
            raise CredentialStoreError("cannot write credential store %s: %s" % (self.path, exc)) from exc
        self.writes += 1

    def _locked(self):
        return _FileLock(self.lock_path, self.lock_timeout)


class _FileLock:
    """An exclusive ``flock`` on a lock file beside the store, waited for at most ``timeout`` seconds."""

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CredentialStoreError("cannot open lock file %s: %s" % (self.path, exc.strerror or exc)) from exc
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(self.fd)
                    raise CredentialStoreError("cannot lock %s: %s" % (self.path, exc.strerror or exc)) from exc
            if time.monotonic() >= deadline:
                os.close(self.fd)
                raise CredentialStoreError(
                    "timed out after %.0f s waiting for the lock %s held by another run" % (self.timeout, self.path)
                )
            time.sleep(LOCK_POLL_SECONDS)

    def __exit__(self, *exc_info):
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
        return False
