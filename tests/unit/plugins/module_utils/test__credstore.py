"""Unit tests for the age-encrypted credential store."""

from __future__ import annotations

import multiprocessing
import re
import subprocess

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils import _age
from ansible_collections.promaccess.core.plugins.module_utils._credstore import CredentialStore, CredentialStoreError
from ansible_collections.promaccess.core.plugins.module_utils._hashing import HashPolicy


def _keygen(path):
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return str(path)


def _store(path, key, rounds=4):
    ids = _age.read_identities(key)
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
    doc["grants"]["team-a"]["rotation"] = {"phase": "pending"}
    store._save(doc)
    got = store.get("team-a", password="a-supplied-password")
    assert store.last_action == "supplied" and got["password"] == "a-supplied-password"
    assert got["rotation"] == {"phase": "pending"}
    assert HashPolicy().verify("a-supplied-password", got["password_hash"]) is True
    store.get("team-a", password="a-supplied-password")
    assert store.last_action == "found"


def test_store_written_by_age_cli_is_read_and_completed(tmp_path, key):
    pub = _age.read_identities(key).public[0].canonical
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
    pub = _age.read_identities(key).public[0].canonical
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
    ids = _age.read_identities(key)
    store = CredentialStore(str(tmp_path / "s.age"), ids, _age.read_identities(other).public)
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
