"""Unit tests for the hashing policy (real passlib/libpass and bcrypt; low costs keep them fast)."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._common import hashing
from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import (
    FAST_SCHEME,
    MINTED_SCHEME_BY_CONSUMER,
    HashingError,
    HashPolicy,
    consumer_scheme,
    credential_hash,
    identify,
)
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import FORMATS


@pytest.mark.parametrize(
    "hashed, scheme, cost",
    [
        ("$2y$05$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2", "bcrypt", 5),
        ("$2b$12$hnf2lssxfm0.i4a.1kvpsovybcfib51vrjgbuyv6kdnytlgwj81ay", "bcrypt", 12),
        ("$2a$10$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2", "bcrypt", 10),
        ("$apr1$eIYuQBhY$FSoLTeAeTZ7CZuEG.BPaP1", "apr_md5_crypt", None),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "ldap_sha1", None),
        ("$1$abcdefgh$FSoLTeAeTZ7CZuEG.BPaP1", "md5_crypt", None),
        ("*0", "unknown", None),
        ("plaintext", "unknown", None),
    ],
)
def test_identify(hashed, scheme, cost):
    info = identify(hashed)
    assert (info.scheme, info.cost) == (scheme, cost)


def test_sha512_rounds_identified():
    policy = HashPolicy("sha512_crypt")
    hashed = policy.hash("u", "pw")
    assert hashed.startswith("$6$")
    assert identify(hashed).describe() == "sha512_crypt (cost 5000)"
    assert identify("$6$rounds=10000$" + hashed[3:]).cost == 10000


@pytest.mark.parametrize("scheme, prefix", [("bcrypt", "$2y$04$"), ("sha512_crypt", "$6$"), ("apr_md5_crypt", "$apr1$")])
def test_hash_and_verify_count_operations(scheme, prefix):
    policy = HashPolicy(scheme, bcrypt_rounds=4)
    hashed = policy.hash("alice", "correct horse")
    assert hashed.startswith(prefix)
    assert policy.verify("correct horse", hashed) is True
    assert policy.verify("wrong", hashed) is False
    assert (policy.hash_operations, policy.verify_operations) == (1, 2)


def test_verify_reads_2a_2b_and_sha1():
    policy = HashPolicy("bcrypt", bcrypt_rounds=4)
    h2y = policy.hash("u", "pw")
    for ident in ("2a", "2b"):
        assert policy.verify("pw", "$%s$" % ident + h2y[4:]) is True
    assert policy.verify("test", "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=") is True


def test_verify_unknown_scheme_is_none_and_not_counted():
    policy = HashPolicy()
    assert policy.verify("pw", "*0") is None
    assert policy.verify_operations == 0


@pytest.mark.parametrize(
    "password, message",
    [
        ("", "must not be empty"),
        ("a\nb", "newline"),
        ("a\rb", "newline"),
        ("a\x00b", "NUL"),
        ("x" * 73, "73 bytes"),
        ("é" * 37, "74 bytes"),
    ],
)
def test_bad_passwords_are_refused_without_echoing_them(password, message):
    policy = HashPolicy("bcrypt", bcrypt_rounds=4)
    with pytest.raises(HashingError, match=message) as err:
        policy.hash("alice", password)
    assert "alice" in str(err.value)
    if len(password) > 3:
        assert password not in str(err.value)
    assert policy.hash_operations == 0


def test_72_bytes_is_accepted_for_bcrypt_and_longer_for_sha512():
    assert HashPolicy("bcrypt", bcrypt_rounds=4).hash("u", "x" * 72).startswith("$2y$")
    assert HashPolicy("sha512_crypt").hash("u", "x" * 200).startswith("$6$")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(scheme="md5"), "unknown hash scheme"),
        (dict(bcrypt_rounds=3), "between 4 and 31"),
        (dict(bcrypt_rounds=32), "between 4 and 31"),
        (dict(rehash="sometimes"), "rehash"),
    ],
)
def test_bad_policy(kwargs, message):
    with pytest.raises(HashingError, match=message):
        HashPolicy(**kwargs)


@pytest.mark.parametrize(
    "scheme, rounds, hashed, current",
    [
        ("bcrypt", 12, "$2y$12$" + "a" * 53, True),
        ("bcrypt", 12, "$2y$13$" + "a" * 53, True),
        ("bcrypt", 12, "$2y$10$" + "a" * 53, False),
        ("bcrypt", 12, "$apr1$eIYuQBhY$FSoLTeAeTZ7CZuEG.BPaP1", False),
        ("apr_md5_crypt", 12, "$apr1$eIYuQBhY$FSoLTeAeTZ7CZuEG.BPaP1", True),
    ],
)
def test_is_current(scheme, rounds, hashed, current):
    assert HashPolicy(scheme, bcrypt_rounds=rounds).is_current(hashed) is current


def test_malformed_backend_output_is_never_returned(monkeypatch):
    """A broken backend (as passlib 1.7.4 with bcrypt 5 in peers' roles) must not yield a '*0' hash."""

    class Broken:
        @staticmethod
        def using(**_):
            return Broken

        @staticmethod
        def hash(password):
            del password
            return "*0"

    monkeypatch.setattr(HashPolicy, "_handler", lambda self, scheme: Broken)
    with pytest.raises(HashingError, match="malformed hash"):
        HashPolicy().hash("alice", "pw")


def test_missing_backend_gives_clear_error(monkeypatch):
    def no_backend():
        raise hashing.passlib_exc.MissingBackendError("bcrypt: no backends available")

    monkeypatch.setattr(hashing.passlib_hash.bcrypt, "get_backend", no_backend)
    with pytest.raises(HashingError, match="no bcrypt backend could be loaded.*install the 'bcrypt'"):
        HashPolicy().hash("alice", "pw")


@pytest.mark.parametrize("bad", ["", "a:b", "a\nb", "\x00"])
def test_check_hash_string_refuses_corrupting_values(bad):
    with pytest.raises(HashingError, match="password_hash"):
        hashing.check_hash_string("u", bad)


def test_check_hash_string_scheme_allow_list():
    with pytest.raises(HashingError, match="accepts only bcrypt"):
        hashing.check_hash_string("u", "$apr1$eIYuQBhY$FSoLTeAeTZ7CZuEG.BPaP1", ("bcrypt",))


# A well-formed hash of every scheme a caller may give as password_hash (password "pw"), made by the tools
# that write them: htpasswd -B/-m/-2/-5/-s/-d, and libpass for the ones htpasswd does not write.
GOOD_GIVEN_HASHES = [
    ("$2y$05$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2", "bcrypt"),
    ("$2b$05$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2", "bcrypt"),
    ("$2a$05$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2", "bcrypt"),
    ("$2y$31$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2", "bcrypt"),
    ("$apr1$0QnUDy7i$pDJmCtK2u7j0YQjxIH39H/", "apr_md5_crypt"),
    ("$1$vnw89Ydl$kTKvOyOJMFjji.nWaDKPw.", "md5_crypt"),
    ("$5$AY4ttumND5hboQTP$TAs.ApE.1cVH9xVOQdSaongfcGGDUw0yzY5GkcVyUn9", "sha256_crypt"),
    (
        "$6$NsESPiUcs/DXkUzK$A.iFxYo6LVy5dVabEAaYkXjcsby9eQSknlQpeks4b9fa7O0/xD/64OHx4hIy2wjGdPk2NzggA4OFzxNhHTZOm.",
        "sha512_crypt",
    ),
    ("{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", "ldap_sha1"),
    ("{SSHA}8YjWAMhFBgzIxPp2YwXM+GufXWZwDuFc", "ldap_salted_sha1"),
    ("NZB48ZpuEYQFk", "des_crypt"),
]


@pytest.mark.parametrize("hashed, scheme", GOOD_GIVEN_HASHES)
def test_check_hash_string_accepts_well_formed_hashes(hashed, scheme):
    assert hashing.check_hash_string("u", hashed).scheme == scheme


def test_check_hash_string_accepts_what_the_policy_writes():
    for scheme in hashing.WRITABLE_SCHEMES:
        hashed = HashPolicy(scheme, bcrypt_rounds=4).hash("u", "pw")
        assert hashing.check_hash_string("u", hashed).scheme == scheme


_BCRYPT_TAIL = "L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2"


@pytest.mark.parametrize(
    "bad, message",
    [
        # Hashes htpasswd -v and nginx refuse ("password verification failed" or "Invalid argument").
        ("not-a-hash", "not a hash of a supported scheme"),
        ("*0", "not a hash of a supported scheme"),
        ("{PLAIN}pw", "not a hash of a supported scheme"),
        ("$2y$12$tooshort", "not a well-formed bcrypt hash"),
        ("$2y$05$" + "!" * 53, "not a well-formed bcrypt hash"),
        ("$2y$03$" + _BCRYPT_TAIL, "not a well-formed bcrypt hash"),
        ("$2y$32$" + _BCRYPT_TAIL, "not a well-formed bcrypt hash"),
        ("$2y$5$" + _BCRYPT_TAIL, "not a well-formed bcrypt hash"),
        ("$2x$05$" + _BCRYPT_TAIL, "not a well-formed bcrypt hash"),
        ("$2$05$" + _BCRYPT_TAIL, "not a well-formed bcrypt hash"),
        ("$2y$05$" + _BCRYPT_TAIL + "a", "not a well-formed bcrypt hash"),
        ("$2y$05$" + _BCRYPT_TAIL[:-1], "not a well-formed bcrypt hash"),
        ("$2y$05$" + _BCRYPT_TAIL[:-1] + "3", "not a well-formed bcrypt hash"),  # unused bits of the hash set
        ("$2y$05$" + _BCRYPT_TAIL[:21] + "a" + _BCRYPT_TAIL[22:], "not a well-formed bcrypt hash"),  # salt bits
        ("$2y$05$" + _BCRYPT_TAIL[:-1] + "+", "not a well-formed bcrypt hash"),
        ("$2y$05$", "not a well-formed bcrypt hash"),
        ("$apr1$0QnUDy7i$pDJmCtK2u7j0YQjx", "not a well-formed apr_md5_crypt hash"),
        ("$apr1$0QnUDy7i$" + "!" * 22, "not a well-formed apr_md5_crypt hash"),
        ("$6$NsESPiUcs/DXkUzK$tooshort", "not a well-formed sha512_crypt hash"),
        ("$6$rounds=10$NsESPiUcs/DXkUzK$A.iFxYo6LVy5dVabEAaYkXjcsby9eQSknlQpeks4b9fa7O0/xD/64OHx4hIy2wjGdPk2"
         "NzggA4OFzxNhHTZOm.", "not a well-formed sha512_crypt hash"),
        ("$5$AY4ttumND5hboQTP$", "not a well-formed sha256_crypt hash"),
        ("{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M", "not a well-formed ldap_sha1 hash"),
        ("{SHA}not base64!", "not a well-formed ldap_sha1 hash"),
        ("{SSHA}short", "not a well-formed ldap_salted_sha1 hash"),
        (" $2y$05$" + _BCRYPT_TAIL, "not a hash of a supported scheme"),
    ],
)
def test_check_hash_string_refuses_malformed_hashes_naming_the_user_not_the_hash(bad, message):
    with pytest.raises(HashingError, match=message) as err:
        hashing.check_hash_string("alice", bad)
    assert "alice" in str(err.value)
    assert bad not in str(err.value)
    if len(bad) > 16:
        assert bad[7:] not in str(err.value)


def test_check_hash_string_checks_the_form_after_the_allow_list():
    with pytest.raises(HashingError, match="not a well-formed bcrypt hash"):
        hashing.check_hash_string("u", "$2y$05$" + "!" * 53, ("bcrypt",))


# -- the hash policy by origin and consumer -----------------------------------------------------------------------


@pytest.mark.parametrize("consumer, origin, policy, scheme", [
    ("htpasswd", "minted", "auto", "apr_md5_crypt"),  # nginx auth_basic hashes on every request
    ("traefik", "minted", "auto", "apr_md5_crypt"),
    ("ingress_nginx_auth_file", "minted", "auto", "apr_md5_crypt"),
    ("web_config", "minted", "auto", "bcrypt"),  # exporter-toolkit caches what it verified
    ("prometheus_web_config", "minted", "auto", "bcrypt"),
    ("htpasswd", "given", "auto", "bcrypt"),  # a person's password keeps its work factor
    ("htpasswd", None, "auto", "bcrypt"),
    ("htpasswd", "minted", "bcrypt", "bcrypt"),  # the grant's override
    ("envoy_gateway", "minted", "auto", "bcrypt"),  # not listed: bcrypt (the module refuses it, saying why)
])
def test_consumer_scheme(consumer, origin, policy, scheme):
    assert consumer_scheme(consumer, origin, policy) == scheme


def test_consumer_scheme_refuses_an_unknown_policy():
    with pytest.raises(HashingError, match="hash policy must be one of auto, bcrypt"):
        consumer_scheme("htpasswd", "minted", "fast")


def test_every_secret_format_accepts_the_scheme_the_policy_writes_for_it():
    for name, fmt in FORMATS.items():
        scheme = MINTED_SCHEME_BY_CONSUMER.get(name)
        if scheme is None:
            continue
        assert fmt.allowed_hash_schemes is None or scheme in fmt.allowed_hash_schemes, name
    assert set(MINTED_SCHEME_BY_CONSUMER) - set(FORMATS) == {"htpasswd", "web_config"}


def test_credential_hash_picks_the_stored_string_and_falls_back_to_bcrypt():
    fast = HashPolicy(FAST_SCHEME).hash("u", "p" * 64)
    strong = HashPolicy("bcrypt", 4).hash("u", "p" * 64)
    minted = {"origin": "minted", "password_hash": strong, "password_hashes": {FAST_SCHEME: fast}}
    assert credential_hash(minted, "htpasswd") == fast
    assert credential_hash(minted, "web_config") == strong
    assert credential_hash(minted, "htpasswd", "bcrypt") == strong
    # Minted before the policy and not completed yet, or a hash that is not what it claims: bcrypt.
    assert credential_hash(dict(minted, password_hashes={}), "htpasswd") == strong
    assert credential_hash(dict(minted, password_hashes={FAST_SCHEME: strong}), "htpasswd") == strong
    assert credential_hash(dict(minted, origin="given"), "htpasswd") == strong


def test_hash_as_counts_per_scheme():
    policy = HashPolicy("bcrypt", 4)
    policy.hash("u", "secret")
    policy.hash_as(FAST_SCHEME, "u", "secret")
    assert policy.hash_operations == 2 and policy.hashes_by_scheme == {"bcrypt": 1, FAST_SCHEME: 1}
