"""provision_access.yml end to end on this machine, as `make demo` runs it.

Real Prometheus and nginx run as plain processes on free loopback ports from a temporary state folder; the
real age CLI decrypts the hand-off file; curl checks the endpoint. Nothing here is a stand-in.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from _credentials import wrong_password  # noqa: E402  (tests/integration is on sys.path)
from _demo import REPO, handoff, provision, recap, run_demo, tree_digest  # noqa: E402  (tests/integration is on sys.path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    yield from run_demo(tmp_path_factory.mktemp("demo-state"))


def curl_status(url: str, user: str | None = None, password: str | None = None) -> int:
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"]
    if user is not None:
        # Credentials through a curl config on stdin, never on argv.
        cmd += ["-K", "-"]
        stdin = 'user = "%s:%s"\n' % (user, password)
    else:
        stdin = ""
    return int(subprocess.run(cmd + [url], input=stdin, capture_output=True, text=True, check=True).stdout)


@pytest.mark.slow
def test_first_run_grants_and_hands_off(demo):
    state, env, first = demo
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    assert "401 anonymous, 401 wrong password, 200 for internal.demo, team-a" in first.stdout
    cred = handoff(state)
    nginx = "http://127.0.0.1:%s/prometheus/" % env["PROMACCESS_DEMO_NGINX_PORT"]
    assert cred["url"] == nginx
    assert re.fullmatch(r"[A-Za-z0-9]{64}", cred["username"]) and re.fullmatch(r"[A-Za-z0-9]{64}", cred["password"])
    query = nginx + "api/v1/query?query=up"
    assert curl_status(query) == 401
    assert curl_status(query, cred["username"], cred["password"]) == 200
    assert curl_status(query, cred["username"], wrong_password(cred["password"])) == 401
    native = "http://127.0.0.1:%s/api/v1/query?query=up" % env["PROMACCESS_DEMO_PROMETHEUS_PORT"]
    assert curl_status(native) == 401
    assert curl_status(native, cred["username"], cred["password"]) == 200
    message = (state / "handoff/team-a/message.txt").read_text()
    assert "age --decrypt -i key.txt -o credentials.txt credentials.txt.age" in message
    assert cred["password"] not in message and cred["username"] not in message


@pytest.mark.slow
def test_internal_user_stays_first_and_files_are_private(demo):
    state, _env, first = demo
    assert first.returncode == 0
    htpasswd = (state / "nginx/prometheus.htpasswd").read_text().splitlines()
    cred = handoff(state)
    # The hash policy: nginx hashes on every request, so minted credentials are $apr1$ there; web.yml bcrypt.
    assert len(htpasswd) == 2 and htpasswd[1].startswith(cred["username"] + ":$apr1$")
    assert all(line.split(":", 1)[1].startswith("$apr1$") for line in htpasswd)
    web = yaml.safe_load((state / "prometheus/web.yml").read_text())["basic_auth_users"]
    assert list(web) == [htpasswd[0].split(":", 1)[0], cred["username"]]
    assert all(h.startswith("$2y$12$") for h in web.values())
    for rel in ("nginx/prometheus.htpasswd", "prometheus/web.yml", "prometheus/self-scrape.password", "credentials.yml.age"):
        mode = os.stat(state / rel).st_mode & 0o777
        assert mode & 0o007 == 0, (rel, oct(mode))


@pytest.mark.slow
def test_no_plaintext_grant_credential_on_disk(demo):
    """The password is nowhere in plaintext; the user name only where a consumer reads it and in nginx's logs
    (the location's own access log names the user of every request, 0640; the error log a password mismatch)."""
    state, _env, first = demo
    assert first.returncode == 0
    cred = handoff(state)

    def files_holding(secret, root):
        return sorted(subprocess.run(
            ["grep", "-rlF", "--exclude-dir=.git", "--exclude-dir=.venv", "--", secret, str(root)],
            capture_output=True, text=True, check=False,
        ).stdout.split())

    for root in (state, REPO, Path("/tmp")):
        assert files_holding(cred["password"], root) == []
    expected = sorted(str(state / rel) for rel in ("nginx/promaccess.access.log", "nginx/logs/error.log",
                                                   "nginx/prometheus.htpasswd", "prometheus/web.yml"))
    assert files_holding(cred["username"], state) == expected
    assert cred["password"] not in first.stdout and cred["username"] not in first.stdout


@pytest.mark.slow
def test_second_run_changes_nothing_and_mints_nothing(demo):
    state, env, first = demo
    assert first.returncode == 0
    before = tree_digest(state)
    second = provision(env)
    assert second.returncode == 0, second.stdout[-6000:]
    assert recap(second.stdout, "demo")["changed"] == 0
    assert recap(second.stdout, "localhost")["changed"] == 0
    assert tree_digest(state) == before


@pytest.mark.slow
def test_inconsistent_prefix_is_refused_before_any_change(demo):
    state, env, first = demo
    assert first.returncode == 0
    before = tree_digest(state)
    bad = provision(env, "-e", "promaccess_external_url=http://127.0.0.1:1/elsewhere/")
    assert bad.returncode != 0
    assert "its path must be the nginx location" in bad.stdout
    assert tree_digest(state) == before
