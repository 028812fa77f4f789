"""Unit tests for the store metadata the access report reads (credential_store_info)."""

from __future__ import annotations

import datetime
import json
import subprocess

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._common.users import fingerprint
from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore_info import (
    age_days,
    grant_summary,
    grant_users,
    parse_time,
    store_info,
)

NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
H = "$2y$12$" + "a" * 53


def cred(user, minted="2026-01-01T00:00:00Z", password="pw-" + "x" * 20):
    return {"username": user, "password": password, "password_hash": H, "minted_at": minted}


DOCUMENT = {
    "version": 1,
    "grants": {
        "internal": cred("U-internal", "2026-02-28T12:00:01Z"),
        "team-a": dict(cred("U-a-old"), rotated_at="2026-01-15T00:00:00Z",
                       rotation={"phase": "added", "started_at": "2026-02-01T00:00:00Z",
                                 "updated_at": "2026-02-02T00:00:00Z",
                                 "pending": cred("U-a-new", "2026-02-01T00:00:00Z")}),
        "team-c": dict(cred("U-c-new", "2026-02-10T00:00:00Z"),
                       rotation={"phase": "revoking", "started_at": "2026-02-09T00:00:00Z",
                                 "updated_at": "2026-02-11T00:00:00Z", "retired": cred("U-c-old")}),
        "team-b": {"username": "U-b", "password_hash": H, "minted_at": "2025-06-01T00:00:00Z",
                   "revoked_at": "2026-02-20T00:00:00Z", "revocation_verified_at": "2026-02-21T00:00:00Z"},
    },
}


@pytest.mark.parametrize("value,expected", [
    ("2026-03-01T12:00:00Z", 0),
    ("2026-02-28T12:00:01Z", 0),
    ("2026-02-28T12:00:00Z", 1),
    ("2025-03-01T12:00:00Z", 365),
    ("2027-01-01T00:00:00Z", 0),  # in the future (clock skew): not negative
    ("yesterday", None),
    (None, None),
])
def test_age_days(value, expected):
    assert age_days(value, NOW) == expected


def test_parse_time_accepts_a_naive_datetime_as_utc():
    assert parse_time(datetime.datetime(2026, 1, 1)) == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def test_summaries_follow_the_store_schema():
    info = store_info(DOCUMENT, NOW)
    by = {g["grant"]: g for g in info["grants"]}
    assert list(by) == ["internal", "team-a", "team-b", "team-c"] and info["missing"] == []
    assert by["internal"]["status"] == "active" and by["internal"]["age_days"] == 0
    a = by["team-a"]
    assert (a["status"], a["phase"], a["age_days"], a["rotated_at"]) == ("rotating", "added", 59, "2026-01-15T00:00:00Z")
    assert a["rotation_started_at"] == "2026-02-01T00:00:00Z" and a["rotation_updated_at"] == "2026-02-02T00:00:00Z"
    assert [(c["role"], c["fingerprint"], c["age_days"]) for c in a["credentials"]] == [
        ("current", fingerprint("U-a-old"), 59), ("pending", fingerprint("U-a-new"), 28)]
    assert a["credentials"][0]["hash_scheme"] == "bcrypt" and a["credentials"][0]["hash_cost"] == 12
    c = by["team-c"]
    assert [(x["role"], x["fingerprint"]) for x in c["credentials"]] == [
        ("current", fingerprint("U-c-new")), ("retired", fingerprint("U-c-old"))]
    b = by["team-b"]
    assert (b["status"], b["revoked_at"], b["revocation_verified_at"]) == (
        "revoked", "2026-02-20T00:00:00Z", "2026-02-21T00:00:00Z")
    assert [x["role"] for x in b["credentials"]] == ["revoked"]
    text = json.dumps(info)
    for secret in ("U-internal", "U-a-old", "U-a-new", "U-c-new", "U-c-old", "U-b", H, "pw-"):
        assert secret not in text


def test_users_only_when_asked():
    assert "users" not in store_info(DOCUMENT, NOW)
    users = store_info(DOCUMENT, NOW, grants=["team-a", "team-b", "nobody"], with_users=True)
    assert [(u["grant"], u["role"], u["name"]) for u in users["users"]] == [
        ("team-a", "current", "U-a-old"), ("team-a", "pending", "U-a-new"), ("team-b", "revoked", "U-b")]
    assert all(set(u) == {"grant", "role", "name", "password_hash", "password_hashes"} for u in users["users"])
    assert users["missing"] == ["nobody"] and [g["grant"] for g in users["grants"]] == ["team-a", "team-b"]


def test_empty_store():
    assert store_info({"version": 1, "grants": {}}, NOW, with_users=True) == {"grants": [], "missing": [], "users": []}


def test_pending_in_phase_minted_is_listed_with_its_role():
    record = dict(cred("U-x"), rotation={"phase": "minted", "pending": cred("U-y")})
    assert [u["role"] for u in grant_users("x", record)] == ["current", "pending"]
    assert grant_summary("x", record, NOW)["phase"] == "minted"


def test_a_real_store_through_rotation_and_revocation(tmp_path):
    """Against the lead's CredentialStore: a real age-encrypted store moved through its transitions."""
    key = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    ids = age.read_identities(str(key))
    store = CredentialStore(str(tmp_path / "s.age"), ids, list(ids.public), policy=HashPolicy("bcrypt", 4))
    store.get("team-a")
    store.get("team-b")
    store.rotation_step("team-a", "started")
    store.revoke("team-b")
    reader = CredentialStore(str(tmp_path / "s.age"), ids, [])
    info = store_info(reader.read(), with_users=True)
    by = {g["grant"]: g for g in info["grants"]}
    assert (by["team-a"]["status"], by["team-a"]["phase"]) == ("rotating", "minted")
    assert by["team-b"]["status"] == "revoked" and by["team-b"]["revoked_at"]
    assert [(u["grant"], u["role"]) for u in info["users"]] == [
        ("team-a", "current"), ("team-a", "pending"), ("team-b", "revoked")]


def test_credential_store_info_return_is_documented():
    """The keys main() returns (store, exists, format, recipients and store_info's) are those RETURN documents, nested too."""
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parents[5] / "plugins" / "modules" / "credential_store_info.py").read_text()
    doc = next(yaml.safe_load(n.value.value) for n in ast.parse(source).body
               if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "RETURN")
    result = dict(store="/s", exists=True, format="sops", recipients=[], **store_info(DOCUMENT, NOW, with_users=True))
    assert set(result) == set(doc)
    assert set(result["grants"][1]) == set(doc["grants"]["contains"])
    assert set(result["grants"][1]["credentials"][0]) == set(doc["grants"]["contains"]["credentials"]["contains"])
