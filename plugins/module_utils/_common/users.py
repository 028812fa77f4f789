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


def check_name(name, label: str | None = None) -> None:
    """Refuse user names that would corrupt a user file or be read differently by its consumer.

    The message quotes the name, or the user's ``label`` when it has one (its name is secret then).
    """
    problem = name_problem(name)
    if problem is None:
        return
    if label:
        raise UserError("user name of %r %s" % (label, problem))
    if not isinstance(name, str) or name == "":
        raise UserError("user name %s" % problem)
    shown = "%r..." % name[:16] if len(name) > MAX_NAME_LENGTH else repr(name)
    raise UserError("user name %s %s" % (shown, problem))


def labels_of(users) -> dict[str, str]:
    """The one name -> label rule: the users of a ``users`` option that carry a ``label``, by name.

    A labelled user's name is secret (a minted user name is half of a credential): results, diffs and messages
    show its label instead (:func:`shown`), and :func:`hide_labelled_names` masks the name everywhere else in
    what the module returns. Several users may share a label; they are then told apart by nothing but their
    count. Entries that are not valid yet are skipped here; normalise_wanted refuses them.
    """
    out: dict[str, str] = {}
    for user in users or []:
        if not isinstance(user, dict):
            continue
        name, label = user.get("name"), user.get("label")
        if isinstance(name, str) and name and isinstance(label, str) and label:
            out.setdefault(name, label)
    return out


def shown(name: str, labels: dict[str, str] | None = None) -> str:
    """How user ``name`` appears in results, diffs and messages: its label when it has one, else the name."""
    return labels.get(name, name) if labels else name


def hide_labelled_name(module, name, label) -> None:
    """The same for one user name given with its own label (``username`` and ``username_label`` of the scrape
    modules): masked in everything the module returns when ``label`` is given."""
    values = getattr(module, "no_log_values", None)
    if values is not None and isinstance(name, str) and name and label:
        values.add(name)


def hide_labelled_names(module) -> dict[str, str]:
    """Mask the names of the labelled users of ``module.params["users"]`` in everything the module returns.

    Adds them to ``module.no_log_values``, the AnsibleModule set that ``exit_json`` and ``fail_json`` remove from
    the whole result (messages, warnings and the ``invocation`` shown at -vvv included); a stand-in module
    without that set is left alone. Backends call this first, before anything can fail, and show the users by
    the label map it returns (:func:`shown`, ``Outcome.as_result``, :func:`describe_users`).
    """
    labels = labels_of(module.params.get("users"))
    values = getattr(module, "no_log_values", None)
    if values is not None and labels:
        values.update(labels)
    return labels


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

    def as_result(self, labels: dict[str, str] | None = None) -> dict:
        """The module's ``users_*`` results: each user by its label when ``labels`` (labels_of) has one."""
        return {
            "users_added": [shown(name, labels) for name in self.added],
            "users_removed": [shown(name, labels) for name in self.removed],
            "users_changed": sorted(shown(name, labels) for name in set(self.updated) | set(self.rehashed)),
        }


def normalise_wanted(users: list[dict]) -> list[dict]:
    """Validate the ``users`` option: names, labels, one of password/password_hash, no duplicates.

    Messages show a labelled user by its label, never its name.
    """
    seen = set()
    out = []
    for index, user in enumerate(users or []):
        if not isinstance(user, dict):
            raise UserError("users[%d] must be a dictionary" % index)
        name = user.get("name")
        label = user.get("label")
        if label is not None:
            problem = text_problem(label)
            if problem is not None:
                raise UserError("users[%d]: label %s" % (index, problem))
        check_name(name, label)
        who = label or name
        if name in seen:
            raise UserError("user %r is listed more than once" % (who,))
        seen.add(name)
        state = user.get("state") or "present"
        if state not in ("present", "absent"):
            raise UserError("user %r: state must be 'present' or 'absent'" % (who,))
        password = user.get("password")
        password_hash = user.get("password_hash")
        if state == "present":
            if (password is None) == (password_hash is None):
                raise UserError("user %r: give exactly one of password or password_hash" % (who,))
        out.append(
            {"name": name, "label": label, "state": state, "password": password, "password_hash": password_hash}
        )
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
            who = user["label"] or name  # the name in messages: a labelled user's name is secret
            listed.add(name)
            current = existing.get(name)
            if user["state"] == "absent":
                if current is not None:
                    del result[name]
                    outcome.removed.append(name)
                continue
            if user["password_hash"] is not None:
                check_hash_string(who, user["password_hash"], allowed_hash_schemes)
                if current != user["password_hash"]:
                    result[name] = user["password_hash"]
                    (outcome.updated if current is not None else outcome.added).append(name)
                continue
            password = user["password"]
            policy.check_password(who, password)
            if current is None:
                result[name] = policy.hash(who, password)
                outcome.added.append(name)
                continue
            matches = policy.verify(password, current)
            if not matches:
                result[name] = policy.hash(who, password)
                outcome.updated.append(name)
            elif policy.rehash == "on_policy_change" and not policy.is_current(current):
                result[name] = policy.hash(who, password)
                outcome.rehashed.append(name)
            elif allowed_hash_schemes is not None and identify(current).scheme not in allowed_hash_schemes:
                # The password matches, but the target cannot read this scheme: always rewrite it.
                result[name] = policy.hash(who, password)
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


def describe_users(users: dict[str, str], labels: dict[str, str] | None = None) -> str:
    """A text listing of users with scheme and cost only, for diff output (never a hash); a labelled user is
    listed by its label (labels_of), never its name."""
    return "".join("%s: %s\n" % (shown(name, labels), identify(hashed).describe()) for name, hashed in users.items())
