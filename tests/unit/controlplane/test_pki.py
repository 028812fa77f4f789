"""The test control plane's certificates pass strict X.509 verification (tests/controlplane/controlplane.py).

Python 3.13's default client context sets VERIFY_X509_STRICT, which refuses a leaf without an Authority Key
Identifier: the unit tests on Python 3.13 (noxfile.py, units(2.21)) could not reach the API server until the PKI
carried key identifiers. The flag is set here explicitly, so the check holds on every Python.
"""

from __future__ import annotations

import socket
import ssl
import threading

from controlplane.controlplane import _pki  # tests/ is on sys.path (tests/conftest.py)


def handshake(pki, cert, key, hostname):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki / "apiserver.crt", pki / "apiserver.key")
    server.load_verify_locations(pki / "ca.crt")
    server.verify_mode = ssl.CERT_REQUIRED
    server.verify_flags |= ssl.VERIFY_X509_STRICT
    listener = socket.create_server(("127.0.0.1", 0))
    failures = []

    def serve():
        conn, _addr = listener.accept()
        try:
            server.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError) as exc:
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    client.load_cert_chain(cert, key)
    with socket.create_connection(listener.getsockname()) as sock:
        with client.wrap_socket(sock, server_hostname=hostname) as tls:
            tls.sendall(b"")
    thread.join(timeout=10)
    listener.close()
    return failures


def test_api_server_and_admin_certificates_verify_strictly(tmp_path):
    pki = tmp_path / "pki"
    _pki(pki)
    assert handshake(pki, pki / "admin.crt", pki / "admin.key", "127.0.0.1") == []
