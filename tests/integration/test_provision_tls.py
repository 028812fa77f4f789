"""provision_access over TLS, end to end on this machine: the demo with ``promaccess_tls: always``.

The demo listens on loopback only, where ``promaccess_tls: auto`` keeps plain HTTP; ``always`` (the demo's
PROMACCESS_DEMO_TLS) makes the playbook do what it does on every listener beyond loopback: make a local CA on
the controller with community.crypto, a key on the host (0600), a certificate for the host's names signed by that
CA; serve nginx and Prometheus's own port over TLS, nginx verifying Prometheus against the CA, the self-scrape over
HTTPS; verify with the CA; hand off an https:// URL. Real nginx, Prometheus, curl, openssl and age; nothing here
is a stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from _credentials import wrong_password  # noqa: E402  (tests/integration is on sys.path)
from _demo import demo_playbook, handoff, provision, recap, run_demo, self_scrape_targets, tree_digest  # noqa: E402
from _local_servers import curl_status  # noqa: E402
from tls_material import CA  # noqa: E402  (tests/ is on sys.path)


@pytest.fixture(scope="module")
def tls_demo(tmp_path_factory):
    yield from run_demo(tmp_path_factory.mktemp("tls-demo"), PROMACCESS_DEMO_TLS="always")


def served_certificate(port: int, ca: Path, version: str = "-tls1_2") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost", "-CAfile", str(ca),
         version],
        input="", capture_output=True, text=True, timeout=20, check=False,
    )


def serial(text: str) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-serial"], input=text, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.slow
def test_first_run_serves_tls_everywhere_and_hands_off_https(tls_demo):
    state, env, first = tls_demo
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    ca = state / "tls/ca.crt"
    nginx = "https://127.0.0.1:%s/prometheus/" % env["PROMACCESS_DEMO_NGINX_PORT"]
    native = "https://127.0.0.1:%s/" % env["PROMACCESS_DEMO_PROMETHEUS_PORT"]
    cred = handoff(state)
    assert cred["url"] == nginx
    for base in (nginx, native):
        query = base + "api/v1/query?query=up"
        assert curl_status(query, extra=("--cacert", str(ca))) == "401"
        assert curl_status(query, cred["username"], cred["password"], ("--cacert", str(ca))) == "200"
        assert curl_status(query, cred["username"], wrong_password(cred["password"]), ("--cacert", str(ca))) == "401"
        # Not trusted without the CA: curl refuses the certificate (000, no HTTP answer).
        assert curl_status(query, cred["username"], cred["password"]) == "000"
        # Plain HTTP on the TLS port gets no Prometheus: nginx and Go's TLS server answer 400.
        assert curl_status(query.replace("https://", "http://"), cred["username"], cred["password"]) == "400"
    assert cred["password"] not in first.stdout and cred["username"] not in first.stdout


@pytest.mark.slow
@pytest.mark.parametrize("which", ["nginx", "prometheus"])
@pytest.mark.parametrize("version, accepted", [("-tls1_2", True), ("-tls1_3", True), ("-tls1_1", False)])
def test_openssl_sees_tls_12_or_13_and_the_local_ca_chain(tls_demo, which, version, accepted):
    state, env, first = tls_demo
    assert first.returncode == 0
    port = int(env["PROMACCESS_DEMO_NGINX_PORT" if which == "nginx" else "PROMACCESS_DEMO_PROMETHEUS_PORT"])
    proc = served_certificate(port, state / "tls/ca.crt", version)
    out = proc.stdout + proc.stderr
    if accepted:
        assert "Verify return code: 0 (ok)" in out and "issuer=CN = promaccess local CA" in out, out[-2000:]
        assert ("TLSv1.3" if version == "-tls1_3" else "TLSv1.2") in out
    else:
        assert proc.returncode != 0 and "issuer=" not in out, out[-2000:]


@pytest.mark.slow
def test_keys_are_private_and_the_self_scrape_is_up_over_https(tls_demo):
    state, env, first = tls_demo
    assert first.returncode == 0
    for key in ("tls/server.key", "ca/ca.key"):
        assert os.stat(state / key).st_mode & 0o777 == 0o600, key
    assert os.stat(state / "ca").st_mode & 0o777 == 0o700
    config = (state / "prometheus/prometheus.yml").read_text()
    assert "scheme: https" in config and "ca_file: %s" % (state / "tls/ca.crt") in config
    out = self_scrape_targets(state, env)
    assert '"health":"up"' in out, out[:2000]
    nginx_conf = (state / "nginx/conf.d/prometheus.conf").read_text()
    assert "proxy_ssl_verify on;" in nginx_conf and "ssl_protocols TLSv1.2 TLSv1.3;" in nginx_conf


@pytest.mark.slow
def test_second_run_changes_nothing_then_a_certificate_near_expiry_is_renewed(tls_demo):
    state, env, first = tls_demo
    assert first.returncode == 0
    before = tree_digest(state)
    again = provision(env)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again.stdout, "demo")["changed"] == 0 and recap(again.stdout, "localhost")["changed"] == 0
    assert tree_digest(state) == before

    nginx_port = int(env["PROMACCESS_DEMO_NGINX_PORT"])
    # A certificate valid for two days (made when the host has none)...
    (state / "tls/server.crt").unlink()
    made = provision(env, "-e", "promaccess_tls_valid_days=2", "-e", "promaccess_tls_renew_days=1")
    assert made.returncode == 0, made.stdout[-4000:]
    short_cert = (state / "tls/server.crt").read_text()
    # ...is due under the defaults (renewed when fewer than 30 days are left).
    renewed = provision(env)
    assert renewed.returncode == 0, renewed.stdout[-4000:]
    new = (state / "tls/server.crt").read_text()
    assert serial(new) != serial(short_cert)
    end = subprocess.run(["openssl", "x509", "-noout", "-checkend", str(300 * 86400)], input=new,
                         capture_output=True, text=True, check=False)
    assert end.returncode == 0, "the renewed certificate is not valid for a year"
    # nginx serves the renewed certificate (it reloaded), Prometheus reads it on the next handshake.
    for port in (nginx_port, int(env["PROMACCESS_DEMO_PROMETHEUS_PORT"])):
        served = served_certificate(port, state / "tls/ca.crt")
        assert serial(served.stdout) == serial(new), port


@pytest.mark.slow
def test_half_a_ca_is_refused_before_anything_changes(tls_demo, tmp_path):
    state, env, first = tls_demo
    assert first.returncode == 0
    (tmp_path / "ca.crt").write_text((state / "ca/ca.crt").read_text())
    before = tree_digest(state)
    proc = provision(env, "-e", "promaccess_tls_ca_dir=%s" % tmp_path)
    assert proc.returncode != 0
    assert "must both exist (an operator's CA) or neither" in proc.stdout
    assert tree_digest(state) == before
    cred = handoff(state)
    url = "https://127.0.0.1:%s/prometheus/api/v1/query?query=up" % env["PROMACCESS_DEMO_NGINX_PORT"]
    assert curl_status(url, cred["username"], cred["password"], ("--cacert", str(state / "tls/ca.crt"))) == "200"


@pytest.mark.slow
def test_the_hand_off_sends_the_ca_and_the_report_shows_days_to_expiry(tls_demo, tmp_path):
    state, env, first = tls_demo
    assert first.returncode == 0
    assert (state / "handoff/team-a/ca.crt").read_text() == (state / "ca/ca.crt").read_text()
    message = (state / "handoff/team-a/message.txt").read_text()
    assert "curl --cacert ca.crt" in message
    proc = demo_playbook(env, "promaccess.core.access_report", "-e", "promaccess_report_dir=%s" % tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = json.loads((tmp_path / "access-report.json").read_text())
    assert report["summary"]["drift"] == 0, report["findings"]
    endpoints = {e["kind"]: e for e in report["endpoints"]}
    assert set(endpoints) == {"native", "nginx"}
    for endpoint in endpoints.values():
        assert endpoint["tls"] and endpoint["problem"] is None
        assert 360 <= endpoint["certificate_days_left"] <= 365, endpoint
    markdown = (tmp_path / "access-report.md").read_text()
    assert "## Endpoints" in markdown and "| HTTPS |" in markdown


@pytest.mark.slow
def test_a_certificate_given_as_content_from_a_vault_is_written_and_served(tls_demo, tmp_path):
    """The operator's own certificate, key and CA as inventory content (as a vault holds them), instead of the
    local CA's: written to the host (key 0600), served by nginx and Prometheus, trusted with that CA only; the
    key appears in no output. A second run changes nothing."""
    state, env, first = tls_demo
    assert first.returncode == 0
    ca = CA("operator test CA")
    key, cert = ca.issue(("localhost", "127.0.0.1"))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    extra = tmp_path / "tls-vars.yml"
    extra.write_text(yaml.safe_dump({
        "promaccess_tls_certificate_content": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "promaccess_tls_certificate_key_content": key_pem,
        "promaccess_tls_ca_content": ca.cert.public_bytes(serialization.Encoding.PEM).decode(),
    }))
    run = provision(env, "-e", "@%s" % extra)
    assert run.returncode == 0, run.stdout[-4000:]
    assert key_pem.splitlines()[1] not in run.stdout + run.stderr
    assert os.stat(state / "tls/server.key").st_mode & 0o777 == 0o600
    for port in (int(env["PROMACCESS_DEMO_NGINX_PORT"]), int(env["PROMACCESS_DEMO_PROMETHEUS_PORT"])):
        served = served_certificate(port, state / "tls/ca.crt")
        out = served.stdout + served.stderr
        assert "issuer=CN = operator test CA" in out and "Verify return code: 0 (ok)" in out, out[-2000:]
    cred = handoff(state)
    url = "https://127.0.0.1:%s/prometheus/api/v1/query?query=up" % env["PROMACCESS_DEMO_NGINX_PORT"]
    assert curl_status(url, cred["username"], cred["password"], ("--cacert", str(state / "tls/ca.crt"))) == "200"
    before = tree_digest(state)
    again = provision(env, "-e", "@%s" % extra)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again.stdout, "demo")["changed"] == 0 and tree_digest(state) == before
