"""web_config's TLS for Prometheus's own port, with the real tools (issue #17, Prometheus's side).

The module runs through Ansible on this machine with the real promtool; Debian's Prometheus then serves the file:
``curl --cacert`` gets 401 without and 200 with the credential over HTTPS, a plain HTTP request is refused, and
``openssl s_client`` shows TLS 1.2 or 1.3 and the certificate the test CA signed. Bad input (a key of another
certificate, an expired certificate, a client CA file that does not exist) fails with a clear message, leaves
the file byte for byte as it was and Prometheus serving. The certificates are test material made with the
cryptography package (tests/tls_material.py). Nothing else is a stand-in.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import yaml

from _local_servers import curl_status, free_port, run_module  # noqa: E402 - tests/integration is on sys.path
from tls_material import CA, write_cert, write_key  # noqa: E402 - tests/ is on sys.path

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy

USER, PASSWORD = "team-a", "a-long-random-password-for-this-test-only-0123456789"


def curl(url, *args, user=None) -> str:
    return curl_status(url, *(user or (None, None)), extra=args)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web-tls")
    ca = CA()
    ca_file = tmp / "ca.crt"
    write_cert(ca_file, ca.cert)
    cert, key = ca.write(tmp, "server")
    web = tmp / "web.yml"
    base = {"path": str(web), "require_promtool": True, "mode": "0600",
            "users": [{"name": USER, "password_hash": HashPolicy("bcrypt", 10).hash(USER, PASSWORD)}]}
    tls = {"cert_file": str(cert), "key_file": str(key), "min_version": "TLS12"}
    headers = {"Strict-Transport-Security": "max-age=31536000", "X-Content-Type-Options": "nosniff"}
    first = run_module("web_config", dict(base, tls_server_config=tls, http_headers=headers))
    again = run_module("web_config", dict(base, tls_server_config=tls, http_headers=headers))
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    proc = subprocess.Popen(["prometheus", "--config.file=%s" % config, "--web.config.file=%s" % web,
                             "--web.listen-address=127.0.0.1:%d" % port, "--storage.tsdb.path=%s" % (tmp / "data")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "https://localhost:%d/-/healthy" % port
    deadline = time.monotonic() + 60
    while curl(url, "--cacert", str(ca_file)) != "401":
        assert time.monotonic() < deadline, "Prometheus never served HTTPS"
        time.sleep(0.3)
    try:
        yield {"tmp": tmp, "ca": ca, "ca_file": ca_file, "web": web, "base": base, "tls": tls, "headers": headers,
               "first": first, "again": again, "url": url, "port": port}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_https_with_the_credential_and_nothing_in_clear(served):
    first, again = served["first"], served["again"]
    assert first["changed"] and first["validated"] and first["tls_changed"] and first["headers_changed"], first
    assert first["certificate"]["days_left"] in (364, 365)
    assert not again["changed"] and not again["tls_changed"] and not again["headers_changed"], again
    doc = yaml.safe_load(served["web"].read_text())
    assert doc["tls_server_config"] == served["tls"] and doc["http_server_config"]["headers"] == served["headers"]
    url, ca = served["url"], ("--cacert", str(served["ca_file"]))
    assert curl(url, *ca) == "401"
    assert curl(url, *ca, user=(USER, "wrong-" + PASSWORD)) == "401"
    assert curl(url, *ca, user=(USER, PASSWORD)) == "200"
    # Without the CA the certificate is not trusted: curl refuses (000), never falls back to clear text.
    assert curl(url) == "000"
    # Plain HTTP on the same port is refused by the server (400: "Client sent an HTTP request to an HTTPS server").
    assert curl("http://localhost:%d/-/healthy" % served["port"], user=(USER, PASSWORD)) == "400"
    # HSTS is sent.
    head = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", *ca, url], capture_output=True, text=True,
                          timeout=10, check=False).stdout
    assert "strict-transport-security: max-age=31536000" in head.lower()


@pytest.mark.slow
@pytest.mark.parametrize("version, accepted", [("-tls1_2", True), ("-tls1_3", True), ("-tls1_1", False)])
def test_openssl_sees_tls_12_or_13_and_the_chain(served, version, accepted):
    proc = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % served["port"], "-servername",
                           "localhost", "-CAfile", str(served["ca_file"]), version],
                          input="", capture_output=True, text=True, timeout=20, check=False)
    out = proc.stdout + proc.stderr
    if accepted:
        assert "Verify return code: 0 (ok)" in out, out[-2000:]
        assert "issuer=CN = promaccess test CA" in out
        assert ("Protocol  : TLSv1.2" in out or "TLSv1.2" in out) if version == "-tls1_2" else "TLSv1.3" in out
    else:
        # The server refuses the handshake: no certificate was sent, no cipher agreed.
        assert proc.returncode != 0 and "alert protocol version" in out and "issuer=" not in out, out[-2000:]


@pytest.mark.slow
def test_bad_certificates_are_refused_and_nothing_changes(served):
    tmp, ca, web = served["tmp"], served["ca"], served["web"]
    before = web.read_bytes()
    other_key, _unused = ca.issue()
    wrong_key = write_key(tmp / "other.key", other_key)
    expired, expired_key = ca.write(tmp, "expired", days=(-30, -1))
    cases = [
        (dict(served["tls"], key_file=str(wrong_key)), "other.key does not belong to certificate"),
        (dict(served["tls"], cert_file=str(expired), key_file=str(expired_key)), "expired.crt expired at"),
        (dict(served["tls"], client_ca_file=str(tmp / "missing-ca.pem"), client_auth_type="RequireAndVerifyClientCert"),
         "client CA file .*missing-ca.pem does not exist"),
    ]
    for tls, message in cases:
        result = run_module("web_config", dict(served["base"], tls_server_config=tls))
        assert result.get("failed") and re.search(message, result["msg"]), result
        assert "was not changed" in result["msg"]
        assert web.read_bytes() == before
        assert "PRIVATE KEY" not in json.dumps(result)
    ca_args = ("--cacert", str(served["ca_file"]))
    assert curl(served["url"], *ca_args, user=(USER, PASSWORD)) == "200"  # still serving
