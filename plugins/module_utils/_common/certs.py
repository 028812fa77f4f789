# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one check of a server's certificate files before a consumer is pointed at them. Private to promaccess.core.

A server told to use a certificate that is expired, not yet valid, or whose key is another certificate's fails
every TLS handshake; a client CA file that does not exist makes the server refuse to start. These are refused
here, before any file changes, with a message that names the files and never prints a key.
"""

from __future__ import annotations

import datetime
import os
import traceback

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover - exercised through missing_required_lib in the modules
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
    x509 = None
    serialization = None


class CertificateError(Exception):
    """Certificate files a server cannot use. The message names files and dates, never key material."""


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CertificateError("%s %s cannot be read: %s" % (what, path, exc.strerror or exc)) from None


_PEM_END = b"-----END CERTIFICATE-----"


def _certificates(data: bytes) -> list:
    """Every certificate of a PEM bundle (cryptography 38, Debian 12's, has no load_pem_x509_certificates)."""
    blocks = [block + _PEM_END for block in data.split(_PEM_END) if b"-----BEGIN CERTIFICATE-----" in block]
    if not blocks:
        raise ValueError("no certificate")
    return [x509.load_pem_x509_certificate(block) for block in blocks]


def _utc(cert, name: str) -> datetime.datetime:
    """``not_valid_before``/``not_valid_after`` as aware UTC datetimes, on cryptography before 42 too."""
    value = getattr(cert, name + "_utc", None)
    return value if value is not None else getattr(cert, name).replace(tzinfo=datetime.timezone.utc)


def _public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_server_files(cert_file: str, key_file: str, client_ca_file: str | None = None,
                       now: datetime.datetime | None = None) -> dict:
    """Check a server certificate (first of a PEM chain), its key and an optional client CA bundle.

    Returns ``not_after`` (ISO 8601, UTC) and ``days_left`` (whole days to expiry) of the certificate.
    """
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        raise CertificateError("checking certificates needs the 'cryptography' Python package on the host")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        chain = _certificates(_read(cert_file, "certificate file"))
    except ValueError:
        raise CertificateError("certificate file %s holds no PEM certificate" % cert_file) from None
    cert = chain[0]
    try:
        key = serialization.load_pem_private_key(_read(key_file, "key file"), password=None)
    except (ValueError, TypeError):
        raise CertificateError("key file %s holds no unencrypted PEM private key" % key_file) from None
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise CertificateError("key file %s does not belong to certificate %s" % (key_file, cert_file))
    not_before, not_after = _utc(cert, "not_valid_before"), _utc(cert, "not_valid_after")
    if now < not_before:
        raise CertificateError("certificate %s is not valid before %s" % (cert_file, not_before.isoformat()))
    if now >= not_after:
        raise CertificateError("certificate %s expired at %s" % (cert_file, not_after.isoformat()))
    if client_ca_file is not None:
        if not os.path.isfile(client_ca_file):
            raise CertificateError("client CA file %s does not exist" % client_ca_file)
        try:
            _certificates(_read(client_ca_file, "client CA file"))
        except ValueError:
            raise CertificateError("client CA file %s holds no PEM certificate" % client_ca_file) from None
    return {"not_after": not_after.isoformat().replace("+00:00", "Z"),
            "days_left": (not_after - now).days}
