"""Unit tests for the age-encrypted credential store."""

from __future__ import annotations

import datetime
import multiprocessing
import re
import subprocess

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore, CredentialStoreError


def _keygen(path):
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return str(path)


def _store(path, key, rounds=4):
    ids = age.read_identities(key)
    return CredentialStore(str(path), ids, list(ids.public), policy=HashPolicy("bcrypt", rounds))


@pytest.fixture
def key(tmp_path):
    return _keygen(tmp_path / "key.txt")


def test_mint_then_reuse(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    first = store.get("team-a")
    assert store.last_action == "minted" and store.writes == 1
    assert re.fullmatch(r"[A-Za-z0-9]{64}", first["username"]) and re.fullmatch(r"[A-Za-z0-9]{64}", first["password"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["minted_at"])
    assert HashPolicy().verify(first["password"], first["password_hash"]) is True
    raw = (tmp_path / "s.age").read_bytes()
    assert raw.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert first["password"].encode() not in raw and first["username"].encode() not in raw
    assert (tmp_path / "s.age").stat().st_mode & 0o777 == 0o600

    again = _store(tmp_path / "s.age", key)
    policy = again.policy
    assert again.get("team-a") == first
    assert again.last_action == "found" and again.writes == 0
    assert policy.hash_operations == 0 and policy.verify_operations == 0  # no bcrypt work on reuse
    assert (tmp_path / "s.age").read_bytes() == raw


def test_supplied_credential_replaces_and_keeps_other_fields(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    store.get("team-a")
    doc = store.read()
    doc["grants"]["team-a"]["note"] = {"kept": "as is"}
    store._save(doc)
    got = store.get("team-a", password="a-supplied-password")
    assert store.last_action == "supplied" and got["password"] == "a-supplied-password"
    assert got["note"] == {"kept": "as is"}
    assert HashPolicy().verify("a-supplied-password", got["password_hash"]) is True
    store.get("team-a", password="a-supplied-password")
    assert store.last_action == "found"


def test_store_written_by_age_cli_is_read_and_completed(tmp_path, key):
    pub = age.read_identities(key).public[0].canonical
    doc = "grants:\n  team-c:\n    username: cliuser\n    password: clipassword\n    minted_at: 2024-01-02T03:04:05Z\n"
    subprocess.run(["age", "-r", pub, "-o", str(tmp_path / "cli.age")], input=doc.encode(), check=True)
    store = _store(tmp_path / "cli.age", key)
    got = store.get("team-c")
    assert (got["username"], got["password"], got["minted_at"]) == ("cliuser", "clipassword", "2024-01-02T03:04:05Z")
    assert store.last_action == "completed" and got["password_hash"].startswith("$2y$04$")
    out = subprocess.run(["age", "-d", "-i", key, str(tmp_path / "cli.age")], check=True, capture_output=True).stdout
    assert yaml.safe_load(out)["grants"]["team-c"]["password_hash"] == got["password_hash"]


def test_wrong_identity_and_bad_yaml_fail_cleanly(tmp_path, key):
    _store(tmp_path / "s.age", key).get("team-a")
    other = _keygen(tmp_path / "other.txt")
    with pytest.raises(CredentialStoreError, match="cannot decrypt credential store .*other.txt"):
        _store(tmp_path / "s.age", other).get("team-a")
    pub = age.read_identities(key).public[0].canonical
    subprocess.run(["age", "-r", pub, "-o", str(tmp_path / "bad.age")], input=b"grants: [secretvalue: x: y\n", check=True)
    with pytest.raises(CredentialStoreError) as err:
        _store(tmp_path / "bad.age", key).get("team-a")
    assert "not valid YAML at line" in str(err.value) and "secretvalue" not in str(err.value)


def test_create_false(tmp_path, key):
    with pytest.raises(CredentialStoreError, match="'team-z' is not in credential store"):
        _store(tmp_path / "s.age", key).get("team-z", create=False)
    assert not (tmp_path / "s.age").exists()


def test_refuses_recipients_the_identity_cannot_read(tmp_path, key):
    other = _keygen(tmp_path / "other.txt")
    ids = age.read_identities(key)
    store = CredentialStore(str(tmp_path / "s.age"), ids, age.read_identities(other).public)
    with pytest.raises(CredentialStoreError, match="must be encrypted to the public key of the identity"):
        store.get("team-a")
    assert not (tmp_path / "s.age").exists()


def _worker(args):
    path, key, grant = args
    return _store(path, key).get(grant)["password"]


def test_concurrent_runs_lose_no_update(tmp_path, key):
    path = str(tmp_path / "s.age")
    grants = ["grant-%d" % i for i in range(8)]
    with multiprocessing.get_context("fork").Pool(4) as pool:
        passwords = pool.map(_worker, [(path, key, g) for g in grants] * 2)
    stored = _store(path, key).read()["grants"]
    assert sorted(stored) == grants
    # both lookups of each grant, racing, got the same credential
    assert passwords[: len(grants)] == passwords[len(grants):]
    assert [stored[g]["password"] for g in grants] == passwords[: len(grants)]


# -- rotation and revocation ------------------------------------------------------------------------------------


def _names(view, key):
    return [(c["role"], c["username"]) for c in view[key]]


def test_rotation_phases_in_order_with_one_hash(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    old = store.get("team-a")
    policy = store.policy
    hashes_before = policy.hash_operations
    by_scheme = dict(policy.hashes_by_scheme)

    view = store.rotation_step("team-a", "started")
    assert store.last_action == "changed" and view["status"] == "rotating" and view["phase"] == "minted"
    # Exactly one hash per scheme for the new credential: its bcrypt one and its fast one.
    assert policy.hash_operations == hashes_before + 2
    assert policy.hashes_by_scheme == {"bcrypt": by_scheme["bcrypt"] + 1, "apr_md5_crypt": by_scheme["apr_md5_crypt"] + 1}
    new = view["rotation"]["pending"]
    assert new["username"] != old["username"] and new["password"] != old["password"]
    # Hosts get the new one now, but only once every host has it does the store call it valid.
    assert _names(view, "present") == [("current", old["username"]), ("pending", new["username"])]
    assert _names(view, "valid") == [("current", old["username"])]
    assert view["refused"] == [] and view["handoff"]["username"] == old["username"]
    assert view["consumer"]["username"] == new["username"]
    assert [u["state"] for u in view["users"]] == ["present", "present"]

    # Starting again resumes: no new credential, no hash, no write.
    writes = store.writes
    again = store.rotation_step("team-a", "started")
    assert store.last_action == "unchanged" and store.writes == writes
    assert again["rotation"]["pending"]["username"] == new["username"] and policy.hash_operations == hashes_before + 2

    # A phase cannot be skipped.
    with pytest.raises(CredentialStoreError, match="phases in between"):
        store.rotation_step("team-a", "revoking")
    added = store.rotation_step("team-a", "added")
    assert added["phase"] == "added" and added["handoff"]["username"] == new["username"]  # on every host now
    assert _names(added, "valid") == [("current", old["username"]), ("pending", new["username"])]
    handed = store.rotation_step("team-a", "handed_off")
    assert handed["handoff"]["username"] == new["username"]  # the grantee now holds the new one

    swapped = store.rotation_step("team-a", "revoking")
    assert swapped["username"] == new["username"] and swapped["password"] == new["password"]
    assert _names(swapped, "valid") == [("current", new["username"])]
    assert _names(swapped, "refused") == [("retired", old["username"])]
    assert swapped["users"][-1] == {"name": old["username"], "label": "team-a (retired)", "state": "absent"}
    # Marking an earlier phase now is a no-op, not a step back.
    assert store.rotation_step("team-a", "added")["phase"] == "revoking"

    done = store.rotation_step("team-a", "finished")
    assert done["status"] == "active" and "rotation" not in done and done["rotated_at"]
    assert _names(done, "valid") == [("current", new["username"])] and done["refused"] == []
    assert policy.hash_operations == hashes_before + 2
    assert done["password_hashes"] == new["password_hashes"] and done["origin"] == "minted"
    # A fresh reader sees the same.
    assert _store(tmp_path / "s.age", key).get("team-a")["username"] == new["username"]
    assert store.rotation_step("team-a", "finished")["status"] == "active" and store.last_action == "unchanged"


def test_rotation_refusals(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    with pytest.raises(CredentialStoreError, match="not in credential store"):
        store.rotation_step("nobody", "started")
    store.get("team-a")
    with pytest.raises(CredentialStoreError, match="no rotation in progress"):
        store.rotation_step("team-a", "added")
    with pytest.raises(CredentialStoreError, match="unknown rotation step"):
        store.rotation_step("team-a", "sideways")
    store.rotation_step("team-a", "started")
    with pytest.raises(CredentialStoreError, match="being rotated"):
        store.get("team-a", password="x" * 20)


def test_revocation_keeps_name_and_hash_drops_password_when_verified(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    cred = store.get("team-b")
    store.rotation_step("team-b", "started")  # a rotation in progress is revoked too
    view = store.revoke("team-b")
    assert view["status"] == "revoked" and view["valid"] == [] and view["handoff"] is None
    assert [c["role"] for c in view["refused"]] == ["revoked", "revoked"]
    assert all(u["state"] == "absent" for u in view["users"]) and len(view["users"]) == 2
    assert store.revoke("team-b")["revoked_at"] == view["revoked_at"] and store.last_action == "unchanged"
    with pytest.raises(CredentialStoreError, match="was revoked"):
        store.get("team-b")  # never minted again silently
    with pytest.raises(CredentialStoreError, match="cannot be rotated"):
        store.rotation_step("team-b", "started")
    assert store.get("team-b", allow_revoked=True)["refused"][0]["password"] == cred["password"]

    verified = store.revocation_verified("team-b")
    assert verified["revocation_verified_at"] and "password" not in verified
    assert all(c["password"] is None for c in verified["refused"])
    assert verified["refused"][0]["username"] == cred["username"]
    assert verified["refused"][0]["password_hash"] == cred["password_hash"]
    raw = yaml.safe_dump(store.read())
    assert cred["password"] not in raw
    with pytest.raises(CredentialStoreError, match="is not revoked"):
        store.revocation_verified("internal" if store.get("internal") else "x")


def test_get_many_reads_once_and_mints_the_missing_in_one_write(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    first = store.get("team-a")
    reads = []
    original = store.read
    store.read = lambda: reads.append(1) or original()
    out = store.get_many(["team-b", "team-a", "team-c", "team-b"])
    assert [o["grant"] for o in out] == ["team-b", "team-a", "team-c", "team-b"] and out[0] == out[3]
    assert out[1] == first and store.actions == {"team-a": "found", "team-b": "minted", "team-c": "minted"}
    assert store.writes == 2 and len(reads) == 2  # one read for all, one under the lock; one write for both
    # team-a once, then team-b and team-c once each, per scheme (bcrypt and the fast one)
    assert store.policy.hashes_by_scheme == {"bcrypt": 3, "apr_md5_crypt": 3}
    reads.clear()
    again = _store(tmp_path / "s.age", key)
    assert again.get_many(["team-a", "team-b", "team-c"]) == [first, out[0], out[2]] and again.writes == 0
    assert again.policy.hash_operations == 0 and again.get("team-c") == out[2]


def test_get_many_refuses_revoked_and_unknown_like_get(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    store.get_many(["team-a", "team-b"])
    store.revoke("team-b")
    with pytest.raises(CredentialStoreError, match="'team-b' was revoked"):
        store.get_many(["team-a", "team-b"])
    assert store.get_many(["team-b"], allow_revoked=True)[0]["status"] == "revoked"
    with pytest.raises(CredentialStoreError, match="'team-x' is not in credential store"):
        store.get_many(["team-a", "team-x"], create=False)
    assert "team-x" not in store.read()["grants"]


def test_per_target_internal_credentials_start_as_copies_of_the_shared_one_once(tmp_path, key):
    """A store made before credentials per target: each target's starts as the shared one (nothing changes on
    the hosts), in the same one write; a target added later gets a credential of its own."""
    store = _store(tmp_path / "s.age", key)
    shared = store.get("internal")
    hashes = store.policy.hash_operations
    inherit = {"internal.h1": "internal", "internal.h2": "internal"}
    h1, h2, team = store.get_many(["internal.h1", "internal.h2", "team-a"], inherit=inherit)
    assert store.actions == {"internal.h1": "inherited", "internal.h2": "inherited", "team-a": "minted"}
    for copy in (h1, h2):
        assert {k: copy[k] for k in ("username", "password", "password_hash", "minted_at")} == {
            k: shared[k] for k in ("username", "password", "password_hash", "minted_at")}
        assert copy["inherited_from"] == "internal"
    assert team["username"] != shared["username"]
    assert store.policy.hash_operations == hashes + 2  # team-a only (bcrypt, apr1): a copy is not hashed again
    assert store.read()["grants"]["internal"]["superseded_at"]

    # Rotating one target's copy leaves the shared credential and the other copy as they were.
    store.rotation_step("internal.h1", "started")
    grants = store.read()["grants"]
    assert grants["internal.h2"]["username"] == shared["username"] and "rotation" not in grants["internal.h2"]
    assert grants["internal"]["username"] == shared["username"] and "rotation" not in grants["internal"]

    # Copied once: a target added later, and a run that asks again, get their own.
    (h3,) = store.get_many(["internal.h3"], inherit={"internal.h3": "internal"})
    assert store.actions == {"internal.h3": "minted"} and h3["username"] != shared["username"]
    writes = store.writes
    assert store.get_many(["internal.h1", "internal.h2"], inherit=inherit)[1] == h2 and store.writes == writes


def test_inherit_copies_a_rotation_in_progress_and_never_a_revoked_credential(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    store.get_many(["internal", "old"])
    store.rotation_step("internal", "started")
    (copy,) = store.get_many(["internal.h1"], inherit={"internal.h1": "internal"})
    assert copy["phase"] == "minted" and copy["rotation"] == store.read()["grants"]["internal"]["rotation"]
    store.revoke("old")
    (fresh,) = store.get_many(["new.h1"], inherit={"new.h1": "old"})
    assert store.actions == {"new.h1": "minted"} and fresh["username"] != store.read()["grants"]["old"]["username"]
    assert "superseded_at" not in store.read()["grants"]["old"]


# -- the hash policy's record: origin and the fast scheme's hash --------------------------------------------------


def test_minted_credential_gets_one_fast_hash_a_given_one_none(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    minted = store.get("team-a")
    assert minted["origin"] == "minted"
    fast = minted["password_hashes"]["apr_md5_crypt"]
    assert fast.startswith("$apr1$") and HashPolicy().verify(minted["password"], fast) is True
    assert store.policy.hashes_by_scheme == {"bcrypt": 1, "apr_md5_crypt": 1}
    raw = (tmp_path / "s.age").read_bytes()
    assert fast.encode() not in raw  # encrypted like the rest

    given = store.get("team-b", password="a person chose this")
    assert given["origin"] == "given" and "password_hashes" not in given
    assert store.policy.hashes_by_scheme == {"bcrypt": 2, "apr_md5_crypt": 1}
    # A minted password replaced by a given one loses its fast hash with it.
    replaced = store.get("team-a", password="also chosen by a person")
    assert replaced["origin"] == "given" and "password_hashes" not in replaced


def test_store_of_an_earlier_release_is_completed_once(tmp_path, key):
    """A store written before the hash policy (no origin, no password_hashes, a rotation under way) gets the fast
    hash of each minted-shaped credential in one write, then is found as it is: zero hash operations."""
    store = _store(tmp_path / "s.age", key)
    store.get("team-a")
    store.get("team-b", password="a person chose this")
    store.rotation_step("team-a", "started")
    doc = store.read()
    for record in doc["grants"].values():
        for cred in (record, (record.get("rotation") or {}).get("pending")):
            if cred:
                cred.pop("origin", None)
                cred.pop("password_hashes", None)
    store._save(doc)

    old = _store(tmp_path / "s.age", key)
    team_a, team_b = old.get_many(["team-a", "team-b"])
    assert old.writes == 1 and old.actions == {"team-a": "completed", "team-b": "found"}
    # The current and the pending credential of team-a: one fast hash each; team-b's password is not minted-shaped.
    assert old.policy.hashes_by_scheme == {"apr_md5_crypt": 2}
    assert team_a["origin"] == "minted" and team_a["password_hashes"]["apr_md5_crypt"].startswith("$apr1$")
    pending = team_a["rotation"]["pending"]
    assert pending["password_hashes"]["apr_md5_crypt"].startswith("$apr1$")
    assert team_b["present"][0]["origin"] == "given" and "password_hashes" not in team_b  # told by its shape
    assert [c["origin"] for c in team_a["present"]] == ["minted", "minted"]

    again = _store(tmp_path / "s.age", key)
    assert again.get_many(["team-a", "team-b"]) == [team_a, team_b]
    assert again.writes == 0 and again.policy.hash_operations == 0


def test_a_malformed_fast_hash_is_made_again(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    store.get("team-a")
    doc = store.read()
    doc["grants"]["team-a"]["password_hashes"]["apr_md5_crypt"] = "$apr1$broken"
    store._save(doc)
    again = _store(tmp_path / "s.age", key)
    fixed = again.get("team-a")
    assert again.last_action == "completed" and again.policy.hashes_by_scheme == {"apr_md5_crypt": 1}
    assert HashPolicy().verify(fixed["password"], fixed["password_hashes"]["apr_md5_crypt"]) is True


def test_a_new_user_name_keeps_the_passwords_origin(tmp_path, key):
    """Renaming the user of a person's password must not make it count as minted (it would get the fast hash)."""
    store = _store(tmp_path / "s.age", key)
    store.get("team-b", password="a person chose this")
    renamed = store.get("team-b", username="team-b-renamed")
    assert renamed["username"] == "team-b-renamed" and renamed["password"] == "a person chose this"
    assert renamed["origin"] == "given" and "password_hashes" not in renamed
    minted = store.get("team-a")
    fast = minted["password_hashes"]["apr_md5_crypt"]
    before = dict(store.policy.hashes_by_scheme)
    moved = store.get("team-a", username="team-a-renamed")
    assert moved["origin"] == "minted" and moved["password_hashes"]["apr_md5_crypt"] == fast
    assert store.policy.hashes_by_scheme == before  # the same password: no hash made again


def test_grace_period_keeps_the_old_credential_until_the_deadline_or_silence(tmp_path, key):
    utc = datetime.timezone.utc
    store = _store(tmp_path / "s.age", key)
    old = store.get("team-a")
    store.rotation_step("team-a", "started")
    store.rotation_step("team-a", "added")
    handed_at = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=utc)
    handed = store.rotation_step("team-a", "handed_off", grace_until="2026-12-08T12:00:00Z", now=handed_at)
    assert handed["rotation"]["handed_off_at"] == "2026-12-01T12:00:00Z"
    assert handed["rotation"]["grace_until"] == "2026-12-08T12:00:00Z"
    writes = store.writes

    # In grace, the old credential in use: nothing changes, nothing is written, both stay valid.
    used = [{"host": "prom-1", "kept": True, "since": "2026-11-30T00:00:00Z", "old_seen": "2026-12-02T11:59:00Z",
             "new_seen": None, "error": None}]
    kept = store.rotation_step("team-a", "revoking", evidence=used, quiet_seconds=3600,
                               now=datetime.datetime(2026, 12, 2, 12, 0, 0, tzinfo=utc))
    assert store.last_action == "unchanged" and store.writes == writes and kept["phase"] == "handed_off"
    assert store.last_decision["retire"] is False and "prom-1" in store.last_decision["detail"]
    assert [c["username"] for c in kept["valid"]] == [old["username"], kept["rotation"]["pending"]["username"]]

    # The deadline passes: retired whatever the evidence says.
    swapped = store.rotation_step("team-a", "revoking", evidence=used, quiet_seconds=3600,
                                  now=datetime.datetime(2026, 12, 8, 12, 0, 0, tzinfo=utc))
    assert store.last_decision["reason"] == "deadline" and swapped["phase"] == "revoking"
    assert [c["username"] for c in swapped["refused"]] == [old["username"]]


def test_without_grace_the_old_credential_is_retired_in_the_same_run(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    store.get("scrape")
    for step in ("started", "added", "handed_off"):
        handed = store.rotation_step("scrape", step)
    assert "grace_until" not in handed["rotation"] and handed["rotation"]["handed_off_at"]
    assert store.rotation_step("scrape", "revoking")["phase"] == "revoking"
    assert store.last_decision["reason"] == "no_grace"


def test_the_operator_ends_a_grace_period(tmp_path, key):
    store = _store(tmp_path / "s.age", key)
    store.get("team-a")
    store.rotation_step("team-a", "started")
    store.rotation_step("team-a", "added")
    store.rotation_step("team-a", "handed_off", grace_until="2099-01-01T00:00:00Z")
    assert store.rotation_step("team-a", "revoking")["phase"] == "handed_off"
    assert store.last_decision["reason"] == "in_grace"
    assert store.rotation_step("team-a", "revoking", end_grace=True)["phase"] == "revoking"
    assert store.last_decision == {"retire": True, "reason": "ended", "detail": "the operator ended the grace period"}
