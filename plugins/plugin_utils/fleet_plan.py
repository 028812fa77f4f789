# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet planner of the playbooks, run once on the controller. Private to promaccess.core: no stable API.

Every decision of provision_access, rotate_credentials, revoke_access and access_report about *who gets what*
is made here, in plain Python with no Ansible import, so that it is unit tested and runs once for the whole
fleet instead of once per host:

* :func:`check_grants` validates ``promaccess_grants`` against one spec (one name rule, one ``auth`` default);
* :func:`host_settings` and :func:`cluster_settings` give each host's and cluster's ``promaccess_*`` settings
  with every default filled in (the only place those defaults live) and refuse settings that cannot work;
* :func:`plan_host` (a Prometheus VM) and :func:`plan_cluster` (a Kubernetes cluster) say which grants go into
  which user file or Secret, in order (internal first, then the inventory's order), and which endpoints exist;
  :func:`plan_scrape` does the same for a cluster's scrape credentials; :func:`credential_checks` says, per
  grant, which of its credentials an endpoint must accept (200) and refuse (401);
* :func:`plan_fleet` puts them together in a compact plan: grant lists are shared between the hosts that hold
  the same ones (:class:`GrantSets`) and checks are kept per grant, so the plan grows with the hosts, not with
  hosts x grants; :func:`host_part` expands one host's part for its play (revoked grants appended to every
  file, to be removed; the checks of each endpoint);
* :func:`handoff_grants`, :func:`summary_lines` and :func:`report_hosts` turn the hosts' verification and
  inspection results into the hand-off list, the summary and the audit's input.

The plan holds no secret: user files are lists of grant names, checks name a credential by grant, set
(``present`` / ``refused``) and index. The host plays join them with the credential store's views
(``promaccess_credentials``), which only no_log tasks touch; :func:`scrape_secrets` does that join for a
cluster's scrape credentials.

Host patterns are resolved by a ``resolve(patterns) -> set of host names`` callable that the action plugin backs
with Ansible's own inventory pattern engine, once per distinct pattern list.
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import (
    GRANT_HASH_POLICIES,
    credential_hash,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.names import grant_name_problem
from ansible_collections.promaccess.core.plugins.module_utils._helm.values_users import DEFAULT_RESERVED
from ansible_collections.promaccess.core.plugins.plugin_utils import rotation_policy, tls_policy
from ansible_collections.promaccess.core.plugins.module_utils._common.urls import (
    UrlError,
    check_http_url,
    check_prefix_consistency,
    external_path,
)

AUTH_KINDS = ("native", "nginx", "both", "scrape")
DEFAULT_AUTH = "both"
DEFAULT_INTERNAL_GRANT = "internal"
DEFAULT_HOSTS_GROUP = "prometheus"
DEFAULT_CLUSTERS_GROUP = "k8s_clusters"
MODES = ("native", "nginx")
#: Secret formats a cluster can take from the playbooks (envoy_gateway reads only {SHA}, never bcrypt).
CLUSTER_SECRET_FORMATS = (
    "ingress_nginx_auth_file",
    "ingress_nginx_auth_map",
    "nginx_ingress_htpasswd",
    "traefik",
    "prometheus_web_config",
)
ENVOY_REASON = (
    "the envoy_gateway format is not offered here: Envoy reads only {SHA} hashes and the playbooks hand the "
    "modules bcrypt hashes, never passwords"
)
#: Credential sets a check names, and the status each must get.
CHECK_SETS = (("present", 200), ("refused", 401))


class PlanError(ValueError):
    """Settings the playbooks cannot apply. The message names the host or grant and the setting, never a
    secret; every such error is raised before anything changes."""


# -- one spec for the settings ---------------------------------------------------------------------------------
# name -> (default, kind). Defaults that depend on other settings are None here and filled in by the functions.
HOST_SPEC: dict[str, tuple] = {
    "promaccess_modes": (["nginx"], "list"),
    "promaccess_nginx_listen": (["8080"], "list"),
    "promaccess_nginx_location": ("/prometheus/", "str"),
    # The location's own access log (combined format, 0640): the evidence of use a rotation's grace period reads.
    # Empty: none (the location logs where the server does; an old credential then waits for its deadline).
    "promaccess_nginx_access_log": ("/var/log/nginx/promaccess.access.log", "str"),
    "promaccess_external_url": (None, "str"),
    "promaccess_public_host": (None, "str"),
    "promaccess_prometheus_listen_address": (None, "str"),
    "promaccess_exclusive": (False, "bool"),
    "promaccess_report_web_config": (None, "str"),
    "promaccess_report_htpasswd": (None, "str"),
    "promaccess_internal_credential": (None, "str"),
    # TLS (plugin_utils/tls_policy.py, docs/tls.md): auto serves HTTPS on every listener beyond loopback.
    "promaccess_tls": ("auto", "str"),
    "promaccess_tls_min_version": ("TLS12", "str"),
    "promaccess_tls_dir": ("/etc/promaccess/tls", "str"),
    "promaccess_tls_names": ([], "list"),
    "promaccess_tls_valid_days": (365, "int"),
    "promaccess_tls_renew_days": (30, "int"),
    "promaccess_tls_certificate": ("", "str"),
    "promaccess_tls_certificate_key": ("", "str"),
    "promaccess_tls_ca_file": ("", "str"),
    # Public PEM content (a vault's, for example); the key's content is read by the host play only
    # (promaccess_tls_certificate_key_content), never by the planner: the plan holds no secret.
    "promaccess_tls_certificate_content": ("", "str"),
    "promaccess_tls_ca_content": ("", "str"),
    # The roles' own settings, read for the report's default paths.
    "prometheus_basic_auth_web_config": ("/etc/prometheus/web.yml", "str"),
    "nginx_basic_auth_user_file": ("/etc/nginx/prometheus.htpasswd", "str"),
}

CLUSTER_SPEC: dict[str, tuple] = {
    "promaccess_k8s_kubeconfig": ("", "str"),
    "promaccess_k8s_context": ("", "str"),
    "promaccess_k8s_namespace": ("monitoring", "str"),
    "promaccess_k8s_secret_name": ("prometheus-basic-auth", "str"),
    "promaccess_k8s_secret_format": ("ingress_nginx_auth_file", "str"),
    "promaccess_k8s_secret_labels": ({}, "dict"),
    "promaccess_k8s_ingress_name": ("", "str"),
    "promaccess_k8s_ingress_controller": ("ingress_nginx", "str"),
    "promaccess_k8s_prometheus_name": ("", "str"),
    "promaccess_k8s_prometheus_kind": ("Prometheus", "str"),
    "promaccess_k8s_prometheus_container": ("prometheus-server", "str"),
    "promaccess_k8s_prometheus_probes": ("auto", "str"),
    "promaccess_k8s_route_prefix": ("", "str"),
    "promaccess_k8s_external_url": ("", "str"),
    # auto: an http:// external URL beyond loopback is refused; plain_http accepts it, with a warning and the
    # access report's finding (tls_policy.cluster_tls, docs/tls.md)
    "promaccess_tls": ("auto", "str"),
    "promaccess_k8s_verify_url": ("", "str"),
    "promaccess_k8s_verify_validate_certs": (True, "bool"),
    "promaccess_k8s_verify_timeout": (5, "int"),
    "promaccess_k8s_scrape_auth": ([], "list"),
    "promaccess_k8s_scrape_tokens": ([], "list"),
    "promaccess_k8s_scrape_settle": (120, "int"),
    # The Prometheus that scrapes (its API, from the controller): when set, a rotation waits on its targets API
    # (prometheus_targets_wait) instead of promaccess_k8s_scrape_settle seconds.
    "promaccess_k8s_scrape_targets_url": ("", "str"),
    "promaccess_k8s_scrape_targets_timeout": (600, "int"),
    "promaccess_k8s_scrape_verify_retries": (60, "int"),
    "promaccess_k8s_scrape_verify_delay": (2, "int"),
    "promaccess_k8s_helm_managed": ("refuse", "str"),
    # delivery: direct (the k8s_* modules write the Secret and its wiring) or values (the users go into a Helm
    # values file of the operator's checkout; helm upgrade when a release is named)
    "promaccess_k8s_delivery": ("direct", "str"),
    "promaccess_k8s_values_file": ("", "str"),
    "promaccess_k8s_values_key_path": ([], "list"),
    "promaccess_k8s_values_shape": ("list", "str"),
    "promaccess_k8s_values_reserved": (None, "int"),
    # the prometheus chart's server wired to the web.yml of the values (helm_values_users' server option)
    "promaccess_k8s_values_server": ({}, "dict"),
    # what the chart renders the users into, for the access report: a Secret, or (the prometheus chart's
    # serverFiles web.yml) a ConfigMap, named promaccess_k8s_secret_name
    "promaccess_k8s_users_object": ("Secret", "str"),
    "promaccess_k8s_helm_release": ("", "str"),
    "promaccess_k8s_helm_chart": ("", "str"),
    "promaccess_k8s_helm_chart_version": ("", "str"),
    "promaccess_k8s_helm_namespace": ("", "str"),
    "promaccess_k8s_helm_values_files": ([], "list"),
    "promaccess_k8s_helm_binary": ("", "str"),
    "promaccess_exclusive": (False, "bool"),
    "promaccess_internal_credential": (None, "str"),
}
DELIVERIES = ("direct", "values")
VALUES_SHAPES = ("list", "map", "htpasswd")

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


def _coerce(where: str, name: str, value, kind: str):
    """``value`` as ``kind``, the way Ansible's own argument specs convert inventory values."""
    if kind == "str":
        if isinstance(value, (dict, list)):
            raise PlanError("%s: %s must be a string" % (where, name))
        return "" if value is None else str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in _TRUE:
            return True
        if str(value).strip().lower() in _FALSE:
            return False
        raise PlanError("%s: %s must be true or false (got %r)" % (where, name, value))
    if kind == "int":
        try:
            return int(str(value).strip())
        except ValueError:
            raise PlanError("%s: %s must be a whole number (got %r)" % (where, name, value)) from None
    if kind == "list":
        if isinstance(value, str):
            return [value]
        if not isinstance(value, (list, tuple)):
            raise PlanError("%s: %s must be a list" % (where, name))
        return list(value)
    if kind == "dict":
        if not isinstance(value, dict):
            raise PlanError("%s: %s must be a mapping" % (where, name))
        return dict(value)
    raise AssertionError(kind)  # pragma: no cover


def _settings(where: str, spec: dict, given: dict) -> dict:
    out = {}
    for name, (default, kind) in spec.items():
        value = given.get(name)
        out[name] = _coerce(where, name, default if value is None else value, kind) if (
            value is not None or default is not None
        ) else None
    return out


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


# -- grants ---------------------------------------------------------------------------------------------------
def check_names(names, what: str, internal: str, allow_internal: bool = False, internal_names=()) -> list:
    """Grant names given on the command line (promaccess_rotate, promaccess_revoke): a non-empty list of valid,
    distinct names; the internal grant (or a target's internal credential, ``internal_names``) only where
    ``allow_internal``."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not names:
        raise PlanError("%s must list grant names (got %r)" % (what, names))
    for name in names:
        problem = grant_name_problem(name)
        if problem:
            raise PlanError("%s: %s" % (what, problem))
        if (name == internal or name in internal_names) and not allow_internal:
            raise PlanError("%s: the internal credential '%s' cannot be revoked, only rotated" % (what, name))
    if len(set(names)) != len(names):
        raise PlanError("%s lists a grant twice" % what)
    return list(names)


def check_grants(grants, internal: str = DEFAULT_INTERNAL_GRANT) -> list[dict]:
    """``promaccess_grants`` validated, each with its defaults filled in (``auth``, ``hosts``)."""
    if grants is None:
        return []
    if not isinstance(grants, (list, tuple)):
        raise PlanError("promaccess_grants must be a list of grants")
    problem = grant_name_problem(internal)
    if problem:
        raise PlanError("promaccess_internal_grant: %s" % problem)
    out, seen = [], set()
    for index, grant in enumerate(grants):
        if not isinstance(grant, dict):
            raise PlanError("promaccess_grants[%d] must be a mapping with at least a name" % index)
        name = grant.get("name")
        problem = grant_name_problem(name)
        if problem:
            raise PlanError("promaccess_grants[%d]: %s" % (index, problem))
        if name == internal:
            raise PlanError("grant %s: the name '%s' is reserved for the internal credential" % (name, internal))
        if name in seen:
            raise PlanError("grant %s is listed twice in promaccess_grants" % name)
        seen.add(name)
        auth = grant.get("auth", DEFAULT_AUTH)
        if auth not in AUTH_KINDS:
            raise PlanError("grant %s: auth must be one of %s (got %r)" % (name, ", ".join(AUTH_KINDS), auth))
        hosts = grant.get("hosts", ["all"])
        if isinstance(hosts, str):
            hosts = [hosts]
        if not isinstance(hosts, (list, tuple)) or not hosts or not all(isinstance(h, str) and h for h in hosts):
            raise PlanError("grant %s: hosts must be a non-empty list of host patterns" % name)
        recipients = grant.get("recipients") or []
        recipients_files = grant.get("recipients_files") or []
        if auth != "scrape" and not recipients and not recipients_files:
            raise PlanError(
                "grant %s has no recipients (age1..., ssh-ed25519 or ssh-rsa keys, or recipients_files)" % name
            )
        hash_policy = grant.get("hash", "auto")
        if hash_policy not in GRANT_HASH_POLICIES:
            raise PlanError("grant %s: hash must be one of %s (got %r)" % (name, ", ".join(GRANT_HASH_POLICIES),
                                                                           hash_policy))
        out.append(dict(grant, auth=auth, hosts=list(hosts), hash=hash_policy))
    return out


def internal_credential(target: str, settings: dict, internal: str) -> str:
    """The grant name of a host's or cluster's internal credential: ``promaccess_internal_credential`` when set
    (a group's name in group_vars, or the shared ``internal`` of stores made before credentials per target),
    else ``<internal>.<target>``, one per host and per cluster."""
    name = settings.get("promaccess_internal_credential") or "%s.%s" % (internal, target)
    problem = grant_name_problem(name)
    if problem:
        raise PlanError(
            "%s: its internal credential %r is not a valid grant name (%s); set promaccess_internal_credential"
            % (target, name[:40], problem)
        )
    return name


# -- settings --------------------------------------------------------------------------------------------------
def host_settings(host: str, given: dict) -> dict:
    """A Prometheus host's settings with their defaults, checked (nothing is applied yet)."""
    s = _settings(host, HOST_SPEC, given)
    modes = s["promaccess_modes"]
    if not modes or any(m not in MODES for m in modes) or len(set(modes)) != len(modes):
        raise PlanError("%s: promaccess_modes must hold native and/or nginx (got %r)" % (host, modes))
    location = s["promaccess_nginx_location"]
    if not location.startswith("/") or not location.endswith("/"):
        raise PlanError("%s: promaccess_nginx_location must start and end with '/' (got %r)" % (host, location))
    if not s["promaccess_nginx_listen"]:
        raise PlanError("%s: promaccess_nginx_listen must name at least one listen address" % host)
    # The first listen directive's port: "8080", "127.0.0.1:8080", "8443 ssl" all give the port.
    s["promaccess_nginx_port"] = str(s["promaccess_nginx_listen"][0]).split(" ", maxsplit=1)[0].rsplit(":", maxsplit=1)[-1]
    if s["promaccess_prometheus_listen_address"] is None:
        s["promaccess_prometheus_listen_address"] = "127.0.0.1:9090" if modes == ["nginx"] else "0.0.0.0:9090"
    try:
        s["tls"] = tls_policy.host_tls(host, s)
    except tls_policy.TlsPolicyError as exc:
        raise PlanError(str(exc)) from exc
    if s["promaccess_tls_renew_days"] >= s["promaccess_tls_valid_days"]:
        raise PlanError("%s: promaccess_tls_renew_days must be fewer than promaccess_tls_valid_days" % host)
    # Where users reach it; the path part of the default is fixed here, the host name is the host's own fact.
    s["external_url_scheme"] = tls_policy.scheme(s["tls"], tls_policy.user_facing(modes))
    s["external_url_suffix"] = ":" + (s["promaccess_nginx_port"] + location if "nginx" in modes else "9090/")
    url = s["promaccess_external_url"]
    if not url and s["promaccess_public_host"]:
        url = s["promaccess_external_url"] = (s["external_url_scheme"] + "://" + s["promaccess_public_host"]
                                              + s["external_url_suffix"])
    if url:
        parts = check_http_url(url, "%s: promaccess_external_url" % host, PlanError)
        if parts.scheme != s["external_url_scheme"]:
            raise PlanError(
                "%s: promaccess_external_url %r is %s:// but the %s listener serves %s (promaccess_tls %s, "
                "docs/tls.md)" % (host, url, parts.scheme, tls_policy.user_facing(modes),
                                  s["external_url_scheme"].upper(), s["promaccess_tls"])
            )
        if "nginx" in modes and check_prefix_consistency(url, "/", location):
            raise PlanError(
                "%s: promaccess_external_url %r: behind nginx its path must be the nginx location "
                "(promaccess_nginx_location %r): %s" % (host, url, location,
                                                        "; ".join(check_prefix_consistency(url, "/", location)))
            )
    # Behind nginx the location is stripped (proxy_pass to /), so Prometheus serves at /.
    s["route_prefix"] = "/" if "nginx" in modes or not url else external_path(url).rstrip("/") + "/"
    if s["promaccess_report_web_config"] is None:
        s["promaccess_report_web_config"] = s["prometheus_basic_auth_web_config"]
    if s["promaccess_report_htpasswd"] is None:
        s["promaccess_report_htpasswd"] = s["nginx_basic_auth_user_file"]
    return s


def cluster_settings(cluster: str, given: dict) -> dict:
    """A Kubernetes cluster's settings with their defaults, checked."""
    s = _settings(cluster, CLUSTER_SPEC, given)
    try:
        check_http_url(s["promaccess_k8s_external_url"], "promaccess_k8s_external_url")
    except UrlError as exc:
        raise PlanError(
            "%s: a cluster needs promaccess_k8s_external_url, the http(s) URL users reach Prometheus at through "
            "the ingress: %s" % (cluster, exc)
        ) from None
    if s["promaccess_k8s_verify_url"]:
        check_http_url(s["promaccess_k8s_verify_url"], "%s: promaccess_k8s_verify_url (or empty)" % cluster, PlanError)
    if s["promaccess_k8s_scrape_targets_url"]:
        check_http_url(s["promaccess_k8s_scrape_targets_url"], "%s: promaccess_k8s_scrape_targets_url (or empty)"
                       % cluster, PlanError)
    if s["promaccess_k8s_helm_managed"] not in ("refuse", "allow"):
        raise PlanError("%s: promaccess_k8s_helm_managed must be refuse or allow (got %r)"
                        % (cluster, s["promaccess_k8s_helm_managed"]))
    _check_delivery(cluster, s)
    fmt = s["promaccess_k8s_secret_format"]
    if fmt == "envoy_gateway":
        raise PlanError("%s: %s" % (cluster, ENVOY_REASON))
    if fmt not in CLUSTER_SECRET_FORMATS:
        raise PlanError(
            "%s: promaccess_k8s_secret_format must be one of %s (got %r)"
            % (cluster, ", ".join(CLUSTER_SECRET_FORMATS), fmt)
        )
    for index, item in enumerate(s["promaccess_k8s_scrape_auth"]):
        if not isinstance(item, dict) or not item.get("service_monitor"):
            raise PlanError("%s: promaccess_k8s_scrape_auth[%d] needs a service_monitor" % (cluster, index))
    for index, item in enumerate(s["promaccess_k8s_scrape_tokens"]):
        if not isinstance(item, dict) or not item.get("name"):
            raise PlanError("%s: promaccess_k8s_scrape_tokens[%d] needs a name" % (cluster, index))
        grants = item.get("grants", [])
        if not isinstance(grants, (list, tuple)):
            raise PlanError("%s: promaccess_k8s_scrape_tokens[%d].grants must be a list" % (cluster, index))
    s["secret_kind"] = "native" if fmt == "prometheus_web_config" else "ingress"
    try:
        s["tls"] = tls_policy.cluster_tls(cluster, s["promaccess_k8s_external_url"], s["promaccess_tls"],
                                          s["secret_kind"])
    except tls_policy.TlsPolicyError as exc:
        raise PlanError(str(exc)) from None
    return s


def _check_delivery(cluster: str, s: dict) -> None:
    """The values delivery's settings: a values file and the key path of its users, in a shape the module knows;
    helm upgrade needs the release and the chart together."""
    delivery = s["promaccess_k8s_delivery"]
    if delivery not in DELIVERIES:
        raise PlanError("%s: promaccess_k8s_delivery must be %s (got %r)" % (cluster, " or ".join(DELIVERIES), delivery))
    if delivery != "values":
        if s["promaccess_k8s_users_object"] != "Secret":
            raise PlanError("%s: promaccess_k8s_users_object %s is for a chart's rendering (delivery values); "
                            "delivery direct writes a Secret" % (cluster, s["promaccess_k8s_users_object"]))
        return
    if not s["promaccess_k8s_values_file"]:
        raise PlanError("%s: promaccess_k8s_delivery values needs promaccess_k8s_values_file, the Helm values file "
                        "(in the checkout of the infrastructure repository) that holds the users" % cluster)
    keys = s["promaccess_k8s_values_key_path"]
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise PlanError("%s: promaccess_k8s_values_key_path must list the keys leading to the users, for example "
                        "[prometheusIngressAuthSecret, users]" % cluster)
    if s["promaccess_k8s_values_shape"] not in VALUES_SHAPES:
        raise PlanError("%s: promaccess_k8s_values_shape must be one of %s (got %r)"
                        % (cluster, ", ".join(VALUES_SHAPES), s["promaccess_k8s_values_shape"]))
    if s["promaccess_k8s_values_reserved"] is not None and s["promaccess_k8s_values_reserved"] < 0:
        raise PlanError("%s: promaccess_k8s_values_reserved must be 0 or more" % cluster)
    _check_values_server(cluster, s["promaccess_k8s_values_server"])
    if s["promaccess_k8s_users_object"] not in ("Secret", "ConfigMap"):
        raise PlanError("%s: promaccess_k8s_users_object must be Secret or ConfigMap (got %r)"
                        % (cluster, s["promaccess_k8s_users_object"]))
    if s["promaccess_k8s_users_object"] == "ConfigMap" and s["promaccess_k8s_secret_format"] != "prometheus_web_config":
        raise PlanError("%s: promaccess_k8s_users_object ConfigMap (a chart's serverFiles web.yml) needs "
                        "promaccess_k8s_secret_format prometheus_web_config" % cluster)
    if bool(s["promaccess_k8s_helm_release"]) != bool(s["promaccess_k8s_helm_chart"]):
        raise PlanError("%s: helm upgrade needs both promaccess_k8s_helm_release and promaccess_k8s_helm_chart "
                        "(neither: the values file is only written, for a later helm upgrade or a GitOps sync)"
                        % cluster)
    if not all(isinstance(f, str) and f for f in s["promaccess_k8s_helm_values_files"]):
        raise PlanError("%s: promaccess_k8s_helm_values_files must list file paths" % cluster)
    if not s["promaccess_k8s_helm_namespace"]:
        s["promaccess_k8s_helm_namespace"] = s["promaccess_k8s_namespace"]
    # Relative paths are the operator's checkout's: taken from the folder ansible-playbook runs in (the planner
    # runs on the controller), never from the collection's playbooks folder.
    s["promaccess_k8s_values_file"] = _abspath(s["promaccess_k8s_values_file"])
    s["promaccess_k8s_helm_values_files"] = [_abspath(f) for f in s["promaccess_k8s_helm_values_files"]]
    chart = s["promaccess_k8s_helm_chart"]
    if chart.startswith((".", "~", "/")):  # a local chart folder (else a repo/chart reference or an OCI URL)
        s["promaccess_k8s_helm_chart"] = _abspath(chart)


VALUES_SERVER_KEYS = ("key_path", "web_config_file", "scrape_configs_key_path", "self_scrape_job")


def _check_values_server(cluster: str, server: dict) -> None:
    """promaccess_k8s_values_server: the keys of helm_values_users' server option the inventory gives (the probe
    user is the cluster's internal credential, never given here)."""
    if not server:
        return
    unknown = sorted(set(server) - set(VALUES_SERVER_KEYS))
    if unknown:
        raise PlanError("%s: promaccess_k8s_values_server takes %s (unknown: %s; the probe user is always the "
                        "cluster's internal credential)" % (cluster, ", ".join(VALUES_SERVER_KEYS), ", ".join(unknown)))
    for name in ("key_path", "scrape_configs_key_path"):
        keys = server.get(name)
        if (name == "key_path" or keys is not None) and not (
                isinstance(keys, list) and keys and all(isinstance(k, str) and k for k in keys)):
            raise PlanError("%s: promaccess_k8s_values_server.%s must list keys, for example %s" % (
                cluster, name, "[prometheus, server]" if name == "key_path"
                else "[prometheus, serverFiles, prometheus.yml, scrape_configs]"))


def values_server(server: dict, views: dict, internal: str):
    """The server option of helm_values_users for a cluster, with secrets (only for no_log tasks): the inventory's
    promaccess_k8s_values_server with the cluster's internal credential as the probe user, or None when the
    cluster wires no server. The probes and the self-scrape check against the web.yml of the same values file,
    written by the same helm upgrade: like the self-scrape job of a VM, they send the newest present credential
    (``consumer``)."""
    if not server:
        return None
    cred = views[internal]["consumer"]
    return dict(server, probe_username=cred["username"], probe_password=cred["password"],
                probe_username_label="%s (%s)" % (internal, cred["role"]))


def _abspath(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def target_users(views: dict, grants: list, consumer: str, bcrypt_grants=()) -> list[dict]:
    """The users of one user file or Secret, with secrets (only for no_log tasks): each grant's entries for the
    user-file modules (``grant_view``'s ``users``: present ones by hash, refused ones absent, each labelled), in
    the order of ``grants``. The hash of a present one is the store's hash in the scheme the hash policy gives
    ``consumer`` (a target's ``format``) for that credential (``_common/hashing.credential_hash``): the fast
    scheme for a credential the store minted and a consumer that hashes on every request, bcrypt otherwise and
    for the grants in ``bcrypt_grants`` (their ``hash: bcrypt``)."""
    out = []
    strong = set(bcrypt_grants or ())
    for grant in grants:
        view = views[grant]
        present = iter(view["present"])  # users lists the present ones first, in the same order
        policy = "bcrypt" if grant in strong else "auto"
        for user in view["users"]:
            if user["state"] == "present":
                user = dict(user, password_hash=credential_hash(next(present), consumer, policy))
            out.append(user)
    return out


def values_users(views: dict, grants: list, shape: str, consumer: str = "", bcrypt_grants=()) -> list[dict]:
    """The users option of helm_values_users for one values file, with secrets (only for no_log tasks): as
    :func:`target_users` for ``consumer`` (the format of the Secret the chart renders); where the chart hashes
    the passwords itself (shape ``list``, Helm's ``htpasswd``), a present one by its plain password instead."""
    if shape != "list":
        return target_users(views, grants, consumer, bcrypt_grants)
    out = []
    for grant in grants:
        view = views[grant]
        passwords = iter(cred["password"] for cred in view["present"])  # users lists the present ones first
        for user in view["users"]:
            if user["state"] == "present":
                user = {k: v for k, v in user.items() if k != "password_hash"}
                user["password"] = next(passwords)
            out.append(user)
    return out


# -- which grants go where ---------------------------------------------------------------------------------------
def vm_targets(settings: dict, grants_here: list[dict], internal: str) -> list[dict]:
    """The user files of a Prometheus host, each with its grants in order (internal first).

    A scrape credential goes into no user file. With both modes on, every nginx user must pass web.yml too:
    nginx forwards the Authorization header to Prometheus."""
    modes = settings["promaccess_modes"]
    native, nginx = [internal], [internal]
    for grant in grants_here:
        auth = grant["auth"]
        if auth == "scrape":
            continue
        if "nginx" in modes and auth in ("nginx", "both"):
            nginx.append(grant["name"])
        if "native" in modes and (auth in ("native", "both") or "nginx" in modes):
            native.append(grant["name"])
    targets = []
    if "native" in modes:
        path = settings["promaccess_report_web_config"]
        targets.append({"target": "native", "format": "web_config", "path": path, "location": path, "grants": native})
    if "nginx" in modes:
        path = settings["promaccess_report_htpasswd"]
        targets.append({"target": "nginx", "format": "htpasswd", "path": path, "location": path, "grants": nginx})
    return targets


def cluster_targets(settings: dict, grants_here: list[dict], internal: str) -> list[dict]:
    """The basic-auth Secret of a cluster: an ingress format takes the grants with auth nginx or both (the
    ingress is the proxy), prometheus_web_config (Prometheus's own web.yml) those with auth native or both."""
    wanted = ("native", "both") if settings["secret_kind"] == "native" else ("nginx", "both")
    names = [internal] + [g["name"] for g in grants_here if g["auth"] in wanted]
    namespace, name = settings["promaccess_k8s_namespace"], settings["promaccess_k8s_secret_name"]
    target = {
        "target": "secret",
        "format": settings["promaccess_k8s_secret_format"],
        "namespace": namespace,
        "name": name,
        "location": namespace + "/" + name,
        "grants": names,
    }
    if settings["promaccess_k8s_delivery"] == "values":
        # The chart renders the Secret: the reserved head of the values file comes first in it (the audit counts
        # those entries as reserved, not unknown), and a chart that hashes plain passwords itself (shape list,
        # Helm's htpasswd) never writes the store's hash (the audit then checks presence, not the hash).
        shape = settings["promaccess_k8s_values_shape"]
        reserved = settings["promaccess_k8s_values_reserved"]
        target["reserved"] = DEFAULT_RESERVED[shape] if reserved is None else reserved
        target["compare_hashes"] = shape != "list"
        if settings["promaccess_k8s_users_object"] == "ConfigMap":
            target["object"] = "ConfigMap"  # the prometheus chart's serverFiles: web.yml in its ConfigMap
    return [target]


class GrantSets:
    """Grant lists interned: hosts that hold the same grants share one list of the plan (``grant_sets``), so the
    plan of a fleet grows with its hosts and its distinct grant lists, not with hosts x grants."""

    def __init__(self):
        self.lists: list[list[str]] = []
        self._index: dict[tuple, int] = {}

    def ref(self, names: list[str]) -> int:
        key = tuple(names)
        if key not in self._index:
            self._index[key] = len(self.lists)
            self.lists.append(list(names))
        return self._index[key]


def triable(view: dict):
    """``(set, index, credential, status)`` for each credential of a grant's view that a check can try: the
    present ones (200) and the refused ones (401). A refused credential whose password the store no longer
    keeps cannot be tried, so it is left out."""
    for which, status in CHECK_SETS:
        for index, cred in enumerate(view.get(which) or []):
            if cred.get("password"):
                yield which, index, cred, status


def credential_checks(views: dict) -> dict:
    """Per grant, what an endpoint that holds it must answer for each of its credentials, by set and index into
    the grant's view."""
    return {
        grant: [{"set": which, "index": index, "role": cred.get("role"), "status": status}
                for which, index, cred, status in triable(view)]
        for grant, view in views.items()
    }


def plan_host(host: str, settings: dict, grants_here: list[dict], internal: str, sets: GrantSets) -> dict:
    """One Prometheus host: its user files (grant lists by reference) and endpoints on its own loopback.
    ``internal``: this host's internal credential (:func:`internal_credential`), first in every file."""
    targets = vm_targets(settings, grants_here, internal)
    endpoints = []
    if "native" in settings["promaccess_modes"]:
        port = settings["promaccess_prometheus_listen_address"].rsplit(":", 1)[-1]
        endpoints.append({"kind": "native",
                          "url": "%s://127.0.0.1:%s%s" % (tls_policy.scheme(settings["tls"], "native"), port,
                                                          settings["route_prefix"]),
                          "target": "native"})
    if "nginx" in settings["promaccess_modes"]:
        endpoints.append({"kind": "nginx",
                          "url": "%s://127.0.0.1:%s%s" % (tls_policy.scheme(settings["tls"], "nginx"),
                                                          settings["promaccess_nginx_port"],
                                                          settings["promaccess_nginx_location"]),
                          "target": "nginx"})
    for target in targets:
        # The host's own internal credential is kept once per host ("internal"), not in the shared lists.
        target["grant_set"] = sets.ref(target.pop("grants")[1:])
    return {
        "kind": "vm",
        "internal": internal,
        "grant_set": sets.ref([g["name"] for g in grants_here if g["auth"] != "scrape"]),
        "targets": targets,
        "endpoints": endpoints,
        "settings": settings,
    }


def plan_scrape(cluster: str, settings: dict, known: set, revoked: list[str], own: tuple = ()) -> dict:
    """A cluster's scrape credentials, without secrets.

    ``auth``: the promaccess_k8s_scrape_auth entries; one with ``grant`` gets that grant's fleet consumer
    credential filled in by the host play (:func:`scrape_secrets`). ``tokens``: the token Secrets of the
    targets, each with the grants whose tokens it holds (the listed ones plus every revoked grant, to be
    removed). ``verify``: the token Secrets with a verify_url, checked with each of their grants' credentials.
    ``own``: (shared internal name, this cluster's internal credential): ``grant: internal`` means the latter."""
    if own:
        settings = dict(settings)
        settings["promaccess_k8s_scrape_auth"] = [
            dict(i, grant=own[1]) if isinstance(i, dict) and i.get("grant") == own[0] else i
            for i in settings["promaccess_k8s_scrape_auth"]
        ]
        settings["promaccess_k8s_scrape_tokens"] = [
            dict(i, grants=[own[1] if g == own[0] else g for g in i.get("grants", [])])
            for i in settings["promaccess_k8s_scrape_tokens"]
        ]
    auth_grants = [i["grant"] for i in settings["promaccess_k8s_scrape_auth"] if i.get("grant") is not None]
    token_grants = [g for i in settings["promaccess_k8s_scrape_tokens"] for g in i.get("grants", [])]
    unknown = sorted(set(auth_grants + token_grants) - known - set(revoked))
    bad_revoked = sorted(set(auth_grants) & set(revoked))
    if unknown or bad_revoked:
        raise PlanError(
            "%s: the grants of promaccess_k8s_scrape_auth and promaccess_k8s_scrape_tokens must be grants of the "
            "inventory or the internal grant, and a ServiceMonitor cannot use a revoked grant (unknown: %s; "
            "revoked: %s)" % (cluster, ", ".join(unknown) or "none", ", ".join(bad_revoked) or "none")
        )
    tokens, verify = [], []
    for item in settings["promaccess_k8s_scrape_tokens"]:
        grants = list(item.get("grants", []))
        grants += [g for g in revoked if g not in grants]
        plain_item = {k: v for k, v in item.items() if k not in ("grants", "verify_url")}
        tokens.append(dict(plain_item, grants=grants))
        if item.get("verify_url"):
            verify.append({"secret": item["name"], "url": item["verify_url"], "grants": grants})
    # Each ServiceMonitor's scrape pools, as the Prometheus Operator names them (serviceMonitor/<ns>/<name>/<i>),
    # unless the entry names its own scrape_pool: what the wait on Prometheus's targets API
    # (promaccess_k8s_scrape_targets_url) selects once it moved.
    # With delivery values a chart renders the ServiceMonitors: the run writes only their Secrets (in place),
    # and the chart's values carry the references (k8s_scrape_auth wire_endpoints), unless an entry says otherwise.
    wire = settings["promaccess_k8s_delivery"] != "values"
    auth = []
    for item in settings["promaccess_k8s_scrape_auth"]:
        namespace = item.get("namespace") or settings["promaccess_k8s_namespace"]
        auth.append(dict({"scrape_pool": "serviceMonitor/%s/%s/" % (namespace, item["service_monitor"]),
                          "wire_endpoints": wire}, **item))
    return {"auth": auth, "tokens": tokens, "verify": verify,
            "any": bool(settings["promaccess_k8s_scrape_auth"] or settings["promaccess_k8s_scrape_tokens"])}


def plan_cluster(cluster: str, settings: dict, grants_here: list[dict], internal: str, revoked: list[str],
                 known: set, sets: GrantSets, shared: str = DEFAULT_INTERNAL_GRANT) -> dict:
    """One Kubernetes cluster: its basic-auth Secret, endpoint (the verify or external URL) and scrape settings.
    ``internal``: this cluster's internal credential, first in its Secret; ``shared``: the name
    (promaccess_internal_grant) a scrape setting uses for it."""
    targets = cluster_targets(settings, grants_here, internal)
    url = _slash(settings["promaccess_k8s_verify_url"] or settings["promaccess_k8s_external_url"])
    names = targets[0].pop("grants")
    targets[0]["grant_set"] = sets.ref(names[1:])
    return {
        "kind": "cluster",
        "internal": internal,
        "grant_set": sets.ref(names[1:]),
        "targets": targets,
        "endpoints": [{"kind": settings["secret_kind"], "url": url, "target": "secret"}],
        "scrape": plan_scrape(cluster, settings, known, revoked, (shared, internal)),
        "settings": settings,
    }


def plan_fleet(grants, hosts: dict, clusters: dict, resolve, internal: str = DEFAULT_INTERNAL_GRANT,
               revoked=(), views: dict | None = None, rotate=None, revoke=None, policy_settings: dict | None = None,
               store_grants=None, now: datetime.datetime | None = None) -> dict:
    """The plan of the whole fleet, compact: :func:`host_part` expands one host's part of it.

    ``hosts`` / ``clusters``: inventory name -> its promaccess_* variables. ``resolve(patterns)``: the set of
    inventory host names a list of host patterns selects. ``revoked``: grants the store records as revoked.
    ``views``: the store's view of each grant (None: no checks). ``rotate``: promaccess_rotate, expanded
    ('all': the internal grant and every grant of the inventory; 'due': what the rotation policy says is due, and
    the rotations in progress). ``revoke``: promaccess_revoke, checked. ``policy_settings``: the controller's
    promaccess_rotate_grace, _quiet and _max_age (rotation_policy.SETTINGS); ``store_grants``: the store's
    summary of each grant (credential_store_info), for 'due'; ``now``: the time 'due' is judged at.
    """
    grants = check_grants(grants, internal)
    try:
        rotation = rotation_policy.policy(grants, policy_settings or {})
    except rotation_policy.PolicyError as exc:
        raise PlanError(str(exc)) from None
    revoked = list(revoked)
    revoked_set = set(revoked)
    listed_revoked = [g["name"] for g in grants if g["name"] in revoked_set]
    if listed_revoked and revoke is None:
        raise PlanError(
            "grants %s were revoked in the credential store; remove them from promaccess_grants, or grant access "
            "again under a new grant name" % ", ".join(listed_revoked)
        )
    active = [g for g in grants if g["name"] not in revoked_set]
    sets = GrantSets()
    plan: dict = {"internal_grant": internal, "hosts": {}, "clusters": {}}

    # Each host's and cluster's internal credential, decided before anything else so no grant can take its name.
    settings_of = {("hosts", h): host_settings(h, given) for h, given in hosts.items()}
    settings_of.update({("clusters", c): cluster_settings(c, given) for c, given in clusters.items()})
    own = {key: internal_credential(key[1], s, internal) for key, s in settings_of.items()}
    internal_names = list(dict.fromkeys(own.values()))
    taken = sorted({g["name"] for g in grants} & set(internal_names))
    if taken:
        raise PlanError(
            "grants %s: these names are internal credentials of hosts or clusters (promaccess_internal_credential, "
            "default '%s.<host>'); give the grants other names" % (", ".join(taken), internal)
        )
    known = {internal} | set(internal_names) | {g["name"] for g in active}

    # Each distinct pattern list is resolved once, whatever the number of hosts.
    selected: dict[str, set] = {}
    by_patterns: dict[tuple, set] = {}
    for grant in active:
        key = tuple(grant["hosts"])
        if key not in by_patterns:
            by_patterns[key] = set(resolve(list(key)))
        selected[grant["name"]] = by_patterns[key]
    everywhere = set(hosts) | set(clusters)
    for grant in active:
        if grant["auth"] != "scrape" and not (selected[grant["name"]] & everywhere):
            raise PlanError(
                "grant %s: its hosts (%s) select no Prometheus host and no Kubernetes cluster of the inventory"
                % (grant["name"], ":".join(grant["hosts"]))
            )
    for host in hosts:
        here = [g for g in active if host in selected[g["name"]]]
        plan["hosts"][host] = plan_host(host, settings_of[("hosts", host)], here, own[("hosts", host)], sets)
    for cluster in clusters:
        here = [g for g in active if cluster in selected[g["name"]]]
        plan["clusters"][cluster] = plan_cluster(cluster, settings_of[("clusters", cluster)], here,
                                                 own[("clusters", cluster)], revoked, known, sets, internal)

    plan["grant_sets"] = sets.lists
    plan["checks"] = credential_checks(views) if views is not None else None
    plan["internal_credentials"] = internal_names
    # A store made before credentials per target holds one shared internal credential: each target's starts as
    # a copy of it (the lookup's inherit), so nothing changes on the hosts until that target's is rotated.
    plan["inherit"] = {name: internal for name in internal_names if name != internal}
    plan["fetch"] = internal_names + [g["name"] for g in active]
    plan["revoked"] = revoked
    # The grants whose credentials are bcrypt everywhere (hash: bcrypt); the others follow the hash policy.
    plan["bcrypt_grants"] = [g["name"] for g in grants if g["hash"] == "bcrypt"]
    # The rotation policy: grace period per grant handed to people, quiet time, maximum age (rotation_policy).
    plan["policy"] = rotation
    # The rotations waiting in their grace period when the run started (old and new both valid): the host plays
    # gather the evidence of their use, the controller then decides which old credentials to retire.
    plan["grace_waiting"] = [g["grant"] for g in store_grants or []
                             if g.get("phase") == "handed_off" and g.get("status") != "revoked" and g.get("grant") in known]
    plan["handoff"] = [
        {k: g[k] for k in ("name", "recipients", "recipients_files", "contact", "url") if g.get(k) is not None}
        for g in active if g["auth"] != "scrape"
    ]
    if rotate is not None:
        names = check_names(rotate, "promaccess_rotate", internal, allow_internal=True)
        # 'internal' is every target's internal credential; 'internal.HOST' (or a group's) just that one.
        everything = internal_names + [g["name"] for g in active]
        if rotation_policy.DUE in names:
            if len(names) > 1:
                raise PlanError("promaccess_rotate: '%s' selects by policy; name no other grant beside it"
                                % rotation_policy.DUE)
            selected_now = rotation_policy.due(store_grants or [], everything, rotation["max_age"],
                                               now or datetime.datetime.now(datetime.timezone.utc))
            plan["due"] = selected_now
            expanded = selected_now["resume"] + selected_now["due"]
        elif "all" in names:
            expanded = internal_names + [g["name"] for g in grants]
        else:
            expanded = [n for name in names for n in (internal_names if name == internal else [name])]
        plan["rotating"] = list(dict.fromkeys(expanded))
        unknown = [n for n in plan["rotating"] if n not in set(internal_names) | {g["name"] for g in grants}]
        if unknown:
            raise PlanError(
                "promaccess_rotate must name grants of the inventory, '%s' (every host's and cluster's internal "
                "credential), one internal credential (%s) or 'all' (unknown: %s)"
                % (internal, ", ".join(internal_names[:3]) + (", ..." if len(internal_names) > 3 else ""),
                   ", ".join(unknown))
            )
    if revoke is not None:
        names = check_names(revoke, "promaccess_revoke", internal, internal_names=set(internal_names))
        in_use = sorted(
            {i.get("grant") for c in plan["clusters"].values() for i in c["settings"]["promaccess_k8s_scrape_auth"]}
            & set(names)
        )
        if in_use:
            raise PlanError(
                "%s: still used by ServiceMonitors (promaccess_k8s_scrape_auth of a cluster). Point them at another "
                "grant and run provision_access first, or rotate instead." % ", ".join(in_use)
            )
        plan["revoking"] = names
    # The grants whose old credential this run may retire (the controller's retire step decides each by the
    # rotation policy): every grant in its grace period, and in a rotation the grants it rotates. One list for
    # both playbooks, so a rotation of other grants also retires those whose grace period has ended.
    plan["retire"] = list(dict.fromkeys(plan.get("rotating", []) + plan["grace_waiting"]))
    return plan


def _expand_checks(plan: dict, grants: list[str], base: dict) -> list[dict]:
    checks = plan.get("checks") or {}
    return [dict(base, grant=grant, **check) for grant in grants for check in checks.get(grant, [])]


def target_grants(plan: dict, compact: dict) -> list[dict]:
    """The targets of a compact host or cluster part, each with its grant list in order: the part's own internal
    credential first, then its grants from the shared lists."""
    return [dict(t, grants=[compact["internal"]] + list(plan["grant_sets"][t["grant_set"]])) for t in compact["targets"]]


def host_part(plan: dict, host: str, part: str = "hosts") -> dict:
    """One host's (``part="clusters"``: one cluster's) part of the plan, expanded for its play: each target's
    and endpoint's grants, the users lists of each file or Secret (``native_grants``, ``nginx_grants``,
    ``secret_grants``: planned grants, then revoked ones to remove), and the checks to run."""
    if host not in plan.get(part, {}):
        raise PlanError("%s is not in the plan's %s: plan again (promaccess.core.fleet_plan)" % (host, part))
    compact = plan[part][host]
    sets, revoked = plan["grant_sets"], list(plan.get("revoked") or [])
    out = dict(compact, grants=list(sets[compact["grant_set"]]), bcrypt_grants=list(plan.get("bcrypt_grants") or []))
    out["targets"] = target_grants(plan, compact)
    by_target = {t["target"]: t["grants"] for t in out["targets"]}
    out["endpoints"] = [dict(e, grants=list(by_target[e["target"]])) for e in compact["endpoints"]]
    for target, grants in by_target.items():
        out["%s_grants" % target] = grants + revoked
    out["checks"] = [c for e in out["endpoints"]
                     for c in _expand_checks(plan, e["grants"] + revoked, {"kind": e["kind"], "url": e["url"]})]
    if "scrape" in compact:
        scrape = compact["scrape"]
        out["scrape"] = dict(scrape, checks=[
            c for v in scrape["verify"] for c in _expand_checks(plan, v["grants"], {"secret": v["secret"], "url": v["url"]})
        ])
        out["scrape_targets"] = scrape_audit_targets(compact, revoked)
    return out


def scrape_audit_targets(compact: dict, revoked) -> list[dict]:
    """What access_report audits of a cluster's scrape credentials (k8s_scrape_access_info), as report targets:
    each ServiceMonitor that sends a grant's credential (target ``scrape``: one credential at a time, ``single``),
    and each token Secret of a scrape target with the grants it accepts (target ``tokens``; revoked grants are
    expected absent there as everywhere, so they are not listed)."""
    namespace = compact["settings"]["promaccess_k8s_namespace"]
    out = []
    for item in compact["scrape"]["auth"]:
        if item.get("grant") is None:
            continue  # a credential given inline: not the store's, nothing to compare
        ns = item.get("namespace") or namespace
        out.append({"target": "scrape", "format": "service_monitor", "namespace": ns, "name": item["service_monitor"],
                    "location": "%s/%s" % (ns, item["service_monitor"]), "grants": [item["grant"]], "single": True,
                    "auth_type": item.get("auth_type") or "bearer", "endpoint_ports": item.get("endpoint_ports") or [],
                    "endpoint_indexes": item.get("endpoint_indexes") or []})
    for item in compact["scrape"]["tokens"]:
        ns = item.get("namespace") or namespace
        out.append({"target": "tokens", "format": "token_secret", "namespace": ns, "name": item["name"],
                    "location": "%s/%s" % (ns, item["name"]), "grants": [g for g in item["grants"] if g not in revoked],
                    "key": item.get("key") or "tokens", "token_format": item.get("format") or "lines"})
    return out


# -- after the hosts ran -------------------------------------------------------------------------------------------
def scrape_secrets(scrape: dict, views: dict) -> dict:
    """The k8s_access role's scrape options of a cluster, with secrets (only for no_log tasks).

    A ServiceMonitor sends its grant's fleet consumer credential (see ``grant_view``): the newest one every target
    accepts. Token Secrets hold each present credential of their grants (present) and each refused one (absent)."""
    auth = []
    for item in scrape["auth"]:
        plain = {k: v for k, v in item.items() if k != "grant"}
        grant = item.get("grant")
        if grant is None:
            auth.append(plain)
            continue
        cred = views[grant]["fleet_consumer"]
        if plain.get("auth_type", "bearer") == "basic":
            auth.append(dict(plain, username=cred["username"], username_label=grant, password=cred["password"]))
        else:
            auth.append(dict(plain, token=cred["password"]))
    tokens = []
    for item in scrape["tokens"]:
        held = []
        for grant in item["grants"]:
            for which, _index, cred, _status in triable(views.get(grant, {})):
                held.append({"name": "%s %s" % (grant, cred.get("role")), "token": cred["password"],
                             "state": "present" if which == "present" else "absent"})
        tokens.append(dict({k: v for k, v in item.items() if k != "grants"}, tokens=held))
    return {"auth": auth, "tokens": tokens}


def handoff_grants(plan: dict, verified: dict, only=None) -> list[dict]:
    """The grants to hand off, each with the URL for its message: the external URL of the first host it was
    verified on (VM hosts first, then clusters), failing that of the first cluster it was applied on but could
    not be checked from the controller. A grant's own ``url`` wins. ``verified``: host -> its promaccess_verified
    (None for a host that failed). ``only``: during a rotation, just these grants. ``ca``: the URL's host serves
    a certificate the playbooks issued, so the CA's certificate goes along with the hand-off."""
    order = list(plan["hosts"]) + list(plan["clusters"])
    out = []
    for grant in plan["handoff"]:
        if only is not None and grant["name"] not in only:
            continue
        url = grant.get("url") or ""
        issued = False
        for want in (True, False):
            for host in order:
                for ep in verified.get(host) or []:
                    if not url and grant["name"] in ep.get("grants", []) and bool(ep.get("verified", True)) == want:
                        url = ep.get("external_url", "")
                        tls = ((plan["hosts"].get(host) or {}).get("settings") or {}).get("tls") or {}
                        issued = bool(tls.get("issue")) and url.startswith("https://")
        out.append(dict(grant, url=url, ca=issued))
    return out


def summary_lines(plan: dict, verified: dict, handoff_dir: str) -> list[str]:
    """Every endpoint and what was verified against it, for the end of each playbook. A host checks its own
    loopback; a cluster is checked from the controller, and one the controller cannot reach is applied but
    NOT verified."""
    lines, unverified = [], []
    for part, kind, where in (("hosts", "", ""), ("clusters", "kubernetes ", " from the controller")):
        for host in plan[part]:
            eps = verified.get(host)
            if eps is None:
                lines.append("%s: NOT VERIFIED (failed or unreachable)" % host)
                unverified.append(host)
                continue
            for ep in eps:
                what = "%s %s%s %s" % (host, kind, ep["kind"], ep["external_url"])
                grants = ", ".join(ep["grants"])
                if ep.get("verified", True):
                    lines.append("%s (checked at %s%s): 401 anonymous, 401 wrong password, 200 for %s"
                                 % (what, ep["url"], where, grants))
                else:
                    lines.append("%s: NOT VERIFIED (%s); applied for %s" % (what, ep.get("reason", ""), grants))
                    unverified.append("%s %s" % (host, ep["external_url"]))
    if unverified:
        lines.append("Endpoints NOT verified: " + "; ".join(unverified))
    lines.append("Hand-off files: %s/<grant>/credentials.txt.age and message.txt" % handoff_dir)
    return lines


def report_endpoints(host_plan: dict) -> list[dict]:
    """A host's listeners for the access report: each endpoint with whether it serves TLS, what it leaves in plain
    HTTP beyond loopback, and the renewal threshold of its certificate."""
    settings = host_plan.get("settings") or {}
    tls = settings.get("tls") or {}
    out = []
    for endpoint in host_plan.get("endpoints") or []:
        kind = endpoint["kind"]
        out.append({"kind": kind, "url": endpoint["url"], "tls": bool(tls.get(kind)),
                    "plain_http": [p for p in tls.get("plain_http") or [] if p.split(" ", 1)[0] == kind],
                    "renew_days": settings.get("promaccess_tls_renew_days")})
    return out


def cluster_report_endpoints(cluster_plan: dict) -> list[dict]:
    """A cluster's user-facing endpoint for the access report: its external URL, whether it is HTTPS and what it
    leaves in plain HTTP beyond loopback. Its certificate is the ingress', not the playbooks' (no expiry here)."""
    settings = cluster_plan.get("settings") or {}
    tls = settings.get("tls") or {}
    kind = settings.get("secret_kind", "ingress")
    return [{"kind": kind, "url": _slash(settings.get("promaccess_k8s_external_url") or ""),
             "tls": bool(tls.get(kind)), "plain_http": list(tls.get("plain_http") or []), "renew_days": None}]


def report_hosts(plan: dict, checks: dict, limit=None, tls=None) -> list[dict]:
    """access_report's input: per host and cluster, its targets and the results of its inspection (None for a
    host that failed or was not reached), and per host its listeners (``endpoints``) with what the host said of
    its TLS certificate (``tls``). ``limit``: with --limit, the hosts of the limit only."""
    out = []
    for kind, part in (("vm", plan["hosts"]), ("cluster", plan["clusters"])):
        for host, host_plan in part.items():
            if limit is not None and host not in limit:
                continue
            result = checks.get(host)
            targets = target_grants(plan, host_plan)
            if kind == "cluster":
                targets += scrape_audit_targets(host_plan, list(plan.get("revoked") or []))
            entry = {"host": host, "kind": kind,
                     "plan": {"kind": kind, "targets": targets} if result is not None else None,
                     "checks": result}
            if kind == "vm" and result is not None:
                entry["plan"]["endpoints"] = report_endpoints(host_plan)
                entry["tls"] = (tls or {}).get(host)
            elif result is not None:
                entry["plan"]["endpoints"] = cluster_report_endpoints(host_plan)
            out.append(entry)
    return out
