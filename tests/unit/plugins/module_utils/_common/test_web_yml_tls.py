"""Unit tests for web.yml's TLS and header sections and for the certificate check (real cryptography)."""

from __future__ import annotations

import datetime

import pytest

from tls_material import CA, write_key  # noqa: E402 - tests/ is on sys.path (tests/conftest.py)

from ansible_collections.promaccess.core.plugins.module_utils._common import web_yml
from ansible_collections.promaccess.core.plugins.module_utils._common.certs import CertificateError, check_server_files


def test_with_tls_sets_the_given_fields_and_keeps_the_rest():
    doc = {"basic_auth_users": {"a": "h"}, "tls_server_config": {"cipher_suites": ["TLS_AES_128_GCM_SHA256"]}}
    out, changed = web_yml.with_tls(doc, {"cert_file": "/c", "key_file": "/k", "min_version": "TLS12",
                                          "client_ca_file": None, "client_auth_type": None})
    assert changed and out["tls_server_config"] == {"cipher_suites": ["TLS_AES_128_GCM_SHA256"], "cert_file": "/c",
                                                    "key_file": "/k", "min_version": "TLS12"}
    assert out["basic_auth_users"] == {"a": "h"} and "cert_file" not in doc["tls_server_config"]  # not mutated
    again, changed = web_yml.with_tls(out, {"cert_file": "/c", "key_file": "/k", "min_version": "TLS12"})
    assert not changed and again is out


@pytest.mark.parametrize("tls, message", [
    ({"cert_file": "/c", "key_file": "/k", "min_version": "TLS11"}, "min_version must be one of TLS12, TLS13"),
    ({"cert_file": "/c", "key_file": "/k", "client_auth_type": "Sometimes"}, "client_auth_type must be one of"),
    ({"cert_file": "/c", "key_file": "/k", "client_auth_type": "RequireAndVerifyClientCert"}, "needs a client_ca_file"),
])
def test_with_tls_refuses_what_cannot_work(tls, message):
    with pytest.raises(web_yml.WebConfigError, match=message):
        web_yml.with_tls({}, tls)


def test_with_headers_merges_and_refuses_unsupported_ones():
    doc = {"http_server_config": {"http2": True, "headers": {"X-Frame-Options": "deny"}}}
    out, changed = web_yml.with_headers(doc, {"Strict-Transport-Security": "max-age=31536000"})
    assert changed and out["http_server_config"] == {
        "http2": True, "headers": {"X-Frame-Options": "deny", "Strict-Transport-Security": "max-age=31536000"}}
    assert web_yml.with_headers(out, {"X-Frame-Options": "deny"}) == (out, False)
    with pytest.raises(web_yml.WebConfigError, match="cannot set header.s. Server: exporter-toolkit supports only"):
        web_yml.with_headers(doc, {"Server": "x"})


def test_certificate_check_passes_a_good_pair_and_says_when_it_expires(tmp_path):
    ca = CA()
    cert, key = ca.write(tmp_path, "server", days=(-1, 30))
    facts = check_server_files(str(cert), str(key))
    assert facts["days_left"] in (29, 30) and facts["not_after"].endswith("Z")


def test_certificate_check_refuses_what_stops_every_handshake(tmp_path):
    ca = CA()
    cert, key = ca.write(tmp_path, "server")
    other_key, _unused = ca.issue()
    wrong = write_key(tmp_path / "other.key", other_key)
    with pytest.raises(CertificateError, match="other.key does not belong to certificate .*server.crt"):
        check_server_files(str(cert), str(wrong))
    expired, expired_key = ca.write(tmp_path, "expired", days=(-30, -1))
    with pytest.raises(CertificateError, match="expired.crt expired at"):
        check_server_files(str(expired), str(expired_key))
    future, future_key = ca.write(tmp_path, "future", days=(2, 30))
    with pytest.raises(CertificateError, match="is not valid before"):
        check_server_files(str(future), str(future_key))
    with pytest.raises(CertificateError, match="client CA file .*/nope.pem does not exist"):
        check_server_files(str(cert), str(key), str(tmp_path / "nope.pem"))
    with pytest.raises(CertificateError, match="certificate file .*/missing.crt cannot be read"):
        check_server_files(str(tmp_path / "missing.crt"), str(key))
    with pytest.raises(CertificateError, match="key file .*server.crt holds no unencrypted PEM private key"):
        check_server_files(str(cert), str(cert))
    # The check is about now: a certificate valid today fails the same check a year and a day later.
    with pytest.raises(CertificateError, match="expired at"):
        check_server_files(str(cert), str(key), now=datetime.datetime.now(datetime.timezone.utc)
                           + datetime.timedelta(days=366))


def test_dates_on_cryptography_before_42():
    """Debian 12's python3-cryptography (38) has only the naive not_valid_before/after."""
    from ansible_collections.promaccess.core.plugins.module_utils._common.certs import _utc

    class Old:
        not_valid_after = datetime.datetime(2027, 1, 2, 3, 4, 5)

    assert _utc(Old(), "not_valid_after") == datetime.datetime(2027, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
