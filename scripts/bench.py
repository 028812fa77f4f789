"""Benchmark: our hash-once approach against one community.general.htpasswd task per user per host; and the
planning time of the pre-planner per-host template against promaccess.core.fleet_plan.

    .venv/bin/python scripts/bench.py [--hosts 10,50] [--users 10,200] [--sizes 2x3,...] [--forks 5]
                                      [--peer-budget SECONDS] [--peer-max-hosts K] [--output docs/benchmarks.md]
                                      [--only htpasswd|planning] [--planning 100,1000] [--planning-grants 200]
                                      [--planning-budget SECONDS] [--planning-max-hosts K]

Planning (run first; ``--only planning`` runs it alone and rewrites only its section of the report, kept between
markers): for each host count, an inventory of N hosts in group prometheus with G grants whose host patterns vary,
planned by tests/bench/planning_legacy.yml (every host renders tests/bench/legacy/host_plan.json.j2, the template of
commit 7e549ce) and by tests/bench/planning_planner.yml (one fleet_plan task on the controller), with the same fake
credential views; the tests/bench/callback_plugins/bench_timer callback times the planning task, the wall time is
the ansible-playbook run, and tests/bench/plan_direct.py times plan_fleet alone. When the old way's planning task
would take longer than --planning-budget (estimated from a probe on as many hosts as run at once), it runs on the
first k hosts and is scaled by N/k, marked "extrapolated from k of N hosts". Raw figures: <state-dir>/planning.json.

``make bench`` runs it with the defaults (every combination of 10 and 50 hosts with 10 and 200 users). Each
fleet is simulated on this machine: every inventory host uses the local connection and owns a folder
``state/bench/<H>x<U>/<approach>/hosts/hNNN/`` holding its htpasswd file. For each size, and for both approaches
in turn (ours, then the peer, phase by phase), it measures

1. grant: U users onto H hosts that have none;
2. idempotent: the same run again (ours must report changed=0: asserted);
3. rotate: a new credential for one user on every host (ours: the store mints it, one bcrypt hash on the
   controller, then the one htpasswd_users task per host adds it and, in a second pass, removes the old one;
   the peer: that user's new plaintext password, and every user task on every host runs again).

Wall time is the ``ansible-playbook`` run. bcrypt operations are counted, not computed: the playbooks run with
tests/bench/bcrypt_counter on PYTHONPATH, whose sitecustomize.py wraps bcrypt.hashpw/checkpw (what
passlib's bcrypt backend calls to hash and to verify) in the controller and in every module process, and appends
one line per call to a log. Calls at cost 4 or 5 are passlib's backend self-test when it loads, counted apart.

The peer runs one bcrypt operation per user per host per run (~0.3 s each at cost 12). When a peer run would
take longer than --peer-budget seconds (estimated from the peer runs measured so far), it runs on the first k
of the H hosts and its time, bcrypt operations and changes are scaled by H/k; the report marks such cells
"extrapolated from k of N hosts". Ours is always measured on every host. Both use the same --forks.

The report (--output) holds the command, machine facts (and how much CPU other work took meanwhile), a
side-by-side table with peer/ours ratios, and the checks of our claims; --json keeps the raw figures. Both are
written after each size, so a stopped run leaves what it measured (marked partial). Secrets stay in the state
folder (files 0600), which is made afresh for each size. Sizes and budget also come from BENCH_HOSTS,
BENCH_USERS, BENCH_SIZES, BENCH_FORKS and BENCH_PEER_BUDGET (see the Makefile).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import string
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "tests" / "bench"
COUNTER_DIR = BENCH_DIR / "bcrypt_counter"
COUNTER_ENV = "PROMACCESS_BENCH_BCRYPT_LOG"
APPROACHES = ("ours", "peer")
PHASES = ("grant", "idempotent", "rotate")
PHASE_TITLES = {
    "grant": "first grant",
    "idempotent": "idempotent re-run",
    "rotate": "rotate one user",
}
#: passlib checks its bcrypt backend with cost-4 and cost-5 hashes when it loads it: not password work.
SELFTEST_MAX_COST = 5
#: Peer seconds per user on one host, one task at a time, before any peer run was measured (about 0.95 s on the
#: project's 2-CPU machines); divided by the hosts that run at once, then replaced by what the runs measure.
SERIAL_PEER_RATE = 0.95
ALPHABET = string.ascii_letters + string.digits


class BenchError(Exception):
    """A run that failed or broke an asserted claim; the message names the log, never a secret."""


# -- counting ----------------------------------------------------------------------------------------------
def parse_counter(path: Path) -> dict:
    """Sum up a bcrypt counter log (lines ``<function> <cost> <seconds> <pid> <where> <program>``).

    ``ops`` are the calls at a working cost (above SELFTEST_MAX_COST), split into ``controller`` and ``hosts``
    (``per_host`` per inventory host); ``seconds`` is the time spent in them; ``selftest`` counts the backend
    self-test calls.
    """
    out = {"ops": 0, "controller": 0, "hosts": 0, "per_host": {}, "seconds": 0.0, "selftest": 0, "calls": 0,
           "costs": {}}
    if not path.exists():
        return out
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        cost, seconds, where = int(fields[1]), float(fields[2]), fields[4]
        out["calls"] += 1
        if 0 <= cost <= SELFTEST_MAX_COST:
            out["selftest"] += 1
            continue
        out["ops"] += 1
        out["seconds"] += seconds
        out["costs"][str(cost)] = out["costs"].get(str(cost), 0) + 1
        if where == "controller":
            out["controller"] += 1
        else:
            out["hosts"] += 1
            out["per_host"][where] = out["per_host"].get(where, 0) + 1
    return out


def module_operations(result: dict, action: str) -> dict:
    """hash_operations and verify_operations that ``action`` reported, summed over hosts (ansible.posix.json)."""
    total = {"hash_operations": 0, "verify_operations": 0, "tasks": 0}
    for play in result.get("plays", []):
        for task in play.get("tasks", []):
            for host_result in task.get("hosts", {}).values():
                if host_result.get("action") != action:
                    continue
                total["tasks"] += 1
                total["hash_operations"] += int(host_result.get("hash_operations") or 0)
                total["verify_operations"] += int(host_result.get("verify_operations") or 0)
    return total


# -- fleets ------------------------------------------------------------------------------------------------
def host_name(index: int) -> str:
    return "bench-h%03d" % index


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_inventory(root: Path, hosts: int, python: str) -> Path:
    """An inventory of ``hosts`` local hosts, each with its own folder, plus the controller (localhost)."""
    members = {}
    for index in range(hosts):
        folder = root / "hosts" / ("h%03d" % index)
        folder.mkdir(parents=True, exist_ok=True)
        members[host_name(index)] = {"bench_htpasswd": str(folder / "htpasswd")}
    local = {"ansible_connection": "local", "ansible_python_interpreter": python}
    inventory = {
        "all": {
            "hosts": {"localhost": dict(local)},
            "children": {"bench_hosts": {"hosts": members, "vars": dict(local)}},
        }
    }
    path = root / "inventory.json"
    write_private(path, json.dumps(inventory, indent=1))
    return path


def new_secret(length: int = 64) -> str:
    return "".join(secrets.choice(ALPHABET) for _index in range(length))


def write_peer_users(path: Path, users: list) -> None:
    write_private(path, json.dumps({"bench_peer_users": users}))


def make_identity(path: Path) -> None:
    from pyrage import x25519  # pylint: disable=import-outside-toplevel

    identity = x25519.Identity.generate()
    write_private(path, "# public key: %s\n%s\n" % (identity.to_public(), identity))


# -- running -----------------------------------------------------------------------------------------------
def collections_path(fetch: bool = True) -> str:
    """This checkout under its FQCN (as the Makefile links it) and the collections fetch-collections.sh unpacks
    (not fetched when ``fetch`` is false: the planning bench needs none of them)."""
    if REPO.parts[-3:] == ("ansible_collections", "promaccess", "core"):
        own = REPO.parents[2]
    else:
        own = REPO / "build" / "collections"
        link = own / "ansible_collections" / "promaccess" / "core"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(REPO)
    if not fetch:
        return str(own)
    fetched = subprocess.run(
        [str(REPO / "scripts" / "fetch-collections.sh")], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip().splitlines()[-1]
    return "%s:%s" % (own, fetched)


class Runner:
    """Runs one bench playbook with the bcrypt counter and the JSON callback, and sums up what it did."""

    def __init__(self, state: Path, forks: int, collections: str, ansible_playbook: str):
        self.state = state
        self.forks = forks
        self.collections = collections
        self.ansible_playbook = ansible_playbook

    def run(self, name: str, root: Path, playbook: str, inventory: Path, extra: list, limit: str | None) -> dict:
        logs = root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        counter = logs / ("%s.bcrypt" % name)
        output = logs / ("%s.json" % name)
        errors = logs / ("%s.stderr" % name)
        for stale in (counter, output, errors):
            if stale.exists():
                stale.unlink()
        env = dict(os.environ)
        pythonpath = [str(COUNTER_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        tmp = self.state / "tmp"
        env.update(
            PYTHONPATH=os.pathsep.join(pythonpath),
            ANSIBLE_COLLECTIONS_PATH=self.collections,
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_FORKS=str(self.forks),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_LOCAL_TEMP=str(tmp / "local"),
            ANSIBLE_REMOTE_TEMP=str(tmp / "remote"),
            ANSIBLE_HOST_KEY_CHECKING="0",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env[COUNTER_ENV] = str(counter)
        cmd = [self.ansible_playbook, "-i", str(inventory)]
        for vars_file in extra:
            cmd += ["-e", "@%s" % vars_file]
        if limit:
            cmd += ["--limit", limit]
        cmd.append(str(BENCH_DIR / playbook))
        old_umask = os.umask(0o077)
        try:
            with open(output, "w", encoding="utf-8") as out, open(errors, "w", encoding="utf-8") as err:
                started = time.perf_counter()
                proc = subprocess.run(cmd, env=env, stdout=out, stderr=err, cwd=root, check=False)
                wall = time.perf_counter() - started
        finally:
            os.umask(old_umask)
        try:
            result = json.loads(output.read_text(encoding="utf-8"))
        except ValueError:
            result = {}
        stats = result.get("stats", {})
        if proc.returncode != 0 or not stats:
            raise BenchError(
                "%s failed (exit %d); see %s and %s" % (name, proc.returncode, output, errors)
            )
        failed = sorted(h for h, s in stats.items() if s.get("failures") or s.get("unreachable"))
        if failed:
            raise BenchError("%s: hosts failed (%s); see %s" % (name, ", ".join(failed), output))
        bench_hosts = {h: s for h, s in stats.items() if h != "localhost"}
        return {
            "wall": wall,
            "bcrypt": parse_counter(counter),
            "changed": sum(int(s.get("changed", 0)) for s in stats.values()),
            "changed_hosts": sum(1 for s in bench_hosts.values() if s.get("changed")),
            "hosts_run": len(bench_hosts),
            "module": module_operations(result, "promaccess.core.htpasswd_users"),
        }


def scale(measured: dict, hosts: int) -> dict:
    """A peer run on k of ``hosts`` hosts, scaled linearly to all of them (host-side figures only)."""
    k = measured["hosts_run"]
    if k >= hosts:
        return dict(measured, extrapolated=False, measured_hosts=k)
    factor = hosts / k
    bcrypt = dict(measured["bcrypt"])
    bcrypt["hosts"] = round(bcrypt["hosts"] * factor)
    bcrypt["ops"] = bcrypt["controller"] + bcrypt["hosts"]
    bcrypt["seconds"] = bcrypt["seconds"] * factor
    return dict(
        measured,
        wall=measured["wall"] * factor,
        measured_wall=measured["wall"],
        bcrypt=bcrypt,
        measured_bcrypt=measured["bcrypt"],
        changed=round(measured["changed"] * factor),
        changed_hosts=round(measured["changed_hosts"] * factor),
        extrapolated=True,
        measured_hosts=k,
    )


def peer_sample_size(hosts: int, users: int, rate: float, budget: float, forks: int, cap: int | None) -> int:
    """How many hosts the peer can run on within ``budget`` seconds per run (at least as many as run at once)."""
    floor = max(1, min(hosts, forks, os.cpu_count() or 1))
    if cap is not None:
        return max(1, min(hosts, cap))
    if budget <= 0:
        return hosts
    fits = int(budget // max(rate * users, 1e-9))
    return max(floor, min(hosts, fits))


def bench_cell(runner: Runner, hosts: int, users: int, args, rates: dict) -> dict:
    """Both approaches, phase by phase, on fresh H-host fleets with U users."""
    cell = runner.state / ("%dx%d" % (hosts, users))
    if cell.exists():
        shutil.rmtree(cell)
    python = sys.executable
    ours_root, peer_root = cell / "ours", cell / "peer"
    ours_inventory = write_inventory(ours_root, hosts, python)
    peer_inventory = write_inventory(peer_root, hosts, python)

    identity = ours_root / "key.txt"
    make_identity(identity)
    grants = ["grant-%03d" % index for index in range(users)]
    ours_vars = ours_root / "vars.json"
    write_private(ours_vars, json.dumps({
        "bench_grants": grants,
        "bench_store": str(ours_root / "credentials.age"),
        "bench_identity": str(identity),
        "bench_rotate_grant": grants[0],
    }))
    peer_users = [{"name": "user-%03d" % index, "password": new_secret()} for index in range(users)]
    peer_vars = peer_root / "vars.json"
    write_peer_users(peer_vars, peer_users)

    rate = rates.get("peer", SERIAL_PEER_RATE / max(1, min(hosts, args.forks, os.cpu_count() or 1)))
    sample = peer_sample_size(hosts, users, rate, args.peer_budget, args.forks, args.peer_max_hosts)
    limit = None if sample >= hosts else ":".join(host_name(i) for i in range(sample))
    results = {"hosts": hosts, "users": users, "peer_sample": sample, "phases": {}}
    for phase in PHASES:
        say("%dx%d %s: ours" % (hosts, users, phase))
        playbook = "ours_rotate.yml" if phase == "rotate" else "ours_access.yml"
        ours = runner.run("ours-" + phase, ours_root, playbook, ours_inventory, [ours_vars], None)
        if phase == "idempotent" and ours["changed"] != 0:
            raise BenchError("%dx%d: our idempotent re-run changed %d tasks (expected 0); see %s"
                             % (hosts, users, ours["changed"], ours_root / "logs"))
        ours = dict(ours, extrapolated=False, measured_hosts=ours["hosts_run"])
        say("  %.1f s, bcrypt %d (controller %d, hosts %d), changed %d"
            % (ours["wall"], ours["bcrypt"]["ops"], ours["bcrypt"]["controller"], ours["bcrypt"]["hosts"],
               ours["changed"]))

        if phase == "rotate":
            peer_users[0]["password"] = new_secret()
            write_peer_users(peer_vars, peer_users)
        say("%dx%d %s: peer on %d of %d hosts" % (hosts, users, phase, sample, hosts))
        measured = runner.run("peer-" + phase, peer_root, "peer_htpasswd.yml", peer_inventory, [peer_vars], limit)
        rates["peer"] = measured["wall"] / max(1, measured["hosts_run"] * users)
        peer = scale(measured, hosts)
        say("  %.1f s%s, bcrypt %d, changed %d"
            % (peer["wall"], " (extrapolated)" if peer["extrapolated"] else "", peer["bcrypt"]["ops"],
               peer["changed"]))
        results["phases"][phase] = {"ours": ours, "peer": peer}
    return results


# -- planning: the old per-host template against the planner ----------------------------------------------
STORE_START = "<!-- store:start"
STORE_END = "<!-- store:end -->"
PLANNING_START = "<!-- planning:start (scripts/bench.py --only planning rewrites this section) -->"
PLANNING_END = "<!-- planning:end -->"
PLANNING_WAYS = ("legacy", "planner")
PLANNING_TASKS = {"legacy": "Plan this host", "planner": "Plan the fleet"}
PLANNING_PLAYBOOKS = {"legacy": "planning_legacy.yml", "planner": "planning_planner.yml"}
#: The issue's requirement: the planner plans 1,000 hosts x 200 grants within this many seconds.
PLANNER_LIMIT = (1000, 200, 5.0)
#: A dummy age recipient (the planner requires one per grant; nothing is encrypted to it here).
DUMMY_RECIPIENT = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"
PLANNING_SUBGROUPS = ("prom_a", "prom_b", "prom_c", "prom_d")
TIMER_ENV = "PROMACCESS_BENCH_TIMER"


def plan_host_name(index: int) -> str:
    return "h%04d" % index


def grant_patterns(index: int, hosts: int) -> list:
    """Host patterns that vary from grant to grant, so that resolving them is real work for both ways: the whole
    inventory, the group less one host (a different one per grant), subgroups, intersections, wildcards."""
    other = plan_host_name((index * 7 + 1) % hosts)
    return [
        ["all"],
        ["prometheus:!%s" % other],
        ["prom_a"],
        ["prom_b", "prom_c"],
        ["prometheus:&prom_d"],
        ["h00*"],
        ["prometheus:!prom_a:!%s" % other],
        ["prom_a", "prom_d", other],
    ][index % 8]


def fake_view(grant: str, index: int) -> dict:
    """What the credential store's view of a grant looks like (random fake values): users for the files,
    present and refused credentials for the checks. Every 10th grant is mid-rotation (two present), every 20th
    has a refused credential still known."""
    def cred(role: str) -> dict:
        return {"username": "%s-%s" % (grant, new_secret(6).lower()), "password": new_secret(32), "role": role,
                "password_hash": "$2b$12$" + new_secret(53)}
    present = [cred("current")] + ([cred("next")] if index % 10 == 0 else [])
    refused = [cred("retired")] if index % 20 == 0 else []
    users = [{"name": c["username"], "password_hash": c["password_hash"], "state": "present"} for c in present]
    users += [{"name": c["username"], "password_hash": c["password_hash"], "state": "absent"} for c in refused]
    return {"users": users, "present": present, "refused": refused}


def write_planning_inventory(root: Path, hosts: int, grants: int, python: str) -> Path:
    """N Prometheus hosts (local connection) in four subgroups, ``grants`` grants in the group variables of all,
    the settings the old template read from role defaults set explicitly (both ways see the same), and on the
    controller fake store views for every grant, the internal one and two revoked ones."""
    import yaml  # pylint: disable=import-outside-toplevel

    names = [plan_host_name(i) for i in range(hosts)]
    grant_list = [{"name": "g%03d" % i, "auth": ("both", "nginx", "native")[i % 3],
                   "recipients": [DUMMY_RECIPIENT], "hosts": grant_patterns(i, hosts)} for i in range(grants)]
    revoked = ["x000", "x001"]
    views = {"internal": fake_view("internal", 1)}
    views.update({g["name"]: fake_view(g["name"], i) for i, g in enumerate(grant_list)})
    revoked_views = {}
    for name in revoked:
        view = fake_view(name, 20)
        revoked_views[name] = dict(view, present=[], refused=view["present"] + view["refused"],
                                   users=[dict(u, state="absent") for u in view["users"]])
    store_grants = [{"grant": g, "status": "active"} for g in views] + [
        {"grant": g, "status": "revoked"} for g in revoked]
    local = {"ansible_connection": "local", "ansible_python_interpreter": python}
    inventory = {"all": {
        "vars": {
            "promaccess_grants": grant_list,
            "promaccess_internal_grant": "internal",
            "promaccess_modes": ["native", "nginx"],
            "promaccess_nginx_listen": ["8080"],
            "promaccess_nginx_port": "8080",
            "promaccess_nginx_location": "/prometheus/",
            "promaccess_external_url": "http://prometheus.bench.test:8080/prometheus/",
            "promaccess_prometheus_listen_address": "127.0.0.1:9090",
            # The old per-host template knows no TLS: both ways plan the same plain-HTTP listeners (the opt-out).
            "promaccess_tls": "plain_http",
        },
        "hosts": {"localhost": dict(local, bench_views=views, bench_revoked_views=revoked_views,
                                    bench_store_grants=store_grants)},
        "children": {"prometheus": {
            "vars": dict(local),
            "children": {group: {"hosts": {n: None for i, n in enumerate(names)
                                           if i % len(PLANNING_SUBGROUPS) == g}}
                         for g, group in enumerate(PLANNING_SUBGROUPS)},
        }},
    }}
    path = root / "inventory.yml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    write_private(path, yaml.dump(inventory, Dumper=dumper, default_flow_style=False, sort_keys=False))
    return path


def timed_task(timer: dict, name: str) -> dict:
    """The named task of a bench_timer log: seconds from its start to its last host result, hosts and grants."""
    for task in timer.get("tasks", []):
        if task["name"] == name and task["end"] is not None:
            planned: dict = {}
            for host, record in task["hosts"].items():
                if "planned" in record:
                    planned.update(record["planned"])
                elif "grants" in record:
                    planned[host] = record["grants"]
            return {"seconds": task["end"] - task["start"], "hosts": len(planned),
                    "grants_planned": sum(planned.values()), "planned": planned,
                    "failed": sorted(h for h, r in task["hosts"].items() if r["status"] != "ok")}
    raise BenchError("no timing of task %r" % name)


def run_planning(way: str, root: Path, inventory: Path, forks: int, collections: str, ansible_playbook: str,
                 limit: str | None) -> dict:
    """One planning playbook: its wall time and, from the bench_timer callback, the planning task's time."""
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tag = "%s-%s" % (way, "all" if limit is None else "sample")
    timer_path, out_path, err_path = (logs / ("%s.%s" % (tag, ext)) for ext in ("timer.json", "stdout", "stderr"))
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=collections,
        ANSIBLE_CALLBACK_PLUGINS=str(BENCH_DIR / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="bench_timer",
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(root / "tmp"),
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env[TIMER_ENV] = str(timer_path)
    cmd = [ansible_playbook, "-i", str(inventory)]
    if limit:
        cmd += ["--limit", limit]
    cmd.append(str(BENCH_DIR / PLANNING_PLAYBOOKS[way]))
    with open(out_path, "w", encoding="utf-8") as out, open(err_path, "w", encoding="utf-8") as err:
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=err, cwd=root, check=False)
        wall = time.perf_counter() - started
    if proc.returncode != 0 or not timer_path.exists():
        raise BenchError("%s planning failed (exit %d); see %s and %s" % (way, proc.returncode, out_path, err_path))
    task = timed_task(json.loads(timer_path.read_text(encoding="utf-8")), PLANNING_TASKS[way])
    if task["failed"]:
        raise BenchError("%s planning failed on %s; see %s" % (way, ", ".join(task["failed"]), out_path))
    return {"wall": wall, "task": task["seconds"], "hosts_run": task["hosts"],
            "grants_planned": task["grants_planned"], "planned": task["planned"]}


def scale_planning(measured: dict, hosts: int) -> dict:
    """The old way run on k of ``hosts`` hosts, scaled to all of them: the planning task's time by N/k (each
    host renders the same template against the same whole inventory), the wall time by adding the task time of
    the N-k hosts not run (the rest of the run, inventory loading included, already covered the N hosts)."""
    k = measured["hosts_run"]
    if k >= hosts:
        return dict(measured, extrapolated=False, measured_hosts=k)
    factor = hosts / k
    return dict(
        measured,
        task=measured["task"] * factor,
        wall=measured["wall"] + measured["task"] * (factor - 1),
        measured_task=measured["task"],
        measured_wall=measured["wall"],
        grants_planned=round(measured["grants_planned"] * factor),
        extrapolated=True,
        measured_hosts=k,
    )


def plan_direct(inventory: Path, collections: str, repeat: int = 3) -> dict:
    """plan_fleet called in Python on the same inventory (tests/bench/plan_direct.py): the pure function's cost."""
    own = collections.split(":")[0]
    proc = subprocess.run([sys.executable, str(BENCH_DIR / "plan_direct.py"), str(inventory), own,
                           "--repeat", str(repeat)], capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise BenchError("plan_direct.py failed: %s" % proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_planning(state: Path, hosts: int, grants: int, args, collections: str, ansible_playbook: str) -> dict:
    """Both ways of planning on one H-host inventory with G grants, one after the other."""
    root = state / "plan" / ("%dx%d" % (hosts, grants))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    inventory = write_planning_inventory(root, hosts, grants, sys.executable)
    cell = {"hosts": hosts, "grants": grants, "ways": {}}

    say("planning %dx%d: planner" % (hosts, grants))
    planner = run_planning("planner", root, inventory, args.forks, collections, ansible_playbook, None)
    planner = dict(planner, extrapolated=False, measured_hosts=planner["hosts_run"])
    say("  task %.2f s, wall %.1f s" % (planner["task"], planner["wall"]))

    # The old way: a probe on as many hosts as run at once tells the seconds per host; within the budget it then
    # runs on every host, else on the sample that fits (at least the probe), scaled by N/k.
    probe_k = max(1, min(hosts, args.forks, os.cpu_count() or 1))
    limit = "localhost:prometheus[0:%d]"
    if args.planning_max_hosts is not None:
        sample = max(1, min(hosts, args.planning_max_hosts))
    else:
        say("planning %dx%d: old template, probe on %d hosts" % (hosts, grants, probe_k))
        probe = run_planning("legacy", root, inventory, args.forks, collections, ansible_playbook,
                             None if probe_k >= hosts else limit % (probe_k - 1))
        rate = probe["task"] / max(1, probe["hosts_run"]) / grants
        sample = peer_sample_size(hosts, grants, rate, args.planning_budget, args.forks, None)
        say("  %.2f s per host: %s" % (probe["task"] / max(1, probe["hosts_run"]),
                                       "all hosts" if sample >= hosts else "%d of %d hosts" % (sample, hosts)))
    if args.planning_max_hosts is None and sample <= probe_k:
        legacy = probe
    else:
        say("planning %dx%d: old template on %d of %d hosts" % (hosts, grants, sample, hosts))
        legacy = run_planning("legacy", root, inventory, args.forks, collections, ansible_playbook,
                              None if sample >= hosts else limit % (sample - 1))
    legacy = scale_planning(legacy, hosts)
    say("  task %.1f s%s, wall %.1f s" % (legacy["task"], " (extrapolated)" if legacy["extrapolated"] else "",
                                          legacy["wall"]))

    # Both ways must agree on what they planned, host by host (on the hosts the old way ran on).
    disagree = sorted(h for h, n in legacy["planned"].items() if planner["planned"].get(h) != n)
    if planner["hosts_run"] != hosts or disagree:
        raise BenchError("planning %dx%d: the ways disagree (planner planned %d hosts; grants differ on %s)"
                         % (hosts, grants, planner["hosts_run"], ", ".join(disagree[:5]) or "none"))
    direct = plan_direct(inventory, collections)
    say("  plan_fleet in Python: %.2f s (best of %d)" % (direct["best"], len(direct["runs"])))
    for entry in (planner, legacy):
        entry.pop("planned", None)
    cell["ways"] = {"planner": planner, "legacy": legacy}
    cell["direct"] = direct
    return cell


def planner_claim(cells: list) -> tuple | None:
    hosts, grants, limit = PLANNER_LIMIT
    for cell in cells:
        if cell["hosts"] == hosts and cell["grants"] == grants:
            task = cell["ways"]["planner"]["task"]
            return ("%s hosts × %d grants: the planner's planning task takes at most %s" % (
                format(hosts, ","), grants, fmt_seconds(limit)), fmt_short(task), task <= limit)
    return None


def run_conditions(meta: dict, what: str) -> list:
    """The closing rows of the machine table (load, CPU taken by other work) and the partial-run and note lines."""
    lines = ["| load average (1, 5, 15 min) at start; at end | %s; %s |" % (meta["load_start"], meta["load_end"])]
    if meta.get("other_cpu") is not None:
        lines.append("| CPU used by other work during the run | %s CPU-seconds, %.0f%% of the machine |"
                     % (format(meta["other_cpu"], ".0f"), meta["other_share"] * 100))
    lines.append("")
    if meta.get("remaining"):
        lines += ["**Partial %s**: the run had not measured %s yet when this was written."
                  % (what, ", ".join(meta["remaining"])), ""]
    if meta.get("note"):
        lines += textwrap.wrap(meta["note"], 110) + [""]
    return lines


def render_planning(cells: list, facts: dict, meta: dict) -> str:
    """The Planning section, between its markers (so that it can be rewritten alone)."""
    lines = [
        PLANNING_START,
        "## Planning time: the per-host template against the planner",
        "",
        "Before the fleet planner, every Prometheus host planned itself: it rendered",
        "`roles/_provision/templates/host_plan.json.j2` (kept as `tests/bench/legacy/host_plan.json.j2`), which",
        "runs the `ansible.builtin.inventory_hostnames` lookup once per grant, so planning grew as hosts × grants",
        "(and each lookup walks the whole inventory). Now `promaccess.core.fleet_plan` plans the whole fleet once",
        "on the controller. Both were measured side by side in one run, on the same generated inventory: H hosts in",
        "group `prometheus` (local connection, four subgroups), G grants in the group variables of `all` whose host",
        "patterns vary (`all`, the group less one host, subgroups, intersections, wildcards), modes native and",
        "nginx, the settings the old template took from role defaults set explicitly, and fake credential views",
        "(random values; every 10th grant mid-rotation, every 20th with a refused credential, two revoked grants)",
        "set as facts on the controller. No store, no host is touched: this is the planning alone.",
        "",
        "```console",
        "$ %s" % meta["command"],
        "```",
        "",
        "On %s, taking %s in all." % (meta["started"], fmt_seconds(meta["duration"])),
        "",
        "| machine | |",
        "| --- | --- |",
        "| CPUs | %s (%s) |" % (facts["cpus"], facts["cpu_model"]),
        "| system | %s |" % facts["platform"],
        "| Python | %s |" % facts["python"],
        "| ansible-core | %s |" % facts["ansible-core"],
        "| Jinja2 | %s |" % facts.get("jinja2", "unknown"),
        "| forks (both ways) | %s |" % facts["forks"],
    ]
    lines += run_conditions(meta, "section")
    lines += [
        "*Planning task*: from the start of the planning task to its last host's result, as the `bench_timer`",
        "callback (`tests/bench/callback_plugins/`) saw them: for the old way the `set_fact` rendering the template",
        "on every host (linear strategy, the forks above), for the planner the one `fleet_plan` task with",
        "`with_credentials: true`. *Wall*: the whole `ansible-playbook` run (start-up, inventory, the play that sets",
        "the views, the planning task). *plan_fleet alone*: the planner's pure function called in Python on the same",
        "inventory (`tests/bench/plan_direct.py`, fastest of %d runs), without Ansible's variable handling."
        % max([len(c["direct"]["runs"]) for c in cells] or [3]),
        "The planner's wall also holds one `fleet_part` expansion of a host's part (as `host_plan.yml` does), and the",
        "`bench_timer` callback reading the task's result once after the task (to compare both ways' plans).",
        "",
        "| hosts × grants | planning task, old template | planning task, planner | task old/planner "
        "| wall, old template | wall, planner | wall old/planner | plan_fleet alone | old way measured on |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for cell in cells:
        legacy, planner = cell["ways"]["legacy"], cell["ways"]["planner"]
        star = "*" if legacy["extrapolated"] else ""
        measured_on = ("**extrapolated from %d of %d hosts**" % (legacy["measured_hosts"], cell["hosts"])
                       if legacy["extrapolated"] else "all %d hosts" % cell["hosts"])
        lines.append("| %s × %d | %s%s | %s | %s | %s%s | %s | %s | %s | %s |" % (
            format(cell["hosts"], ","), cell["grants"], fmt_short(legacy["task"]), star,
            fmt_short(planner["task"]), fmt_ratio(legacy["task"], planner["task"], "×"),
            fmt_short(legacy["wall"]), star, fmt_short(planner["wall"]),
            fmt_ratio(legacy["wall"], planner["wall"], "×"), fmt_short(cell["direct"]["best"]), measured_on))
    sampled = [c for c in cells if c["ways"]["legacy"]["extrapolated"]]
    if sampled:
        why = ("its estimated planning task time was over the budget of %s" % fmt_seconds(meta["planning_budget"])
               if meta.get("planning_budget") else "--planning-max-hosts")
        note = ("\\* extrapolated: the old template ran on the first k hosts of the group only (%s); a probe on as "
                "many hosts as run at once measured the seconds per host first. Its planning task time was scaled "
                "by N/k (every host renders the same template against the same whole inventory: the lookups still "
                "see all N hosts under --limit), its wall time by adding the task time of the N-k hosts not run "
                "(start-up and inventory loading were already for N hosts). The measured figures: %s. The planner "
                "is always measured on every host." % (why, "; ".join(
                    "%s × %d: task %s, wall %s on %d hosts" % (
                        format(c["hosts"], ","), c["grants"], fmt_short(c["ways"]["legacy"]["measured_task"]),
                        fmt_short(c["ways"]["legacy"]["measured_wall"]), c["ways"]["legacy"]["measured_hosts"])
                    for c in sampled)))
        lines += [""] + textwrap.wrap(note, 110)
    lines += [
        "",
        "Both ways planned the same grants on every host the old way ran on (the bench compares them host by host",
        "and stops if they differ).",
        "",
    ]
    claim = planner_claim(cells)
    if claim is not None:
        lines += [
            "| requirement | measured | holds |",
            "| --- | --- | --- |",
            "| %s | %s | %s |" % (claim[0], claim[1], "yes" if claim[2] else "**no**"),
            "",
        ]
    lines += [
        "Run only this part with `make bench BENCH_ARGS='--only planning'` (sizes: `BENCH_PLANNING=100,1000`,",
        "`BENCH_PLANNING_GRANTS=200`, `BENCH_PLANNING_BUDGET` seconds the old way's planning task may take before",
        "it runs on a sample; 0 never samples). It rewrites this section only; the raw figures go to",
        "`state/bench/planning.json`.",
        PLANNING_END,
    ]
    return "\n".join(lines) + "\n"


def planning_section(text: str) -> str:
    """The Planning section of a report (markers included), or '' when it has none."""
    start, end = text.find(PLANNING_START), text.find(PLANNING_END)
    if start < 0 or end < start:
        return ""
    return text[start:end + len(PLANNING_END)] + "\n"


def store_section(text: str) -> str:
    """The section scripts/bench_store.py writes (markers included), or '': kept when this report is rewritten."""
    start, end = text.find(STORE_START), text.find(STORE_END)
    return text[start:end + len(STORE_END)] + "\n" if 0 <= start < end else ""


def with_planning(text: str, section: str) -> str:
    """``text`` with its Planning section replaced by ``section`` (appended when it had none)."""
    old = planning_section(text)
    if not section:
        return text
    if old:
        return text.replace(old, section)
    return text.rstrip("\n") + "\n\n" + section


# -- facts and report --------------------------------------------------------------------------------------
def cpu_busy_seconds() -> float | None:
    """CPU-seconds the whole machine spent busy since boot (/proc/stat), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def loadavg() -> str:
    try:
        return ", ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])
    except OSError:
        return "unknown"


def version_of(distribution: str) -> str:
    from importlib import metadata  # pylint: disable=import-outside-toplevel

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def collection_version(collections: str, fqcn: str) -> str:
    namespace, name = fqcn.split(".")
    for root in collections.split(":"):
        manifest = Path(root) / "ansible_collections" / namespace / name / "MANIFEST.json"
        if manifest.exists():
            return json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts(collections: str, forks: int) -> dict:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "ansible-core": version_of("ansible-core"),
        "bcrypt": version_of("bcrypt"),
        "jinja2": version_of("jinja2"),
        "libpass": version_of("libpass"),
        "community.general": collection_version(collections, "community.general"),
        "forks": forks,
    }


def fmt_seconds(value: float) -> str:
    if value >= 100:
        return "%.0f s" % value
    return "%.1f s" % value


def fmt_short(value: float) -> str:
    """Seconds with the precision a short planning time needs (milliseconds below 0.1 s)."""
    if value < 0.1:
        return "%.1f ms" % (value * 1000)
    if value < 10:
        return "%.2f s" % value
    return fmt_seconds(value)


def fmt_ratio(peer: float, ours: float, unit: str = "") -> str:
    if ours == 0:
        return "n/a (ours 0)" if peer else "n/a"
    ratio = peer / ours
    return ("%.0f%s" % (ratio, unit)) if ratio >= 10 else ("%.1f%s" % (ratio, unit))


def fmt_ops(entry: dict) -> str:
    bcrypt = entry["bcrypt"]
    return "%d (%d + %d)" % (bcrypt["ops"], bcrypt["controller"], bcrypt["hosts"])


def claims(results: list) -> list:
    """Our claims, each checked against what was counted in this run."""
    out = []
    for cell in results:
        size = "%d×%d" % (cell["hosts"], cell["users"])
        grant = cell["phases"]["grant"]["ours"]
        idem = cell["phases"]["idempotent"]["ours"]
        rotate = cell["phases"]["rotate"]["ours"]
        out.append((size, "first grant: every credential hashed once, on the controller only",
                    "controller %d for %d users, hosts %d" % (grant["bcrypt"]["controller"], cell["users"],
                                                              grant["bcrypt"]["hosts"]),
                    grant["bcrypt"]["controller"] == cell["users"] and grant["bcrypt"]["hosts"] == 0))
        out.append((size, "idempotent re-run: changed=0 and no bcrypt work anywhere",
                    "changed %d, bcrypt %d" % (idem["changed"], idem["bcrypt"]["ops"]),
                    idem["changed"] == 0 and idem["bcrypt"]["ops"] == 0))
        out.append((size, "rotation: exactly one bcrypt hash, on the controller",
                    "controller %d, hosts %d" % (rotate["bcrypt"]["controller"], rotate["bcrypt"]["hosts"]),
                    rotate["bcrypt"]["controller"] == 1 and rotate["bcrypt"]["hosts"] == 0))
        tasks = rotate["module"]["tasks"]
        out.append((size, "one htpasswd_users task per host per pass",
                    "%d tasks for %d hosts in 2 passes" % (tasks, cell["hosts"]), tasks == 2 * cell["hosts"]))
    return out


def render(results: list, facts: dict, meta: dict) -> str:
    lines = [
        "# Benchmarks: hash once, compare strings everywhere",
        "",
        "<!-- Written by scripts/bench.py; run `make bench` to measure again. -->",
        "",
        "Wall time and bcrypt operations of our approach (credentials minted and bcrypt-hashed once by the",
        "credential store on the controller, `promaccess.core.credential` lookup; hosts get `password_hash`",
        "strings through one `promaccess.core.htpasswd_users` task per host) and of the peer approach (one",
        "`community.general.htpasswd` task per user per host, with the plaintext password), side by side, measured",
        "in one run on simulated fleets: every host is a local folder with its own htpasswd file",
        "(`ansible_connection=local`).",
        "",
        "## How it was made",
        "",
        "```console",
        "$ %s" % meta["command"],
        "```",
        "",
        "On %s, %s." % (meta["started"], "taking %s in all" % fmt_seconds(meta["duration"])),
        "",
        "| machine | |",
        "| --- | --- |",
        "| CPUs | %s (%s) |" % (facts["cpus"], facts["cpu_model"]),
        "| system | %s |" % facts["platform"],
        "| Python | %s |" % facts["python"],
        "| ansible-core | %s |" % facts["ansible-core"],
        "| bcrypt | %s |" % facts["bcrypt"],
        "| libpass (passlib API) | %s |" % facts["libpass"],
        "| community.general (peer) | %s |" % facts["community.general"],
        "| forks (both approaches) | %s |" % facts["forks"],
    ]
    lines += run_conditions(meta, "report")
    if meta.get("other_share") is not None and meta["other_share"] >= 0.05:
        lines += [
            "Other work ran on the machine during the measurement (the row above: CPU time the machine spent",
            "outside this benchmark's processes), so wall times are longer than on an idle machine; the bcrypt",
            "counts do not depend on it.",
            "",
        ]
    lines += [
        "## Running it",
        "",
        "`make bench` measures every combination of 10 and 50 hosts with 10 and 200 users. Choose with",
        "`BENCH_HOSTS=10,50`, `BENCH_USERS=10,200`, or `BENCH_SIZES=10x10,50x200` (hosts x users), `BENCH_FORKS`",
        "(default 5, for both approaches) and `BENCH_PEER_BUDGET` (seconds a peer run may take before it runs on",
        "a sample of the hosts; 0 never samples), or pass `BENCH_ARGS` to `scripts/bench.py` (`--help`). The",
        "hosts live in `state/bench/<H>x<U>/` (made afresh for each size, not in git); the raw figures go to",
        "`state/bench/results.json`. At cost 12 the peer needs about one CPU-second per user per host per run:",
        "on a 2-CPU machine the default sizes take well over half an hour unless the peer is sampled.",
        "",
        "## Results",
        "",
        "bcrypt ops are counted calls of `bcrypt.hashpw`/`checkpw` (hash or verify, cost 12), as *total",
        "(controller + hosts)*. Peer/ours ratios above 1 mean the peer is slower or does more work.",
        "",
        "| hosts × users | phase | wall ours | wall peer | wall peer/ours | bcrypt ours | bcrypt peer "
        "| bcrypt peer/ours | changed ours / peer | peer measured on |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for cell in results:
        for phase in PHASES:
            ours = cell["phases"][phase]["ours"]
            peer = cell["phases"][phase]["peer"]
            measured_on = ("**extrapolated from %d of %d hosts**" % (peer["measured_hosts"], cell["hosts"])
                           if peer["extrapolated"] else "all %d hosts" % cell["hosts"])
            lines.append("| %d × %d | %s | %s | %s%s | %s | %s | %s%s | %s | %d / %d%s | %s |" % (
                cell["hosts"], cell["users"], PHASE_TITLES[phase],
                fmt_seconds(ours["wall"]), fmt_seconds(peer["wall"]), "*" if peer["extrapolated"] else "",
                fmt_ratio(peer["wall"], ours["wall"], "×"),
                fmt_ops(ours), fmt_ops(peer), "*" if peer["extrapolated"] else "",
                fmt_ratio(peer["bcrypt"]["ops"], ours["bcrypt"]["ops"], "×"),
                ours["changed"], peer["changed"], "*" if peer["extrapolated"] else "",
                measured_on,
            ))
    sampled = [c for c in results if any(c["phases"][p]["peer"]["extrapolated"] for p in PHASES)]
    if sampled:
        why = ("its estimated time was over the budget of %s per run" % fmt_seconds(meta["peer_budget"])
               if meta["peer_budget"] > 0 else "--peer-max-hosts")
        note = ("\\* extrapolated: the peer ran on the first k hosts only (%s), and its time, bcrypt operations and "
                "changes were scaled by N/k (every host does the same work). Ours is always measured on every host."
                % why)
        if meta["peer_budget"] > 0:
            note += (" k is at least the number of hosts that run at once here (forks and CPUs), so the sample keeps"
                     " the CPUs as busy as the whole fleet would.")
        lines += [""] + textwrap.wrap(note, 110)
    lines += [
        "",
        "Time inside bcrypt (sum over calls, CPU-bound; with %s CPUs the wall time of a phase is at least this"
        % facts["cpus"],
        "divided by the CPUs):",
        "",
        "| hosts × users | phase | bcrypt time ours | bcrypt time peer | most ops on one host, ours / peer |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for cell in results:
        for phase in PHASES:
            ours = cell["phases"][phase]["ours"]
            peer = cell["phases"][phase]["peer"]
            peer_counts = (peer.get("measured_bcrypt") or peer["bcrypt"])["per_host"].values()
            lines.append("| %d × %d | %s | %s | %s%s | %d / %d |" % (
                cell["hosts"], cell["users"], PHASE_TITLES[phase],
                fmt_seconds(ours["bcrypt"]["seconds"]), fmt_seconds(peer["bcrypt"]["seconds"]),
                "*" if peer["extrapolated"] else "",
                max(ours["bcrypt"]["per_host"].values(), default=0), max(peer_counts, default=0),
            ))
    lines += [
        "",
        "## Our claims, checked in this run",
        "",
        "| hosts × users | claim | counted | holds |",
        "| --- | --- | --- | --- |",
    ]
    for size, claim, counted, holds in claims(results):
        lines.append("| %s | %s | %s | %s |" % (size, claim, counted, "yes" if holds else "**no**"))
    big = max(results, key=lambda c: (c["hosts"] * c["users"], c["hosts"]))
    big_size = "%d hosts × %d users" % (big["hosts"], big["users"])
    big_idem = big["phases"]["idempotent"]
    big_rot = big["phases"]["rotate"]
    lines += [
        "",
        "## What the figures say",
        "",
        "- **Grant.** Ours hashes each credential once, on the controller, when the store mints it (U hashes",
        "  whatever the number of hosts); hosts write the hash strings they are given. The peer hashes every user",
        "  on every host (H×U).",
        "- **Idempotent re-run.** Ours compares hash strings: no bcrypt operation anywhere and changed=0 (the bench",
        "  asserts the changed=0). The peer cannot know whether a plaintext password matches the file without",
        "  verifying it, so it runs one bcrypt operation per user per host on every run, changes or not: at",
        "  %s that was %d operations (%s inside bcrypt%s), against %d for ours." % (
            big_size, big_idem["peer"]["bcrypt"]["ops"], fmt_seconds(big_idem["peer"]["bcrypt"]["seconds"]),
            ", extrapolated" if big_idem["peer"]["extrapolated"] else "", big_idem["ours"]["bcrypt"]["ops"]),
        "- **Rotating one user.** Ours: the store mints the new credential (one hash on the controller), then one",
        "  `htpasswd_users` task per host adds it beside the old one, and a second pass removes the old one once",
        "  the store marks it retired, so there is no moment without a valid credential; both passes compare",
        "  strings only, and the store steps (five `credential_store` runs on the controller) are a fixed cost that",
        "  dominates on small fleets. The peer runs all U user tasks on every host again (U verifications per",
        "  host plus one hash) and replaces the password in place: at %s, %d bcrypt operations against %d."
        % (big_size, big_rot["peer"]["bcrypt"]["ops"], big_rot["ours"]["bcrypt"]["ops"]),
        "- Ours runs one task per host per pass whatever the number of users, so its time grows with the hosts;",
        "  the peer's grows with hosts × users × the bcrypt cost.",
        "- *changed* counts the tasks that reported a change, summed over hosts (ours includes the store steps",
        "  on the controller).",
        "",
    ]
    lines += [
        "How it counts: `tests/bench/bcrypt_counter/sitecustomize.py` is put on `PYTHONPATH` of the playbook runs,",
        "so the controller, its lookups and every module process the local connection starts wrap",
        "`bcrypt.hashpw`/`checkpw` (passlib's bcrypt backend hashes and verifies through `hashpw`) and log one line",
        "per call with its cost and the inventory host it ran for. passlib checks its backend with cost-4 and",
        "cost-5 hashes when it loads; those calls (%d in this run) are not counted as operations."
        % sum(cell["phases"][p][a].get("measured_bcrypt", cell["phases"][p][a]["bcrypt"])["selftest"]
              for cell in results for p in PHASES for a in APPROACHES),
        "The playbooks are `tests/bench/ours_access.yml`, `tests/bench/ours_rotate.yml` (the rotation through the",
        "`promaccess.core.credential_store` module) and `tests/bench/peer_htpasswd.yml`.",
        "",
    ]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------------------
def say(message: str) -> None:
    print("bench: " + message, file=sys.stderr, flush=True)


def int_list(text: str) -> list:
    return [int(v) for v in text.split(",") if v.strip()]


def parse_sizes(args) -> list:
    if args.sizes:
        out = []
        for item in args.sizes.split(","):
            hosts, _sep, users = item.strip().lower().partition("x")
            out.append((int(hosts), int(users)))
        return out
    return [(h, u) for h in int_list(args.hosts) for u in int_list(args.users)]


def parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--hosts", default=env("BENCH_HOSTS", "10,50"), help="host counts (BENCH_HOSTS)")
    p.add_argument("--users", default=env("BENCH_USERS", "10,200"), help="user counts (BENCH_USERS)")
    p.add_argument("--sizes", default=env("BENCH_SIZES", ""),
                   help="explicit HxU list such as 2x3,10x10 instead of --hosts x --users (BENCH_SIZES)")
    p.add_argument("--forks", type=int, default=int(env("BENCH_FORKS", "5")), help="Ansible forks, both approaches")
    p.add_argument("--peer-budget", type=float, default=float(env("BENCH_PEER_BUDGET", "150")),
                   help="seconds a peer run may take before it runs on a sample of hosts; 0: never sample")
    p.add_argument("--peer-max-hosts", type=int, default=None,
                   help="run the peer on at most this many hosts (extrapolating the rest)")
    p.add_argument("--only", choices=PARTS, default=env("BENCH_ONLY") or None,
                   help="run one part: htpasswd (hash once against the peer) or planning (BENCH_ONLY)")
    p.add_argument("--planning", default=env("BENCH_PLANNING", "100,1000"),
                   help="host counts of the planning bench; empty: none (BENCH_PLANNING)")
    p.add_argument("--planning-grants", type=int, default=int(env("BENCH_PLANNING_GRANTS", "200")),
                   help="grants of the planning bench (BENCH_PLANNING_GRANTS)")
    p.add_argument("--planning-budget", type=float, default=float(env("BENCH_PLANNING_BUDGET", "120")),
                   help="seconds the old template's planning task may take before it runs on a sample of hosts; "
                        "0: never sample (BENCH_PLANNING_BUDGET)")
    p.add_argument("--planning-max-hosts", type=int, default=None,
                   help="run the old template on at most this many hosts (extrapolating the rest)")
    p.add_argument("--state-dir", default=str(REPO / "state" / "bench"), help="where the simulated hosts live")
    p.add_argument("--output", default=str(REPO / "docs" / "benchmarks.md"), help="the report to write")
    p.add_argument("--json", default=None, help="also write the raw figures here (default: <state-dir>/results.json)")
    p.add_argument("--note", default=env("BENCH_NOTE", ""), help="a sentence added to the report")
    p.add_argument("--render-only", metavar="RESULTS_JSON", default=None,
                   help="measure nothing: write the report (or, from planning.json, its Planning section) again "
                        "from the raw figures of an earlier run")
    return p


BENCH_ENV = ("BENCH_HOSTS", "BENCH_USERS", "BENCH_SIZES", "BENCH_FORKS", "BENCH_PEER_BUDGET", "BENCH_ONLY",
             "BENCH_PLANNING", "BENCH_PLANNING_GRANTS", "BENCH_PLANNING_BUDGET")
PARTS = ("htpasswd", "planning")


def command_line(argv: list) -> str:
    """The command as the operator typed it: make bench (with its variables) or the script."""
    settings = ["%s=%s" % (name, shlex.quote(os.environ[name])) for name in BENCH_ENV if os.environ.get(name)]
    if "MAKELEVEL" in os.environ:
        command = "make bench" + (" BENCH_ARGS=%s" % shlex.quote(" ".join(argv)) if argv else "")
        return " ".join([command] + settings)
    return " ".join(settings + [".venv/bin/python scripts/bench.py"] + [shlex.quote(a) for a in argv])


def main(argv: list | None = None) -> int:
    args = parser().parse_args(argv)
    if args.render_only:
        saved = json.loads(Path(args.render_only).read_text(encoding="utf-8"))
        if args.note:
            saved["meta"]["note"] = args.note
        output = Path(args.output)
        text = output.read_text(encoding="utf-8") if output.exists() else ""
        if saved["results"] and "ways" in saved["results"][0]:
            # planning.json: the Planning section only.
            text = with_planning(text, render_planning(saved["results"], saved["facts"], saved["meta"]))
        else:
            text = with_planning(render(saved["results"], saved["facts"], saved["meta"]), planning_section(text))
        output.write_text(text, encoding="utf-8")
        say("wrote %s from %s (nothing measured)" % (args.output, args.render_only))
        return 0
    parts = [args.only] if args.only else list(PARTS)
    sizes = parse_sizes(args) if "htpasswd" in parts else []
    if "htpasswd" in parts and (not sizes or any(h < 1 or u < 1 for h, u in sizes)):
        say("sizes must be at least 1x1")
        return 2
    planning = int_list(args.planning) if "planning" in parts else []
    if any(h < len(PLANNING_SUBGROUPS) for h in planning) or (planning and args.planning_grants < 1):
        say("planning needs at least %d hosts (its subgroups) and 1 grant" % len(PLANNING_SUBGROUPS))
        return 2
    state = Path(args.state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    ansible_playbook = str(Path(sys.executable).parent / "ansible-playbook")
    collections = collections_path(fetch="htpasswd" in parts)
    facts = machine_facts(collections, args.forks)
    runner = Runner(state, args.forks, collections, ansible_playbook)

    command = command_line(sys.argv[1:] if argv is None else argv)
    started_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    started, busy0, own0, load0 = time.perf_counter(), cpu_busy_seconds(), own_cpu_seconds(), loadavg()
    rates: dict = {}
    results: list = []
    plan_cells: list = []
    output = Path(args.output)
    json_path = Path(args.json) if args.json else state / "results.json"
    planning_json = state / "planning.json"

    def run_meta(remaining: list) -> dict:
        duration = time.perf_counter() - started
        busy1, own1 = cpu_busy_seconds(), own_cpu_seconds()
        other = None if busy0 is None or busy1 is None else max(0.0, (busy1 - busy0) - (own1 - own0))
        return {
            "command": command,
            "started": started_at.strftime("%Y-%m-%d %H:%M UTC"),
            "duration": duration,
            "load_start": load0,
            "load_end": loadavg(),
            "other_cpu": other,
            "other_share": None if other is None else other / (duration * (os.cpu_count() or 1)),
            "peer_budget": args.peer_budget if args.peer_max_hosts is None else 0,
            "planning_budget": args.planning_budget if args.planning_max_hosts is None else 0,
            "note": args.note,
            "remaining": remaining,
        }

    def existing_planning() -> str:
        return planning_section(output.read_text(encoding="utf-8")) if output.exists() else ""

    def write(remaining: list) -> dict:
        """Write the report and the raw figures of the sizes done so far (after each size, so a stopped run
        leaves what it measured, marked partial). The Planning section in the report is kept."""
        meta = run_meta(["%dx%d" % size for size in remaining])
        kept = existing_planning()
        store_kept = store_section(output.read_text(encoding="utf-8")) if output.exists() else ""
        output.parent.mkdir(parents=True, exist_ok=True)
        text = with_planning(render(results, facts, meta), kept)
        output.write_text(text.rstrip("\n") + "\n\n" + store_kept if store_kept else text, encoding="utf-8")
        json_path.write_text(json.dumps({"facts": facts, "meta": meta, "results": results}, indent=1),
                             encoding="utf-8")
        return meta

    def write_planning(remaining: list) -> dict:
        """Write (or replace) the report's Planning section only, and its raw figures."""
        meta = run_meta(["%d hosts" % hosts for hosts in remaining])
        text = output.read_text(encoding="utf-8") if output.exists() else ""
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(with_planning(text, render_planning(plan_cells, facts, meta)), encoding="utf-8")
        planning_json.write_text(json.dumps({"facts": facts, "meta": meta, "results": plan_cells}, indent=1),
                                 encoding="utf-8")
        return meta

    meta: dict = {"duration": 0.0}
    try:
        if planning:
            say("planning %s hosts x %d grants, forks %d, old-way budget %s s; state in %s"
                % (",".join(str(h) for h in planning), args.planning_grants, args.forks, args.planning_budget,
                   state / "plan"))
            for index, hosts in enumerate(planning):
                plan_cells.append(bench_planning(state, hosts, args.planning_grants, args, collections,
                                                 ansible_playbook))
                meta = write_planning(planning[index + 1:])
            claim = planner_claim(plan_cells)
            if claim is not None and not claim[2]:
                say("requirement does not hold: %s (%s)" % (claim[0], claim[1]))
        if sizes:
            say("sizes %s, forks %d, peer budget %s s per run; state in %s"
                % (", ".join("%dx%d" % s for s in sizes), args.forks, args.peer_budget, state))
            for index, (hosts, users) in enumerate(sizes):
                results.append(bench_cell(runner, hosts, users, args, rates))
                meta = write(sizes[index + 1:])
    except BenchError as exc:
        say("FAILED: %s" % exc)
        return 1
    say("wrote %s in %s" % (output, fmt_seconds(meta["duration"])))
    failed = [c for c in claims(results) if not c[3]]
    for size, claim, counted, _holds in failed:
        say("claim does not hold at %s: %s (%s)" % (size, claim, counted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
