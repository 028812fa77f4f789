"""rotate_credentials.yml and revoke_access.yml end to end on this machine, on `make demo`'s local host.

Real Prometheus (native basic auth) and nginx (auth_basic) run as plain processes from a temporary state folder;
curl checks every credential through both; the real age CLI decrypts the hand-off files; the store is read
with the collection's own code and the operator key. Nothing here is a stand-in.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from _demo import grants_playbook as playbook, handoff, run_demo_with_grants, store  # noqa: E402  (tests/integration is on sys.path)
from test_provision_local import curl_status, recap  # noqa: E402


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    # A second grant, team-b, for the revocation; the same recipient as team-a.
    # No grace period: these tests rotate in one run (the grace period has its own, test_rotate_grace.py).
    yield from run_demo_with_grants(tmp_path_factory.mktemp("rotate-state"), promaccess_rotate_grace=0)


def endpoints(env):
    return (
        "http://127.0.0.1:%s/prometheus/api/v1/query?query=up" % env["PROMACCESS_DEMO_NGINX_PORT"],
        "http://127.0.0.1:%s/api/v1/query?query=up" % env["PROMACCESS_DEMO_PROMETHEUS_PORT"],
    )


def statuses(env, username, password):
    return [curl_status(url, username, password) for url in endpoints(env)]


@pytest.mark.slow
def test_rotation_replaces_the_credential_everywhere(demo):
    state, env = demo
    old = handoff(state)
    old_internal = store(state)["internal.demo"]
    assert statuses(env, old["username"], old["password"]) == [200, 200]

    # Paused after the hand-off: old and new both valid everywhere, the grantee already holds the new one.
    paused = playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["team-a", "internal"]}',
                      "-e", "promaccess_rotate_stop_after_handoff=true")
    assert paused.returncode == 0, paused.stdout[-8000:] + paused.stderr[-3000:]
    assert store(state)["team-a"]["rotation"]["phase"] == "handed_off"
    new = handoff(state)
    assert statuses(env, old["username"], old["password"]) == [200, 200]
    assert statuses(env, new["username"], new["password"]) == [200, 200]
    # The self-scrape job (the internal grant's consumer) uses the new internal credential, user name and
    # password together, and Prometheus's web.yml accepts it: scrapes keep working through the rotation.
    pending = store(state)["internal.demo"]["rotation"]["pending"]
    scrape = yaml.safe_load((state / "prometheus/prometheus.yml").read_text())["scrape_configs"]
    job = next(j for j in scrape if (j.get("basic_auth") or {}).get("password_file"))
    assert job["basic_auth"]["username"] == pending["username"]
    assert (state / "prometheus/self-scrape.password").read_text().strip() == pending["password"]
    assert statuses(env, pending["username"], pending["password"]) == [200, 200]

    run = playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["team-a", "internal"]}')
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
    assert handoff(state) == new
    assert new["username"] != old["username"] and new["password"] != old["password"]
    assert statuses(env, new["username"], new["password"]) == [200, 200]
    assert statuses(env, old["username"], old["password"]) == [401, 401]
    grants = store(state)
    assert grants["team-a"]["username"] == new["username"] and "rotation" not in grants["team-a"]
    assert grants["team-a"]["rotated_at"] and grants["internal.demo"]["rotated_at"]
    # The internal credential ('internal': every host's own, here internal.demo) moved too, and the self-scrape
    # job (its consumer) uses the new one.
    assert grants["internal.demo"]["username"] != old_internal["username"]
    assert statuses(env, old_internal["username"], old_internal["password"]) == [401, 401]
    assert (state / "prometheus/self-scrape.password").read_text().strip() == grants["internal.demo"]["password"]
    # Old and new were valid together: every phase is in the log, removal came after the hand-off.
    out = paused.stdout + run.stdout
    where = [re.search(r"""["']phase["']: ["']%s["']""" % phase, out) for phase in ("minted", "added", "handed_off", "revoking")]
    assert all(where), out[-8000:]
    assert [m.start() for m in where] == sorted(m.start() for m in where)
    for secret in (old["password"], new["password"], old["username"], new["username"]):
        assert secret not in out and secret not in run.stderr + paused.stderr
    # Team B was not rotated.
    assert "rotated_at" not in grants["team-b"]

    # Afterwards provision_access has nothing to do.
    again = playbook(env, state, "provision_access")
    assert again.returncode == 0, again.stdout[-6000:]
    assert recap(again.stdout, "demo")["changed"] == 0 and recap(again.stdout, "localhost")["changed"] == 0


@pytest.mark.slow
def test_failed_rotation_stops_before_revocation_and_resumes(demo):
    state, env = demo
    old = handoff(state)
    # Inject a failure on the host: nginx is down and cannot be started.
    subprocess.run([str(state / "service.sh"), "stop", "nginx"], check=True, capture_output=True, timeout=60)
    failed = playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["team-a"]}',
                      "-e", "nginx_basic_auth_start_command=false")
    assert failed.returncode != 0
    assert "Remove the old credentials" not in failed.stdout  # never reached the revocation plays
    record = store(state)["team-a"]
    assert record["rotation"]["phase"] == "minted" and record["username"] == old["username"]
    pending = record["rotation"]["pending"]
    # The old credential still works where the service runs; the hand-off file was not replaced.
    assert curl_status(endpoints(env)[1], old["username"], old["password"]) == 200  # native; nginx is down
    assert handoff(state) == old

    # The re-run resumes: the same new credential (not a second one), then completes.
    resumed = playbook(env, state, "rotate_credentials", "-e", '{"promaccess_rotate": ["team-a"]}')
    assert resumed.returncode == 0, resumed.stdout[-8000:]
    new = handoff(state)
    assert new["username"] == pending["username"] and new["password"] == pending["password"]
    assert statuses(env, new["username"], new["password"]) == [200, 200]
    assert statuses(env, old["username"], old["password"]) == [401, 401]
    assert "rotation" not in store(state)["team-a"]


@pytest.mark.slow
def test_revocation_everywhere_then_refused_by_provision(demo):
    state, env = demo
    team_b = handoff(state, "team-b")
    team_a = handoff(state)
    assert statuses(env, team_b["username"], team_b["password"]) == [200, 200]

    run = playbook(env, state, "revoke_access", "-e", '{"promaccess_revoke": ["team-b"]}')
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
    assert statuses(env, team_b["username"], team_b["password"]) == [401, 401]
    assert statuses(env, team_a["username"], team_a["password"]) == [200, 200]
    record = store(state)["team-b"]
    assert record["revoked_at"] and record["revocation_verified_at"] and "password" not in record
    assert record["username"] == team_b["username"]  # kept for audits
    assert not (state / "handoff/team-b").exists()
    assert team_b["username"] not in (state / "nginx/prometheus.htpasswd").read_text()
    assert team_b["username"] not in (state / "prometheus/web.yml").read_text()

    # Still in the inventory: provision_access refuses rather than minting team-b anew.
    refused = playbook(env, state, "provision_access")
    assert refused.returncode != 0 and "were revoked in the credential store" in refused.stdout
    # Without it, provision_access is a no-op.
    grants = json.loads((state / "grants.json").read_text())
    grants["promaccess_grants"] = [g for g in grants["promaccess_grants"] if g["name"] != "team-b"]
    (state / "grants.json").write_text(json.dumps(grants))
    again = playbook(env, state, "provision_access")
    assert again.returncode == 0, again.stdout[-6000:]
    assert recap(again.stdout, "demo")["changed"] == 0
