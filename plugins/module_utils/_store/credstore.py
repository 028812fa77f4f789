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
        origin: minted                     # or given: a password a person chose
        password_hashes:                   # minted only: the fast scheme for consumers that hash per request
          apr_md5_crypt: $apr1$...

A rotation in progress adds ``rotation: {phase, started_at, updated_at, pending | retired, handed_off_at,
grace_until}`` (``grace_until``: until when the old credential stays valid after the hand-off; phases in
ROTATION_PHASES; ``pending`` is the new credential until it becomes current, ``retired`` the old one while hosts
remove it) and a finished one ``rotated_at``. A revoked grant keeps ``revoked_at`` with its user name and hash
(so audits can find it left on a host); its password stays only until ``revocation_verified_at``. See
docs/credential_store.md. Keys of a grant that this version does not know are kept as they are.

Updates happen under an exclusive ``fcntl`` lock on ``<store>.lock``: the store is read again under the lock,
changed, encrypted, checked to decrypt with the operator identity, staged in a 0600 file beside the
store and renamed over it, so two runs at once never lose an update and a reader never sees half a file.
"""

from __future__ import annotations

import copy
import datetime
import errno
import fcntl
import hashlib
import json
import os
import re
import time

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import (
    FAST_SCHEME,
    ORIGINS,
    HashingError,
    HashPolicy,
    identify,
    stored_hash,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.io import FileWriteError, read_file, staged_file
from ansible_collections.promaccess.core.plugins.module_utils._common import times
from ansible_collections.promaccess.core.plugins.module_utils._common.names import check_grant_name
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import (
    SAFE_DUMPER,
    SAFE_LOADER,
    YAML_IMPORT_ERROR,
    yaml,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.age import (
    AgeError,
    Identities,
    Recipient,
    decrypt,
    encrypt,
)
from ansible_collections.promaccess.core.plugins.module_utils._store import grace
from ansible_collections.promaccess.core.plugins.module_utils._store.credentials import (
    ALPHABET,
    MINT_LENGTH,
    CredentialError,
    check_field,
    mint,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.sops import (
    Sops,
    SopsError,
    is_sops_path,
    recipients as sops_recipients,
    sops_metadata,
)

STORE_VERSION = 1
STORE_BCRYPT_ROUNDS = 12
LOCK_POLL_SECONDS = 0.05


#: The two formats of a store file: a sops YAML file (recipients kept in the file), or the age-encrypted YAML
#: document of the first releases (recipients chosen by each write; migrate it with migrate_store.yml).
STORE_FORMATS = ("sops", "age")
_AGE_HEADERS = (b"age-encryption.org/", b"-----BEGIN AGE ENCRYPTED FILE-----")
_SOPS_KEY = re.compile(rb"^sops:[ \t]*\r?$", re.M)
AGE_STORE_WARNING = (
    "the credential store is in the age format of the first releases: it does not keep its recipients, so a "
    "write encrypts it to the identity and recipients of that run only, and another operator can lose access. "
    "Migrate it to a sops store: ansible-playbook promaccess.core.migrate_store (docs/credential_store.md)"
)

#: The keys of one credential in the store.
CREDENTIAL_KEYS = ("username", "password", "password_hash", "minted_at", "origin", "password_hashes")
#: A password of the shape the store mints: a credential of a store made before ``origin`` was recorded counts
#: as minted when its password has this shape, as given otherwise.
_MINTED_SHAPE = re.compile(r"^[%s]{%d}$" % (re.escape(ALPHABET), MINT_LENGTH))
#: Phases of a rotation in progress, in order. minted: the new credential is in the store only; added: every
#: host and cluster holds old and new and was verified with the new one; handed_off: the new hand-off file is
#: written; revoking: the new credential is current, the old one (retired) is being removed from the hosts.
ROTATION_PHASES = ("minted", "added", "handed_off", "revoking")
#: What rotation_step() can be asked for: start (mint), each later phase, then finished.
ROTATION_TARGETS = ("started", "added", "handed_off", "revoking", "finished")


class CredentialStoreError(Exception):
    """A store that cannot be read or updated. The message names the store and grant, never a secret."""


def store_format(path: str, raw: bytes | None) -> str:
    """``sops`` or ``age``: an existing file by its content, a new one by its name (``*.sops.yaml`` is sops)."""
    if raw is None:
        return "sops" if is_sops_path(path) else "age"
    if raw.lstrip().startswith(_AGE_HEADERS):
        return "age"
    if _SOPS_KEY.search(raw):  # a top-level `sops:` mapping; parsing the whole file here would double a read
        return "sops"
    raise CredentialStoreError(
        "credential store %s is neither a sops file (no 'sops' metadata) nor an age-encrypted store" % path
    )


def check_grant(grant) -> None:
    check_grant_name(grant, CredentialStoreError)


def _credential(source, role: str) -> dict | None:
    if not isinstance(source, dict) or not isinstance(source.get("username"), str):
        return None
    out = {key: source.get(key) for key in CREDENTIAL_KEYS}
    out["origin"] = origin(source)
    out["role"] = role
    return out


def origin(credential: dict) -> str:
    """``minted`` or ``given``: as recorded, else (a store made before it was recorded) by the password's shape;
    a credential whose password the store no longer holds counts as given (bcrypt, the cautious choice)."""
    recorded = credential.get("origin")
    if recorded in ORIGINS:
        return recorded
    password = credential.get("password")
    return "minted" if isinstance(password, str) and _MINTED_SHAPE.match(password) else "given"


def _lacks_fast_hash(credential) -> bool:
    """True for a minted credential (with its password) that has no well-formed FAST_SCHEME hash yet."""
    if not isinstance(credential, dict) or not isinstance(credential.get("password"), str):
        return False
    return origin(credential) == "minted" and stored_hash(credential, FAST_SCHEME) is None


def grant_view(grant: str, record: dict) -> dict:
    """What a grant's record means for hosts and checks (no I/O): which credentials are valid, which refused.

    ``valid``: credentials every host must accept (current first, then a rotation's new one from phase
    ``added`` on, once every host holds it); ``present``: credentials hosts are to hold, the valid ones plus,
    in phase ``minted``, the new one still being added (a host accepts it once its own batch ran, so it is
    checked there, but no one may count on it yet); ``refused``: credentials hosts must turn away (a rotation's
    retired one, all of a revoked grant's); ``users``: the entries for the user-file modules (present ones by
    hash, refused ones absent), each labelled ``<grant> (<role>)`` so that the modules never show the minted
    name; ``handoff``: the credential the grantee is to hold now.

    Which credential a consumer sends is decided here, once: ``consumer``, for a consumer on the same host as
    the user file it is checked against (the self-scrape job), is the newest present one (its own host added the
    new one in the same pass); ``fleet_consumer``, for a consumer whose targets are spread over the fleet (a
    ServiceMonitor), is the newest valid one: every target accepts it.
    """
    rotation = record.get("rotation") if isinstance(record.get("rotation"), dict) else None
    phase = rotation.get("phase") if rotation else None
    current = _credential(record, "current")
    pending = _credential(rotation.get("pending"), "pending") if rotation else None
    retired = _credential(rotation.get("retired"), "retired") if rotation else None
    if record.get("revoked_at"):
        status = "revoked"
        valid, present = [], []
        refused = [dict(c, role="revoked") for c in (current, pending, retired) if c is not None]
    else:
        # superseded: the shared internal credential of an earlier release, copied into each target's own.
        status = "rotating" if rotation else ("superseded" if record.get("superseded_at") else "active")
        valid = [c for c in (current, pending if phase in ("added", "handed_off") else None) if c]
        present = [c for c in (current, pending if phase in ("minted", "added", "handed_off") else None) if c]
        refused = [retired] if retired is not None and phase == "revoking" else []
    # Each entry carries a label (grant and role), by which the user-file modules show it: the minted name is secret.
    users = [
        {"name": c["username"], "label": "%s (%s)" % (grant, c["role"]), "password_hash": c["password_hash"],
         "state": "present"}
        for c in present
    ]
    users += [{"name": c["username"], "label": "%s (%s)" % (grant, c["role"]), "state": "absent"} for c in refused]
    if status == "revoked":
        handoff = None
    elif phase in ("added", "handed_off") and pending is not None:  # every host accepts it from "added" on
        handoff = pending
    else:
        handoff = current
    return {
        "grant": grant,
        "status": status,
        "phase": phase,
        "minted_at": record.get("minted_at"),
        "rotated_at": record.get("rotated_at"),
        "revoked_at": record.get("revoked_at"),
        "superseded_at": record.get("superseded_at"),
        "valid": valid,
        "present": present,
        "refused": refused,
        "users": users,
        "handoff": handoff,
        "consumer": present[-1] if present else None,
        "fleet_consumer": valid[-1] if valid else None,
    }


def summary(view: dict) -> dict:
    """The non-secret facts of a grant view: status, phase and dates."""
    rotation = view.get("rotation") if isinstance(view.get("rotation"), dict) else {}
    return {
        "status": view.get("status"),
        "phase": view.get("phase"),
        "minted_at": view.get("minted_at"),
        "rotated_at": view.get("rotated_at"),
        "revoked_at": view.get("revoked_at"),
        "superseded_at": view.get("superseded_at"),
        "started_at": rotation.get("started_at"),
        "handed_off_at": rotation.get("handed_off_at"),
        "grace_until": rotation.get("grace_until"),
    }


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
        dry_run: bool = False,
        sops_binary: str | None = None,
        sops_config: str | None = None,
        recipients_given: bool = False,
        sops_runner=None,
        run: str | None = None,
    ):
        """``recipients`` encrypt an age store; a sops store keeps its own and refuses ``recipients_given``
        (recipients the caller chose), as any write that chose them could drop one. ``sops_runner`` runs the
        sops binary (_store/sops.py: module_runner() in a module, plugin_utils/sops_runner.run elsewhere).

        ``run`` names the playbook run this access belongs to: the store then refuses to be read or written by
        a run after it was changed underneath it by anything but promaccess (another operator's commit pulled
        mid-run, an edit by hand). See _Journal."""
        self.path = path
        self.identities = identities
        self.recipients = recipients
        self.recipients_given = recipients_given
        self.sops_binary = sops_binary
        self.sops_config = sops_config
        self.sops_runner = sops_runner
        self.run = run or None
        self._sops = None
        self._lock: _FileLock | None = None
        #: The format of the file as last read: sops or age (STORE_FORMATS).
        self.format: str | None = None
        #: Warnings for the operator (module.warn, display.warning): an age store's.
        self.warnings: list[str] = []
        self.armor = armor
        self.policy = policy or HashPolicy("bcrypt", STORE_BCRYPT_ROUNDS)
        if YAML_IMPORT_ERROR is not None:
            raise CredentialStoreError("the credential store needs the 'PyYAML' Python package")
        self.lock_timeout = lock_timeout
        #: Check mode: work out every change but never write the store.
        self.dry_run = dry_run
        self.lock_path = path + ".lock"
        #: What the last get() did: found, minted, supplied (caller's credential stored) or completed.
        self.last_action: str | None = None
        #: What the last rotation_step(..., "revoking") decided of a grace period (grace.decide), or None.
        self.last_decision: dict | None = None
        #: What get_many() did per grant.
        self.actions: dict = {}
        self.writes = 0

    # -- reading -------------------------------------------------------------------------------------------
    def read(self) -> dict:
        """The decrypted document; an empty one when the file does not exist yet. With ``run``, under the lock,
        after the journal has checked the file is as this run left it."""
        if self.run is not None and self._lock is None:
            with self._locked():
                return self.read()
        try:
            raw = read_file(self.path)
        except FileWriteError as exc:
            raise CredentialStoreError(str(exc)) from exc
        if self._lock is not None:
            self._lock.journal.check(self.run, raw, self.path)
        self.format = store_format(self.path, raw)
        if self.format == "age" and raw is not None and AGE_STORE_WARNING not in self.warnings:
            self.warnings.append(AGE_STORE_WARNING)
        if self.format == "sops" and self.recipients_given:
            raise CredentialStoreError(
                "credential store %s is a sops file: its recipients are kept in the file (set by .sops.yaml, "
                "changed with sops updatekeys, docs/credential_store.md), not given to a task" % self.path
            )
        if raw is None:
            return {"version": STORE_VERSION, "grants": {}}
        if self.format == "sops":
            plaintext = self._sops_call(lambda sops: sops.decrypt(self.path))
        else:
            try:
                plaintext = decrypt(raw, self.identities, "credential store %s" % self.path)
            except AgeError as exc:
                raise CredentialStoreError(str(exc)) from exc
        try:
            document = yaml.load(plaintext.decode("utf-8"), Loader=SAFE_LOADER)  # nosec B506 - a safe loader
        except UnicodeDecodeError as exc:
            raise CredentialStoreError("credential store %s does not decrypt to UTF-8 text" % self.path) from exc
        except yaml.YAMLError as exc:
            # The YAML error text quotes the offending line, which may hold a password: give the position only.
            mark = getattr(exc, "problem_mark", None)
            where = " at line %d column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
            raise CredentialStoreError("credential store %s is not valid YAML%s" % (self.path, where)) from None
        if self.format == "sops" and isinstance(document, dict):
            document.pop("sops", None)
        return self._check_document(document)

    def recipients_of_file(self) -> list[str]:
        """The keys a sops store is encrypted to (``kind:key``), read from its metadata without decrypting."""
        raw = read_file(self.path)
        metadata = sops_metadata(raw) if raw is not None else None
        return sops_recipients(metadata) if metadata else []

    def _sops_call(self, call):
        try:
            if self._sops is None:
                if self.sops_runner is None:
                    raise SopsError("credential store %s is a sops file, and this caller cannot run sops" % self.path)
                self._sops = Sops(self.identities.source, self.sops_runner, self.sops_binary, self.sops_config)
            return call(self._sops)
        except SopsError as exc:
            message = str(exc)
            if "(exit 128)" in message:
                message += "; the store's recipients: %s" % (", ".join(self.recipients_of_file()) or "none")
            raise CredentialStoreError(message) from None

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
        if _lacks_fast_hash(record) or _lacks_fast_hash(self._pending(record)):
            return True
        return not isinstance(record.get("minted_at"), str)

    @staticmethod
    def _pending(record) -> dict | None:
        rotation = record.get("rotation") if isinstance(record, dict) else None
        return rotation.get("pending") if isinstance(rotation, dict) else None

    def _complete_fast_hash(self, grant: str, credential: dict) -> None:
        """Add the FAST_SCHEME hash to a minted credential that lacks it (one hash operation, once)."""
        if _lacks_fast_hash(credential):
            credential["origin"] = origin(credential)
            hashes = credential.get("password_hashes") if isinstance(credential.get("password_hashes"), dict) else {}
            hashes[FAST_SCHEME] = self.policy.hash_as(FAST_SCHEME, grant, credential["password"])
            credential["password_hashes"] = hashes

    def get(
        self,
        grant: str,
        username: str | None = None,
        password: str | None = None,
        create: bool = True,
        allow_revoked: bool = False,
    ) -> dict:
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
        if isinstance(record, dict) and record.get("revoked_at"):
            if allow_revoked and username is None and password is None:
                self.last_action = "found"
                return self._public(grant, record)
            raise CredentialStoreError(
                "grant %r was revoked at %s (credential store %s); remove it from the grants, or grant access "
                "again under a new grant name" % (grant, record["revoked_at"], self.path)
            )
        if isinstance(record, dict) and record.get("rotation") and (username is not None or password is not None):
            raise CredentialStoreError(
                "grant %r is being rotated (phase %s); finish the rotation before setting its credential"
                % (grant, (record.get("rotation") or {}).get("phase"))
            )
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

    def get_many(self, grants: list, create: bool = True, allow_revoked: bool = False,
                 inherit: dict | None = None) -> list[dict]:
        """get() for several grants without caller-supplied credentials: one read of the store for all of them,
        and one locked update (one write) for those that must be minted or completed.

        ``inherit`` maps a grant to the grant it starts as a copy of when it is not in the store yet (the
        per-target internal credentials of a store that holds one shared internal credential): the copy keeps
        the source's credential, hash, dates and rotation state, so the hosts' files do not change and the
        shared credential stays valid until each target's copy is rotated. A source that is missing, revoked,
        or superseded already (its copies were made once) gives nothing to copy: the grant is minted.

        ``actions`` maps each grant to what was done (found, minted, inherited, completed), as last_action does
        for get().
        """
        inherit = dict(inherit or {})
        for grant in list(grants) + list(inherit.values()):
            check_grant(grant)
        self.actions = {}
        found, todo = {}, []
        records = self.read()["grants"]
        for grant in dict.fromkeys(grants):
            public = self._found(grant, records.get(grant), create, allow_revoked)
            if public is None:
                todo.append(grant)
            else:
                found[grant] = public
        if todo:
            with self._locked():
                document = self.read()  # again, under the lock: another run may have minted some meanwhile
                changed = False
                superseded = set()
                for grant in todo:
                    record = document["grants"].get(grant)
                    public = self._found(grant, record, create, allow_revoked)
                    if public is None:
                        source = self._inheritable(document["grants"], inherit.get(grant)) if record is None else None
                        if source is not None:
                            record = copy.deepcopy(document["grants"][source])
                            record["inherited_from"] = source
                            self.last_action = "inherited"
                            superseded.add(source)
                        else:
                            record = self._updated(grant, record, None, None)
                        document["grants"][grant] = record
                        self.actions[grant] = self.last_action
                        public = self._public(grant, record)
                        changed = True
                    found[grant] = public
                for source in sorted(superseded):  # copied once: later targets get a credential of their own
                    document["grants"][source]["superseded_at"] = times.now_iso()
                if changed:
                    self._save(document)
        return [found[grant] for grant in grants]

    @staticmethod
    def _inheritable(records: dict, source: str | None) -> str | None:
        """``source`` when its record can be copied: complete, not revoked, not superseded already."""
        record = records.get(source) if source else None
        if not isinstance(record, dict) or not isinstance(record.get("username"), str):
            return None
        if record.get("revoked_at") or record.get("superseded_at"):
            return None
        return source

    def _found(self, grant: str, record, create: bool, allow_revoked: bool) -> dict | None:
        """The public view of a record that needs no update, None when it must be minted or completed."""
        if isinstance(record, dict) and record.get("revoked_at"):
            if allow_revoked:
                self.actions[grant] = "found"
                return self._public(grant, record)
            raise CredentialStoreError(
                "grant %r was revoked at %s (credential store %s); remove it from the grants, or grant access "
                "again under a new grant name" % (grant, record["revoked_at"], self.path)
            )
        if not self._needs_update(record, None, None):
            self.actions[grant] = "found"
            return self._public(grant, record)
        if record is None and not create:
            raise CredentialStoreError("grant %r is not in credential store %s and create=false" % (grant, self.path))
        return None

    def _updated(self, grant: str, record, username: str | None, password: str | None) -> dict:
        new = dict(record) if isinstance(record, dict) else {}
        old_user, old_password = new.get("username"), new.get("password")
        complete = isinstance(old_user, str) and isinstance(old_password, str)
        new_user = username if username is not None else (old_user if isinstance(old_user, str) else mint())
        new_password = password if password is not None else (old_password if isinstance(old_password, str) else mint())
        replaced = not complete or new_user != old_user or new_password != old_password
        if password is not None or new_password != old_password:
            # A password the caller gave is a person's choice (bcrypt everywhere); one minted here is not. A new
            # user name alone keeps the password, its origin and its hashes.
            new["origin"] = "given" if password is not None else "minted"
            new.pop("password_hashes", None)
        try:
            check_field("username", new_user, "grant %r" % grant)
            check_field("password", new_password, "grant %r" % grant)
            if (new_password != old_password or not isinstance(new.get("password_hash"), str)
                    or identify(new["password_hash"]).scheme != "bcrypt"):
                new["password_hash"] = self.policy.hash(grant, new_password)
            new["username"] = new_user
            new["password"] = new_password
            self._complete_fast_hash(grant, new)
            self._complete_fast_hash(grant, self._pending(new))
        except (CredentialError, HashingError) as exc:
            raise CredentialStoreError(str(exc)) from exc
        if replaced or not isinstance(new.get("minted_at"), str):
            new["minted_at"] = times.now_iso()
        if record is None:
            self.last_action = "supplied" if (username is not None or password is not None) else "minted"
        else:
            self.last_action = "supplied" if replaced else "completed"
        ordered = {key: new[key] for key in ("username", "password", "password_hash", "minted_at") if key in new}
        ordered.update((key, value) for key, value in new.items() if key not in ordered)
        return ordered

    @staticmethod
    def _public(grant: str, record: dict) -> dict:
        out = dict(record)
        out.update(grant_view(grant, record))
        return out

    # -- rotation and revocation ---------------------------------------------------------------------------
    def _transition(self, grant: str, step) -> dict:
        """Apply ``step(grant, record) -> bool`` to the grant under the lock; save when it changed something."""
        check_grant(grant)
        with self._locked():
            document = self.read()
            record = document["grants"].get(grant)
            if not isinstance(record, dict) or not isinstance(record.get("username"), str):
                raise CredentialStoreError("grant %r is not in credential store %s" % (grant, self.path))
            if step(grant, record):
                record["rotation"] = record.get("rotation") or None
                if record["rotation"] is None:
                    del record["rotation"]
                self._save(document)
                self.last_action = "changed"
            else:
                self.last_action = "unchanged"
        return self._public(grant, record)

    def rotation_step(self, grant: str, target: str, grace_until: str | None = None, evidence=None,
                      quiet_seconds: int = 0, now: datetime.datetime | None = None, end_grace: bool = False) -> dict:
        """Move a grant's rotation forward to ``target`` (one of ROTATION_TARGETS); a no-op when already there.

        ``started`` mints the new credential (one bcrypt hash) unless a rotation is already in progress, which is
        then resumed. Each later target needs the one before it: a phase is never skipped, so a run that failed
        half-way cannot mark hosts as done that never got the new credential.

        ``handed_off`` records ``handed_off_at`` and, when given, the deadline ``grace_until`` (ISO 8601, UTC:
        the time the hand-off message names). ``revoking`` of a grant with a deadline happens only when :func:`grace.decide` says so
        (``evidence`` from the hosts, ``quiet_seconds``), or when ``end_grace`` (the operator ends it);
        ``last_decision`` tells what it decided.
        """
        if target not in ROTATION_TARGETS:
            raise CredentialStoreError("unknown rotation step %r; expected one of %s" % (target, ", ".join(ROTATION_TARGETS)))
        self.last_decision = None
        when = now or times.now()
        return self._transition(
            grant, lambda name, record: self._rotate(name, record, target, grace_until, evidence, quiet_seconds, when,
                                                     end_grace)
        )

    def _retire_now(self, rotation: dict, evidence, quiet_seconds: int, now: datetime.datetime,
                    end_grace: bool = False) -> bool:
        if end_grace and rotation.get("grace_until"):
            self.last_decision = {"retire": True, "reason": "ended", "detail": "the operator ended the grace period"}
            return True
        try:
            self.last_decision = grace.decide(now, rotation.get("handed_off_at"), rotation.get("grace_until"),
                                              evidence, quiet_seconds)
        except grace.GraceError as exc:
            raise CredentialStoreError("the grace period cannot be decided: %s" % exc) from None
        return self.last_decision["retire"]

    def _rotate(self, grant: str, record: dict, target: str, grace_until: str | None = None, evidence=None,
                quiet_seconds: int = 0, now: datetime.datetime | None = None, end_grace: bool = False) -> bool:
        if record.get("revoked_at"):
            raise CredentialStoreError("grant %r was revoked at %s and cannot be rotated" % (grant, record["revoked_at"]))
        rotation = record.get("rotation")
        phase = rotation.get("phase") if isinstance(rotation, dict) else None
        if phase is not None and phase not in ROTATION_PHASES:
            raise CredentialStoreError("grant %r has an unknown rotation phase %r in the store" % (grant, phase))
        if target == "started":
            if phase is not None:
                return False
            pending = {"username": mint(), "password": mint()}
            try:
                pending["password_hash"] = self.policy.hash(grant, pending["password"])
                pending["minted_at"] = times.now_iso()
                pending["origin"] = "minted"
                self._complete_fast_hash(grant, pending)
            except HashingError as exc:
                raise CredentialStoreError(str(exc)) from exc
            started = times.now_iso()
            record["rotation"] = {"phase": "minted", "started_at": started, "updated_at": started, "pending": pending}
            return True
        if target == "finished" and phase is None:
            return False
        if phase is None:
            raise CredentialStoreError("grant %r has no rotation in progress; start one first" % grant)
        order = ROTATION_PHASES + ("finished",)
        have, want = order.index(phase), order.index(target)
        if want <= have:
            return False
        if want != have + 1:
            raise CredentialStoreError(
                "grant %r: cannot mark rotation phase %r while it is at %r; the phases in between must complete first"
                % (grant, target, phase)
            )
        if target == "finished":
            del record["rotation"]
            record["rotated_at"] = times.now_iso()
            return True
        if target == "handed_off":
            rotation["handed_off_at"] = times.iso(now)
            if grace_until:
                try:
                    rotation["grace_until"] = times.iso(grace.parse_time(grace_until))
                except grace.GraceError as exc:
                    raise CredentialStoreError("grant %r: grace_until: %s" % (grant, exc)) from None
        if target == "revoking":
            if not self._retire_now(rotation, evidence, quiet_seconds, now, end_grace):
                return False
            pending = rotation.pop("pending", None)
            if not isinstance(pending, dict) or not isinstance(pending.get("username"), str):
                raise CredentialStoreError("grant %r: the rotation has no new credential in the store" % grant)
            rotation["retired"] = {key: record[key] for key in CREDENTIAL_KEYS if key in record}
            for key in CREDENTIAL_KEYS:
                if key in pending:
                    record[key] = pending[key]
                else:
                    record.pop(key, None)
        rotation["phase"] = target
        rotation["updated_at"] = times.now_iso()
        return True

    def revoke(self, grant: str) -> dict:
        """Mark a grant revoked: none of its credentials is valid any more; hosts are to remove them."""

        def step(_name, record):
            if record.get("revoked_at"):
                return False
            record["revoked_at"] = times.now_iso()
            return True

        return self._transition(grant, step)

    def revocation_verified(self, grant: str) -> dict:
        """Record that every host refuses the revoked grant; its passwords are dropped from the store."""

        def step(name, record):
            if not record.get("revoked_at"):
                raise CredentialStoreError("grant %r is not revoked" % name)
            if record.get("revocation_verified_at"):
                return False
            record.pop("password", None)
            rotation = record.get("rotation")
            if isinstance(rotation, dict):
                for key in ("pending", "retired"):
                    if isinstance(rotation.get(key), dict):
                        rotation[key].pop("password", None)
            record["revocation_verified_at"] = times.now_iso()
            return True

        return self._transition(grant, step)

    # -- writing -------------------------------------------------------------------------------------------
    def _save(self, document: dict) -> None:
        if self.dry_run:
            return
        if self.format is None:
            self.format = store_format(self.path, read_file(self.path))
        if self.format == "sops":
            self._save_sops(document)
        else:
            self._save_age(document)
        self.writes += 1
        if self._lock is not None:
            self._lock.journal.wrote(self.run, read_file(self.path))

    def _save_age(self, document: dict) -> None:
        plaintext = yaml.dump(document, Dumper=SAFE_DUMPER, sort_keys=False, default_flow_style=False).encode("utf-8")
        try:
            ciphertext = encrypt(plaintext, self.recipients, self.armor)
            # Never replace a store with one the operator cannot read back.
            if decrypt(ciphertext, self.identities, "the new credential store") != plaintext:
                raise CredentialStoreError("the new credential store did not decrypt to what was written")
        except AgeError as exc:
            raise CredentialStoreError(
                "%s; the store must be encrypted to the public key of the identity that reads it" % exc
            ) from exc
        self._replace(ciphertext, lambda staged: None)

    def _save_sops(self, document: dict) -> None:
        """Change an existing sops store key by key (its key groups untouched), or create one by .sops.yaml."""
        raw = read_file(self.path)
        if raw is None:
            plaintext = yaml.dump(document, Dumper=SAFE_DUMPER, sort_keys=False, default_flow_style=False)
            ciphertext = self._sops_call(lambda sops: sops.encrypt_new(self.path, plaintext.encode("utf-8")))
            self._replace(ciphertext, lambda staged: self._check_staged(staged, document))
            return

        # Only the grants change (the version was checked on reading): sops set reads a JSON value, whose
        # numbers it would store as floats.
        value = json.dumps(document["grants"]).encode("utf-8")
        try:
            self._sops_call(lambda sops: sops.update(
                self.path, raw, [('["grants"]', value)], "the update of credential store %s" % self.path,
                check=lambda staged: self._check_staged(staged, document)))
        except (FileWriteError, OSError) as exc:
            raise CredentialStoreError("cannot write credential store %s: %s" % (self.path, exc)) from exc

    def _check_staged(self, staged: str, document: dict) -> None:
        """Never replace a store with one the operator cannot read back, or that does not hold what was meant."""
        try:
            plaintext = self._sops_call(lambda sops: sops.decrypt(staged))
        except CredentialStoreError as exc:
            raise CredentialStoreError(
                "the new credential store %s would not be readable with identity %s, so it was not written: %s"
                % (self.path, self.identities.source, exc)
            ) from None
        written = yaml.load(plaintext.decode("utf-8"), Loader=SAFE_LOADER)  # nosec B506 - a safe loader
        written.pop("sops", None)
        if written != document:
            raise CredentialStoreError("the new credential store %s did not decrypt to what was written" % self.path)

    def _replace(self, content: bytes, prepare) -> None:
        """Stage ``content`` beside the store, let ``prepare(staged)`` change and check it, rename it over."""
        try:
            with staged_file(self.path, content) as staged:
                prepare(staged)
                os.replace(staged, self.path)
        except (FileWriteError, OSError) as exc:
            raise CredentialStoreError("cannot write credential store %s: %s" % (self.path, exc)) from exc

    def _locked(self):
        return _FileLock(self, self.lock_timeout)


def migrate(source: CredentialStore, target: CredentialStore) -> list[str]:
    """Convert an age store into a new sops store, once, under both locks; returns the grant names copied.

    The sops store gets the recipients of the creation rule of ``.sops.yaml`` that matches its path and must
    read back to the same document; the age store is left in place (the operator deletes it once the sops
    store is committed). Never overwrites: a target that exists is refused, whatever it holds.
    """
    if os.path.abspath(source.path) == os.path.abspath(target.path):
        raise CredentialStoreError("the age store and the new sops store must be two files, not %s" % source.path)
    if not is_sops_path(target.path):
        raise CredentialStoreError(
            "the new store %s must be named *.sops.yaml (or *.sops.yml): the name makes it a sops file" % target.path
        )
    with source._locked(), target._locked():  # pylint: disable=protected-access
        if read_file(source.path) is None:
            raise CredentialStoreError("there is no credential store %s to migrate" % source.path)
        if read_file(target.path) is not None:
            raise CredentialStoreError(
                "%s already exists; the migration never overwrites a store (move it away first)" % target.path
            )
        document = source.read()
        if source.format != "age":
            raise CredentialStoreError("credential store %s is already a sops file" % source.path)
        target.format = "sops"
        target._save(document)  # pylint: disable=protected-access
    return list(document["grants"])


#: Runs the journal forgets after this many seconds without an access.
JOURNAL_KEEP_SECONDS = 14 * 86400


def _digest(raw: bytes | None) -> str | None:
    return None if raw is None else hashlib.sha256(raw).hexdigest()


class _Journal:
    """What promaccess knows of the store file, kept in its lock file (JSON) and changed only under the lock.

    ``digest``: the file as promaccess last wrote it or found it; ``seq``: a counter of those events;
    ``external``: the events where the file had changed without promaccess (a git pull, an edit by hand);
    ``runs``: for each run id, the event it last saw and when. A run that has seen the store refuses it once an
    external change came after (it may have put on hosts credentials the store no longer holds, or be about to
    overwrite what was pulled); a new run starts from the file as it is. Runs on one machine change the store
    only through promaccess, so they never refuse each other.
    """

    def __init__(self, fd: int):
        self.fd = fd
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            data = json.loads(os.read(fd, 1 << 20).decode("utf-8") or "{}")
        except (OSError, ValueError):
            data = {}
        self.data = data if isinstance(data, dict) else {}
        self.data.setdefault("seq", 0)
        self.data.setdefault("external", [])
        self.data.setdefault("runs", {})

    def _save(self) -> None:
        now = time.time()
        runs = self.data["runs"]
        for run in [r for r, v in runs.items() if now - v.get("at", 0) > JOURNAL_KEEP_SECONDS]:
            del runs[run]
        oldest = min((v.get("seq", 0) for v in runs.values()), default=self.data["seq"])
        self.data["external"] = [e for e in self.data["external"] if e > oldest]
        blob = json.dumps(self.data, sort_keys=True).encode("utf-8")
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, blob)

    def check(self, run: str | None, raw: bytes | None, path: str) -> None:
        """Before a read under the lock: note an external change; refuse ``run`` if one came after it began."""
        digest, data = _digest(raw), self.data
        changed = "digest" in data and data["digest"] != digest
        if changed:
            data["seq"] += 1
            data["external"].append(data["seq"])
        data["digest"] = digest
        seen = data["runs"].get(run) if run is not None else None
        if seen is not None and any(event > seen.get("seq", 0) for event in data["external"]):
            self._save()
            raise CredentialStoreError(
                "credential store %s changed since this run last read or wrote it, and not through promaccess "
                "(another operator's commit pulled mid-run, or an edit by hand): this run stops here and writes "
                "nothing. Run the playbook again: it starts from the store as it is now" % path
            )
        if run is not None:
            data["runs"][run] = {"seq": data["seq"], "at": time.time()}
        if changed or run is not None:
            self._save()

    def wrote(self, run: str | None, raw: bytes | None) -> None:
        """After promaccess replaced the file."""
        data = self.data
        data["seq"] += 1
        data["digest"] = _digest(raw)
        if run is not None:
            data["runs"][run] = {"seq": data["seq"], "at": time.time()}
        self._save()


class _FileLock:
    """An exclusive ``flock`` on the store's lock file, waited for at most ``timeout`` seconds; taken again by
    the same store object inside it, it is already held. The lock file holds the store's _Journal."""

    def __init__(self, store: CredentialStore, timeout: float):
        self.store = store
        self.path = store.lock_path
        self.timeout = timeout
        self.fd = None
        self.outer = None
        self.journal: _Journal | None = None

    def __enter__(self):
        self.outer = self.store._lock  # pylint: disable=protected-access
        if self.outer is not None:
            return self.outer
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CredentialStoreError("cannot open lock file %s: %s" % (self.path, exc.strerror or exc)) from exc
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
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
        self.journal = _Journal(self.fd)
        self.store._lock = self  # pylint: disable=protected-access
        return self

    def __exit__(self, *exc_info):
        if self.outer is not None:
            return False
        self.store._lock = None  # pylint: disable=protected-access
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
        return False
