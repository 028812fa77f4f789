# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a Prometheus host serves TLS: the one rule of the playbooks (docs/tls.md). Private to promaccess.core.

A credential must not cross a network in clear. So with ``promaccess_tls: auto`` (the default) every listener
that is not on loopback serves HTTPS: nginx's ``listen`` entries, and Prometheus's own port when it listens
beyond loopback. ``always`` serves HTTPS on loopback too; ``plain_http`` is the documented opt-out, and every
listener it leaves in clear beyond loopback is named in ``plain_http`` for the run's warning and the access
report. The planner (``fleet_plan.host_settings``) calls :func:`host_tls`; nothing here touches a host.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

TLS_MODES = ("auto", "always", "plain_http")
TLS_MIN_VERSIONS = ("TLS12", "TLS13")
#: File names in promaccess_tls_dir on the host when the playbooks issue the certificate.
ISSUED_FILES = {"certificate": "server.crt", "key": "server.key", "ca_file": "ca.crt"}


class TlsPolicyError(ValueError):
    """TLS settings the playbooks cannot apply; the message names the host and the setting."""


def _host_part(address: str) -> str:
    """The host of ``127.0.0.1:8080``, ``[::1]:8080``, ``localhost:9090``; empty for a bare port."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.isdigit():
        return ""
    if address.count(":") > 1:  # a bare IPv6 address, as nginx never writes it but a user might
        return address
    return address.rsplit(":", 1)[0] if ":" in address else address


def is_loopback(address: str) -> bool:
    """Whether a listen address (nginx ``listen`` entry or Prometheus ``--web.listen-address``) is reachable
    from this machine only: a loopback IP, ``localhost`` or a unix socket. A bare port, ``*``, ``0.0.0.0``,
    ``[::]`` and every other address listen beyond loopback."""
    first = str(address).split()[0] if str(address).split() else ""
    if first.startswith("unix:"):
        return True
    host = _host_part(first)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_tls(host: str, settings: dict) -> dict:
    """Which of this host's listeners serve TLS, the files they use, and what is left in clear.

    ``settings``: the host's settings (``promaccess_modes``, ``promaccess_nginx_listen``,
    ``promaccess_prometheus_listen_address`` filled in, and the ``promaccess_tls*`` ones). Returns::

        {"mode": "auto", "nginx": True, "native": False, "issue": True,
         "certificate": "/etc/promaccess/tls/server.crt", "key": ..., "ca_file": ...,
         "min_version": "TLS12", "plain_http": []}

    ``issue``: the playbooks make the key on the host and have the certificate signed on the controller; when
    the operator names ``promaccess_tls_certificate`` and ``_key`` (already on the host) they are used as they
    are, and ``promaccess_tls_ca_file`` (on the host) is what the self-scrape and the checks trust. ``write``:
    the operator gives the certificate's and its CA's content (``promaccess_tls_certificate_content``,
    ``promaccess_tls_ca_content``, with the key's in ``promaccess_tls_certificate_key_content``, from a vault),
    which the host play writes to the issued files' paths.
    """
    mode = settings["promaccess_tls"]
    if mode not in TLS_MODES:
        raise TlsPolicyError("%s: promaccess_tls must be one of %s (got %r)" % (host, ", ".join(TLS_MODES), mode))
    min_version = settings["promaccess_tls_min_version"]
    if min_version not in TLS_MIN_VERSIONS:
        raise TlsPolicyError("%s: promaccess_tls_min_version must be TLS12 or TLS13 (got %r)" % (host, min_version))
    modes = settings["promaccess_modes"]
    listeners = {}
    if "nginx" in modes:
        listeners["nginx"] = [str(entry) for entry in settings["promaccess_nginx_listen"]]
    if "native" in modes:
        listeners["native"] = [settings["promaccess_prometheus_listen_address"]]
    beyond = dict((kind, [a for a in addresses if not is_loopback(a)]) for kind, addresses in listeners.items())
    if mode == "always":
        on = dict((kind, True) for kind in listeners)
    elif mode == "auto":
        on = dict((kind, bool(beyond[kind])) for kind in listeners)
    else:
        on = dict((kind, False) for kind in listeners)
    plain = ["%s %s" % (kind, address) for kind, addresses in beyond.items() if not on[kind] for address in addresses]

    given_cert, given_key = settings["promaccess_tls_certificate"], settings["promaccess_tls_certificate_key"]
    if bool(given_cert) != bool(given_key):
        raise TlsPolicyError("%s: promaccess_tls_certificate and promaccess_tls_certificate_key go together" % host)
    content = settings.get("promaccess_tls_certificate_content") or ""
    if content and given_cert:
        raise TlsPolicyError("%s: give the certificate as files on the host (promaccess_tls_certificate) or as "
                             "content (promaccess_tls_certificate_content), not both" % host)
    if content and "-----BEGIN CERTIFICATE-----" not in content:
        raise TlsPolicyError("%s: promaccess_tls_certificate_content must hold a PEM certificate" % host)
    if content and "-----BEGIN CERTIFICATE-----" not in (settings.get("promaccess_tls_ca_content") or ""):
        raise TlsPolicyError(
            "%s: with promaccess_tls_certificate_content, give the CA that signed it in promaccess_tls_ca_content "
            "(PEM): the self-scrape and the playbooks' checks verify the certificate against it" % host
        )
    tls_dir = settings["promaccess_tls_dir"].rstrip("/") or "/"
    if not tls_dir.startswith("/"):
        raise TlsPolicyError("%s: promaccess_tls_dir must be an absolute path (got %r)" % (host, tls_dir))
    issued = dict((name, "%s/%s" % (tls_dir, file_name)) for name, file_name in ISSUED_FILES.items())
    used = any(on.values())
    if given_cert:
        files = {"certificate": given_cert, "key": given_key, "ca_file": settings["promaccess_tls_ca_file"]}
        if used and not files["ca_file"]:
            raise TlsPolicyError(
                "%s: with promaccess_tls_certificate, name the CA that signed it in promaccess_tls_ca_file (a file "
                "on the host): the self-scrape and the playbooks' checks verify the certificate against it" % host
            )
    else:
        files = issued
    return dict(
        mode=mode,
        nginx=on.get("nginx", False),
        native=on.get("native", False),
        issue=used and not given_cert and not content,
        write=used and bool(content),
        min_version=min_version,
        plain_http=plain,
        **files
    )


def cluster_tls(cluster: str, external_url: str, mode: str, kind: str) -> dict:
    """Whether a cluster's users reach Prometheus over TLS, in the shape of :func:`host_tls`'s answer.

    The ingress' TLS is the cluster's (its ``tls:`` section, cert-manager): the playbooks do not issue it, but they
    refuse to hand out credentials for an ``http://`` external URL beyond loopback unless the cluster's
    ``promaccess_tls`` is ``plain_http`` (the same opt-out as a host's), which is then named in ``plain_http``
    for the run's warning and the access report. ``kind``: the endpoint's kind (ingress or native).
    """
    if mode not in TLS_MODES:
        raise TlsPolicyError("%s: promaccess_tls must be one of %s (got %r)" % (cluster, ", ".join(TLS_MODES), mode))
    parts = urlsplit(external_url)
    secure = parts.scheme == "https"
    clear = not secure and not is_loopback(parts.hostname or "")
    if clear and mode != "plain_http":
        raise TlsPolicyError(
            "%s: promaccess_k8s_external_url %r is plain HTTP beyond loopback: every request would carry a "
            "credential in clear. Serve the ingress over TLS (its tls: section, cert-manager) and give the https:// "
            "URL, or set promaccess_tls: plain_http for this cluster to accept it (the run warns and the access "
            "report flags it; docs/tls.md)" % (cluster, external_url)
        )
    return {"mode": mode, kind: secure, "issue": False, "write": False,
            "plain_http": ["%s %s" % (kind, external_url)] if clear else []}


def scheme(tls: dict, kind: str) -> str:
    """``https`` when the listener ``kind`` (nginx or native) serves TLS, else ``http``."""
    return "https" if tls.get(kind) else "http"


def user_facing(modes: list) -> str:
    """The listener users reach: nginx when it is there, else Prometheus's own port."""
    return "nginx" if "nginx" in modes else "native"


def certificate_names(host_names: list, extra: list) -> dict:
    """The subject alternative names of a host's issued certificate: its names, then ``localhost`` and the
    loopback addresses (the self-scrape, nginx's upstream and the checks on the host use them), then the
    operator's extra names; ``common_name`` is the first name. Each name once, in that order."""
    names: list[str] = []
    for name in list(host_names) + ["localhost", "127.0.0.1", "::1"] + list(extra):
        name = str(name).strip()
        if name and name not in names:
            names.append(name)
    san = []
    for name in names:
        try:
            san.append("IP:%s" % ipaddress.ip_address(name))
        except ValueError:
            san.append("DNS:%s" % name)
    return {"common_name": names[0], "subject_alt_name": san}
