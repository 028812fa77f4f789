# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a host serves TLS (plugin_utils/tls_policy.py) and how the planner uses it."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.plugin_utils.access_report import build_report
from ansible_collections.promaccess.core.plugins.plugin_utils.fleet_plan import (
    PlanError,
    cluster_report_endpoints,
    cluster_settings,
    host_settings,
)
from ansible_collections.promaccess.core.plugins.plugin_utils.tls_policy import (
    certificate_names,
    host_tls,
    is_loopback,
)


@pytest.mark.parametrize("address", [
    "127.0.0.1:8080", "127.0.0.2:8080", "localhost:9090", "[::1]:8080", "[::1]:8080 ssl", "unix:/run/p.sock",
    "127.0.0.1:8443 ssl http2",
])
def test_loopback_listeners(address):
    assert is_loopback(address)


@pytest.mark.parametrize("address", [
    "8080", "8443 ssl", "0.0.0.0:9090", ":9090", "[::]:8080", "10.0.0.5:8080", "*:8080", "prom.example.org:443",
    "192.168.1.1:9090",
])
def test_listeners_beyond_loopback(address):
    assert not is_loopback(address)


def settings(**given):
    return host_settings("h1", given)


def test_the_defaults_serve_nginx_over_tls_and_keep_prometheus_on_loopback_in_clear():
    s = settings()
    tls = s["tls"]
    assert (tls["nginx"], tls["native"], tls["issue"], tls["plain_http"]) == (True, False, True, [])
    assert tls["certificate"] == "/etc/promaccess/tls/server.crt"
    assert tls["key"] == "/etc/promaccess/tls/server.key"
    assert tls["ca_file"] == "/etc/promaccess/tls/ca.crt"
    assert s["external_url_scheme"] == "https"


def test_native_beyond_loopback_serves_tls_and_the_public_url_says_https():
    s = settings(promaccess_modes=["native", "nginx"], promaccess_public_host="p1.example.org")
    assert (s["tls"]["nginx"], s["tls"]["native"]) == (True, True)
    assert s["promaccess_external_url"] == "https://p1.example.org:8080/prometheus/"


def test_loopback_only_stays_in_clear_unless_always():
    loop = dict(promaccess_modes=["native", "nginx"], promaccess_nginx_listen=["127.0.0.1:8080"],
                promaccess_prometheus_listen_address="127.0.0.1:9090")
    tls = settings(**loop)["tls"]
    assert (tls["nginx"], tls["native"], tls["issue"], tls["plain_http"]) == (False, False, False, [])
    tls = settings(promaccess_tls="always", **loop)["tls"]
    assert (tls["nginx"], tls["native"], tls["issue"]) == (True, True, True)


def test_one_listener_beyond_loopback_is_enough():
    tls = settings(promaccess_nginx_listen=["127.0.0.1:8080", "10.0.0.5:8080"])["tls"]
    assert tls["nginx"]


def test_the_opt_out_names_every_listener_left_in_clear():
    s = settings(promaccess_tls="plain_http", promaccess_modes=["native", "nginx"],
                 promaccess_nginx_listen=["8080", "127.0.0.1:8081"])
    tls = s["tls"]
    assert (tls["nginx"], tls["native"], tls["issue"]) == (False, False, False)
    assert tls["plain_http"] == ["nginx 8080", "native 0.0.0.0:9090"]
    assert s["external_url_scheme"] == "http"


def test_a_given_certificate_is_used_as_it_is():
    tls = settings(promaccess_tls_certificate="/etc/ssl/p.crt", promaccess_tls_certificate_key="/etc/ssl/p.key",
                   promaccess_tls_ca_file="/etc/ssl/ca.crt")["tls"]
    assert (tls["issue"], tls["certificate"], tls["key"], tls["ca_file"]) == (
        False, "/etc/ssl/p.crt", "/etc/ssl/p.key", "/etc/ssl/ca.crt")


def test_host_tls_without_the_planner_refuses_an_unknown_mode():
    base = settings()
    with pytest.raises(ValueError, match="promaccess_tls must be one of"):
        host_tls("h1", dict(base, promaccess_tls=True))


def test_certificate_names_put_the_host_first_then_loopback_then_extra_names_once():
    names = certificate_names(["p1.example.org", "p1"], ["prom.example.org", "p1", "10.0.0.5"])
    assert names["common_name"] == "p1.example.org"
    assert names["subject_alt_name"] == [
        "DNS:p1.example.org", "DNS:p1", "DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:prom.example.org",
        "IP:10.0.0.5",
    ]


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_a_certificate_given_as_content_is_written_where_an_issued_one_would_be():
    tls = settings(promaccess_tls_certificate_content=PEM, promaccess_tls_ca_content=PEM)["tls"]
    assert (tls["issue"], tls["write"]) == (False, True)
    assert tls["certificate"] == "/etc/promaccess/tls/server.crt" and tls["key"] == "/etc/promaccess/tls/server.key"
    # Nothing serves TLS (loopback only): nothing is written either.
    loop = settings(promaccess_tls_certificate_content=PEM, promaccess_tls_ca_content=PEM,
                    promaccess_nginx_listen=["127.0.0.1:8080"])["tls"]
    assert (loop["issue"], loop["write"]) == (False, False)


@pytest.mark.parametrize("given, message", [
    (dict(promaccess_tls_certificate_content="not a certificate", promaccess_tls_ca_content=PEM),
     "must hold a PEM certificate"),
    (dict(promaccess_tls_certificate_content=PEM), "give the CA that signed it in promaccess_tls_ca_content"),
    (dict(promaccess_tls_certificate_content=PEM, promaccess_tls_ca_content=PEM,
          promaccess_tls_certificate="/etc/ssl/a.crt", promaccess_tls_certificate_key="/etc/ssl/a.key",
          promaccess_tls_ca_file="/etc/ssl/ca.crt"), "not both"),
])
def test_content_refusals(given, message):
    with pytest.raises(ValueError, match=message):
        settings(**given)


# -- Kubernetes clusters: the ingress' URL ---------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://prom.example.org/", "http://10.0.0.5:8080/prometheus/", "http://[2001:db8::1]/"])
def test_a_cluster_refuses_plain_http_beyond_loopback_without_the_opt_out(url):
    with pytest.raises(PlanError, match=r"^c1: promaccess_k8s_external_url .* is plain HTTP beyond loopback.*"
                                        r"promaccess_tls: plain_http"):
        cluster_settings("c1", {"promaccess_k8s_external_url": url})


def test_a_cluster_opting_out_is_named_for_the_warning_and_the_report():
    s = cluster_settings("c1", {"promaccess_k8s_external_url": "http://prom.example.org/", "promaccess_tls": "plain_http"})
    assert s["tls"]["ingress"] is False
    assert s["tls"]["plain_http"] == ["ingress http://prom.example.org/"]
    (endpoint,) = cluster_report_endpoints({"settings": s})
    assert endpoint == {"kind": "ingress", "url": "http://prom.example.org/", "tls": False,
                        "plain_http": ["ingress http://prom.example.org/"], "renew_days": None}


@pytest.mark.parametrize("url, kind, secure", [
    ("https://prom.example.org/", "ingress", True),
    ("http://127.0.0.1:9/prometheus/", "ingress", False),
    ("http://localhost:8080/", "ingress", False),
    ("http://[::1]:8080/", "ingress", False),
])
def test_a_cluster_on_https_or_loopback_needs_no_opt_out(url, kind, secure):
    s = cluster_settings("c1", {"promaccess_k8s_external_url": url})
    assert s["tls"][kind] is secure and s["tls"]["plain_http"] == []


def test_a_cluster_with_an_unknown_tls_mode_is_refused():
    with pytest.raises(PlanError, match="c1: promaccess_tls must be one of auto, always, plain_http"):
        cluster_settings("c1", {"promaccess_k8s_external_url": "https://prom.example.org/", "promaccess_tls": "off"})


def test_the_access_report_flags_a_cluster_left_in_clear():
    s = cluster_settings("c1", {"promaccess_k8s_external_url": "http://prom.example.org/", "promaccess_tls": "plain_http"})
    host = {"host": "c1", "kind": "cluster", "checks": {"results": []},
            "plan": {"kind": "cluster", "targets": [], "endpoints": cluster_report_endpoints({"settings": s})}}
    report = build_report([host], [], generated_at="2026-12-04T00:00:00Z")
    assert [(f["host"], f["code"]) for f in report["findings"]] == [("c1", "plain_http")]
    assert report["endpoints"][0]["problem"] == "plain_http"
