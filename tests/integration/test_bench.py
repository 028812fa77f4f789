"""The benchmark harness (scripts/bench.py) counts honestly: the bcrypt counter, the scaling and the report.

No timing is asserted: wall times depend on the machine. What is asserted are the counts, which follow from
how each approach works (the formulas below), measured by the same counter for both.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COUNTER_DIR = REPO / "tests" / "bench" / "bcrypt_counter"


def _load_bench():
    spec = importlib.util.spec_from_file_location("promaccess_bench", REPO / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_bench()

HASHING = r"""
import bcrypt
from passlib.hash import bcrypt as passlib_bcrypt

for _round in range(3):
    bcrypt.hashpw(b"secret", bcrypt.gensalt(6))
hashed = bcrypt.hashpw(b"secret", bcrypt.gensalt(6))
assert bcrypt.checkpw(b"secret", hashed)
assert not bcrypt.checkpw(b"other", hashed)
assert passlib_bcrypt.verify("secret", passlib_bcrypt.using(rounds=6).hash("secret"))
"""


def _hash_in_child(tmp_path: Path, env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (bench.COUNTER_ENV, "PROMACCESS_BENCH_HOST")}
    env["PYTHONPATH"] = str(COUNTER_DIR)
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", HASHING], env=env, cwd=tmp_path, capture_output=True, text=True,
                          check=False, timeout=120)


def test_counter_logs_every_bcrypt_call(tmp_path):
    log = tmp_path / "bcrypt.log"
    proc = _hash_in_child(tmp_path, {bench.COUNTER_ENV: str(log), "PROMACCESS_BENCH_HOST": "bench-h007"})
    assert proc.returncode == 0, proc.stderr
    counted = bench.parse_counter(log)
    # 4 hashpw + 2 checkpw, then passlib: one hash and one verify, both through bcrypt.hashpw.
    assert counted["ops"] == 8
    assert counted["hosts"] == 8 and counted["controller"] == 0
    assert counted["per_host"] == {"bench-h007": 8}
    assert counted["costs"] == {"6": 8}
    # passlib's backend self-test (cost 4 and 5) ran when it loaded, and is kept apart.
    assert counted["selftest"] > 0
    assert counted["calls"] == counted["ops"] + counted["selftest"]
    # Nothing secret in the log: only function names, costs, times, pids and where.
    text = log.read_text()
    assert "secret" not in text and "$2" not in text


def test_counter_without_host_counts_controller(tmp_path):
    log = tmp_path / "bcrypt.log"
    proc = _hash_in_child(tmp_path, {bench.COUNTER_ENV: str(log)})
    assert proc.returncode == 0, proc.stderr
    counted = bench.parse_counter(log)
    assert counted["controller"] == 8 and counted["hosts"] == 0


def test_counter_off_without_its_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != bench.COUNTER_ENV}
    env["PYTHONPATH"] = str(COUNTER_DIR)
    proc = subprocess.run(
        [sys.executable, "-c", "import bcrypt; print(hasattr(bcrypt, '_promaccess_bench_counted'))"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert list(tmp_path.iterdir()) == []


def _entry(wall, controller, per_host, changed, selftest=0):
    hosts = sum(per_host.values())
    return {
        "wall": wall,
        "bcrypt": {"ops": controller + hosts, "controller": controller, "hosts": hosts, "per_host": per_host,
                   "seconds": 0.3 * (controller + hosts), "selftest": selftest, "calls": controller + hosts,
                   "costs": {}},
        "changed": changed,
        "changed_hosts": len([h for h in per_host if per_host[h]]),
        "hosts_run": len(per_host),
        "module": {"hash_operations": 0, "verify_operations": 0, "tasks": 2 * len(per_host)},
    }


def test_scale_is_linear_in_hosts_and_marked():
    measured = _entry(12.0, 0, {"bench-h000": 7, "bench-h001": 7}, 2)
    scaled = bench.scale(measured, 10)
    assert scaled["extrapolated"] is True and scaled["measured_hosts"] == 2
    assert scaled["wall"] == pytest.approx(60.0)
    assert scaled["bcrypt"]["ops"] == 70 and scaled["bcrypt"]["hosts"] == 70
    assert scaled["changed"] == 10
    assert scaled["measured_wall"] == 12.0 and scaled["measured_bcrypt"]["ops"] == 14
    full = bench.scale(measured, 2)
    assert full["extrapolated"] is False and full["wall"] == 12.0


@pytest.mark.parametrize(
    "hosts, users, rate, budget, cap, expected",
    [
        (10, 10, 0.5, 100, None, 10),   # 50 s estimated: all hosts
        (50, 10, 0.5, 100, None, 20),   # 250 s estimated: 20 hosts fit
        (50, 200, 0.5, 100, None, 2),   # not even one host fits: as many as run at once (2 CPUs or forks)
        (50, 200, 0.5, 0, None, 50),    # no budget: never sampled
        (3, 2, 0.5, 100, 2, 2),         # an explicit cap wins
    ],
)
def test_peer_sample_size(monkeypatch, hosts, users, rate, budget, cap, expected):
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 2)
    assert bench.peer_sample_size(hosts, users, rate, budget, 5, cap) == expected


def test_report_marks_extrapolated_cells_and_ratios():
    hosts = {"bench-h%03d" % i: 0 for i in range(4)}
    ours = {
        "grant": _entry(10.0, 3, dict(hosts), 4),
        "idempotent": _entry(5.0, 0, dict(hosts), 0),
        "rotate": _entry(8.0, 1, dict(hosts), 11),
    }
    peer_measured = {
        "grant": _entry(20.0, 0, {"bench-h000": 3, "bench-h001": 3}, 2),
        "idempotent": _entry(20.0, 0, {"bench-h000": 3, "bench-h001": 3}, 0),
        "rotate": _entry(24.0, 0, {"bench-h000": 4, "bench-h001": 4}, 2),
    }
    cell = {"hosts": 4, "users": 3, "peer_sample": 2, "phases": {}}
    for phase in bench.PHASES:
        cell["phases"][phase] = {
            "ours": dict(ours[phase], extrapolated=False, measured_hosts=4),
            "peer": bench.scale(peer_measured[phase], 4),
        }
    meta = {"command": "make bench", "started": "now", "duration": 100.0, "load_start": "1, 1, 1",
            "load_end": "2, 2, 2", "other_cpu": 50.0, "other_share": 0.25, "peer_budget": 0, "note": ""}
    facts = {"cpus": 2, "cpu_model": "x", "platform": "p", "python": "3.12", "ansible-core": "2.21",
             "bcrypt": "5", "libpass": "1.9", "community.general": "13", "forks": 5}
    text = bench.render([cell], facts, meta)
    assert "**extrapolated from 2 of 4 hosts**" in text
    assert "| 4 × 3 | idempotent re-run | 5.0 s | 40.0 s* | 8.0× | 0 (0 + 0) | 12 (0 + 12)* | n/a (ours 0) |" in text
    assert "| 4 × 3 | rotate one user | 8.0 s | 48.0 s* | 6.0× | 1 (1 + 0) | 16 (0 + 16)* | 16× |" in text
    assert "Other work ran on the machine" in text
    assert "$ make bench" in text
    held = {claim: holds for _size, claim, _counted, holds in bench.claims([cell])}
    assert all(held.values()), held


@pytest.mark.slow
def test_bench_tiny_fleet_counts(tmp_path):
    """3 hosts x 2 users, the peer on 2 of them: every count follows from how each approach works."""
    hosts, users, sample = 3, 2, 2
    report, raw = tmp_path / "benchmarks.md", tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--only", "htpasswd", "--sizes", "%dx%d" % (hosts, users),
         "--peer-max-hosts", str(sample), "--forks", "2", "--state-dir", str(tmp_path / "state"),
         "--output", str(report), "--json", str(raw)],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    cell = json.loads(raw.read_text())["results"][0]
    phases = cell["phases"]

    ours = {phase: phases[phase]["ours"] for phase in bench.PHASES}
    # Ours: U hashes on the controller when the store mints; hosts never hash; one task per host per pass.
    assert ours["grant"]["bcrypt"]["controller"] == users and ours["grant"]["bcrypt"]["hosts"] == 0
    assert ours["grant"]["module"] == {"hash_operations": 0, "verify_operations": 0, "tasks": hosts}
    assert ours["grant"]["changed_hosts"] == hosts
    assert ours["idempotent"]["bcrypt"]["ops"] == 0 and ours["idempotent"]["changed"] == 0
    assert ours["rotate"]["bcrypt"]["controller"] == 1 and ours["rotate"]["bcrypt"]["hosts"] == 0
    assert ours["rotate"]["module"] == {"hash_operations": 0, "verify_operations": 0, "tasks": 2 * hosts}
    assert all(not entry["extrapolated"] and entry["measured_hosts"] == hosts for entry in ours.values())

    peer = {phase: phases[phase]["peer"] for phase in bench.PHASES}
    # Peer, measured on `sample` hosts: a hash per user per host, then a verify per user per host on every run,
    # and for the rotation one failed verify plus one hash for the rotated user.
    expected = {"grant": users, "idempotent": users, "rotate": users + 1}
    for phase, per_host in expected.items():
        measured = peer[phase]["measured_bcrypt"]
        assert peer[phase]["extrapolated"] and peer[phase]["measured_hosts"] == sample
        assert measured["controller"] == 0
        assert measured["per_host"] == {bench.host_name(i): per_host for i in range(sample)}, phase
        assert peer[phase]["bcrypt"]["ops"] == per_host * hosts
    assert peer["idempotent"]["changed"] == 0
    assert peer["grant"]["changed"] == peer["rotate"]["changed"] == hosts

    text = report.read_text()
    assert "**extrapolated from %d of %d hosts**" % (sample, hosts) in text
    assert "**no**" not in text
    assert ("--sizes %dx%d" % (hosts, users)) in text
    # The secrets stay in the state folder: no password or hash in the report or the raw figures.
    assert "$2" not in text and "$2" not in raw.read_text()


def test_render_only_rewrites_the_report_without_measuring(tmp_path):
    hosts = {"bench-h000": 0}
    phases = {phase: {"ours": dict(_entry(1.0, 1, dict(hosts), 1), extrapolated=False, measured_hosts=1),
                      "peer": bench.scale(_entry(2.0, 0, {"bench-h000": 2}, 1), 1)} for phase in bench.PHASES}
    saved = {
        "facts": {"cpus": 2, "cpu_model": "x", "platform": "p", "python": "3.12", "ansible-core": "2.21",
                  "bcrypt": "5", "libpass": "1.9", "community.general": "13", "forks": 5},
        "meta": {"command": "make bench BENCH_SIZES=1x1,9x9", "started": "then", "duration": 10.0,
                 "load_start": "1, 1, 1", "load_end": "1, 1, 1", "other_cpu": 0.0, "other_share": 0.0,
                 "peer_budget": 60, "note": "", "remaining": ["9x9"]},
        "results": [{"hosts": 1, "users": 1, "peer_sample": 1, "phases": phases}],
    }
    raw, report = tmp_path / "results.json", tmp_path / "report.md"
    raw.write_text(json.dumps(saved))
    assert bench.main(["--render-only", str(raw), "--output", str(report), "--note", "Stopped by hand."]) == 0
    text = report.read_text()
    assert "$ make bench BENCH_SIZES=1x1,9x9" in text
    assert "**Partial report**: the run had not measured 9x9" in text
    assert "Stopped by hand." in text
    assert "extrapolated" not in text.split("## Results", 1)[1].split("## Our claims", 1)[0].replace(
        "peer measured on", "")


def test_planning_section_is_replaced_in_place():
    old = "# Report\n\nabove\n\n" + bench.PLANNING_START + "\nold figures\n" + bench.PLANNING_END + "\n\nbelow\n"
    section = bench.PLANNING_START + "\nnew figures\n" + bench.PLANNING_END + "\n"
    text = bench.with_planning(old, section)
    assert "new figures" in text and "old figures" not in text
    assert text.startswith("# Report\n\nabove\n") and text.endswith("\nbelow\n")
    assert bench.planning_section(text) == section
    assert bench.with_planning("# Report\n", section) == "# Report\n\n" + section
    assert bench.with_planning(old, "") == old


def test_scale_planning_marks_and_keeps_the_fixed_part():
    measured = {"wall": 10.0, "task": 4.0, "hosts_run": 2, "grants_planned": 30}
    scaled = bench.scale_planning(measured, 10)
    assert scaled["extrapolated"] is True and scaled["measured_hosts"] == 2
    assert scaled["task"] == pytest.approx(20.0)
    # The run's fixed part (6 s) is counted once; the task time of the 8 hosts not run is added.
    assert scaled["wall"] == pytest.approx(26.0)
    assert scaled["measured_task"] == 4.0 and scaled["grants_planned"] == 150
    assert bench.scale_planning(measured, 2)["extrapolated"] is False


@pytest.mark.slow
def test_bench_planning_tiny(tmp_path):
    """5 hosts x 3 grants, the old template on 4 of them: both ways run, agree host by host (the bench checks it),
    and the Planning section is written between its markers without touching the rest of the report."""
    hosts, grants, sample = 5, 3, 4
    report, state = tmp_path / "benchmarks.md", tmp_path / "state"
    report.write_text("# Benchmarks\n\nThe htpasswd tables stay.\n")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--only", "planning", "--planning", str(hosts),
         "--planning-grants", str(grants), "--planning-max-hosts", str(sample), "--forks", "2",
         "--state-dir", str(state), "--output", str(report)],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    cell = json.loads((state / "planning.json").read_text())["results"][0]
    assert (cell["hosts"], cell["grants"]) == (hosts, grants)
    legacy, planner = cell["ways"]["legacy"], cell["ways"]["planner"]
    assert planner["hosts_run"] == hosts and not planner["extrapolated"]
    assert legacy["measured_hosts"] == sample and legacy["extrapolated"]
    assert legacy["task"] > 0 and planner["task"] > 0 and legacy["wall"] > 0 and planner["wall"] > 0
    assert cell["direct"]["hosts"] == hosts
    # plan_fleet alone planned the same inventory: some grants on each host, never more than all of them.
    assert 0 < cell["direct"]["grants_planned"] <= hosts * grants

    text = report.read_text()
    assert text.startswith("# Benchmarks\n\nThe htpasswd tables stay.\n")
    section = bench.planning_section(text)
    assert section.startswith(bench.PLANNING_START) and section.rstrip().endswith(bench.PLANNING_END)
    assert "planning task, old template" in section and "planning task, planner" in section
    assert "| 5 × 3 |" in section
    assert "**extrapolated from %d of %d hosts**" % (sample, hosts) in section
    # No secret of the fake views in the report.
    assert "$2b$" not in text
    # Run again: the section is replaced, not appended.
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--only", "planning", "--planning", str(hosts),
         "--planning-grants", str(grants), "--planning-max-hosts", str(hosts), "--forks", "2",
         "--state-dir", str(state), "--output", str(report)],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    text = report.read_text()
    assert text.count(bench.PLANNING_START) == 1 and "all %d hosts" % hosts in text


def _bench_store():
    spec = importlib.util.spec_from_file_location("promaccess_bench_store", REPO / "scripts" / "bench_store.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("read_extra, holds", [(0.1, True), (0.6, False)])
def test_store_bench_claim_counts_the_runs_sops_calls(read_extra, holds):
    """The claim is reads x (sops - age per read) + writes x (sops - age per write), from the counted calls."""
    store = _bench_store()
    access = {"grants": 200, "rounds": 3, "bytes": {"age": 1, "sops": 2},
              "median": {"age": {"read": 0.01, "write": 0.4}, "sops": {"read": 0.01 + read_extra, "write": 0.9}}}
    runs = {20: {"age": {"walls": [30.0], "wall": 30.0, "sops_calls": {}},
                 "sops": {"walls": [31.0], "wall": 31.0, "sops_calls": {"decrypt": 3}}}}
    section = store.render(access, runs, {"command": "x", "started": "now", "machine": "m"})
    assert ("holds" if holds else "DOES NOT HOLD") in section
    assert "%.2f s at most" % (3 * read_extra) in section
    report = "# Benchmarks\n\nold text\n\n" + section
    again = store.with_section(report, section.replace("now", "later"))
    assert again.count(store.START) == 1 and "later" in again and again.startswith("# Benchmarks")
