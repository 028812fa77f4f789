"""The hash policy with the real consumers: each hash it writes is accepted by what reads it, and moving files
written before it never refuses a grantee.

* Apache's ``htpasswd -v`` checks every scheme the policy writes; a real nginx (``nginx -t``, then requests)
  serves the ``$apr1$`` file; ``promtool check web-config`` and a real Prometheus take the bcrypt ``web.yml``:
  401 anonymous, 401 wrong password, 200 right password, for a minted credential and a person's password.
  The real ingress controller (Traefik) is shown the ``$apr1$`` Secret in test_provision_k8s.py.
* On `make demo`'s host, files and a store as the release before the policy left them (bcrypt everywhere, no
  fast hash in the store) move to the policy on the next provision run while a grantee probes nginx every
  50 ms: never a 401. The run after it changes nothing.

Nothing here is a stand-in.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from _credentials import wrong_password  # noqa: E402  (tests/integration is on sys.path)
from _demo import handoff, provision, recap, run_demo, tree_digest  # noqa: E402
from _ingress_backend import Grantee  # noqa: E402
from _local_servers import NativePrometheus, StaticNginx, curl_status  # noqa: E402

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import credential_hash, identify
from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore


def _store(path, key):
    ids = age.read_identities(str(key))
    return CredentialStore(str(path), ids, list(ids.public))


@pytest.fixture
def creds(tmp_path):
    """A credential the store minted and one a person chose, as the store's views give them to the planner."""
    key = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    store = _store(tmp_path / "store.age", key)
    minted = store.get("team-a")["present"][0]
    given = store.get("team-b", username="person-b", password="correct horse battery staple 2026")["present"][0]
    assert (minted["origin"], given["origin"]) == ("minted", "given")
    return {"minted": minted, "given": given}


def _htpasswd_verify(path, user, password) -> int:
    # -i: the password on stdin, never on argv
    return subprocess.run(["htpasswd", "-v", "-i", str(path), user], input=password, capture_output=True,
                          text=True, timeout=60, check=False).returncode


@pytest.mark.slow
def test_apache_and_nginx_accept_what_the_policy_writes_for_nginx(creds, tmp_path):
    hashes = {k: credential_hash(c, "htpasswd") for k, c in creds.items()}
    assert identify(hashes["minted"]).scheme == "apr_md5_crypt"
    assert identify(hashes["given"]).scheme == "bcrypt" and identify(hashes["given"]).cost == 12
    userfile = tmp_path / "auth"
    userfile.write_text("".join("%s:%s\n" % (creds[k]["username"], hashes[k]) for k in ("minted", "given")))
    for cred in creds.values():
        assert _htpasswd_verify(userfile, cred["username"], cred["password"]) == 0
        assert _htpasswd_verify(userfile, cred["username"], wrong_password(cred["password"])) != 0

    with StaticNginx(tmp_path, userfile) as nginx:  # nginx -t passes, then real requests
        for cred in creds.values():
            assert curl_status(nginx.url, cred["username"], wrong_password(cred["password"])) == "401"
            assert curl_status(nginx.url, cred["username"], cred["password"]) == "200"


@pytest.mark.slow
def test_promtool_and_prometheus_accept_what_the_policy_writes_for_web_yml(creds, tmp_path):
    hashes = {k: credential_hash(c, "web_config") for k, c in creds.items()}
    assert all(identify(h).scheme == "bcrypt" for h in hashes.values())  # exporter-toolkit caches: bcrypt kept
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {creds[k]["username"]: hashes[k] for k in creds}}))
    with NativePrometheus(tmp_path, web) as prometheus:  # promtool check web-config passes, then requests
        for cred in creds.values():
            assert curl_status(prometheus.url, cred["username"], wrong_password(cred["password"])) == "401"
            assert curl_status(prometheus.url, cred["username"], cred["password"]) == "200"


# -- moving files written before the policy ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    yield from run_demo(tmp_path_factory.mktemp("hash-policy-state"))


def _as_the_release_before(state):
    """The store without origin and fast hashes, and nginx's user file with the store's bcrypt hashes, as the
    release before the hash policy left them (the file rewritten in place: same inode, mode and owner)."""
    store = _store(state / "credentials.yml.age", state / "operator-key.txt")
    document = store.read()
    bcrypt_of = {}
    for record in document["grants"].values():
        record.pop("origin", None)
        record.pop("password_hashes", None)
        bcrypt_of[record["username"]] = record["password_hash"]
    store._save(document)
    userfile = state / "nginx/prometheus.htpasswd"
    names = [line.split(":", 1)[0] for line in userfile.read_text().splitlines()]
    with open(userfile, "r+", encoding="utf-8") as handle:
        handle.write("".join("%s:%s\n" % (name, bcrypt_of[name]) for name in names))
        handle.truncate()
    return names


@pytest.mark.slow
def test_files_of_the_release_before_move_without_a_401(demo):
    state, env, first = demo
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    names = _as_the_release_before(state)
    userfile = state / "nginx/prometheus.htpasswd"
    assert all(identify(line.split(":", 1)[1]).scheme == "bcrypt" for line in userfile.read_text().splitlines())
    cred = handoff(state)
    url = "http://127.0.0.1:%s/prometheus/api/v1/query?query=up" % env["PROMACCESS_DEMO_NGINX_PORT"]

    with Grantee(url, cred) as grantee:
        moved = provision(env)
    assert moved.returncode == 0, moved.stdout[-6000:] + moved.stderr[-2000:]
    grantee.assert_never_refused()

    store = _store(state / "credentials.yml.age", state / "operator-key.txt").read()["grants"]
    fast = {r["username"]: r["password_hashes"]["apr_md5_crypt"] for r in store.values()}
    lines = userfile.read_text().splitlines()
    assert [line.split(":", 1)[0] for line in lines] == names  # order kept: internal first
    assert {line.split(":", 1)[0]: line.split(":", 1)[1] for line in lines} == {n: fast[n] for n in names}
    web = yaml.safe_load((state / "prometheus/web.yml").read_text())["basic_auth_users"]
    assert all(identify(h).scheme == "bcrypt" for h in web.values())  # web.yml untouched by the policy
    for secret in (cred["username"], cred["password"]):
        assert secret not in moved.stdout + moved.stderr

    before = tree_digest(state)
    again = provision(env)
    assert again.returncode == 0, again.stdout[-6000:]
    assert recap(again.stdout, "demo")["changed"] == 0 and recap(again.stdout, "localhost")["changed"] == 0
    assert tree_digest(state) == before
