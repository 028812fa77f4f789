"""Unit tests for reconciling a wanted user set with stored hashes."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._hashing import HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._users import (
    UserError,
    check_name,
    describe_users,
    reconcile,
)


@pytest.fixture(scope="module")
def hashes():
    policy = HashPolicy("bcrypt", bcrypt_rounds=4)
    return {
        "internal": policy.hash("internal", "internal-pw"),
        "alice": policy.hash("alice", "alice-pw"),
        "alice_apr1": HashPolicy("apr_md5_crypt").hash("alice", "alice-pw"),
    }


def policy(**kw):
    kw.setdefault("bcrypt_rounds", 4)
    return HashPolicy(**kw)


def test_new_users_are_appended_and_first_entry_stays_first(hashes):
    existing = {"internal": hashes["internal"], "alice": hashes["alice"]}
    p = policy()
    out = reconcile(existing, [{"name": "bob", "password": "bob-pw"}, {"name": "alice", "password": "alice-pw"}], p)
    assert list(out.users) == ["internal", "alice", "bob"]
    assert out.added == ["bob"] and out.updated == [] and out.removed == []
    assert out.users["alice"] == hashes["alice"]  # verified, kept byte-identical
    assert (p.hash_operations, p.verify_operations) == (1, 1)


def test_password_hash_is_compared_as_string_without_bcrypt_work(hashes):
    p = policy()
    out = reconcile({"alice": hashes["alice"]}, [{"name": "alice", "password_hash": hashes["alice"]}], p)
    assert not out.changed
    assert (p.hash_operations, p.verify_operations) == (0, 0)
    out = reconcile({"alice": hashes["alice"]}, [{"name": "alice", "password_hash": hashes["internal"]}], p)
    assert out.updated == ["alice"] and out.users["alice"] == hashes["internal"]
    assert (p.hash_operations, p.verify_operations) == (0, 0)


def test_changed_password_is_rehashed(hashes):
    p = policy()
    out = reconcile({"alice": hashes["alice"]}, [{"name": "alice", "password": "new-pw"}], p)
    assert out.updated == ["alice"] and out.users["alice"] != hashes["alice"]
    assert p.verify("new-pw", out.users["alice"])


def test_absent_and_exclusive(hashes):
    existing = {"internal": hashes["internal"], "alice": hashes["alice"], "old": "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}
    out = reconcile(existing, [{"name": "alice", "state": "absent"}, {"name": "nobody", "state": "absent"}], policy())
    assert list(out.users) == ["internal", "old"] and out.removed == ["alice"]
    out = reconcile(existing, [{"name": "internal", "password_hash": hashes["internal"]}], policy(), exclusive=True)
    assert list(out.users) == ["internal"] and sorted(out.removed) == ["alice", "old"]


def test_foreign_schemes_of_unlisted_users_are_kept(hashes):
    existing = {"legacy": "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "md5": hashes["alice_apr1"]}
    out = reconcile(existing, [{"name": "bob", "password": "x"}], policy())
    assert out.users["legacy"] == existing["legacy"] and out.users["md5"] == existing["md5"]


@pytest.mark.parametrize(
    "rehash, stored, expect_rehash",
    [
        ("never", "alice_apr1", False),
        ("on_policy_change", "alice_apr1", True),
        ("on_policy_change", "alice", False),
    ],
)
def test_rehash_on_policy_change(hashes, rehash, stored, expect_rehash):
    p = policy(rehash=rehash)
    out = reconcile({"alice": hashes[stored]}, [{"name": "alice", "password": "alice-pw"}], p)
    assert (out.rehashed == ["alice"]) is expect_rehash
    assert out.changed is expect_rehash
    if expect_rehash:
        assert out.users["alice"].startswith("$2y$04$")


def test_rehash_when_cost_is_lower_than_asked(hashes):
    p = policy(bcrypt_rounds=5, rehash="on_policy_change")
    out = reconcile({"alice": hashes["alice"]}, [{"name": "alice", "password": "alice-pw"}], p)
    assert out.rehashed == ["alice"] and out.users["alice"].startswith("$2y$05$")


def test_allowed_schemes_force_rewrite_of_unreadable_hash(hashes):
    out = reconcile(
        {"alice": hashes["alice_apr1"]}, [{"name": "alice", "password": "alice-pw"}], policy(), allowed_hash_schemes=("bcrypt",)
    )
    assert out.rehashed == ["alice"]


@pytest.mark.parametrize(
    "users, message",
    [
        ([{"name": ""}], "non-empty"),
        ([{"name": None, "password": "x"}], "non-empty"),
        ([{"name": "a:b", "password": "x"}], "':'"),
        ([{"name": "a\nb", "password": "x"}], "control character"),
        ([{"name": "a\tb", "password": "x"}], "control character"),
        ([{"name": " a", "password": "x"}], "white space"),
        ([{"name": "a" * 256, "password": "x"}], "longer than 255"),
        ([{"name": "a", "password": "x"}, {"name": "a", "password": "y"}], "more than once"),
        ([{"name": "a"}], "exactly one of password or password_hash"),
        ([{"name": "a", "password": "x", "password_hash": "y"}], "exactly one"),
        ([{"name": "a", "password": "x", "state": "gone"}], "state"),
        ([{"name": "a", "password": "x" * 73}], "73 bytes"),
        ([{"name": "a", "password": "x\ny"}], "newline"),
        ([{"name": "a", "password_hash": "bad:hash"}], "password_hash"),
        (["a"], "must be a dictionary"),
    ],
)
def test_bad_input(users, message):
    with pytest.raises(UserError, match=message) as err:
        reconcile({}, users, policy())
    for user in users:
        if isinstance(user, dict) and user.get("password") and len(user["password"]) > 3:
            assert user["password"] not in str(err.value)


def test_check_name_accepts_64_char_minted_names():
    check_name("A" * 32 + "z9" * 16)


def test_describe_users_has_no_hash(hashes):
    text = describe_users({"internal": hashes["internal"], "legacy": "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="})
    assert text == "internal: bcrypt (cost 4)\nlegacy: ldap_sha1\n"
    assert hashes["internal"] not in text


@pytest.mark.parametrize("bad", ["not-a-hash", "$2y$12$tooshort", "$2y$05$" + "!" * 53])
def test_malformed_password_hash_is_refused_before_anything_changes(hashes, bad):
    existing = {"internal": hashes["internal"]}
    with pytest.raises(UserError, match="user 'alice': password_hash is not") as err:
        reconcile(existing, [{"name": "alice", "password_hash": bad}], policy())
    assert bad not in str(err.value)
    assert existing == {"internal": hashes["internal"]}
