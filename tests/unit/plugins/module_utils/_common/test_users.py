"""Unit tests for reconciling a wanted user set with stored hashes."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._common.users import (
    UserError,
    check_name,
    describe_users,
    hide_labelled_names,
    labels_of,
    reconcile,
    shown,
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


# -- labels: a labelled user's name is secret and never shown ------------------------------------------------

MINTED = "Qm3Zt8Kx" * 8  # 64 characters, as the credential store mints them
MINTED_2 = "pR7wLc2N" * 8


def test_labels_of_maps_labelled_names_only():
    users = [
        {"name": "internal"},
        {"name": MINTED, "label": "team-a (current)"},
        {"name": MINTED_2, "label": "team-a (pending)", "state": "absent"},
        {"name": "team-b", "label": None},
        {"name": None, "label": "broken"},  # refused later by normalise_wanted, never a key here
        "not-a-dict",
    ]
    assert labels_of(users) == {MINTED: "team-a (current)", MINTED_2: "team-a (pending)"}
    assert labels_of(None) == {}
    assert shown(MINTED, labels_of(users)) == "team-a (current)" and shown("internal", labels_of(users)) == "internal"
    assert shown("internal", None) == "internal"


def test_results_and_diff_show_labels_never_labelled_names(hashes):
    existing = {"internal": hashes["internal"], MINTED_2: hashes["alice"], "legacy": hashes["alice"]}
    wanted = [
        {"name": "internal", "password": "changed-pw"},  # no label: shown by name, as before
        {"name": MINTED, "label": "team-a (current)", "password": "alice-pw"},
        {"name": MINTED_2, "label": "team-a (retired)", "state": "absent"},
    ]
    labels = labels_of(wanted)
    out = reconcile(existing, wanted, policy(), exclusive=False)
    result = out.as_result(labels)
    assert result == {
        "users_added": ["team-a (current)"],
        "users_removed": ["team-a (retired)"],
        "users_changed": ["internal"],
    }
    before, after = describe_users(existing, labels), describe_users(out.users, labels)
    assert before == "internal: bcrypt (cost 4)\nteam-a (retired): bcrypt (cost 4)\nlegacy: bcrypt (cost 4)\n"
    assert after == "internal: bcrypt (cost 4)\nlegacy: bcrypt (cost 4)\nteam-a (current): bcrypt (cost 4)\n"
    for text in (repr(result), before, after):
        assert MINTED not in text and MINTED_2 not in text
    # The users themselves keep their real names: only what is shown changes.
    assert list(out.users) == ["internal", "legacy", MINTED]


def test_without_labels_results_show_names_as_before(hashes):
    out = reconcile({"internal": hashes["internal"]}, [{"name": MINTED, "password": "alice-pw"}], policy())
    assert out.as_result() == out.as_result({}) == {"users_added": [MINTED], "users_removed": [], "users_changed": []}
    assert describe_users(out.users) == "internal: bcrypt (cost 4)\n%s: bcrypt (cost 4)\n" % MINTED


def test_users_sharing_a_label_are_each_listed(hashes):
    wanted = [{"name": MINTED, "label": "team-a", "password": "x" * 20},
              {"name": MINTED_2, "label": "team-a", "password": "y" * 20}]
    out = reconcile({}, wanted, policy())
    assert out.as_result(labels_of(wanted))["users_added"] == ["team-a", "team-a"]


@pytest.mark.parametrize(
    "users, message",
    [
        ([{"name": MINTED, "label": "g (current)"}], "user 'g \\(current\\)': give exactly one"),
        ([{"name": MINTED, "label": "g", "password": "x"}, {"name": MINTED, "label": "g", "password": "y"}],
         "user 'g' is listed more than once"),
        ([{"name": MINTED, "label": "g", "password": "x", "state": "gone"}], "user 'g': state"),
        ([{"name": MINTED, "label": "g", "password": "x\ny"}], "user 'g': password must not contain a newline"),
        ([{"name": MINTED, "label": "g", "password_hash": "bad:hash"}], "user 'g': password_hash"),
        ([{"name": MINTED + ":", "label": "g", "password": "x"}], "user name of 'g' must not contain ':'"),
        ([{"name": MINTED, "label": "", "password": "x"}], "users\\[0\\]: label must be a non-empty string"),
        ([{"name": MINTED, "label": "g\n", "password": "x"}], "label must not contain a newline"),
    ],
)
def test_messages_name_a_labelled_user_by_its_label(users, message):
    with pytest.raises(UserError, match=message) as err:
        reconcile({}, users, policy())
    assert MINTED not in str(err.value)


class _Module:
    def __init__(self, users, no_log_values=None):
        self.params = {"users": users}
        if no_log_values is not None:
            self.no_log_values = no_log_values


def test_hide_labelled_names_adds_them_to_no_log_values():
    users = [{"name": "internal"}, {"name": MINTED, "label": "team-a (current)"}]
    module = _Module(users, no_log_values={"already-secret"})
    assert hide_labelled_names(module) == {MINTED: "team-a (current)"}
    assert module.no_log_values == {"already-secret", MINTED}  # a name without a label stays visible


def test_hide_labelled_names_tolerates_a_stand_in_without_no_log_values():
    module = _Module([{"name": MINTED, "label": "team-a (current)"}])
    assert hide_labelled_names(module) == {MINTED: "team-a (current)"}
    assert not hasattr(module, "no_log_values")
