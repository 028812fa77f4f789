"""Probe one molecule host while credentials rotate: does it ever refuse a credential the store calls valid?

    probe.py --store S --identity K --grant team-a --host H --endpoint URL [--endpoint URL] --out FILE
             --stop STOPFILE [--max-seconds N] [--interval S]

Each round reads the credential store (the collection's own code, with the operator identity), takes the
grant's credentials that grant_view() calls valid, asks each endpoint with each of them from inside the host
(`podman exec -i HOST curl -K -`: the credential goes through stdin, never argv), then reads the store again.
A sample *counts* only when the credential was valid in both reads. Each sample is one line of FILE, without
secrets: time, endpoint, role, fingerprint (first 12 hex digits of SHA-256 of the user name), phase before and
after, whether it counts, whether the store required every host to hold it (see below), and the HTTP status
(000: no connection). At the end (stop file, or --max-seconds) it writes FILE.json with the counts.

"required": grant_view() calls a rotation's new credential valid only from phase `added` on, when every host
holds it (in `minted` it is merely `present` on the hosts done so far), so the probe asks with it from then on.
The `pending_minted_401` counter stays as a guard: a 401 for a new credential the store called valid while it
said `minted` would be a bug in grant_view(). A violation is a counted, required sample with 401.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time


def _import_store():
    for entry in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
        if entry and entry not in sys.path:
            sys.path.append(entry)
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.promaccess.core.plugins.module_utils._store import age
    from ansible_collections.promaccess.core.plugins.module_utils._store import credstore

    return age, credstore


def fingerprint(username: str) -> str:
    return hashlib.sha256(username.encode()).hexdigest()[:12]


def valid_now(store, credstore, grant: str) -> tuple[str | None, dict]:
    """The grant's phase and its valid credentials by fingerprint, as the store says right now."""
    record = store.read().get("grants", {}).get(grant, {})
    view = credstore.grant_view(grant, record)
    return view["phase"], {fingerprint(c["username"]): c for c in view["valid"]}


#: The CA certificate the playbooks install on each host (promaccess_tls_dir's ca.crt).
CA_FILE = "/etc/promaccess/tls/ca.crt"


def ask(host: str, url: str, username: str, password: str) -> str:
    quoted = (username + ":" + password).replace("\\", "\\\\").replace('"', '\\"')
    config = 'user = "%s"\nurl = "%s"\n' % (quoted, url)
    if url.startswith("https://"):
        # Over TLS, the certificate is checked against the CA the playbook put on the host.
        config += 'cacert = "%s"\n' % CA_FILE
    try:
        done = subprocess.run(
            ["podman", "exec", "-i", host, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
             "--max-time", "5", "-K", "-"],
            input=config, capture_output=True, text=True, timeout=30, check=False,
        )
    except subprocess.TimeoutExpired:
        return "000"
    status = done.stdout.strip()[-3:]
    return status if status.isdigit() else "000"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--grant", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--endpoint", action="append", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--max-seconds", type=float, default=1800)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args()

    age, credstore = _import_store()
    ids = age.read_identities(args.identity)
    store = credstore.CredentialStore(args.store, ids, list(ids.public))
    counts = {"samples": 0, "counted": 0, "rounds": 0, "by_status": {}, "by_role": {}, "violations": 0,
              "pending_minted_401": 0, "connection_failures": 0, "other": 0, "phases_seen": []}
    started = time.monotonic()
    with open(args.out, "w", encoding="utf-8") as out:
        out.write("# time endpoint role fingerprint phase_before phase_after counted required status\n")
        while not os.path.exists(args.stop) and time.monotonic() - started < args.max_seconds:
            phase_before, before = valid_now(store, credstore, args.grant)
            results = []
            for fp, cred in before.items():
                for url in args.endpoint:
                    results.append((time.time(), url, cred["role"], fp, ask(args.host, url, cred["username"], cred["password"])))
            phase_after, after = valid_now(store, credstore, args.grant)
            counts["rounds"] += 1
            for phase in (phase_before, phase_after):
                if str(phase) not in counts["phases_seen"]:
                    counts["phases_seen"].append(str(phase))
            for when, url, role, fp, status in results:
                counted = fp in after
                required = counted and not (role == "pending" and "minted" in (phase_before, phase_after))
                counts["samples"] += 1
                counts["by_status"][status] = counts["by_status"].get(status, 0) + 1
                if counted:
                    counts["counted"] += 1
                    key = "%s %s" % (role, status)
                    counts["by_role"][key] = counts["by_role"].get(key, 0) + 1
                    if status == "401" and required:
                        counts["violations"] += 1
                    elif status == "401":
                        counts["pending_minted_401"] += 1
                    elif status == "000":
                        counts["connection_failures"] += 1
                    elif status != "200":
                        counts["other"] += 1
                out.write("%.3f %s %s %s %s %s %s %s %s\n" % (
                    when, url, role, fp, phase_before, phase_after, int(counted), int(required), status))
            out.flush()
            time.sleep(args.interval)
    counts["seconds"] = round(time.monotonic() - started, 1)
    with open(args.out + ".json", "w", encoding="utf-8") as summary:
        json.dump(counts, summary, indent=1, sort_keys=True)
    print(json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
