# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reconciling a wanted user set with stored hashes. Private to promaccess.core: no stable API."""

from __future__ import annotations

import hashlib
import hmac

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import (
    HashingError,
    HashPolicy,
    check_hash_string,
    identify,
)

MAX_NAME_LENGTH = 255
FINGERPRINT_LENGTH = 12


class UserError(Exception):
    """A wanted user set that cannot be applied. Messages name users, never passwords or hashes."""


def text_problem(value) -> str | None:
    """Why ``value`` cannot be a user name or password in a user file or hand-off, or None when it can.

    The phrase follows the field's name ("user name must ...") and never quotes the value.
    """
    if not isinstance(value, str) or value == "":
        return "must be a non-empty string"
    if len(value) > MAX_NAME_LENGTH:
        return "is longer than %d characters" % MAX_NAME_LENGTH
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain a newline or another control character"
    if value != value.strip():
        return "must not start or end with white space"
    return None


def name_problem(name) -> str | None:
    """The one user-name rule: :func:`text_problem`, and no ':' (it ends the name in htpasswd and hand-off)."""
    problem = text_problem(name)
    if problem is None and ":" in name:
        problem = "must not contain ':'"
    return problem


def check_name(name) -> None:
    """Refuse user names that would corrupt a user file or be read differently by its consumer."""
    problem = name_problem(name)
    if problem is None:
        return
    if not isinstance(name, str) or name == "":
        raise UserError("user name %s" % problem)
    shown = "%r..." % name[:16] if len(name) > MAX_NAME_LENGTH else repr(name)
    raise UserError("user name %s %s" % (shown, problem))


class Outcome:
    """The result of a reconciliation: the new ordered user map and what changed."""

    def __init__(self, users: dict[str, str]):
        self.users = users
        self.added: list[str] = []
        self.removed: list[str] = []
        self.updated: list[str] = []
        self.rehashed: list[str] = []

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.updated or self.rehashed)

    def as_result(self) -> dict:
        return {
            "users_added": list(self.added),
            "users_removed": list(self.removed),
            "users_changed": sorted(set(self.updated) | set(self.rehashed)),
        }


def normalise_wanted(users: list[dict]) -> list[dict]:
    """Validate the ``users`` option: names, one of password/password_hash, no duplicates."""
    seen = set()
    out = []
    for index, user in enumerate(users or []):
        if not isinstance(user, dict):
            raise UserError("users[%d] must be a dictionary" % index)
        name = user.get("name")
        check_name(name)
        if name in seen:
            raise UserError("user %r is listed more than once" % (name,))
        seen.add(name)
        state = user.get("state") or "present"
        if state not in ("present", "absent"):
            raise UserError("user %r: state must be 'present' or 'absent'" % (name,))
        password = user.get("password")
        password_hash = user.get("password_hash")
        if state == "present":
            if (password is None) == (password_hash is None):
                raise UserError("user %r: give exactly one of password or password_hash" % (name,))
        out.append({"name": name, "state": state, "password": password, "password_hash": password_hash})
    return out


def reconcile(
    existing: dict[str, str],
    wanted: list[dict],
    policy: HashPolicy,
    exclusive: bool = False,
    allowed_hash_schemes: tuple[str, ...] | None = None,
) -> Outcome:
    """Apply ``wanted`` (output of normalise_wanted) to ``existing`` (name -> hash, in file order).

    Order of existing users is kept; new users are appended in the order given, so a first, reserved entry
    stays first. A given password_hash is compared as a string (no bcrypt work). A given password is verified
    against the stored hash (one verify operation) and hashed only when it does not match, or when
    ``policy.rehash`` is ``on_policy_change`` and the stored hash has another scheme or a lower cost.
    """
    wanted = normalise_wanted(wanted)
    result = dict(existing)
    outcome = Outcome(result)
    listed = set()
    try:
        for user in wanted:
            name = user["name"]
            listed.add(name)
            current = existing.get(name)
            if user["state"] == "absent":
                if current is not None:
                    del result[name]
                    outcome.removed.append(name)
                continue
            if user["password_hash"] is not None:
                check_hash_string(name, user["password_hash"], allowed_hash_schemes)
                if current != user["password_hash"]:
                    result[name] = user["password_hash"]
                    (outcome.updated if current is not None else outcome.added).append(name)
                continue
            password = user["password"]
            policy.check_password(name, password)
            if current is None:
                result[name] = policy.hash(name, password)
                outcome.added.append(name)
                continue
            matches = policy.verify(password, current)
            if not matches:
                result[name] = policy.hash(name, password)
                outcome.updated.append(name)
            elif policy.rehash == "on_policy_change" and not policy.is_current(current):
                result[name] = policy.hash(name, password)
                outcome.rehashed.append(name)
            elif allowed_hash_schemes is not None and identify(current).scheme not in allowed_hash_schemes:
                # The password matches, but the target cannot read this scheme: always rewrite it.
                result[name] = policy.hash(name, password)
                outcome.rehashed.append(name)
    except HashingError as exc:
        raise UserError(str(exc)) from exc
    if exclusive:
        for name in list(result):
            if name not in listed:
                del result[name]
                outcome.removed.append(name)
    return outcome


def fingerprint(name: str, key: str | None = None) -> str:
    """12 hex digits that stand for a user name in reports, which never show the name itself.

    With ``key`` it is HMAC-SHA256 of the name under that key: access_report draws a fresh key per run and
    gives it to the store and host inspections alike, so their fingerprints match within the run, and nobody
    without the key can test a guessed name against them. Without a key it is plain SHA-256 of the name: a
    short, unsalted digest that identifies a name one already knows and can be brute-forced for a short or
    guessable name - not a secret.
    """
    data = name.encode("utf-8")
    if key:
        digest = hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()
    else:
        digest = hashlib.sha256(data).hexdigest()
    return digest[:FINGERPRINT_LENGTH]


def describe_users(users: dict[str, str]) -> str:
    """A text listing of users with scheme and cost only, for diff output (never a hash)."""
    return "".join("%s: %s\n" % (name, identify(hashed).describe()) for name, hashed in users.items())
