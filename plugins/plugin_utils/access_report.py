# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet access report: store metadata and host inspections in, rows and drift out. Private to promaccess.core.

Plain Python on plain data, used by the ``access_report`` filters on the controller. Inputs hold no secret:
the store summaries of ``_store/credstore_info.grant_summary`` and the results of the ``access_info`` and
``k8s_access_info`` modules, which identify entries by fingerprint. Only keys named here are copied into the
report, so a secret passed by mistake in an input never reaches it.
"""

from __future__ import annotations

import datetime
import html
import math

from ansible_collections.promaccess.core.plugins.module_utils._common import times
from ansible_collections.promaccess.core.plugins.module_utils._store import grace

REPORT_VERSION = 1

#: Drift codes and what they mean, in the order the report lists them.
DRIFT = {
    "not_inspected": "host or cluster not inspected (unreachable, or the check failed)",
    "unreadable": "user file or Secret cannot be read",
    "file_missing": "user file or Secret does not exist",
    "not_in_store": "grant planned here but not in the credential store (run provision_access)",
    "missing": "credential missing (run provision_access)",
    "hash_differs": "hash differs from the store (edited by hand?)",
    "retired_present": "retired credential still present (finish the rotation)",
    "revoked_present": "revoked credential still present (run revoke_access)",
    "not_granted_present": "credential of a grant not granted here",
    "unknown_entry": "entry unknown to the credential store (added by hand?)",
    "duplicate_names": "a user name appears more than once",
    "mode_too_open": "file readable or writable by others",
    "last_applied_annotation": "Secret keeps a copy of its data in kubectl's last-applied annotation",
    "plain_http": "serves plain HTTP beyond loopback (promaccess_tls plain_http): credentials cross the network in clear",
    "certificate_expiring": "TLS certificate expires within promaccess_tls_renew_days (run provision_access to renew it)",
    "certificate_expired": "TLS certificate has expired or is not valid yet",
    "certificate_unreadable": "TLS certificate cannot be read",
}

GRANT_KEYS = (
    "grant", "status", "phase", "minted_at", "age_days", "rotated_at", "revoked_at", "revocation_verified_at",
    "superseded_at", "rotation_started_at", "rotation_updated_at", "handed_off_at", "grace_until",
)
#: How early a rotation is reported as coming (``soon``), and how late as ``overdue`` (a weekly scheduled
#: ``promaccess_rotate: [due]`` run would have rotated it), in days around the policy's maximum age.
DUE_SOON_DAYS = 7
OVERDUE_DAYS = 7
CREDENTIAL_KEYS = ("role", "fingerprint", "minted_at", "age_days", "hash_scheme", "hash_cost")
FILE_FACT_KEYS = ("exists", "readable", "mode", "owner", "group", "size", "mtime", "duplicate_names", "error")
SECRET_FACT_KEYS = (
    "exists", "readable", "type", "expected_type", "created", "updated", "resource_version",
    "last_applied_annotation", "duplicate_names", "error",
)


class AccessReportError(Exception):
    """Input the report cannot be built from."""


def _pick(source, keys) -> dict:
    source = source if isinstance(source, dict) else {}
    return {key: source.get(key) for key in keys}


def now_utc() -> str:
    return times.now_iso()


def _asn1_time(value: str) -> datetime.datetime | None:
    """community.crypto's ASN.1 time (``20271203161349Z``) as an aware datetime; None when it is not one."""
    try:
        return datetime.datetime.strptime(str(value), "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def _location(target: dict) -> str:
    if target.get("path"):
        return str(target["path"])
    return "%s/%s" % (target.get("namespace"), target.get("name"))


def _results_by_target(checks) -> list:
    """The loop results of the inspection task, or [] when the host has none (not reached)."""
    if not isinstance(checks, dict):
        return []
    results = checks.get("results")
    if isinstance(results, list):
        return results
    return [checks]


def _find_result(results: list, target: dict, index: int):
    for result in results:
        item = result.get("item") if isinstance(result, dict) else None
        if isinstance(item, dict) and item.get("target") == target.get("target") and _location(item) == _location(target):
            return result
    if index < len(results) and not isinstance(results[index].get("item"), dict):
        return results[index]
    return None


class _Builder:
    def __init__(self, grants, internal_grant: str):
        self.grants: dict[str, dict] = {}
        self.by_fingerprint: dict[str, tuple[dict, dict]] = {}
        for summary in grants or []:
            if not isinstance(summary, dict) or not isinstance(summary.get("grant"), str):
                raise AccessReportError("each store grant must be a dictionary with a grant name")
            clean = _pick(summary, GRANT_KEYS)
            clean["credentials"] = [_pick(c, CREDENTIAL_KEYS) for c in summary.get("credentials") or []]
            self.grants[clean["grant"]] = clean
            for cred in clean["credentials"]:
                if cred["fingerprint"]:
                    self.by_fingerprint[cred["fingerprint"]] = (clean, cred)
        self.internal_grant = internal_grant
        self.rows: list[dict] = []
        self.findings: list[dict] = []
        self.unknown: list[dict] = []
        self.targets: list[dict] = []
        self.endpoints: list[dict] = []

    # -- helpers -----------------------------------------------------------------------------------------
    def finding(self, where: dict, code: str, grant=None, role=None, fingerprint=None, detail=None) -> None:
        detail = detail or DRIFT[code]
        place = " ".join(str(part) for part in (where["host"], where["target"], where["location"]) if part)
        who = ""
        if grant:
            who = " %s%s" % (grant, " (%s)" % role if role else "")
        if fingerprint:
            who += " [%s]" % fingerprint
        self.findings.append({
            "host": where["host"], "target": where["target"], "location": where["location"], "grant": grant,
            "role": role, "fingerprint": fingerprint, "code": code, "detail": detail,
            "text": "%s:%s %s: %s" % (place, who, code, detail),
        })

    @staticmethod
    def expectation(grant: dict, role: str, planned: bool) -> str:
        if not planned or role in ("retired", "revoked"):
            return "absent"
        if role == "pending" and grant.get("phase") == "minted":
            return "optional"  # minted into the store, not yet added to hosts
        return "present"

    def row(self, where: dict, grant: dict | None, grant_name: str, cred: dict | None, seen: dict | None,
            planned: bool, inspected: bool, either: bool = False) -> None:
        """One credential on one target. ``either``: the target holds one credential at a time (a ServiceMonitor)
        and holds another of this grant's, mid-rotation: this one's absence is not drift."""
        role = (seen or {}).get("role") or (cred or {}).get("role")
        present = bool(seen and seen.get("present")) if inspected else None
        matches = (seen or {}).get("matches_store") if present else None
        row = {
            "host": where["host"], "kind": where["kind"], "target": where["target"], "location": where["location"],
            "grant": grant_name, "role": role, "fingerprint": (seen or {}).get("fingerprint") or (cred or {}).get("fingerprint"),
            "store_status": grant["status"] if grant else "not in store",
            "phase": grant["phase"] if grant else None,
            "expected": self.expectation(grant, role, planned) if grant else "present",
            "present": present,
            "hash_scheme": (seen or {}).get("hash_scheme") if present else None,
            "hash_cost": (seen or {}).get("hash_cost") if present else None,
            "matches_store": matches,
            "minted_at": (cred or {}).get("minted_at"),
            "age_days": (cred or {}).get("age_days"),
            "rotated_at": grant["rotated_at"] if grant else None,
            "last_seen": (seen or {}).get("last_seen") if inspected else None,
            "state": "ok", "drift": None,
        }
        drift = None
        if grant is None:
            drift = "not_in_store"
        elif not inspected:
            row["state"] = "not inspected"
        elif row["expected"] == "absent":
            if present:
                drift = {"retired": "retired_present", "revoked": "revoked_present"}.get(role, "not_granted_present")
        elif present:
            if matches is False:
                drift = "hash_differs"
        elif row["expected"] == "present" and not (either and grant.get("phase")):
            drift = "missing"
        else:
            row["state"] = "pending"
        if drift:
            row["state"], row["drift"] = "drift", drift
            self.finding(where, drift, grant_name, role, row["fingerprint"])
        self.rows.append(row)

    # -- one target ----------------------------------------------------------------------------------------
    def target(self, host: str, kind: str, target: dict, result) -> None:
        where = {"host": host, "kind": kind, "target": target.get("target"), "location": _location(target)}
        planned = [g for g in target.get("grants") or [] if isinstance(g, str)]
        inspected = isinstance(result, dict) and not result.get("failed") and not result.get("skipped") \
            and isinstance(result.get("expected"), list)
        facts_key = "file" if target.get("path") else "secret"
        facts = _pick(result.get(facts_key) if inspected else None, FILE_FACT_KEYS if facts_key == "file" else SECRET_FACT_KEYS)
        entry = dict(where, format=target.get("format"), grants=planned, inspected=inspected, facts=facts,
                     entries=result.get("entries") if inspected else None,
                     unexpected_count=result.get("unexpected_count") if inspected else None)
        if not inspected:
            reason = None
            if isinstance(result, dict) and result.get("msg"):
                reason = "%s: %s" % (DRIFT["not_inspected"], result["msg"])
            entry["error"] = reason or DRIFT["not_inspected"]
            self.finding(where, "not_inspected", detail=entry["error"])
        else:
            if facts["error"]:
                self.finding(where, "unreadable", detail="%s: %s" % (DRIFT["unreadable"], facts["error"]))
            elif not facts["exists"]:
                self.finding(where, "file_missing")
            if facts.get("duplicate_names"):
                self.finding(where, "duplicate_names", detail="%d user name(s) appear more than once" % facts["duplicate_names"])
            if facts_key == "file" and facts.get("mode") and int(facts["mode"], 8) & 0o007:
                self.finding(where, "mode_too_open", detail="mode %s lets others read or write it" % facts["mode"])
            if facts.get("last_applied_annotation"):
                self.finding(where, "last_applied_annotation")
        self.targets.append(entry)
        if inspected and facts["error"]:
            inspected = False  # nothing could be read: its credentials are not known missing, only unseen

        seen_rows = result.get("expected") if inspected else []
        by_grant: dict[str, list[dict]] = {}
        for seen in seen_rows:
            if isinstance(seen, dict):
                by_grant.setdefault(seen.get("grant"), []).append(seen)
        for name in planned:
            grant = self.grants.get(name)
            if grant is None:
                self.row(where, None, name, None, None, True, inspected)
                continue
            seen_list = by_grant.get(name)
            if seen_list:
                either = bool(target.get("single")) and any(seen.get("present") for seen in seen_list)
                for seen in seen_list:
                    cred = self.by_fingerprint.get(seen.get("fingerprint"), (None, None))[1]
                    self.row(where, grant, name, cred, seen, True, inspected, either)
            else:
                for cred in grant["credentials"]:
                    self.row(where, grant, name, cred, None, True, inspected)
        # Entries nobody planned here: a store credential of another grant, or unknown to the store.
        found_elsewhere = set()
        for extra in (result.get("unexpected") if inspected else None) or []:
            if not isinstance(extra, dict):
                continue
            fp = extra.get("fingerprint")
            owner = self.by_fingerprint.get(fp)
            if owner is not None and owner[0]["grant"] not in planned:
                grant, cred = owner
                found_elsewhere.add(fp)
                seen = {"role": cred["role"], "fingerprint": fp, "present": True, "hash_scheme": extra.get("hash_scheme"),
                        "hash_cost": extra.get("hash_cost"), "matches_store": None}
                self.row(where, grant, grant["grant"], cred, seen, False, inspected)
            else:
                unknown = dict(where, fingerprint=fp, hash_scheme=extra.get("hash_scheme"), hash_cost=extra.get("hash_cost"))
                self.unknown.append(unknown)
                self.finding(where, "unknown_entry", fingerprint=fp)
        # Revoked grants not planned here: say plainly that they are absent (or not inspected).
        for grant in self.grants.values():
            if grant["status"] != "revoked" or grant["grant"] in planned:
                continue
            for cred in grant["credentials"]:
                if cred["fingerprint"] not in found_elsewhere:
                    seen = {"role": cred["role"], "fingerprint": cred["fingerprint"], "present": False}
                    self.row(where, grant, grant["grant"], cred, seen, False, inspected)


def _endpoint(builder: _Builder, host: str, endpoint: dict, tls: dict | None, generated_at: str) -> None:
    """One listener of a host: its scheme, its certificate's expiry (days left at ``generated_at``), and the
    findings: plain HTTP beyond loopback, a certificate expired, near its renewal or unreadable."""
    kind = endpoint.get("kind")
    where = {"host": host, "target": kind, "location": endpoint.get("url")}
    entry = {"host": host, "kind": kind, "url": endpoint.get("url"), "tls": bool(endpoint.get("tls")),
             "plain_http": list(endpoint.get("plain_http") or []), "certificate_not_after": None,
             "certificate_days_left": None, "problem": None}
    if entry["plain_http"]:
        builder.finding(where, "plain_http", detail="%s: %s" % (DRIFT["plain_http"], ", ".join(entry["plain_http"])))
        entry["problem"] = "plain_http"
    if entry["tls"] and isinstance(tls, dict):
        cert = tls.get("certificate")
        not_after = _asn1_time(cert.get("not_after")) if isinstance(cert, dict) else None
        if not_after is None:
            reason = (cert or {}).get("error") if isinstance(cert, dict) else None
            builder.finding(where, "certificate_unreadable",
                            detail="%s%s" % (DRIFT["certificate_unreadable"], ": %s" % reason if reason else ""))
            entry["problem"] = "certificate_unreadable"
        else:
            days = (not_after - times.parse(generated_at)).total_seconds() / 86400
            entry["certificate_not_after"] = not_after.isoformat().replace("+00:00", "Z")
            entry["certificate_days_left"] = math.floor(days)
            renew = endpoint.get("renew_days")
            if days <= 0 or cert.get("expired"):
                builder.finding(where, "certificate_expired")
                entry["problem"] = "certificate_expired"
            elif renew is not None and days < int(renew):
                builder.finding(where, "certificate_expiring", detail="%s: %d day(s) left, renewed under %s" % (
                    DRIFT["certificate_expiring"], int(days), renew))
                entry["problem"] = "certificate_expiring"
    builder.endpoints.append(entry)


def rotation_policy_state(grant: dict, max_age_seconds: int | None, now: datetime.datetime) -> dict:
    """Where a grant stands under the maximum-age policy: ``rotation`` is ``in progress`` (a rotation is under
    way: in its grace period, say), ``overdue`` (``OVERDUE_DAYS`` past the maximum age), ``due`` (at or past it:
    what ``promaccess_rotate: [due]`` rotates), ``soon`` (within ``DUE_SOON_DAYS``), ``ok``, or null without a
    policy or for a revoked grant; ``rotation_due_at`` is when it becomes due."""
    since = grant.get("rotated_at") or grant.get("minted_at")
    if not max_age_seconds or grant.get("status") == "revoked" or not since:
        return {"rotation": None, "rotation_due_at": None}
    due_at = grace.due_at(since, max_age_seconds)
    if due_at is None:
        return {"rotation": None, "rotation_due_at": None}
    if grant.get("phase"):
        state = "in progress"
    elif now >= due_at + datetime.timedelta(days=OVERDUE_DAYS):
        state = "overdue"
    elif now >= due_at:
        state = "due"
    elif now >= due_at - datetime.timedelta(days=DUE_SOON_DAYS):
        state = "soon"
    else:
        state = "ok"
    return {"rotation": state, "rotation_due_at": times.iso(due_at)}


def build_report(hosts, grants, internal_grant: str = "internal", generated_at: str | None = None,
                 store: str | None = None, missing_grants=None, policy: dict | None = None) -> dict:
    """The report as a dict: summary, grants, targets, rows (per grant, credential and target), unknown
    entries and findings (every drift, each once).

    ``hosts``: [{"host", "kind" (vm or cluster), "plan": {"targets": [...]}, "checks": registered result}],
    where each plan target is {"target", "format", "path" or "namespace"/"name", "grants"}; ``grants``: the
    store summaries (credential_store_info's ``grants``); ``policy``: the plan's rotation policy (``max_age``
    in seconds), for each grant's place under it (:func:`rotation_policy_state`).
    """
    builder = _Builder(grants, internal_grant)
    generated_at = generated_at or now_utc()
    max_age = (policy or {}).get("max_age")
    for grant in builder.grants.values():
        grant.update(rotation_policy_state(grant, max_age, times.parse(generated_at)))
    host_names = []
    kinds = {"vm": 0, "cluster": 0}
    for host in hosts or []:
        if not isinstance(host, dict) or not isinstance(host.get("host"), str):
            raise AccessReportError("each host must be a dictionary with a host name")
        name = host["host"]
        kind = host.get("kind") if host.get("kind") in kinds else "vm"
        host_names.append(name)
        kinds[kind] += 1
        plan = host.get("plan")
        results = _results_by_target(host.get("checks"))
        if not isinstance(plan, dict) or not isinstance(plan.get("targets"), list):
            where = {"host": name, "kind": kind, "target": None, "location": None}
            builder.targets.append(dict(where, format=None, grants=[], inspected=False, facts={}, entries=None,
                                        unexpected_count=None, error=DRIFT["not_inspected"]))
            builder.finding(where, "not_inspected")
            continue
        for index, target in enumerate(plan["targets"]):
            if isinstance(target, dict):
                builder.target(name, kind, target, _find_result(results, target, index))
        for endpoint in plan.get("endpoints") or []:
            if isinstance(endpoint, dict):
                _endpoint(builder, name, endpoint, host.get("tls"), generated_at)

    counts = {"ok": 0, "pending": 0, "drift": 0, "not inspected": 0}
    for row in builder.rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    by_code: dict[str, int] = {}
    for finding in builder.findings:
        by_code[finding["code"]] = by_code.get(finding["code"], 0) + 1
    by_code = {code: by_code[code] for code in DRIFT if code in by_code}
    summary = {
        "hosts": kinds["vm"], "clusters": kinds["cluster"], "targets": len(builder.targets),
        "grants": len(builder.grants), "entries": len(builder.rows), "ok": counts["ok"],
        "pending": counts["pending"], "not_inspected": counts["not inspected"],
        "drift": len(builder.findings), "drift_by_code": by_code, "unknown_entries": len(builder.unknown),
    }
    summary["line"] = summary_line(summary)
    return {
        "version": REPORT_VERSION,
        "generated_at": generated_at,
        "store": store,
        "internal_grant": internal_grant,
        "missing_grants": list(missing_grants or []),
        "summary": summary,
        "grants": list(builder.grants.values()),
        "targets": builder.targets,
        "endpoints": builder.endpoints,
        "rows": builder.rows,
        "unknown_entries": builder.unknown,
        "findings": builder.findings,
        "drift_codes": dict(DRIFT),
    }


def summary_line(summary: dict) -> str:
    drift = summary["drift"]
    what = "no drift" if drift == 0 else "%d drift finding%s (%s)" % (
        drift, "" if drift == 1 else "s", ", ".join("%s %d" % item for item in summary["drift_by_code"].items()))
    return "%d host%s, %d cluster%s, %d target%s, %d grant%s, %d entries: %d ok, %d pending, %d not inspected; %s" % (
        summary["hosts"], "" if summary["hosts"] == 1 else "s",
        summary["clusters"], "" if summary["clusters"] == 1 else "s",
        summary["targets"], "" if summary["targets"] == 1 else "s",
        summary["grants"], "" if summary["grants"] == 1 else "s",
        summary["entries"], summary["ok"], summary["pending"], summary["not_inspected"], what,
    )


# -- rendering -------------------------------------------------------------------------------------------------
def _yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _text(value) -> str:
    return "-" if value is None or value == "" else str(value)


def _scheme(scheme, cost) -> str:
    if not scheme:
        return "-"
    return scheme if cost is None else "%s (cost %s)" % (scheme, cost)


def _state(row: dict) -> str:
    if row["state"] == "drift":
        return "DRIFT: %s" % DRIFT[row["drift"]]
    if row["state"] == "pending":
        return "pending (rotation phase minted: not on hosts yet)"
    return row["state"]


def tables(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as (title, header, rows) tables of text, shared by the Markdown and HTML renderings."""
    grants = [
        [g["grant"], _text(g["status"]), _text(g["phase"]), _text(g["minted_at"]), _text(g["age_days"]),
         _text(g["rotated_at"]), _text(g.get("grace_until")), _text(g.get("rotation")), _text(g.get("rotation_due_at")),
         _text(g["revoked_at"])]
        for g in report["grants"]
    ]
    rows = [
        [r["host"], r["target"] or "-", r["grant"], _text(r["role"]), r["expected"], _yes_no(r["present"]),
         _scheme(r["hash_scheme"], r["hash_cost"]), _yes_no(r["matches_store"]), _text(r["age_days"]),
         _text(r["rotated_at"]), _text(r.get("last_seen")), _state(r)]
        for r in report["rows"]
    ]
    targets = []
    for t in report["targets"]:
        facts = t.get("facts") or {}
        owner = "%s:%s" % (facts.get("owner") or "-", facts.get("group") or "-") if facts.get("owner") or facts.get("group") else "-"
        targets.append([
            t["host"], t["target"] or "-", t["location"] or "-", _yes_no(facts.get("exists") if t["inspected"] else None),
            _text(facts.get("mode")), owner, _text(facts.get("mtime") or facts.get("updated")), _text(t.get("entries")),
            _text(t.get("unexpected_count")), _text(t.get("error") or facts.get("error")),
        ])
    endpoints = [
        [e["host"], _text(e["kind"]), _text(e["url"]), "HTTPS" if e["tls"] else "HTTP",
         _text(e["certificate_not_after"]), _text(e["certificate_days_left"]),
         "DRIFT: %s" % e["problem"] if e["problem"] else "ok"]
        for e in report.get("endpoints") or []
    ]
    findings = [
        [f["host"], f["target"] or "-", f["location"] or "-", _text(f["grant"]), _text(f["role"]),
         _text(f["fingerprint"]), f["code"], f["detail"]]
        for f in report["findings"]
    ]
    return [
        ("Grants in the credential store",
         ["Grant", "Status", "Rotation phase", "Minted (UTC)", "Age (days)", "Last rotation",
          "Old credential valid until (UTC)", "Rotation policy", "Due (UTC)", "Revoked"], grants),
        ("Access per grant and host",
         ["Host", "Target", "Grant", "Credential", "Expected", "Present", "Hash scheme", "Matches store",
          "Age (days)", "Last rotation", "Last used (UTC)", "State"], rows),
        ("User files and Secrets",
         ["Host", "Target", "Location", "Exists", "Mode", "Owner", "Modified (UTC)", "Entries", "Unknown entries",
          "Problem"], targets),
        ("Endpoints", ["Host", "Listener", "Checked at", "Scheme", "Certificate expires (UTC)", "Days left", "State"],
         endpoints),
        ("Drift", ["Host", "Target", "Location", "Grant", "Credential", "Fingerprint", "Code", "What"], findings),
    ]


def _md_cell(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict) -> str:
    out = [
        "# Prometheus access report",
        "",
        "Generated %s from the credential store%s. No password, user name or hash is in this report; entries "
        "are identified by fingerprint (12 hex digits of HMAC-SHA256 of the user name, under a key drawn for this run only)."
        % (report["generated_at"], " `%s`" % report["store"] if report.get("store") else ""),
        "",
        "**Summary:** %s" % report["summary"]["line"],
    ]
    for title, header, rows in tables(report):
        out += ["", "## %s" % title, ""]
        if not rows:
            out.append("None." if title == "Drift" else "Nothing to show.")
            continue
        out.append("| %s |" % " | ".join(header))
        out.append("|%s|" % "|".join("---" for _unused in header))
        out += ["| %s |" % " | ".join(_md_cell(cell) for cell in row) for row in rows]
    return "\n".join(out) + "\n"


_CSS = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #999;padding:.25em .5em;text-align:left;font-size:.9em}th{background:#eee}"
    ".drift{background:#fdd}.pending{background:#ffd}.ok{background:#dfd}"
)


def _row_class(title: str, last: str) -> str:
    if title == "Drift" or last.startswith("DRIFT"):
        return "drift"
    if last.startswith("pending"):
        return "pending"
    return "ok" if last == "ok" else ""


def render_html(report: dict) -> str:
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Prometheus access report</title>',
        "<style>%s</style></head><body>" % _CSS,
        "<h1>Prometheus access report</h1>",
        "<p>Generated %s from the credential store%s. No password, user name or hash is in this report; entries "
        "are identified by fingerprint (12 hex digits of HMAC-SHA256 of the user name, under a key drawn for this run only).</p>"
        % (esc(report["generated_at"]), " <code>%s</code>" % esc(report["store"]) if report.get("store") else ""),
        "<p><strong>Summary:</strong> %s</p>" % esc(report["summary"]["line"]),
    ]
    for title, header, rows in tables(report):
        out.append("<h2>%s</h2>" % esc(title))
        if not rows:
            out.append("<p>%s</p>" % ("None." if title == "Drift" else "Nothing to show."))
            continue
        out.append("<table><thead><tr>%s</tr></thead><tbody>" % "".join("<th>%s</th>" % esc(h) for h in header))
        for row in rows:
            css = _row_class(title, row[-1])
            out.append('<tr%s>%s</tr>' % (' class="%s"' % css if css else "", "".join("<td>%s</td>" % esc(c) for c in row)))
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
