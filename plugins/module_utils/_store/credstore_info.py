# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the credential store says about each grant, with its secrets kept apart. Private to promaccess.core.

``grant_summary`` holds no secret (status, rotation phase, dates, ages, and per credential its role, the
fingerprint of its user name and the scheme of its hash); ``grant_users`` holds the user names and hashes the
hosts are compared with, for options marked ``no_log`` only. No I/O here: the caller reads the document with
``_store/credstore.CredentialStore.read()``.
"""

from __future__ import annotations

import datetime

from ansible_collections.promaccess.core.plugins.module_utils._common import times
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import identify
from ansible_collections.promaccess.core.plugins.module_utils._common.times import iso
from ansible_collections.promaccess.core.plugins.module_utils._common.users import fingerprint
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import grant_view

SECONDS_PER_DAY = 86400


def parse_time(value) -> datetime.datetime | None:
    """An ISO 8601 time from the store as an aware UTC datetime; None when absent or unreadable (the report
    shows what the store holds rather than refuse it)."""
    return times.parse(value, lenient=True)


def age_days(value, now: datetime.datetime) -> int | None:
    """Whole days from ``value`` to ``now`` (0 on the day it was minted); None when unknown."""
    stamp = parse_time(value)
    if stamp is None:
        return None
    return max(0, int((now - stamp).total_seconds() // SECONDS_PER_DAY))


def _credentials(view: dict) -> list[dict]:
    return list(view.get("present") or []) + list(view.get("refused") or [])


def grant_summary(name: str, record: dict, now: datetime.datetime, fingerprint_key: str | None = None) -> dict:
    """The grant's state without a secret: status active/rotating/revoked/superseded, phase, dates, ages and credentials
    (fingerprints keyed with ``fingerprint_key``, as the host inspections of the same report run key them)."""
    view = grant_view(name, record)
    rotation = record.get("rotation") if isinstance(record.get("rotation"), dict) else {}
    credentials = []
    for cred in _credentials(view):
        hashed = cred.get("password_hash")
        info = identify(hashed) if isinstance(hashed, str) else None
        credentials.append({
            "role": cred.get("role"),
            "fingerprint": fingerprint(cred["username"], fingerprint_key),
            "minted_at": iso(cred.get("minted_at")),
            "age_days": age_days(cred.get("minted_at"), now),
            "hash_scheme": info.scheme if info else None,
            "hash_cost": info.cost if info else None,
        })
    return {
        "grant": name,
        "status": view.get("status"),
        "phase": view.get("phase"),
        "minted_at": iso(record.get("minted_at")),
        "age_days": age_days(record.get("minted_at"), now),
        "rotated_at": iso(view.get("rotated_at")),
        "revoked_at": iso(view.get("revoked_at")),
        "revocation_verified_at": iso(record.get("revocation_verified_at")),
        "superseded_at": iso(record.get("superseded_at")),
        "rotation_started_at": iso(rotation.get("started_at")),
        "rotation_updated_at": iso(rotation.get("updated_at")),
        "handed_off_at": iso(rotation.get("handed_off_at")),
        "grace_until": iso(rotation.get("grace_until")),
        "credentials": credentials,
    }


def grant_users(name: str, record: dict) -> list[dict]:
    """SECRET: the entries a host file is compared with, {grant, role, name, password_hash, password_hashes} per
    credential: its bcrypt hash and the other schemes' hashes the store made of it."""
    return [
        {"grant": name, "role": cred.get("role"), "name": cred["username"], "password_hash": cred.get("password_hash"),
         "password_hashes": sorted(h for h in (cred.get("password_hashes") or {}).values() if isinstance(h, str))}
        for cred in _credentials(grant_view(name, record))
    ]


def store_info(document: dict, now: datetime.datetime | None = None, grants=None, with_users: bool = False,
               fingerprint_key: str | None = None) -> dict:
    """Summaries of the store's grants (all, or those named in ``grants``), sorted by name; ``missing`` names
    asked for but not in the store; ``users`` (secret) only when ``with_users``."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    records = (document or {}).get("grants") or {}
    names = sorted(records) if not grants else [g for g in dict.fromkeys(grants) if g in records]
    out = {
        "grants": [grant_summary(name, records[name], now, fingerprint_key) for name in names],
        "missing": [g for g in dict.fromkeys(grants or []) if g not in records],
    }
    if with_users:
        out["users"] = [user for name in names for user in grant_users(name, records[name])]
    return out
