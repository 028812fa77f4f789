"""nginx_auth's TLS with the real tools (issue #17, nginx's side).

The module runs through Ansible on this machine and checks its file with the real ``nginx -t``; Debian's nginx
(a plain process, its own prefix) then serves it in front of Debian's Prometheus: ``curl --cacert`` gets 401
without and with a wrong password and 200 with the right one over HTTPS, HSTS on every answer (401s too), the
plain-HTTP address redirects to HTTPS and serves nothing, ``openssl s_client`` sees TLS 1.2 or 1.3 and the test
CA's chain and is refused TLS 1.1. A key of another certificate and an expired certificate are refused before
the file changes, nginx still serving. Certificates: tests/tls_material.py (cryptography), test material only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest

from _local_servers import curl_status, free_port, run_module  # noqa: E402 - tests/integration is on sys.path
from tls_material import CA, write_cert, write_key  # noqa: E402 - tests/ is on sys.path

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import FAST_SCHEME, HashPolicy

USER, PASSWORD = "team-a", "another-long-random-password-for-this-test-only-9876543210"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx-tls")
    for sub in ("logs", "temp", "sites"):
        (tmp / sub).mkdir()
    ca = CA()
    ca_file = write_cert(tmp / "ca.crt", ca.cert)
    cert, key = ca.write(tmp, "server")
    users = tmp / "prometheus.htpasswd"
    users.write_text("%s:%s\n" % (USER, HashPolicy(FAST_SCHEME).hash(USER, PASSWORD)))
    prometheus_port, https_port, http_port = free_port(), free_port(), free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(
        "user root root;\nworker_processes 1;\npid %(d)s/nginx.pid;\nerror_log %(d)s/logs/error.log;\n"
        "events { worker_connections 64; }\nhttp {\n  access_log off;\n  client_body_temp_path %(d)s/temp;\n"
        "  proxy_temp_path %(d)s/temp; fastcgi_temp_path %(d)s/temp; uwsgi_temp_path %(d)s/temp;\n"
        "  scgi_temp_path %(d)s/temp;\n  include %(d)s/sites/*.conf;\n}\n" % {"d": tmp})
    site = {"path": str(tmp / "sites" / "prometheus.conf"), "kind": "server",
            "listen": ["127.0.0.1:%d" % https_port], "server_name": ["localhost"], "location": "/prometheus/",
            "upstream": "http://127.0.0.1:%d" % prometheus_port, "user_file": str(users),
            "tls_certificate": str(cert), "tls_certificate_key": str(key),
            "tls_redirect_listen": ["127.0.0.1:%d" % http_port],
            "nginx_binary": NGINX, "nginx_config": str(conf), "nginx_prefix": str(tmp)}
    first = run_module("nginx_auth", site)
    again = run_module("nginx_auth", site)
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    procs = [subprocess.Popen(["prometheus", "--config.file=%s" % config,
                               "--web.listen-address=127.0.0.1:%d" % prometheus_port,
                               "--web.external-url=https://localhost:%d/prometheus/" % https_port,
                               "--web.route-prefix=/", "--storage.tsdb.path=%s" % (tmp / "data")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    url = "https://localhost:%d/prometheus/-/healthy" % https_port
    ca_args = ("--cacert", str(ca_file))
    deadline = time.monotonic() + 60
    while curl_status(url, USER, PASSWORD, extra=ca_args) != "200":
        assert time.monotonic() < deadline, "nginx never served Prometheus over HTTPS"
        time.sleep(0.3)
    try:
        yield {"tmp": tmp, "ca": ca, "ca_args": ca_args, "site": site, "first": first, "again": again, "url": url,
               "https_port": https_port, "http_port": http_port}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.mark.slow
def test_https_only_with_the_credential_and_hsts(served):
    first, again = served["first"], served["again"]
    assert first["changed"] and not first.get("failed"), first
    assert first["certificate"]["days_left"] in (364, 365)
    assert not again["changed"], again
    text = (served["tmp"] / "sites" / "prometheus.conf").read_text()
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    url, ca_args = served["url"], served["ca_args"]
    assert curl_status(url, extra=ca_args) == "401"
    assert curl_status(url, USER, "wrong-" + PASSWORD, extra=ca_args) == "401"
    assert curl_status(url, USER, PASSWORD, extra=ca_args) == "200"
    assert curl_status(url, USER, PASSWORD) == "000"  # without the CA: not trusted, nothing sent in clear
    head = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", *ca_args, url], capture_output=True,
                          text=True, timeout=10, check=False).stdout.lower()
    assert head.startswith("http/1.1 401") and "strict-transport-security: max-age=31536000" in head


@pytest.mark.slow
def test_plain_http_redirects_and_serves_nothing(served):
    plain = "http://localhost:%d/prometheus/-/healthy" % served["http_port"]
    head = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", plain], capture_output=True, text=True,
                          timeout=10, check=False).stdout
    assert head.startswith("HTTP/1.1 301")
    assert "Location: https://localhost:%d/prometheus/-/healthy" % served["https_port"] in head
    # Followed, the redirect lands on HTTPS, which asks for the credential there (curl does not carry it to
    # another port unless told to trust the redirect).
    assert curl_status(plain, USER, PASSWORD, extra=served["ca_args"] + ("-L",)) == "401"
    assert curl_status(plain, USER, PASSWORD, extra=served["ca_args"] + ("--location-trusted",)) == "200"


@pytest.mark.slow
@pytest.mark.parametrize("version, accepted", [("-tls1_2", True), ("-tls1_3", True), ("-tls1_1", False)])
def test_openssl_sees_tls_12_or_13_and_the_chain(served, version, accepted):
    proc = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % served["https_port"],
                           "-servername", "localhost", "-CAfile", served["ca_args"][1], version],
                          input="", capture_output=True, text=True, timeout=20, check=False)
    out = proc.stdout + proc.stderr
    if accepted:
        assert "Verify return code: 0 (ok)" in out and "issuer=CN = promaccess test CA" in out, out[-2000:]
        assert ("TLSv1.3" if version == "-tls1_3" else "TLSv1.2") in out
    else:
        assert proc.returncode != 0 and "issuer=" not in out, out[-2000:]


@pytest.mark.slow
def test_bad_certificates_are_refused_and_nginx_keeps_serving(served):
    tmp, ca = served["tmp"], served["ca"]
    site_file = tmp / "sites" / "prometheus.conf"
    before = site_file.read_bytes()
    other_key, _unused = ca.issue()
    wrong_key = write_key(tmp / "other.key", other_key)
    expired, expired_key = ca.write(tmp, "expired", days=(-30, -1))
    cases = [
        (dict(tls_certificate_key=str(wrong_key), hsts_max_age=600), "other.key does not belong to certificate"),
        (dict(tls_certificate=str(expired), tls_certificate_key=str(expired_key)), "expired.crt expired at"),
    ]
    for over, message in cases:
        result = run_module("nginx_auth", dict(served["site"], **over))
        assert result.get("failed") and re.search(message, result["msg"]) and "was not changed" in result["msg"], result
        assert site_file.read_bytes() == before
        assert "PRIVATE KEY" not in json.dumps(result)
    assert curl_status(served["url"], USER, PASSWORD, extra=served["ca_args"]) == "200"
