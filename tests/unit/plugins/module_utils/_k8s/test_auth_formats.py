"""Unit tests of the Secret data formats for Kubernetes basic-auth consumers."""

from __future__ import annotations

import secrets

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy, identify
from ansible_collections.promaccess.core.plugins.module_utils._common.users import UserError, reconcile
from ansible_collections.promaccess.core.plugins.module_utils._k8s.auth_formats import (
    FORMAT_NAMES,
    FORMATS,
    AuthFormatError,
    check_secret_type,
    get_format,
)


def _pw():
    return secrets.token_urlsafe(18)


@pytest.fixture(scope="module")
def hashes():
    """Real hashes of random passwords in each scheme used below (cost 4 keeps bcrypt quick)."""
    return {
        "bcrypt": HashPolicy("bcrypt", 4).hash("u", _pw()),
        "bcrypt2": HashPolicy("bcrypt", 4).hash("u", _pw()),
        "ldap_sha1": HashPolicy("ldap_sha1").hash("u", _pw()),
        "apr_md5_crypt": HashPolicy("apr_md5_crypt").hash("u", _pw()),
    }


# format, key holding the users (None: a key per user), Secret type, scheme written
TABLE = [
    ("ingress_nginx_auth_file", "auth", "Opaque", "bcrypt"),
    ("ingress_nginx_auth_map", None, "Opaque", "bcrypt"),
    ("nginx_ingress_htpasswd", "htpasswd", "nginx.org/htpasswd", "bcrypt"),
    ("envoy_gateway", ".htpasswd", "Opaque", "ldap_sha1"),
    ("traefik", "users", "Opaque", "bcrypt"),
    ("prometheus_web_config", "web.yml", "Opaque", "bcrypt"),
]


def test_table_covers_every_format():
    assert sorted(row[0] for row in TABLE) == sorted(FORMAT_NAMES)


@pytest.mark.parametrize("name,key,secret_type,scheme", TABLE)
def test_render_then_parse_round_trip(name, key, secret_type, scheme, hashes):
    fmt = get_format(name)
    assert fmt.secret_type == secret_type
    assert fmt.scheme == scheme
    h1 = hashes["ldap_sha1" if scheme == "ldap_sha1" else "bcrypt"]
    h2 = hashes["ldap_sha1" if scheme == "ldap_sha1" else "bcrypt2"]
    users = {"internal": h1, "team-a": h2}
    document, existing = fmt.parse({})
    assert existing == {}
    data = fmt.render(document, users)
    assert all(isinstance(v, str) for v in data.values())
    if key is None:
        assert data == users
    else:
        assert list(data) == [key]
    assert fmt.parse(data)[1] == users


@pytest.mark.parametrize(
    "name,data,expected",
    [
        ("ingress_nginx_auth_file", {"auth": "a:{h}\nb:{h}\n"}, ["a", "b"]),
        ("nginx_ingress_htpasswd", {"htpasswd": "# comment\nb:{h}\na:{h}\n"}, ["b", "a"]),
        ("traefik", {"users": "z:{h}\n\na:{h}"}, ["z", "a"]),
        ("ingress_nginx_auth_map", {"b": "{h}", "a": "{h}\n"}, ["a", "b"]),
        ("prometheus_web_config", {"web.yml": "basic_auth_users:\n  z: '{h}'\n  a: '{h}'\n"}, ["z", "a"]),
    ],
)
def test_parse_live_data(name, data, expected, hashes):
    data = {k: v.replace("{h}", hashes["bcrypt"]) for k, v in data.items()}
    users = get_format(name).parse(data)[1]
    assert list(users) == expected
    assert set(users.values()) == {hashes["bcrypt"]}


def test_htpasswd_render_keeps_comments_other_keys_and_order(hashes):
    fmt = get_format("ingress_nginx_auth_file")
    h = hashes["bcrypt"]
    data = {"auth": "# reserved first\ninternal:%s\nold:%s\n" % (h, h), "note": "kept"}
    document, users = fmt.parse(data)
    users.pop("old")
    users["new"] = hashes["bcrypt2"]
    out = fmt.render(document, users)
    assert out["note"] == "kept"
    assert out["auth"] == "# reserved first\ninternal:%s\nnew:%s\n" % (h, hashes["bcrypt2"])


def test_web_config_keeps_other_settings(hashes):
    fmt = get_format("prometheus_web_config")
    data = {"web.yml": "tls_server_config:\n  cert_file: /c\nbasic_auth_users:\n  a: '%s'\n" % hashes["bcrypt"]}
    document, users = fmt.parse(data)
    users["b"] = hashes["bcrypt2"]
    out = yaml.safe_load(fmt.render(document, users)["web.yml"])
    assert out["tls_server_config"] == {"cert_file": "/c"}
    assert list(out["basic_auth_users"]) == ["a", "b"]


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("ingress_nginx_auth_file", {"auth": "nocolon\n"}, "malformed"),
        ("ingress_nginx_auth_file", {"auth": "a:x\na:y\n"}, "more than once"),
        ("traefik", {"users": "a:\n"}, "empty hash"),
        ("ingress_nginx_auth_map", {"a": ""}, "single password hash"),
        ("ingress_nginx_auth_map", {"a": "x\ny"}, "single password hash"),
        ("prometheus_web_config", {"web.yml": "[1, 2]"}, "mapping"),
        ("prometheus_web_config", {"web.yml": "a: [\n"}, "not valid YAML"),
    ],
)
def test_parse_refuses_broken_data(name, data, message):
    with pytest.raises(AuthFormatError, match=message):
        get_format(name).parse(data)


def test_auth_map_refuses_names_that_cannot_be_keys(hashes):
    fmt = get_format("ingress_nginx_auth_map")
    with pytest.raises(AuthFormatError, match="cannot be a key"):
        fmt.render(None, {"team a": hashes["bcrypt"]})


def test_web_config_refuses_empty_user_set():
    fmt = get_format("prometheus_web_config")
    document, _unused = fmt.parse({})
    with pytest.raises(AuthFormatError, match="turns authentication off"):
        fmt.render(document, {})


@pytest.mark.parametrize(
    "name,scheme,refused",
    [
        ("envoy_gateway", "bcrypt", True),
        ("envoy_gateway", "apr_md5_crypt", True),
        ("envoy_gateway", "ldap_sha1", False),
        ("prometheus_web_config", "ldap_sha1", True),
        ("prometheus_web_config", "apr_md5_crypt", True),
        ("prometheus_web_config", "bcrypt", False),
        ("traefik", "apr_md5_crypt", False),
        ("ingress_nginx_auth_file", "ldap_sha1", False),
    ],
)
def test_check_wanted_refuses_unreadable_hashes(name, scheme, refused, hashes):
    fmt = get_format(name)
    wanted = [{"name": "a", "password_hash": hashes[scheme]}]
    if refused:
        with pytest.raises(AuthFormatError, match="cannot check") as info:
            fmt.check_wanted(wanted)
        assert hashes[scheme] not in str(info.value)
    else:
        fmt.check_wanted(wanted)


def test_envoy_refusal_says_why(hashes):
    with pytest.raises(AuthFormatError) as info:
        get_format("envoy_gateway").check_wanted([{"name": "a", "password_hash": hashes["bcrypt"]}])
    assert "SHA-1" in str(info.value) and "lock the user out" in str(info.value)


def test_envoy_reconcile_writes_sha_and_replaces_bcrypt(hashes):
    fmt = get_format("envoy_gateway")
    password = _pw()
    bcrypt_hash = HashPolicy("bcrypt", 4).hash("a", password)
    policy = HashPolicy(fmt.scheme)
    outcome = reconcile(
        {"a": bcrypt_hash}, [{"name": "a", "password": password}, {"name": "b", "password": _pw()}],
        policy, allowed_hash_schemes=fmt.allowed_hash_schemes,
    )
    assert [identify(h).scheme for h in outcome.users.values()] == ["ldap_sha1", "ldap_sha1"]
    assert outcome.rehashed == ["a"] and outcome.added == ["b"]
    # idempotent: the same passwords against the new hashes need no hashing
    again = HashPolicy(fmt.scheme)
    second = reconcile(outcome.users, [{"name": "a", "password": password}], again,
                       allowed_hash_schemes=fmt.allowed_hash_schemes)
    assert not second.changed and again.hash_operations == 0


def test_unreadable_users_listed(hashes):
    fmt = get_format("envoy_gateway")
    assert fmt.unreadable_users({"a": hashes["bcrypt"], "b": hashes["ldap_sha1"]}) == ["a"]
    assert get_format("ingress_nginx_auth_file").unreadable_users({"a": hashes["bcrypt"]}) == []


@pytest.mark.parametrize(
    "name,current,ok",
    [
        ("nginx_ingress_htpasswd", "nginx.org/htpasswd", True),
        ("nginx_ingress_htpasswd", "Opaque", False),
        ("ingress_nginx_auth_file", None, True),
        ("ingress_nginx_auth_file", "Opaque", True),
        ("traefik", "kubernetes.io/basic-auth", False),
    ],
)
def test_check_secret_type(name, current, ok):
    if ok:
        check_secret_type(FORMATS[name], current)
    else:
        with pytest.raises(AuthFormatError, match="cannot be changed"):
            check_secret_type(FORMATS[name], current)


def test_unknown_format():
    with pytest.raises(AuthFormatError, match="unknown format"):
        get_format("apache")


def test_bcrypt_policy_refuses_long_password_for_web_config():
    with pytest.raises(UserError, match="72"):
        reconcile({}, [{"name": "a", "password": "x" * 80}], HashPolicy("bcrypt", 4))
