"""The fleet planner (plugins/plugin_utils/fleet_plan.py): who gets what, on every host and cluster, from one run.

Host patterns are resolved by the action plugin's own resolver (Ansible's pattern engine); credential views come
from the store's real ``grant_view``, so the rotation phases are the store's own.
"""

from __future__ import annotations

import json

import pytest
from ansible.parsing.dataloader import DataLoader

from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import grant_view
from ansible_collections.promaccess.core.plugins.plugin_utils import fleet_plan as fp
from ansible_collections.promaccess.core.plugins.plugin_utils.fleet_plan import PlanError, plan_fleet
from ansible_collections.promaccess.core.plugins.plugin_utils.inventory import pattern_resolver

KEY = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"


def resolver(groups: dict):
    """The action plugin's resolver, counting its calls."""
    engine = pattern_resolver(DataLoader(), groups)
    calls = []

    def resolve(patterns):
        calls.append(list(patterns))
        return engine(patterns)

    resolve.calls = calls
    return resolve


def grant(name, **kw):
    out = {"name": name, "recipients": [KEY]}
    out.update(kw)
    return out


def cred(tag):
    return {"username": "u-" + tag, "password": "p-" + tag, "password_hash": "$2y$12$" + tag, "minted_at": "t"}


def record(phase=None, revoked=False, dropped=False):
    rec = cred("cur")
    if phase == "minted" or phase == "added" or phase == "handed_off":
        rec["rotation"] = {"phase": phase, "pending": cred("new")}
    elif phase == "revoking":
        rec = cred("new")
        rec["rotation"] = {"phase": "revoking", "retired": cred("old")}
    if revoked:
        rec["revoked_at"] = "2026-01-01T00:00:00Z"
        if dropped:
            rec.pop("password")
    return rec


def views(internal=None, targets=("h1", "h2", "h3", "c1"), **records):
    """Store views of the grants, '_' read as '-'; ``internal``: the record of every target's internal credential."""
    out = {name.replace("_", "-"): grant_view(name.replace("_", "-"), rec) for name, rec in records.items()}
    if internal is not None:
        out.update({"internal." + t: grant_view("internal." + t, internal) for t in targets})
    return out


GROUPS = {"all": ["h1", "h2", "h3", "c1"], "prometheus": ["h1", "h2", "h3"], "k8s_clusters": ["c1"],
          "eu": ["h1", "h2"], "us": ["h3"]}
CLUSTER = {"promaccess_k8s_external_url": "https://prom.example.org/"}
VALUES = dict(CLUSTER, promaccess_k8s_delivery="values", promaccess_k8s_values_file="enc-support.secret.values.yaml",
              promaccess_k8s_values_key_path=["prometheusIngressAuthSecret", "users"])


def compact(grants, hosts=None, clusters=None, groups=None, **kw):
    groups = GROUPS if groups is None else groups
    hosts = {"h1": {}, "h2": {}, "h3": {}} if hosts is None else hosts
    clusters = {} if clusters is None else clusters
    return plan_fleet(grants, hosts, clusters, resolver(groups), **kw)


def fleet(*args, **kw):
    """The plan with every host's and cluster's part expanded, as each host play sees its own."""
    plan = compact(*args, **kw)
    assert json.loads(json.dumps(plan)) == plan  # plain data, as Ansible keeps it
    return dict(plan, hosts={h: fp.host_part(plan, h) for h in plan["hosts"]},
                clusters={c: fp.host_part(plan, c, "clusters") for c in plan["clusters"]})


# -- host patterns ------------------------------------------------------------------------------------------------
def test_patterns_with_exclusions_and_intersections():
    plan = fleet([grant("a", hosts=["prometheus", "!h2"]), grant("b", hosts=["eu:&prometheus"]), grant("c")])
    assert plan["hosts"]["h1"]["grants"] == ["a", "b", "c"]
    assert plan["hosts"]["h2"]["grants"] == ["b", "c"]
    assert plan["hosts"]["h3"]["grants"] == ["a", "c"]


def test_each_distinct_pattern_list_is_resolved_once_whatever_the_hosts():
    resolve = resolver(GROUPS)
    grants = [grant("g%d" % i, hosts=["eu"] if i % 2 else ["all"]) for i in range(50)]
    plan_fleet(grants, {"h1": {}, "h2": {}, "h3": {}}, {}, resolve)
    assert sorted(map(tuple, resolve.calls)) == [("all",), ("eu",)]


def test_internal_first_then_inventory_order_then_revoked():
    plan = fleet([grant("z"), grant("a"), grant("gone")], revoked=["gone"], revoke=["gone"])
    h1 = plan["hosts"]["h1"]
    assert h1["nginx_grants"] == ["internal.h1", "z", "a", "gone"]
    assert h1["targets"][0]["grants"] == ["internal.h1", "z", "a"]


# -- auth kinds -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "modes, native, nginx",
    [
        (["native", "nginx"], ["internal.h1", "n", "x", "b"], ["internal.h1", "x", "b"]),
        (["native"], ["internal.h1", "n", "b"], None),
        (["nginx"], None, ["internal.h1", "x", "b"]),
    ],
)
def test_vm_auth_kinds(modes, native, nginx):
    grants = [grant("n", auth="native"), grant("x", auth="nginx"), grant("b"), grant("s", auth="scrape")]
    plan = fleet(grants, hosts={"h1": {"promaccess_modes": modes}})
    targets = {t["target"]: t["grants"] for t in plan["hosts"]["h1"]["targets"]}
    assert targets.get("native") == native
    assert targets.get("nginx") == nginx
    assert "s" not in plan["hosts"]["h1"]["grants"]
    assert [e["kind"] for e in plan["hosts"]["h1"]["endpoints"]] == [m for m in ("native", "nginx") if m in modes]


@pytest.mark.parametrize("fmt", fp.CLUSTER_SECRET_FORMATS)
def test_every_cluster_secret_format(fmt):
    grants = [grant("n", auth="native"), grant("x", auth="nginx"), grant("b"), grant("s", auth="scrape")]
    plan = fleet(grants, hosts={}, clusters={"c1": dict(CLUSTER, promaccess_k8s_secret_format=fmt)})
    c1 = plan["clusters"]["c1"]
    native = fmt == "prometheus_web_config"
    assert c1["targets"][0]["grants"] == (["internal.c1", "n", "b"] if native else ["internal.c1", "x", "b"])
    assert c1["targets"][0]["format"] == fmt
    assert c1["targets"][0]["location"] == "monitoring/prometheus-basic-auth"
    assert c1["endpoints"] == [{"kind": "native" if native else "ingress", "url": "https://prom.example.org/", "target": "secret",
                                "grants": c1["targets"][0]["grants"]}]


def test_cluster_verify_url_wins_and_gets_a_slash():
    plan = fleet([grant("b")], hosts={}, clusters={"c1": dict(CLUSTER, promaccess_k8s_verify_url="http://127.0.0.1:8/p")})
    assert plan["clusters"]["c1"]["endpoints"][0]["url"] == "http://127.0.0.1:8/p/"


@pytest.mark.parametrize("fmt, msg", [("envoy_gateway", "Envoy reads only"), ("htpasswd", "must be one of")])
def test_cluster_formats_refused(fmt, msg):
    with pytest.raises(PlanError, match=msg):
        fleet([grant("b")], hosts={}, clusters={"c1": dict(CLUSTER, promaccess_k8s_secret_format=fmt)})


# -- settings and defaults -----------------------------------------------------------------------------------------
def test_host_defaults_are_filled_in_once():
    s = fleet([grant("b")])["hosts"]["h1"]["settings"]
    assert s["promaccess_modes"] == ["nginx"]
    assert s["promaccess_prometheus_listen_address"] == "127.0.0.1:9090"
    assert s["promaccess_nginx_port"] == "8080"
    assert s["route_prefix"] == "/"
    assert s["external_url_suffix"] == ":8080/prometheus/"
    assert s["promaccess_report_htpasswd"] == "/etc/nginx/prometheus.htpasswd"


def test_native_only_route_prefix_comes_from_the_external_url():
    plan = fleet([grant("b")], hosts={"h1": {"promaccess_modes": ["native"],
                                             "promaccess_external_url": "https://h1.example.org/prom/"}})
    h1 = plan["hosts"]["h1"]
    assert h1["settings"]["route_prefix"] == "/prom/"
    assert h1["settings"]["promaccess_prometheus_listen_address"] == "0.0.0.0:9090"
    # Prometheus's own port listens beyond loopback: HTTPS (promaccess_tls auto), checked on its loopback.
    assert h1["endpoints"][0]["url"] == "https://127.0.0.1:9090/prom/"


def test_public_host_builds_the_url_on_the_controller():
    plan = fleet([grant("b")], hosts={"h1": {"promaccess_public_host": "h1.example.org",
                                             "promaccess_nginx_listen": ["127.0.0.1:18080"]}})
    assert plan["hosts"]["h1"]["settings"]["promaccess_external_url"] == "http://h1.example.org:18080/prometheus/"


@pytest.mark.parametrize(
    "given, msg",
    [
        ({"promaccess_modes": []}, "must hold native and/or nginx"),
        ({"promaccess_modes": ["apache"]}, "must hold native and/or nginx"),
        ({"promaccess_external_url": "ftp://x/prometheus/"}, "must be an absolute http"),
        ({"promaccess_external_url": "http://x/prometheus/?a=1"}, "must not have a query"),
        ({"promaccess_external_url": "https://x:1/elsewhere/"}, "its path must be the nginx location"),
        ({"promaccess_external_url": "http://x:8080/prometheus/"}, "is http:// but the nginx listener serves HTTPS"),
        ({"promaccess_tls": "plain_http", "promaccess_external_url": "https://x:8080/prometheus/"},
         "is https:// but the nginx listener serves HTTP"),
        ({"promaccess_tls": "off"}, "promaccess_tls must be one of auto, always, plain_http"),
        ({"promaccess_tls_min_version": "TLS11"}, "promaccess_tls_min_version must be TLS12 or TLS13"),
        ({"promaccess_tls_certificate": "/etc/ssl/a.crt"}, "promaccess_tls_certificate and promaccess_tls_certificate_key"),
        ({"promaccess_tls_certificate": "/etc/ssl/a.crt", "promaccess_tls_certificate_key": "/etc/ssl/a.key"},
         "name the CA that signed it in promaccess_tls_ca_file"),
        ({"promaccess_tls_dir": "tls"}, "promaccess_tls_dir must be an absolute path"),
        ({"promaccess_tls_renew_days": 400}, "promaccess_tls_renew_days must be fewer"),
        ({"promaccess_nginx_location": "prometheus"}, "must start and end with '/'"),
        ({"promaccess_exclusive": "maybe"}, "must be true or false"),
        ({"promaccess_nginx_listen": {"a": 1}}, "must be a list"),
    ],
)
def test_bad_host_settings(given, msg):
    with pytest.raises(PlanError, match=msg) as info:
        fleet([grant("b")], hosts={"h1": given})
    assert str(info.value).startswith("h1: ")


@pytest.mark.parametrize(
    "given, msg",
    [
        ({}, "needs promaccess_k8s_external_url"),
        (dict(CLUSTER, promaccess_k8s_verify_url="nope"), r"verify_url \(or empty\) must be an absolute http"),
        (dict(CLUSTER, promaccess_k8s_scrape_auth=[{"grant": "b"}]), r"scrape_auth\[0\] needs a service_monitor"),
        (dict(CLUSTER, promaccess_k8s_scrape_tokens=[{"grants": ["b"]}]), r"scrape_tokens\[0\] needs a name"),
        (dict(CLUSTER, promaccess_k8s_scrape_tokens=[{"name": "t", "grants": ["nope"]}]), "unknown: nope"),
        (dict(CLUSTER, promaccess_k8s_helm_managed="yes"), "promaccess_k8s_helm_managed must be refuse or allow"),
        (dict(CLUSTER, promaccess_k8s_delivery="helm"), "promaccess_k8s_delivery must be direct or values"),
        (dict(CLUSTER, promaccess_k8s_delivery="values"), "needs promaccess_k8s_values_file"),
        (dict(VALUES, promaccess_k8s_values_key_path=[]), "promaccess_k8s_values_key_path must list the keys"),
        (dict(VALUES, promaccess_k8s_values_shape="dict"), "promaccess_k8s_values_shape must be one of list, map"),
        (dict(VALUES, promaccess_k8s_values_reserved=-1), "promaccess_k8s_values_reserved must be 0 or more"),
        (dict(VALUES, promaccess_k8s_helm_release="support"), "needs both promaccess_k8s_helm_release and"),
        (dict(VALUES, promaccess_k8s_helm_chart="./support"), "needs both promaccess_k8s_helm_release and"),
        (dict(CLUSTER, promaccess_k8s_users_object="ConfigMap"), "delivery direct writes a Secret"),
        (dict(VALUES, promaccess_k8s_users_object="ConfigMap"), "needs promaccess_k8s_secret_format prometheus_web"),
        (dict(VALUES, promaccess_k8s_users_object="configmap"), "must be Secret or ConfigMap"),
        (dict(VALUES, promaccess_k8s_values_server={"key_path": "prometheus.server"}),
         r"promaccess_k8s_values_server.key_path must list keys"),
        (dict(VALUES, promaccess_k8s_values_server={"key_path": ["prometheus", "server"], "probe_password": "x"}),
         r"unknown: probe_password; the probe user is always the cluster's internal credential"),
        (dict(VALUES, promaccess_k8s_values_server={"key_path": ["s"], "scrape_configs_key_path": []}),
         r"promaccess_k8s_values_server.scrape_configs_key_path must list keys"),
    ],
)
def test_bad_cluster_settings(given, msg):
    with pytest.raises(PlanError, match=msg):
        fleet([grant("b")], hosts={}, clusters={"c1": given})


# -- bad grants -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "grants, msg",
    [
        ([grant("a", hosts=["nowhere"])], "select no Prometheus host and no Kubernetes cluster"),
        ([grant("a", hosts=["prometheus:!prometheus"])], "select no Prometheus host"),
        ([grant("a", auth="all")], "auth must be one of native, nginx, both, scrape"),
        ([grant("a"), grant("a")], "listed twice"),
        ([grant("internal")], "reserved for the internal credential"),
        ([grant("../etc")], "must be letters, digits"),
        ([grant("a b")], "must be letters, digits"),
        ([{"name": "a"}], "has no recipients"),
        ([grant("a", hosts=[])], "non-empty list of host patterns"),
        (["a"], "must be a mapping"),
        ({"name": "a"}, "must be a list"),
    ],
)
def test_bad_grants_are_refused_before_anything(grants, msg):
    with pytest.raises(PlanError, match=msg):
        fleet(grants)


def test_scrape_grant_needs_no_recipients_and_no_host():
    plan = fleet([{"name": "s", "auth": "scrape", "hosts": ["nowhere"]}])
    assert plan["fetch"] == ["internal.h1", "internal.h2", "internal.h3", "s"] and plan["handoff"] == []


def test_revoked_grant_still_listed_is_refused_unless_revoking():
    with pytest.raises(PlanError, match="were revoked in the credential store"):
        fleet([grant("a"), grant("b")], revoked=["b"])
    plan = fleet([grant("a"), grant("b")], revoked=["b"], revoke=["b"])
    assert plan["fetch"][3:] == ["a"] and plan["revoked"] == ["b"] and plan["revoking"] == ["b"]


# -- rotation phases: which credentials must be accepted, which refused -------------------------------------------
def _checks(plan, host="h1", kind="nginx"):
    return sorted((c["grant"], c["role"], c["status"]) for c in plan["hosts"][host]["checks"] if c["kind"] == kind)


@pytest.mark.parametrize(
    "phase, expected",
    [
        (None, [("a", "current", 200)]),
        ("minted", [("a", "current", 200), ("a", "pending", 200)]),
        ("added", [("a", "current", 200), ("a", "pending", 200)]),
        ("handed_off", [("a", "current", 200), ("a", "pending", 200)]),
        ("revoking", [("a", "current", 200), ("a", "retired", 401)]),
    ],
)
def test_checks_follow_the_rotation_phase(phase, expected):
    v = views(internal=record(), a=record(phase))
    plan = fleet([grant("a")], views=v)
    assert [c for c in _checks(plan) if c[0] == "a"] == expected
    assert ("internal.h1", "current", 200) in _checks(plan)
    for check in plan["hosts"]["h1"]["checks"]:
        assert v[check["grant"]][check["set"]][check["index"]]["role"] == check["role"]


def test_revoked_grant_is_checked_refused_everywhere_until_its_password_is_dropped():
    plan = fleet([grant("a")], views=views(internal=record(), a=record(), gone=record(revoked=True)),
                 revoked=["gone"])
    for host in ("h1", "h2", "h3"):
        assert ("gone", "revoked", 401) in _checks(plan, host)
    dropped = fleet([grant("a")], views=views(internal=record(), a=record(), gone=record(revoked=True, dropped=True)),
                    revoked=["gone"])
    assert all(c[0] != "gone" for c in _checks(dropped))
    assert dropped["hosts"]["h1"]["nginx_grants"][-1] == "gone"  # its user is still removed


def test_the_plan_grows_with_hosts_not_hosts_times_grants():
    """Hosts that hold the same grants share one grant list; checks are kept once per grant."""
    hosts = ["p%04d" % i for i in range(400)]
    groups = {"all": hosts, "prometheus": hosts, "half": hosts[:200]}
    grants = [grant("g%03d" % i, hosts=["half"] if i % 2 else ["all"]) for i in range(100)]
    v = views(internal=record(), targets=hosts, **{"g%03d" % i: record("minted") for i in range(100)})
    plan = plan_fleet(grants, {h: {} for h in hosts}, {}, resolver(groups), views=v)
    # Per half, one list (the nginx file's grants are the host's); each host's own internal credential is kept
    # once in its part, not in the shared lists.
    assert len(plan["grant_sets"]) == 2
    per_host = len(json.dumps(plan["hosts"]["p0000"]))
    assert per_host < 2200  # its settings (with the TLS ones), endpoints and user files, no grant
    # Besides its part, each host adds its internal credential to fetch, inherit and checks (about 200 bytes).
    assert len(json.dumps(plan)) < 400 * (per_host + 200) + 60000
    expanded = fp.host_part(plan, "p0000")
    assert len(expanded["checks"]) == 1 + 100 * 2  # internal has one credential, each grant in phase minted two
    assert expanded["nginx_grants"] == ["internal.p0000"] + ["g%03d" % i for i in range(100)]


def test_host_part_of_a_host_the_plan_does_not_know():
    with pytest.raises(PlanError, match="zz is not in the plan's hosts"):
        fp.host_part(compact([grant("a")]), "zz")


def test_without_views_there_are_no_checks():
    assert fleet([grant("a")])["hosts"]["h1"]["checks"] == []


# -- scrape credentials -------------------------------------------------------------------------------------------
SCRAPE = dict(
    CLUSTER,
    promaccess_k8s_scrape_auth=[{"service_monitor": "sm", "grant": "s"}, {"service_monitor": "raw", "token": "x"},
                                {"service_monitor": "web", "grant": "internal", "auth_type": "basic"}],
    promaccess_k8s_scrape_tokens=[{"name": "tok", "grants": ["s"], "verify_url": "http://127.0.0.1:1/metrics"}],
)


@pytest.mark.parametrize(
    "phase, sends, held",
    [
        (None, "cur", [("s current", "present")]),
        ("minted", "cur", [("s current", "present"), ("s pending", "present")]),
        ("added", "new", [("s current", "present"), ("s pending", "present")]),
        ("revoking", "new", [("s current", "present"), ("s retired", "absent")]),
    ],
)
def test_service_monitor_sends_the_newest_credential_every_target_accepts(phase, sends, held):
    v = views(internal=record(), s=record(phase))
    plan = fleet([grant("s", auth="scrape")], hosts={}, clusters={"c1": SCRAPE}, views=v)
    scrape = plan["clusters"]["c1"]["scrape"]
    assert "p-" not in json.dumps(scrape)
    filled = fp.scrape_secrets(scrape, v)
    assert filled["auth"][0] == {"service_monitor": "sm", "token": "p-" + sends,
                                 "scrape_pool": "serviceMonitor/monitoring/sm/", "wire_endpoints": True}
    assert filled["auth"][1] == {"service_monitor": "raw", "token": "x", "scrape_pool": "serviceMonitor/monitoring/raw/",
                                 "wire_endpoints": True}
    assert filled["auth"][2]["username"] == "u-cur" and filled["auth"][2]["auth_type"] == "basic"
    assert [(t["name"], t["state"]) for t in filled["tokens"][0]["tokens"]] == held
    assert "grants" not in filled["tokens"][0] and "verify_url" not in filled["tokens"][0]
    assert {(c["secret"], c["status"]) for c in scrape["checks"]} == {
        ("tok", 200 if state == "present" else 401) for _name, state in held}


def test_revoked_grant_leaves_every_token_secret_and_no_service_monitor_may_send_it():
    v = views(internal=record(), s=record(), gone=record(revoked=True))
    plan = fleet([grant("s", auth="scrape")], hosts={}, clusters={"c1": SCRAPE}, views=v, revoked=["gone"])
    tokens = fp.scrape_secrets(plan["clusters"]["c1"]["scrape"], v)["tokens"][0]["tokens"]
    assert ("gone revoked", "absent") in [(t["name"], t["state"]) for t in tokens]
    bad = dict(SCRAPE, promaccess_k8s_scrape_auth=[{"service_monitor": "sm", "grant": "gone"}])
    with pytest.raises(PlanError, match="revoked: gone"):
        fleet([grant("s", auth="scrape")], hosts={}, clusters={"c1": bad}, views=v, revoked=["gone"])


def test_with_delivery_values_the_chart_wires_the_service_monitors_unless_an_entry_says_otherwise():
    given = dict(VALUES, promaccess_k8s_scrape_auth=[{"service_monitor": "sm", "grant": "s"},
                                                     {"service_monitor": "own", "grant": "s", "wire_endpoints": True}])
    auth = fleet([grant("s", auth="scrape")], hosts={}, clusters={"c1": given})["clusters"]["c1"]["scrape"]["auth"]
    assert [a["wire_endpoints"] for a in auth] == [False, True]


def test_the_report_audits_each_service_monitor_of_a_grant_and_each_token_secret():
    given = dict(SCRAPE, promaccess_k8s_scrape_tokens=[
        {"name": "tok", "namespace": "apps", "grants": ["s"], "format": "static_csv", "key": "csv"}])
    plan = compact([grant("s", auth="scrape")], hosts={}, clusters={"c1": given}, revoked=["gone"])
    expanded = fp.host_part(plan, "c1", "clusters")["scrape_targets"]
    assert expanded == [
        {"target": "scrape", "format": "service_monitor", "namespace": "monitoring", "name": "sm",
         "location": "monitoring/sm", "grants": ["s"], "single": True, "auth_type": "bearer", "endpoint_ports": [],
         "endpoint_indexes": []},
        # "raw" sends a token given inline, not the store's: nothing to compare
        {"target": "scrape", "format": "service_monitor", "namespace": "monitoring", "name": "web",
         "location": "monitoring/web", "grants": ["internal.c1"], "single": True, "auth_type": "basic",
         "endpoint_ports": [], "endpoint_indexes": []},
        # the revoked grant the Secret must no longer hold is not planned, so the report expects it absent
        {"target": "tokens", "format": "token_secret", "namespace": "apps", "name": "tok", "location": "apps/tok",
         "grants": ["s"], "key": "csv", "token_format": "static_csv"},
    ]
    (cluster,) = fp.report_hosts(plan, {"c1": {"results": []}})
    assert [t["target"] for t in cluster["plan"]["targets"]] == ["secret", "scrape", "scrape", "tokens"]


# -- rotate and revoke requests ---------------------------------------------------------------------------------------
def test_rotate_all_expands_and_unknown_is_refused():
    every_internal = ["internal.h1", "internal.h2", "internal.h3"]
    assert fleet([grant("a"), grant("b")], rotate=["all"])["rotating"] == every_internal + ["a", "b"]
    assert fleet([grant("a")], rotate=["internal"])["rotating"] == every_internal
    assert fleet([grant("a")], rotate=["internal.h2", "a"])["rotating"] == ["internal.h2", "a"]
    with pytest.raises(PlanError, match="unknown: zz"):
        fleet([grant("a")], rotate=["zz"])
    with pytest.raises(PlanError, match="must list grant names"):
        fleet([grant("a")], rotate=[])


@pytest.mark.parametrize(
    "revoke, msg",
    [(["internal"], "cannot be revoked, only rotated"), (["internal.c1"], "'internal.c1' cannot be revoked"),
     ([], "must list grant names"), (["a", "a"], "twice"),
     (["s"], "still used by ServiceMonitors")],
)
def test_revoke_refusals(revoke, msg):
    with pytest.raises(PlanError, match=msg):
        fleet([grant("a"), grant("s", auth="scrape")], clusters={"c1": SCRAPE}, revoke=revoke)


# -- after the hosts ran ----------------------------------------------------------------------------------------------
def test_handoff_url_prefers_a_verified_host_then_an_applied_cluster_and_a_grants_own_url():
    plan = fleet([grant("a"), grant("b", hosts=["c1"]), grant("c", url="https://own/"), grant("s", auth="scrape")],
                 clusters={"c1": CLUSTER})
    verified = {
        "h1": None,  # failed
        "h2": [{"kind": "nginx", "external_url": "http://h2/", "grants": ["internal.h2", "a", "c"], "verified": True}],
        "c1": [{"kind": "ingress", "external_url": "https://c1/", "grants": ["internal", "a", "b"], "verified": False}],
    }
    out = {g["name"]: g["url"] for g in fp.handoff_grants(plan, verified)}
    assert plan["hosts"]["h2"]["endpoints"][0]["grants"] == ["internal.h2", "a", "c"]
    assert out == {"a": "http://h2/", "b": "https://c1/", "c": "https://own/"}
    assert [g["name"] for g in fp.handoff_grants(plan, verified, only=["b"])] == ["b"]
    # The CA goes along only where the URL's host serves a certificate the playbooks issued.
    assert {g["name"]: g["ca"] for g in fp.handoff_grants(plan, verified)} == {"a": False, "b": False, "c": False}
    tls_verified = dict(verified, h2=[dict(verified["h2"][0], external_url="https://h2:8080/prometheus/")])
    assert {g["name"]: g["ca"] for g in fp.handoff_grants(plan, tls_verified)} == {"a": True, "b": False, "c": False}


def test_summary_lines_name_every_unverified_endpoint():
    plan = fleet([grant("a")], hosts={"h1": {}, "h2": {}}, clusters={"c1": CLUSTER})
    verified = {
        "h1": [{"kind": "nginx", "external_url": "http://h1/", "url": "http://127.0.0.1/", "grants": ["internal", "a"]}],
        "h2": None,
        "c1": [{"kind": "ingress", "external_url": "https://c1/", "url": "https://c1/", "grants": ["internal"],
                "verified": False, "reason": "ingress URL not reachable from the controller"}],
    }
    lines = fp.summary_lines(plan, verified, "/srv/handoff")
    assert lines[0].startswith("h1 nginx http://h1/ (checked at http://127.0.0.1/): 401 anonymous")
    assert lines[1] == "h2: NOT VERIFIED (failed or unreachable)"
    assert "NOT VERIFIED (ingress URL not reachable" in lines[2]
    assert lines[3] == "Endpoints NOT verified: h2; c1 https://c1/"
    assert lines[4] == "Hand-off files: /srv/handoff/<grant>/credentials.txt.age and message.txt"


def test_report_hosts_keeps_the_limit_and_marks_hosts_not_reached():
    plan = compact([grant("a")], clusters={"c1": CLUSTER})
    checks = {"h1": {"results": []}, "h2": None, "h3": {"results": []}, "c1": {"results": []}}
    out = fp.report_hosts(plan, checks, limit={"h1", "h2", "c1"})
    assert [(h["host"], h["kind"], h["plan"] is None) for h in out] == [
        ("h1", "vm", False), ("h2", "vm", True), ("c1", "cluster", False)]
    assert out[2]["plan"]["targets"][0]["target"] == "secret"
    assert out[2]["plan"]["targets"][0]["grants"] == ["internal.c1", "a"]
    assert out[0]["plan"]["targets"][0]["grants"] == ["internal.h1", "a"]


def test_the_plan_holds_no_secret():
    v = views(internal=record(), a=record("minted"), s=record(), gone=record(revoked=True))
    args = ([grant("a"), grant("s", auth="scrape")],)
    kw = dict(clusters={"c1": SCRAPE}, views=v, revoked=["gone"], revoke=None)
    text = json.dumps(compact(*args, **kw)) + json.dumps(fleet(*args, **kw))
    for tag in ("cur", "new", "old"):
        assert "u-" + tag not in text and "p-" + tag not in text and "$2y$12$" + tag not in text


# -- an internal credential per host and per cluster ------------------------------------------------------------------
def test_each_host_and_cluster_has_its_own_internal_credential_first():
    plan = fleet([grant("a")], clusters={"c1": CLUSTER})
    assert {h: p["internal"] for h, p in {**plan["hosts"], **plan["clusters"]}.items()} == {
        "h1": "internal.h1", "h2": "internal.h2", "h3": "internal.h3", "c1": "internal.c1"}
    for part in list(plan["hosts"].values()) + list(plan["clusters"].values()):
        for target in part["targets"]:
            assert target["grants"] == [part["internal"], "a"]
    assert plan["internal_credentials"] == ["internal.h1", "internal.h2", "internal.h3", "internal.c1"]
    assert plan["fetch"] == plan["internal_credentials"] + ["a"]
    # A store made before credentials per target: each starts as a copy of the shared one.
    assert plan["inherit"] == {name: "internal" for name in plan["internal_credentials"]}


def test_rotating_one_targets_internal_credential_checks_only_that_target():
    v = views(internal=record(), a=record())
    v["internal.h2"] = grant_view("internal.h2", record("added"))
    plan = fleet([grant("a")], views=v, rotate=["internal.h2"])
    assert plan["rotating"] == ["internal.h2"]
    assert ("internal.h2", "pending", 200) in _checks(plan, "h2")
    for host in ("h1", "h3"):
        assert all(c[0] != "internal.h2" for c in _checks(plan, host))
        assert plan["hosts"][host]["nginx_grants"] == ["internal." + host, "a"]


def test_a_group_shares_one_internal_credential_the_operator_names():
    plan = fleet([grant("a")], hosts={"h1": {"promaccess_internal_credential": "internal.eu"},
                                      "h2": {"promaccess_internal_credential": "internal.eu"}, "h3": {}})
    assert [plan["hosts"][h]["nginx_grants"][0] for h in ("h1", "h2", "h3")] == ["internal.eu", "internal.eu", "internal.h3"]
    assert plan["fetch"] == ["internal.eu", "internal.h3", "a"]
    hosts = {"h1": {"promaccess_internal_credential": "internal.eu"}, "h2": {}}
    assert fleet([grant("a")], rotate=["internal"], hosts=hosts)["rotating"] == ["internal.eu", "internal.h2"]


def test_the_shared_internal_credential_on_purpose_inherits_nothing():
    plan = fleet([grant("a")], hosts={"h1": {"promaccess_internal_credential": "internal"}, "h2": {}})
    assert plan["hosts"]["h1"]["nginx_grants"][0] == "internal"
    assert plan["inherit"] == {"internal.h2": "internal"}


def test_a_clusters_service_monitor_sends_its_own_internal_credential():
    v = views(internal=record(), s=record())
    v["internal.c1"] = grant_view("internal.c1", cred("c1"))
    plan = fleet([grant("s", auth="scrape")], hosts={}, clusters={"c1": SCRAPE}, views=v)
    filled = fp.scrape_secrets(plan["clusters"]["c1"]["scrape"], v)
    assert filled["auth"][2] == {"service_monitor": "web", "auth_type": "basic", "username": "u-c1",
                                 "username_label": "internal.c1", "password": "p-c1",
                                 "scrape_pool": "serviceMonitor/monitoring/web/", "wire_endpoints": True}


@pytest.mark.parametrize(
    "grants, hosts, msg",
    [
        ([grant("internal.h1")], None, "internal credentials of hosts or clusters"),
        ([grant("eu")], {"h1": {"promaccess_internal_credential": "eu"}}, "grants eu: these names are internal"),
        ([grant("a")], {"bad host": {}}, "bad host: its internal credential 'internal.bad host' is not a valid"),
        ([grant("a")], {"h1": {"promaccess_internal_credential": "../x"}}, "set promaccess_internal_credential"),
    ],
)
def test_internal_credential_names_are_checked(grants, hosts, msg):
    groups = dict(GROUPS, all=list(GROUPS["all"]) + ["bad host"])
    with pytest.raises(PlanError, match=msg):
        fleet(grants, hosts=hosts, groups=groups)


# -- delivery values ------------------------------------------------------------------------------------------------
def test_values_delivery_paths_are_the_checkouts_and_the_audit_knows_the_chart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    given = dict(VALUES, promaccess_k8s_helm_release="support", promaccess_k8s_helm_chart="./charts/support",
                 promaccess_k8s_helm_values_files=["support.values.yaml"], promaccess_k8s_namespace="support")
    part = fleet([grant("b")], hosts={}, clusters={"c1": given})["clusters"]["c1"]
    settings = part["settings"]
    assert settings["promaccess_k8s_values_file"] == str(tmp_path / "enc-support.secret.values.yaml")
    assert settings["promaccess_k8s_helm_values_files"] == [str(tmp_path / "support.values.yaml")]
    assert settings["promaccess_k8s_helm_chart"] == str(tmp_path / "charts" / "support")
    assert settings["promaccess_k8s_helm_namespace"] == "support"
    (target,) = part["targets"]
    assert (target["reserved"], target["compare_hashes"]) == (1, False)  # the list shape: the chart hashes
    assert part["secret_grants"] == ["internal.c1", "b"]


@pytest.mark.parametrize("shape, reserved, expected", [("map", None, (0, True)), ("htpasswd", 2, (2, True)),
                                                       ("list", 0, (0, False))])
def test_values_delivery_reserved_head_and_hashes_by_shape(shape, reserved, expected):
    given = dict(VALUES, promaccess_k8s_values_shape=shape, promaccess_k8s_values_reserved=reserved)
    (target,) = fleet([grant("b")], hosts={}, clusters={"c1": given})["clusters"]["c1"]["targets"]
    assert (target["reserved"], target["compare_hashes"]) == expected


def test_the_audit_reads_the_prometheus_charts_config_map_when_told():
    given = dict(VALUES, promaccess_k8s_values_shape="map", promaccess_k8s_secret_format="prometheus_web_config",
                 promaccess_k8s_users_object="ConfigMap", promaccess_k8s_secret_name="prom-server")
    (target,) = fleet([grant("b")], hosts={}, clusters={"c1": given})["clusters"]["c1"]["targets"]
    assert (target["object"], target["name"], target["format"]) == ("ConfigMap", "prom-server", "prometheus_web_config")
    (target,) = fleet([grant("b")], hosts={}, clusters={"c1": dict(given, promaccess_k8s_users_object="Secret")})[
        "clusters"]["c1"]["targets"]
    assert "object" not in target


def test_direct_delivery_adds_nothing_for_the_audit():
    (target,) = fleet([grant("b")], hosts={}, clusters={"c1": dict(CLUSTER, promaccess_k8s_helm_chart="repo/x")})[
        "clusters"]["c1"]["targets"]
    assert "reserved" not in target and "compare_hashes" not in target


@pytest.mark.parametrize("phase", [None, "added", "revoking"])
def test_values_users_plain_passwords_for_the_list_shape_hashes_otherwise(phase):
    v = views(b=record(phase), gone=record(revoked=True))
    listed = fp.values_users(v, ["b", "gone"], "list")
    hashed = fp.values_users(v, ["b", "gone"], "map")
    present = v["b"]["present"]
    assert [u["name"] for u in listed] == [u["name"] for u in hashed] == [u["name"] for u in v["b"]["users"] + v["gone"]["users"]]
    assert [u["password"] for u in listed if u["state"] == "present"] == [c["password"] for c in present]
    assert all("password_hash" not in u for u in listed)
    assert [u.get("password_hash") for u in hashed if u["state"] == "present"] == [c["password_hash"] for c in present]
    assert all("password" not in u for u in hashed)
    assert [u["label"] for u in listed] == [u["label"] for u in hashed]
    assert [u["state"] for u in listed if u["label"].startswith("gone")] == ["absent"]
    if phase == "revoking":
        assert {u["label"]: u["state"] for u in listed}["b (retired)"] == "absent"


@pytest.mark.parametrize("phase, role", [(None, "current"), ("minted", "pending"), ("revoking", "current")])
def test_values_server_probes_with_the_newest_present_internal_credential(phase, role):
    v = views(internal=record(phase))
    server = {"key_path": ["prometheus", "server"], "self_scrape_job": "prometheus"}
    wired = fp.values_server(server, v, "internal.c1")
    expected = [c for c in v["internal.c1"]["present"] if c["role"] == role][-1]
    assert wired == dict(server, probe_username=expected["username"], probe_password=expected["password"],
                         probe_username_label="internal.c1 (%s)" % role)
    assert fp.values_server({}, v, "internal.c1") is None


def test_scrape_pools_are_the_operators_unless_an_entry_names_its_own():
    given = dict(SCRAPE, promaccess_k8s_scrape_auth=[
        {"service_monitor": "sm", "namespace": "apps", "grant": "s"},
        {"service_monitor": "own", "grant": "s", "scrape_pool": "kubernetes-pods"}])
    auth = fleet([grant("s", auth="scrape")], hosts={}, clusters={"c1": given})["clusters"]["c1"]["scrape"]["auth"]
    assert [a["scrape_pool"] for a in auth] == ["serviceMonitor/apps/sm/", "kubernetes-pods"]
    with pytest.raises(PlanError, match="promaccess_k8s_scrape_targets_url"):
        fleet([grant("s", auth="scrape")], hosts={}, clusters={"c1": dict(given, promaccess_k8s_scrape_targets_url="x")})


# -- the hash policy: which hash each consumer gets ------------------------------------------------------------------
def minted(tag):
    return dict(cred(tag), origin="minted", password_hashes={"apr_md5_crypt": "$apr1$salt$" + tag.ljust(22, "x")})


@pytest.mark.parametrize("phase", [None, "minted", "revoking"])
def test_target_users_give_the_fast_hash_to_per_request_consumers_only(phase):
    rec = dict(minted("cur"))
    if phase == "minted":
        rec["rotation"] = {"phase": "minted", "pending": minted("new")}
    elif phase == "revoking":
        rec = dict(minted("new"), rotation={"phase": "revoking", "retired": minted("old")})
    v = views(b=rec, person=dict(cred("p"), origin="given"), gone=record(revoked=True))
    grants = ["b", "person", "gone"]
    nginx = fp.target_users(v, grants, "htpasswd")
    web = fp.target_users(v, grants, "web_config")
    assert [u["name"] for u in nginx] == [u["name"] for u in web] == [u["name"] for g in grants for u in v[g]["users"]]
    present_b = v["b"]["present"]
    assert [u["password_hash"] for u in nginx if u["label"].startswith("b ") and u["state"] == "present"] == [
        c["password_hashes"]["apr_md5_crypt"] for c in present_b]
    assert [u["password_hash"] for u in web if u["label"].startswith("b ") and u["state"] == "present"] == [
        c["password_hash"] for c in present_b]
    # A person's password is bcrypt everywhere; refused ones carry no hash at all.
    assert [u["password_hash"] for u in nginx if u["label"].startswith("person")] == ["$2y$12$p"]
    assert all("password_hash" not in u for u in nginx if u["state"] == "absent")
    assert all("password" not in u for u in nginx + web)
    if phase == "revoking":
        assert {u["label"]: u["state"] for u in nginx}["b (retired)"] == "absent"
    # The grant's override: bcrypt everywhere.
    strong = fp.target_users(v, grants, "htpasswd", ["b"])
    assert [u.get("password_hash") for u in strong] == [u.get("password_hash") for u in web]


def test_values_users_hash_for_the_secret_the_chart_renders():
    v = views(b=minted("cur"))
    assert fp.values_users(v, ["b"], "htpasswd", "ingress_nginx_auth_file")[0]["password_hash"] == "$apr1$salt$curxxxxxxxxxxxxxxxxxxx"
    assert fp.values_users(v, ["b"], "map", "prometheus_web_config")[0]["password_hash"] == "$2y$12$cur"
    assert fp.values_users(v, ["b"], "map")[0]["password_hash"] == "$2y$12$cur"  # no consumer named: bcrypt
    assert fp.values_users(v, ["b"], "list", "ingress_nginx_auth_file")[0]["password"] == "p-cur"


def test_grant_hash_setting_is_checked_and_reaches_every_part():
    plan = compact([grant("a"), grant("b", hash="bcrypt")], clusters={"c1": CLUSTER})
    assert plan["bcrypt_grants"] == ["b"]
    assert fp.host_part(plan, "h1")["bcrypt_grants"] == ["b"]
    assert fp.host_part(plan, "c1", "clusters")["bcrypt_grants"] == ["b"]
    with pytest.raises(PlanError, match=r"grant a: hash must be one of auto, bcrypt \(got 'fast'\)"):
        compact([grant("a", hash="fast")])


def test_report_hosts_gives_each_host_its_listeners_and_what_it_said_of_its_certificate():
    plan = compact([grant("a")], hosts={"h1": {"promaccess_modes": ["native", "nginx"], "promaccess_tls": "plain_http"},
                                        "h2": {}})
    cert = {"certificate": {"not_after": "20270101000000Z", "expired": False}}
    out = fp.report_hosts(plan, {"h1": {"results": []}, "h2": {"results": []}}, tls={"h1": None, "h2": cert})
    h1, h2 = out
    assert h1["plan"]["endpoints"] == [
        {"kind": "native", "url": "http://127.0.0.1:9090/", "tls": False, "plain_http": ["native 0.0.0.0:9090"],
         "renew_days": 30},
        {"kind": "nginx", "url": "http://127.0.0.1:8080/prometheus/", "tls": False, "plain_http": ["nginx 8080"],
         "renew_days": 30}]
    assert h2["plan"]["endpoints"][0]["tls"] is True and h2["tls"] == cert
