"""Unit tests for the fleet access report (rows, drift, summary, Markdown and HTML)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._audit.access_info import audit_users
from ansible_collections.promaccess.core.plugins.module_utils._common.users import fingerprint
from ansible_collections.promaccess.core.plugins.plugin_utils.access_report import (
    DRIFT,
    AccessReportError,
    build_report,
    render_html,
    render_markdown,
)

H = {name: "$2y$12$" + c * 53 for name, c in (("i", "i"), ("a", "a"), ("a2", "A"), ("b", "b"), ("r", "r"), ("x", "x"))}
NAMES = {key: "U-%s-%s" % (key, "z" * 60) for key in H}


def cred(key, role, minted="2026-01-01T00:00:00Z", age=59):
    return {"role": role, "fingerprint": fingerprint(NAMES[key]), "minted_at": minted, "age_days": age,
            "hash_scheme": "bcrypt", "hash_cost": 12}


def grant(name, status="active", phase=None, creds=(), **extra):
    out = {"grant": name, "status": status, "phase": phase, "minted_at": "2026-01-01T00:00:00Z", "age_days": 59,
           "rotated_at": None, "revoked_at": None, "revocation_verified_at": None, "rotation_started_at": None,
           "rotation_updated_at": None, "credentials": list(creds)}
    out.update(extra)
    return out


GRANTS = [
    grant("internal", creds=[cred("i", "current")]),
    grant("team-a", "rotating", "added", [cred("a", "current"), cred("a2", "pending", age=2)],
          rotated_at="2025-12-01T00:00:00Z"),
    grant("team-b", "revoked", creds=[cred("b", "revoked")], revoked_at="2026-02-01T00:00:00Z"),
    grant("team-r", "rotating", "revoking", [cred("r", "current")]),
]
USERS = {  # what credential_store_info's users would hold: grant -> [(role, key)]
    "internal": [("current", "i")], "team-a": [("current", "a"), ("pending", "a2")],
    "team-b": [("revoked", "b")], "team-r": [("current", "r")],
}


def expected_users(grants):
    return [{"grant": g, "role": role, "name": NAMES[key], "password_hash": H[key]}
            for g in grants for role, key in USERS.get(g, [])]


def check(target, found, mode="0640", **facts):
    """A module result, as access_info returns it, for ``found`` (key -> hash) in the file."""
    result = {"changed": False, "item": target,
              "file": dict({"path": target.get("path"), "exists": True, "readable": True, "mode": mode, "owner": "root",
                            "group": "www-data", "size": 10, "mtime": "2026-02-01T00:00:00Z", "duplicate_names": 0,
                            "error": None}, **facts)}
    result.update(audit_users({NAMES[k]: h for k, h in found.items()}, expected_users(target["grants"])))
    return result


def host(name, targets_found, kind="vm"):
    targets = [t for t, _unused in targets_found]
    return {"host": name, "kind": kind, "plan": {"kind": kind, "targets": targets},
            "checks": {"results": [f if "item" in f else check(t, f) for t, f in targets_found]}}


NGINX = {"target": "nginx", "format": "htpasswd", "path": "/etc/nginx/prometheus.htpasswd",
         "grants": ["internal", "team-a"]}


def codes(report):
    return sorted(tuple(value or "" for value in (f["host"], f["grant"], f["role"], f["code"])) for f in report["findings"])


def test_clean_host_has_no_drift():
    found = {"i": H["i"], "a": H["a"], "a2": H["a2"]}
    report = build_report([host("web1", [(NGINX, found)])], GRANTS, generated_at="2026-03-01T00:00:00Z")
    assert report["findings"] == [] and report["summary"]["drift"] == 0
    rows = {(r["grant"], r["role"]): r for r in report["rows"]}
    assert rows["team-a", "pending"]["expected"] == "present" and rows["team-a", "pending"]["state"] == "ok"
    assert rows["team-a", "current"]["age_days"] == 59 and rows["team-a", "current"]["rotated_at"] == "2025-12-01T00:00:00Z"
    assert rows["team-b", "revoked"] == dict(rows["team-b", "revoked"], expected="absent", present=False, state="ok")
    assert set(rows) == {("internal", "current"), ("team-a", "current"), ("team-a", "pending"), ("team-b", "revoked")}
    assert report["summary"]["line"] == (
        "1 host, 0 clusters, 1 target, 4 grants, 4 entries: 4 ok, 0 pending, 0 not inspected; no drift")


def test_every_kind_of_drift():
    native = {"target": "native", "format": "web_config", "path": "/etc/prometheus/web.yml",
              "grants": ["internal", "team-a", "team-r", "team-new"]}
    found = {"i": H["x"], "b": H["b"], "x": "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "r": H["r"]}
    nginx_found = {"i": H["i"], "a": H["a"], "a2": H["a2"]}
    web1 = host("web1", [(native, found), (NGINX, nginx_found)])
    web1["checks"]["results"][0]["file"].update(mode="0644", duplicate_names=1)
    web1["checks"]["results"][0]["unexpected"].append({"fingerprint": fingerprint(NAMES["r"]) + "0", "hash_scheme": "bcrypt", "hash_cost": 12})
    report = build_report([web1], GRANTS)
    assert codes(report) == sorted([
        ("web1", "internal", "current", "hash_differs"),
        ("web1", "team-a", "current", "missing"),
        ("web1", "team-a", "pending", "missing"),  # phase added: the new credential must be on every host
        ("web1", "team-new", "", "not_in_store"),
        ("web1", "team-b", "revoked", "revoked_present"),  # not planned here, found by fingerprint
        ("web1", "", "", "unknown_entry"),  # x, a user nobody knows
        ("web1", "", "", "unknown_entry"),  # an entry the test made up
        ("web1", "", "", "duplicate_names"),
        ("web1", "", "", "mode_too_open"),
    ])
    assert report["summary"]["drift_by_code"] == {
        "not_in_store": 1, "missing": 2, "hash_differs": 1, "revoked_present": 1, "unknown_entry": 2,
        "duplicate_names": 1, "mode_too_open": 1}
    assert {u["hash_scheme"] for u in report["unknown_entries"]} == {"ldap_sha1", "bcrypt"}
    revoked = [r for r in report["rows"] if r["grant"] == "team-b"]
    assert [(r["target"], r["present"], r["hash_scheme"], r["state"]) for r in revoked] == [
        ("native", True, "bcrypt", "drift"), ("nginx", False, None, "ok")]


def test_rotation_phases_decide_what_is_expected():
    grants = [grant("internal", creds=[cred("i", "current")]),
              grant("team-a", "rotating", "minted", [cred("a", "current"), cred("a2", "pending")]),
              grant("team-r", "rotating", "revoking", [cred("r", "current"), cred("x", "retired")])]
    users = dict(USERS, **{"team-r": [("current", "r"), ("retired", "x")]})
    target = dict(NGINX, grants=["internal", "team-a", "team-r"])
    result = {"item": target, "file": {"exists": True, "mode": "0640", "error": None}}
    result.update(audit_users({NAMES["i"]: H["i"], NAMES["a"]: H["a"], NAMES["r"]: H["r"], NAMES["x"]: H["x"]},
                              [{"grant": g, "role": role, "name": NAMES[k], "password_hash": H[k]}
                               for g in target["grants"] for role, k in users[g]]))
    report = build_report([{"host": "web1", "kind": "vm", "plan": {"targets": [target]}, "checks": {"results": [result]}}], grants)
    states = {(r["grant"], r["role"]): (r["expected"], r["state"]) for r in report["rows"]}
    assert states[("team-a", "pending")] == ("optional", "pending")
    assert states[("team-r", "retired")] == ("absent", "drift")
    assert codes(report) == [("web1", "team-r", "retired", "retired_present")]
    assert report["summary"]["pending"] == 1


def test_a_credential_of_a_grant_not_planned_here():
    target = dict(NGINX, grants=["internal"])
    report = build_report([host("web1", [(target, {"i": H["i"], "a": H["a"]})])], GRANTS)
    assert codes(report) == [("web1", "team-a", "current", "not_granted_present")]


def test_unreached_failed_and_unreadable_targets_are_not_inspected():
    failed = {"failed": True, "msg": "MODULE FAILURE", "item": NGINX}
    unreadable = check(NGINX, {}, error="line 3 is not a 'user:hash' entry", readable=False)
    missing = check(NGINX, {}, exists=False, readable=False, mode=None)
    hosts = [
        {"host": "down", "kind": "vm"},  # no plan: the play never reached it
        host("broken", [(NGINX, failed)]),
        host("garbled", [(NGINX, unreadable)]),
        host("empty", [(NGINX, missing)]),
        {"host": "c1", "kind": "cluster", "plan": {"targets": [{"target": "secret", "format": "traefik",
                                                                "namespace": "mon", "name": "auth", "grants": ["internal"]}]}},
    ]
    report = build_report(hosts, GRANTS)
    assert codes(report) == sorted([
        ("down", "", "", "not_inspected"), ("broken", "", "", "not_inspected"),
        ("garbled", "", "", "unreadable"), ("empty", "", "", "file_missing"),
        ("empty", "internal", "current", "missing"), ("empty", "team-a", "current", "missing"),
        ("empty", "team-a", "pending", "missing"), ("c1", "", "", "not_inspected"),
    ])
    broken = [f for f in report["findings"] if f["host"] == "broken"][0]
    assert broken["detail"].endswith(": MODULE FAILURE")
    assert {r["state"] for r in report["rows"] if r["host"] in ("broken", "garbled", "c1")} == {"not inspected"}
    assert report["summary"]["clusters"] == 1 and report["summary"]["hosts"] == 4
    assert [t["location"] for t in report["targets"] if t["host"] == "c1"] == ["mon/auth"]


def test_only_known_keys_are_copied():
    """A secret passed by mistake (the store's users, a module's invocation) never reaches the report."""
    grants = [dict(g, users=[{"name": NAMES["a"], "password_hash": H["a"]}]) for g in GRANTS]
    web1 = host("web1", [(NGINX, {"i": H["i"], "a": H["a"], "a2": H["a2"]})])
    web1["checks"]["results"][0]["invocation"] = {"module_args": {"expected_users": expected_users(NGINX["grants"])}}
    web1["checks"]["results"][0]["file"]["content"] = "%s:%s" % (NAMES["a"], H["a"])
    report = build_report([web1], grants)
    text = json.dumps(report) + render_markdown(report) + render_html(report)
    for value in list(NAMES.values()) + list(H.values()):
        assert value not in text


def test_bad_input_is_refused():
    with pytest.raises(AccessReportError):
        build_report([{"kind": "vm"}], GRANTS)
    with pytest.raises(AccessReportError):
        build_report([], [{"status": "active"}])


def test_markdown_and_html_escape_what_they_show():
    target = dict(NGINX, path="/srv/a|b/<x>.htpasswd")
    report = build_report([host("web|1", [(target, {"i": H["i"], "a": H["a"], "a2": H["a2"]})])], GRANTS,
                          generated_at="2026-03-01T00:00:00Z", store="/srv/store.age")
    md = render_markdown(report)
    assert "| web\\|1 | nginx | internal | current | present | yes | bcrypt (cost 12) | yes | 59 | - | - | ok |" in md
    assert "/srv/a\\|b/<x>.htpasswd" in md and "## Drift\n\nNone." in md
    assert "Generated 2026-03-01T00:00:00Z from the credential store `/srv/store.age`." in md
    page = render_html(report)
    assert "/srv/a|b/&lt;x&gt;.htpasswd" in page and "<x>" not in page
    assert '<tr class="ok"><td>web|1</td>' in page


def test_drift_rows_say_what_is_wrong():
    report = build_report([host("web1", [(NGINX, {"i": H["x"]})])], GRANTS)
    md = render_markdown(report)
    assert "DRIFT: %s" % DRIFT["hash_differs"] in md and "DRIFT: %s" % DRIFT["missing"] in md
    assert '<tr class="drift">' in render_html(report)
    assert report["findings"][0]["text"] == (
        "web1 nginx /etc/nginx/prometheus.htpasswd: internal (current) [%s] hash_differs: %s"
        % (fingerprint(NAMES["i"]), DRIFT["hash_differs"]))


def test_a_service_monitor_holds_one_credential_of_a_rotating_grant():
    """A ServiceMonitor sends one credential: mid-rotation, the other one's absence is pending, not drift; with
    none of the grant's credentials, both are missing."""
    scrape = {"target": "scrape", "format": "service_monitor", "namespace": "apps", "name": "exporter",
              "grants": ["team-a"], "single": True}
    sends_new = {"item": scrape, "secret": {"exists": True, "readable": True, "error": None}}
    sends_new.update(audit_users({NAMES["a2"]: H["a2"]}, expected_users(["team-a"])))
    report = build_report([{"host": "k8s", "kind": "cluster", "plan": {"targets": [scrape]},
                            "checks": {"results": [sends_new]}}], GRANTS)
    states = {(r["grant"], r["role"]): r["state"] for r in report["rows"] if r["grant"] == "team-a"}
    assert states == {("team-a", "current"): "pending", ("team-a", "pending"): "ok"}
    assert report["summary"]["drift"] == 0
    sends_nothing = dict(sends_new)
    sends_nothing.update(audit_users({}, expected_users(["team-a"])))
    report = build_report([{"host": "k8s", "kind": "cluster", "plan": {"targets": [scrape]},
                            "checks": {"results": [sends_nothing]}}], GRANTS)
    assert codes(report) == [("k8s", "team-a", "current", "missing"), ("k8s", "team-a", "pending", "missing")]
    # the same on a user file (not single): the pending one must be there
    report = build_report([{"host": "k8s", "kind": "cluster", "plan": {"targets": [dict(scrape, single=False)]},
                            "checks": {"results": [dict(sends_new, item=dict(scrape, single=False))]}}], GRANTS)
    assert codes(report) == [("k8s", "team-a", "current", "missing")]


# -- endpoints: TLS, plain HTTP, certificate expiry -------------------------------------------------------------------
def tls_host(endpoints, certificate):
    out = host("web1", [(NGINX, {"i": H["i"], "a": H["a"], "a2": H["a2"]})])
    out["plan"]["endpoints"] = endpoints
    out["tls"] = {"certificate": certificate} if certificate is not None else None
    return out


HTTPS = {"kind": "nginx", "url": "https://127.0.0.1:8080/prometheus/", "tls": True, "plain_http": [], "renew_days": 30}


@pytest.mark.parametrize("not_after, days, code", [
    ("20260601000000Z", 92, None),
    ("20260331000000Z", 30, None),          # exactly the renewal threshold: not yet due
    ("20260330120000Z", 29, "certificate_expiring"),
    ("20260301000000Z", 0, "certificate_expired"),   # expires the moment the report is made
    ("20260201000000Z", -28, "certificate_expired"),
])
def test_days_to_expiry_and_the_renewal_threshold(not_after, days, code):
    report = build_report([tls_host([HTTPS], {"not_after": not_after, "expired": days < 0})], GRANTS,
                          generated_at="2026-03-01T00:00:00Z")
    (endpoint,) = report["endpoints"]
    assert endpoint["certificate_days_left"] == days
    assert endpoint["certificate_not_after"] == "%s-%s-%sT%s:%s:%sZ" % (
        not_after[:4], not_after[4:6], not_after[6:8], not_after[8:10], not_after[10:12], not_after[12:14])
    assert [f["code"] for f in report["findings"]] == ([code] if code else [])
    assert endpoint["problem"] == code


def test_plain_http_beyond_loopback_and_an_unreadable_certificate_are_drift():
    plain = {"kind": "native", "url": "http://127.0.0.1:9090/", "tls": False, "plain_http": ["native 0.0.0.0:9090"],
             "renew_days": 30}
    report = build_report([tls_host([HTTPS, plain], {"error": "no such file"})], GRANTS,
                          generated_at="2026-03-01T00:00:00Z")
    assert codes(report) == [("web1", "", "", "certificate_unreadable"), ("web1", "", "", "plain_http")]
    text = render_markdown(report)
    assert "## Endpoints" in text
    assert "| web1 | native | http://127.0.0.1:9090/ | HTTP | - | - | DRIFT: plain_http |" in text
    assert "native 0.0.0.0:9090" in " ".join(f["detail"] for f in report["findings"])


def test_loopback_http_is_no_finding():
    loop = {"kind": "nginx", "url": "http://127.0.0.1:8080/prometheus/", "tls": False, "plain_http": [],
            "renew_days": 30}
    report = build_report([tls_host([loop], None)], GRANTS, generated_at="2026-03-01T00:00:00Z")
    assert report["findings"] == [] and report["endpoints"][0]["problem"] is None


@pytest.mark.parametrize("minted, rotated, phase, status, state, due_at", [
    ("2025-12-01T00:00:00Z", None, None, "active", "due", "2026-03-01T00:00:00Z"),        # 90 days: due today
    ("2025-06-01T00:00:00Z", "2025-12-20T00:00:00Z", None, "active", "ok", "2026-03-20T00:00:00Z"),
    ("2025-06-01T00:00:00Z", "2025-12-05T00:00:00Z", None, "active", "soon", "2026-03-05T00:00:00Z"),
    ("2025-06-01T00:00:00Z", "2025-11-24T00:00:00Z", None, "active", "overdue", "2026-02-22T00:00:00Z"),
    ("2025-06-01T00:00:00Z", "2025-11-25T00:00:00Z", None, "active", "due", "2026-02-23T00:00:00Z"),
    ("2025-06-01T00:00:00Z", None, "handed_off", "rotating", "in progress", "2025-08-30T00:00:00Z"),
    ("2025-06-01T00:00:00Z", None, None, "revoked", None, None),
])
def test_each_grant_under_the_maximum_age_policy(minted, rotated, phase, status, state, due_at):
    g = grant("team-p", status, phase, [], minted_at=minted, rotated_at=rotated, grace_until="2026-03-05T00:00:00Z")
    report = build_report([], [g], generated_at="2026-03-01T00:00:00Z", policy={"max_age": 90 * 86400})
    out = report["grants"][0]
    assert (out["rotation"], out["rotation_due_at"]) == (state, due_at)
    assert out["grace_until"] == "2026-03-05T00:00:00Z"
    md = render_markdown(report)
    assert "| team-p |" in md and "Old credential valid until (UTC)" in md and "Rotation policy" in md


def test_without_a_policy_nothing_is_due():
    report = build_report([], GRANTS, generated_at="2026-03-01T00:00:00Z")
    assert {g["rotation"] for g in report["grants"]} == {None}


def test_last_use_per_credential_from_the_access_log_times_only():
    found = {"i": H["i"], "a": H["a"], "a2": H["a2"]}
    result = check(NGINX, found)
    for row in result["expected"]:
        row["last_seen"] = "2026-02-28T10:00:00Z" if row["role"] == "current" else None
    report = build_report([host("web1", [(NGINX, result)])], GRANTS, generated_at="2026-03-01T00:00:00Z")
    rows = {(r["grant"], r["role"]): r for r in report["rows"]}
    assert rows["team-a", "current"]["last_seen"] == "2026-02-28T10:00:00Z"
    assert rows["team-a", "pending"]["last_seen"] is None
    md = render_markdown(report)
    assert "Last used (UTC)" in md and "2026-02-28T10:00:00Z" in md
    assert not any(NAMES[k] in md for k in NAMES)
