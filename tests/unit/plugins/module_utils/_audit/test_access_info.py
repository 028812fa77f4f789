"""Unit tests for the read-only inspection of user files and basic-auth Secrets (access_info, k8s_access_info)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import string
from pathlib import Path

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import (
    AccessInfoBackend,
    AccessInfoError,
    K8sAccessInfoBackend,
    audit_users,
    inspect_file,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.users import fingerprint
from ansible_collections.promaccess.core.plugins.module_utils._k8s.client import LAST_APPLIED


ALPHABET = string.ascii_letters + string.digits


def name64():
    return "".join(secrets.choice(ALPHABET) for _unused in range(64))


def bcrypt_like(cost=12):
    return "$2y$%02d$" % cost + "".join(secrets.choice(ALPHABET + "./") for _unused in range(53))


SHA1 = "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
APR1 = "$apr1$eIYuQBhY$FSoLTeAeTZ7CZuEG.BPaP1"


class FakeModule:
    def __init__(self, params):
        self.params = params


@pytest.fixture
def creds():
    """internal, team-a current, team-a pending, team-b revoked: names and hashes as the store holds them."""
    return {key: (name64(), bcrypt_like()) for key in ("internal", "a", "a_new", "b")}


def expected(creds):
    return [
        {"grant": "internal", "role": "current", "name": creds["internal"][0], "password_hash": creds["internal"][1]},
        {"grant": "team-a", "role": "current", "name": creds["a"][0], "password_hash": creds["a"][1]},
        {"grant": "team-a", "role": "pending", "name": creds["a_new"][0], "password_hash": creds["a_new"][1]},
        {"grant": "team-b", "role": "revoked", "name": creds["b"][0], "password_hash": creds["b"][1]},
    ]


def secrets_of(creds):
    return [value for pair in creds.values() for value in pair]


def assert_no_secret(result, creds):
    text = json.dumps(result)
    for value in secrets_of(creds):
        assert value not in text


def test_fingerprint_is_the_first_12_hex_of_sha256():
    assert fingerprint("alice") == hashlib.sha256(b"alice").hexdigest()[:12]
    assert len(fingerprint(name64())) == 12


def test_keyed_fingerprint_is_hmac_sha256_and_cannot_be_checked_without_the_key():
    key = "k" * 64
    assert fingerprint("alice", key) == hmac.new(key.encode(), b"alice", hashlib.sha256).hexdigest()[:12]
    assert fingerprint("alice", key) != fingerprint("alice")
    assert fingerprint("alice", key) != fingerprint("alice", "another key")


def test_audit_fingerprints_follow_the_key(creds):
    name = creds["internal"][0]
    expected = [{"grant": "internal", "role": "current", "name": name, "password_hash": None}]
    out = audit_users({name: creds["internal"][1], "stranger": creds["internal"][1]}, expected, "run-key")
    assert out["expected"][0]["fingerprint"] == fingerprint(name, "run-key")
    assert out["unexpected"][0]["fingerprint"] == fingerprint("stranger", "run-key")


def test_audit_present_matching_absent_edited_and_unexpected(creds):
    stranger = name64()
    found = {
        creds["internal"][0]: creds["internal"][1],  # as the store has it
        creds["a"][0]: bcrypt_like(10),  # edited by hand
        creds["b"][0]: SHA1,  # revoked, still there
        stranger: APR1,  # nobody expects it
    }
    out = audit_users(found, expected(creds))
    rows = {(r["grant"], r["role"]): r for r in out["expected"]}
    assert rows["internal", "current"] == {
        "grant": "internal", "role": "current", "fingerprint": fingerprint(creds["internal"][0]), "present": True,
        "hash_scheme": "bcrypt", "hash_cost": 12, "matches_store": True,
    }
    assert rows["team-a", "current"]["matches_store"] is False and rows["team-a", "current"]["hash_cost"] == 10
    assert rows["team-a", "pending"] == {
        "grant": "team-a", "role": "pending", "fingerprint": fingerprint(creds["a_new"][0]), "present": False,
        "hash_scheme": None, "hash_cost": None, "matches_store": None,
    }
    assert rows["team-b", "revoked"]["present"] is True and rows["team-b", "revoked"]["hash_scheme"] == "ldap_sha1"
    assert out["unexpected"] == [{"fingerprint": fingerprint(stranger), "hash_scheme": "apr_md5_crypt", "hash_cost": None}]
    assert out["unexpected_count"] == 1 and out["entries"] == 4
    assert stranger not in json.dumps(out)
    assert_no_secret(out, creds)


def test_audit_without_a_file_reports_everything_absent(creds):
    out = audit_users(None, expected(creds))
    assert [r["present"] for r in out["expected"]] == [False] * 4
    assert out["unexpected"] == [] and out["entries"] == 0


def test_audit_without_a_store_hash_does_not_judge(creds):
    entry = {"grant": "g", "role": "current", "name": creds["a"][0], "password_hash": None}
    out = audit_users({creds["a"][0]: creds["a"][1]}, [entry])
    assert out["expected"][0]["present"] is True and out["expected"][0]["matches_store"] is None


def test_the_stores_fast_hash_matches_too(creds):
    """An nginx file holds the store's $apr1$ hash of a minted credential (the hash policy): that is the store's,
    not an edit; a fast hash the store never made is not."""
    entry = {"grant": "g", "role": "current", "name": creds["a"][0], "password_hash": creds["a"][1],
             "password_hashes": [APR1]}
    assert audit_users({creds["a"][0]: APR1}, [entry])["expected"][0]["matches_store"] is True
    other = "$apr1$eIYuQBhZ$FSoLTeAeTZ7CZuEG.BPaP1"
    row = audit_users({creds["a"][0]: other}, [entry])["expected"][0]
    assert row["matches_store"] is False and row["hash_scheme"] == "apr_md5_crypt"


@pytest.mark.parametrize("entry,message", [
    ("x", "must be a dictionary"),
    ({"role": "current", "name": "n"}, "needs a grant"),
    ({"grant": "g", "role": "old", "name": "n"}, "role must be one of"),
    ({"grant": "g", "role": "current"}, "needs a name"),
    ({"grant": "g", "name": "n", "password_hash": 5}, "password_hash must be a string"),
    ({"grant": "g", "name": "n", "password_hashes": [5]}, "password_hashes must be a list of strings"),
    ({"grant": "g", "name": "n", "password_hashes": "$apr1$"}, "password_hashes must be a list of strings"),
])
def test_bad_expected_entries_are_refused(entry, message):
    with pytest.raises(AccessInfoError, match=message):
        audit_users({}, [entry])


# -- files ---------------------------------------------------------------------------------------------------
def test_htpasswd_file_facts_and_duplicates(tmp_path, creds):
    path = tmp_path / "prometheus.htpasswd"
    path.write_text("# comment\n%s:%s\n%s:%s\n%s:%s\n" % (
        creds["internal"][0], creds["internal"][1], creds["a"][0], creds["a"][1], creds["a"][0], SHA1))
    os.chmod(path, 0o640)
    result = AccessInfoBackend(FakeModule({"path": str(path), "format": "htpasswd", "expected_users": expected(creds)})).run()
    assert result["changed"] is False
    facts = result["file"]
    assert facts["exists"] and facts["readable"] and facts["error"] is None
    assert facts["mode"] == "0640" and facts["duplicate_names"] == 1 and facts["size"] == path.stat().st_size
    assert facts["mtime"].endswith("Z") and facts["owner"]
    present = {(r["grant"], r["role"]): r["matches_store"] for r in result["expected"] if r["present"]}
    assert present == {("internal", "current"): True, ("team-a", "current"): True}  # the first line counts
    assert_no_secret(result, creds)


def test_web_config_file(tmp_path, creds):
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump({"tls_server_config": {}, "basic_auth_users": {
        creds["internal"][0]: creds["internal"][1], creds["b"][0]: creds["b"][1]}}))
    result = AccessInfoBackend(FakeModule({"path": str(path), "format": "web_config", "expected_users": expected(creds)})).run()
    rows = {(r["grant"], r["role"]): r for r in result["expected"]}
    assert rows["internal", "current"]["matches_store"] is True
    assert rows["team-b", "revoked"]["present"] is True and not rows["team-a", "current"]["present"]
    assert result["entries"] == 2 and result["unexpected_count"] == 0
    assert_no_secret(result, creds)


def test_missing_file_is_a_fact_not_a_failure(tmp_path, creds):
    facts, users = inspect_file(str(tmp_path / "nope"), "htpasswd")
    assert users is None and facts["exists"] is False and facts["error"] is None and facts["mode"] is None


@pytest.mark.parametrize("fmt,content,message", [
    ("htpasswd", "ok:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n%s-has-no-colon\n", "line 2 is not a 'user:hash' entry"),
    ("htpasswd", "ok:x\n%s:\n", "line 2 is not a 'user:hash' entry"),
    ("web_config", "basic_auth_users:\n  %s: [1, 2]\n", "does not map a string name to a string hash"),
    ("web_config", "basic_auth_users: [%s]\n", "is not a mapping of user name to hash"),
    ("web_config", "basic_auth_users: {%s: [\n", "is not valid YAML at line"),
])
def test_unreadable_file_error_never_quotes_it(tmp_path, fmt, content, message):
    secret = name64()
    path = tmp_path / "f"
    path.write_text(content % secret)
    facts, users = inspect_file(str(path), fmt)
    assert users is None and facts["exists"] and not facts["readable"]
    assert message in facts["error"] and secret not in facts["error"]


def test_not_utf8_and_directory(tmp_path):
    (tmp_path / "bin").write_bytes(b"\xff\xfe:x\n")
    facts, _unused = inspect_file(str(tmp_path / "bin"), "htpasswd")
    assert "not UTF-8" in facts["error"]
    facts, _unused = inspect_file(str(tmp_path), "htpasswd")
    assert "not a regular file" in facts["error"]


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(AccessInfoError, match="unknown format"):
        inspect_file(str(tmp_path / "x"), "csv")


# -- Secrets, against the real kube-apiserver of tests/controlplane --------------------------------------------------------


def k8s_params(k8s, tmp_path, fmt, users):
    return dict(
        kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"), context=None, host=None, api_key=None,
        validate_certs=None, ca_cert=None, namespace="monitoring", name="prom-auth", format=fmt,
        expected_users=users,
    )


def put_secret(k8s, data, secret_type="Opaque", annotations=None):
    meta = {"name": "prom-auth"}
    if annotations:
        meta["annotations"] = annotations
    k8s.put_object("secrets", "monitoring", {
        "apiVersion": "v1", "kind": "Secret", "type": secret_type, "metadata": meta,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})


@pytest.mark.parametrize("fmt,secret_type,render", [
    ("ingress_nginx_auth_file", "Opaque", lambda u: {"auth": "".join("%s:%s\n" % kv for kv in u.items())}),
    ("nginx_ingress_htpasswd", "nginx.org/htpasswd", lambda u: {"htpasswd": "".join("%s:%s\n" % kv for kv in u.items())}),
    ("traefik", "Opaque", lambda u: {"users": "".join("%s:%s\n" % kv for kv in u.items())}),
    ("ingress_nginx_auth_map", "Opaque", dict),
    ("prometheus_web_config", "Opaque", lambda u: {"web.yml": yaml.safe_dump({"basic_auth_users": u})}),
])
def test_secret_formats(k8s, tmp_path, creds, fmt, secret_type, render):
    stranger = name64()
    put_secret(k8s, render({creds["internal"][0]: creds["internal"][1], creds["a"][0]: bcrypt_like(4),
                            stranger: creds["b"][1]}), secret_type)
    result = K8sAccessInfoBackend(FakeModule(k8s_params(k8s, tmp_path, fmt, expected(creds)))).run()
    secret = result["secret"]
    assert secret["exists"] and secret["readable"] and secret["error"] is None, secret
    assert secret["type"] == secret_type and secret["format"] == fmt and secret["resource_version"]
    rows = {(r["grant"], r["role"]): r for r in result["expected"]}
    assert rows["internal", "current"]["matches_store"] is True
    assert rows["team-a", "current"]["matches_store"] is False and rows["team-a", "current"]["hash_cost"] == 4
    assert not rows["team-b", "revoked"]["present"]
    assert result["unexpected"] == [{"fingerprint": fingerprint(stranger), "hash_scheme": "bcrypt", "hash_cost": 12}]
    assert stranger not in json.dumps(result)
    assert_no_secret(result, creds)
    assert k8s.writes() == []  # read only


def test_config_map_of_a_chart_rendered_web_config(k8s, tmp_path, creds):
    """The prometheus chart renders serverFiles into a ConfigMap: its web.yml, plain text, is read as a Secret's."""
    params = dict(k8s_params(k8s, tmp_path, "prometheus_web_config", expected(creds)), kind="ConfigMap")
    result = K8sAccessInfoBackend(FakeModule(params)).run()
    assert result["secret"]["exists"] is False and result["secret"]["error"] is None
    k8s.put_object("configmaps", "monitoring", {"metadata": {"name": "prom-auth"}, "data": {
        "web.yml": yaml.safe_dump({"basic_auth_users": {creds["internal"][0]: creds["internal"][1]}}),
        "prometheus.yml": "scrape_configs: []\n"}})
    put_secret(k8s, {"web.yml": yaml.safe_dump({"basic_auth_users": {}})})  # a Secret of the same name: not read
    result = K8sAccessInfoBackend(FakeModule(params)).run()
    assert result["secret"]["readable"] and result["secret"]["type"] == "ConfigMap" and result["entries"] == 1
    rows = {(r["grant"], r["role"]): r for r in result["expected"]}
    assert rows["internal", "current"]["matches_store"] is True and not rows["team-a", "current"]["present"]
    assert_no_secret(result, creds)
    with pytest.raises(AccessInfoError, match="only format prometheus_web_config can be read from a ConfigMap"):
        K8sAccessInfoBackend(FakeModule(dict(params, format="traefik"))).run()


def test_secret_absent_wrong_type_and_last_applied(k8s, tmp_path, creds):
    params = k8s_params(k8s, tmp_path, "nginx_ingress_htpasswd", expected(creds))
    result = K8sAccessInfoBackend(FakeModule(params)).run()
    assert result["secret"]["exists"] is False and result["secret"]["error"] is None
    assert not any(r["present"] for r in result["expected"])

    put_secret(k8s, {"htpasswd": "%s:%s\n" % creds["a"]}, "Opaque", {LAST_APPLIED: "{}"})
    result = K8sAccessInfoBackend(FakeModule(params)).run()
    assert result["secret"]["exists"] and not result["secret"]["readable"]
    assert "type 'Opaque'" in result["secret"]["error"] and "nginx.org/htpasswd" in result["secret"]["error"]
    assert result["secret"]["last_applied_annotation"] is True


def test_secret_auth_map_error_never_names_the_key(k8s, tmp_path, creds):
    put_secret(k8s, {creds["a"][0]: "two\nlines"})
    result = K8sAccessInfoBackend(FakeModule(k8s_params(k8s, tmp_path, "ingress_nginx_auth_map", expected(creds)))).run()
    assert "does not hold a single password hash" in result["secret"]["error"]
    assert_no_secret(result, creds)


def test_secret_rbac_denied_and_unreachable_are_reported(k8s, tmp_path, creds):
    k8s.forbid("get", "secrets", "monitoring")
    result = K8sAccessInfoBackend(FakeModule(k8s_params(k8s, tmp_path, "ingress_nginx_auth_file", expected(creds)))).run()
    assert "RBAC denied" in result["secret"]["error"] and result["secret"]["exists"] is False

    params = k8s_params(k8s, tmp_path, "ingress_nginx_auth_file", [])
    params["kubeconfig"] = str(tmp_path / "missing-kubeconfig")
    result = K8sAccessInfoBackend(FakeModule(params)).run()
    assert "cannot load kubeconfig" in result["secret"]["error"]


# -- RETURN tells the truth --------------------------------------------------------------------------------
def _documented_return(module: str) -> dict:
    import ast

    source = (Path(__file__).resolve().parents[5] / "plugins" / "modules" / ("%s.py" % module)).read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "RETURN":
            return yaml.safe_load(node.value.value)
    raise AssertionError("no RETURN in %s" % module)


def _assert_documented(result: dict, doc: dict, path: str = "") -> None:
    assert set(result) - {"changed"} == set(doc), path
    for key, value in result.items():
        contains = (doc.get(key) or {}).get("contains")
        if contains and isinstance(value, dict):
            _assert_documented(value, contains, path + key + ".")
        elif contains and isinstance(value, list) and value:
            _assert_documented(value[0], contains, path + key + "[].")


def test_access_info_return_is_documented(tmp_path, creds):
    path = tmp_path / "h"
    path.write_text("%s:%s\n%s:%s\n" % (creds["internal"][0], creds["internal"][1], name64(), SHA1))
    log = tmp_path / "access.log"
    log.write_text('127.0.0.1 - %s [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl"\n' % creds["internal"][0])
    # with access_log, every documented key is returned (access_log and last_seen only then)
    result = AccessInfoBackend(FakeModule({"path": str(path), "format": "htpasswd", "expected_users": expected(creds),
                                           "access_log": str(log)})).run()
    _assert_documented(result, _documented_return("access_info"))
    assert result["expected"][0]["last_seen"] == "2026-12-03T10:00:00Z"


def test_k8s_access_info_return_is_documented(k8s, tmp_path, creds):
    put_secret(k8s, {"auth": "%s:%s\n%s:%s\n" % (creds["internal"][0], creds["internal"][1], name64(), SHA1)})
    result = K8sAccessInfoBackend(FakeModule(k8s_params(k8s, tmp_path, "ingress_nginx_auth_file", expected(creds)))).run()
    _assert_documented(result, _documented_return("k8s_access_info"))


def test_audit_of_a_chart_rendered_secret_reserved_head_and_its_own_hashes(creds):
    """A Secret a chart renders from a values file: its reserved head (someone else's users) is counted, not
    unknown; a stranger below it still is; the chart's own hashes are not judged against the store's."""
    head, stranger = name64(), name64()
    found = {head: bcrypt_like(10), creds["internal"][0]: bcrypt_like(10), creds["a"][0]: bcrypt_like(10),
             stranger: APR1}
    out = audit_users(found, expected(creds)[:2], reserved=1, compare_hashes=False)
    assert [r["matches_store"] for r in out["expected"]] == [None, None]
    assert [r["present"] for r in out["expected"]] == [True, True]
    assert out["reserved_count"] == 1
    assert out["unexpected"] == [{"fingerprint": fingerprint(stranger), "hash_scheme": "apr_md5_crypt", "hash_cost": None}]
    # the same Secret without those settings: the head is unknown, the hashes differ from the store's
    plain = audit_users(found, expected(creds)[:2])
    assert plain["reserved_count"] == 0 and plain["unexpected_count"] == 2
    assert [r["matches_store"] for r in plain["expected"]] == [False, False]


def test_audit_reserved_head_names_no_expected_user(creds):
    """An expected user at the head is audited as expected, never hidden as reserved."""
    found = {creds["internal"][0]: creds["internal"][1], name64(): APR1}
    out = audit_users(found, expected(creds)[:1], reserved=1)
    assert out["expected"][0]["matches_store"] is True
    assert out["reserved_count"] == 0 and out["unexpected_count"] == 1
