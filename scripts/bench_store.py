"""Benchmark: the sops credential store against the age store, side by side in one run (issue #14's budget:
the sops store at 200 grants costs at most 1 s more per playbook run than the age store).

    .venv/bin/python scripts/bench_store.py [--grants 200] [--rounds 7] [--run-grants 10,20]
                                            [--output docs/benchmarks.md] [--state-dir state/bench/store]

1. **Per access**, in this process, the two formats alternating round by round, at --grants grants: a *read* as a
   playbook run opens the store (a new store object with its own run id: the lock and its journal, the decrypt,
   one get_many of every grant, nothing minted) and a *write* (one new grant minted: a cost-12 bcrypt hash,
   encryption, the read-back check, the rename). Medians of --rounds rounds.
2. **Per run**: `make demo`'s host (real nginx and Prometheus as processes) provisioned with N grants
   (--run-grants), first run (mints), then a second run that changes nothing, timed, once per format. sops runs
   through a counting wrapper, so the store reads and writes of a real run are counted, not assumed; two sizes
   show whether they grow with the grants.

The claim checked: (reads per run) x (sops - age per read) + (writes per run) x (sops - age per write) <= 1 s at
--grants grants. `make bench` runs it after scripts/bench.py; it rewrites only its section of the report
(between markers) and writes its raw figures to <state-dir>/store.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "build" / "collections"))

START = "<!-- store:start (scripts/bench_store.py rewrites this section) -->"
END = "<!-- store:end -->"
FORMATS = ("age", "sops")
BUDGET_SECONDS = 1.0
ALPHABET = string.ascii_letters + string.digits


def say(message: str) -> None:
    print("bench_store: %s" % message, file=sys.stderr, flush=True)


def section_of(text: str) -> str:
    start, end = text.find(START), text.find(END)
    return text[start:end + len(END)] + "\n" if 0 <= start < end else ""


def with_section(text: str, section: str) -> str:
    old = section_of(text)
    if old:
        return text.replace(old, section)
    return text.rstrip("\n") + "\n\n" + section


def sops_binary() -> str:
    from controlplane.controlplane import binaries  # pylint: disable=import-outside-toplevel

    return str(binaries(["sops"])["sops"])


def keygen(path: Path) -> str:
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return keygen_public(path)


def write_rules(folder: Path, public: str) -> None:
    (folder / ".sops.yaml").write_text("creation_rules:\n  - path_regex: \\.sops\\.yaml$\n    age: %s\n" % public)


def store_path(folder: Path, fmt: str) -> Path:
    return folder / ("credentials.sops.yaml" if fmt == "sops" else "credentials.yml.age")


# -- per access ---------------------------------------------------------------------------------------------
def open_store(fmt: str, folder: Path, key: Path, binary: str, run: str | None):
    from ansible_collections.promaccess.core.plugins.module_utils._store import age  # noqa: E402
    from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore
    from ansible_collections.promaccess.core.plugins.plugin_utils.sops_runner import run as sops_run

    ids = age.read_identities(str(key))
    return CredentialStore(str(store_path(folder, fmt)), ids, list(ids.public), sops_binary=binary,
                           sops_runner=sops_run, run=run)


def random_secret() -> str:
    return "".join(secrets.choice(ALPHABET) for _index in range(64))


def fill(fmt: str, folder: Path, key: Path, binary: str, grants: int) -> list:
    """A store of ``grants`` grants written in one save (their hashes are one cost-4 hash: the store does not
    look at them, and reads and writes move the same bytes)."""
    from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy

    store = open_store(fmt, folder, key, binary, None)
    names = ["grant-%03d" % i for i in range(grants)]
    hashed = HashPolicy("bcrypt", 4).hash("bench", "x" * 64)
    document = {"version": 1, "grants": {}}
    for name in names:
        document["grants"][name] = {
            "username": random_secret(),
            "password": random_secret(),
            "password_hash": hashed,
            "minted_at": "2026-12-01T00:00:00Z",
        }
    with store._locked():  # pylint: disable=protected-access
        store.read()
        store._save(document)  # pylint: disable=protected-access
    return names


def per_access(root: Path, binary: str, grants: int, rounds: int) -> dict:
    key = root / "key.txt"
    public = keygen(key)
    names = {}
    for fmt in FORMATS:
        folder = root / fmt
        folder.mkdir()
        write_rules(folder, public)
        names[fmt] = fill(fmt, folder, key, binary, grants)
    times = {fmt: {"read": [], "write": []} for fmt in FORMATS}
    for index in range(rounds):
        for fmt in FORMATS:  # alternating: both see the same machine at the same time
            folder = root / fmt
            started = time.perf_counter()
            got = open_store(fmt, folder, key, binary, "read-%d" % index).get_many(names[fmt])
            times[fmt]["read"].append(time.perf_counter() - started)
            assert len(got) == grants
            started = time.perf_counter()
            open_store(fmt, folder, key, binary, "write-%d" % index).get("new-%d" % index)
            times[fmt]["write"].append(time.perf_counter() - started)
    size = {fmt: store_path(root / fmt, fmt).stat().st_size for fmt in FORMATS}
    return {"grants": grants, "rounds": rounds, "times": times, "bytes": size,
            "median": {fmt: {op: statistics.median(v) for op, v in ops.items()} for fmt, ops in times.items()}}


# -- per run ------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counting_wrapper(folder: Path, binary: str, log: Path) -> Path:
    """A `sops` first on PATH that logs its subcommand, then runs the real one."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "sops"
    wrapper.write_text('#!/bin/sh\necho "$1" >> "%s"\nexec "%s" "$@"\n' % (log, binary))
    wrapper.chmod(0o755)
    return folder


def playbook(env: dict, *args) -> subprocess.CompletedProcess:
    python_bin = Path(sys.executable).parent
    return subprocess.run([str(python_bin / "ansible-playbook"), "-i", str(REPO / "playbooks/demo/inventory.yml"),
                           *args], env=env, capture_output=True, text=True, check=False, cwd=str(REPO), timeout=3600)


def per_run(root: Path, binary: str, grants: int, repeat: int) -> dict:
    """Both demos set up and provisioned first; then their no-op runs alternate, ``repeat`` each."""
    sites = {}
    try:
        for fmt in FORMATS:
            state = root / ("%s-%d" % (fmt, grants))
            state.mkdir(parents=True)
            log = state / "sops-calls.log"
            env = dict(os.environ, PROMACCESS_DEMO_STATE=str(state),
                       PROMACCESS_VENV=str(Path(sys.executable).parent.parent),
                       PROMACCESS_DEMO_PROMETHEUS_PORT=str(free_port()), PROMACCESS_DEMO_NGINX_PORT=str(free_port()),
                       ANSIBLE_NOCOLOR="1")
            env["PATH"] = str(counting_wrapper(state / "bin", binary, log)) + os.pathsep + env["PATH"]
            sites[fmt] = (state, env, log)
            setup = playbook(env, str(REPO / "playbooks/demo/setup.yml"))
            if setup.returncode != 0:
                raise RuntimeError("demo setup failed: %s" % setup.stdout[-2000:])
            write_rules(state, keygen_public(state / "operator-key.txt"))
            spec = [{"name": "g%03d" % i, "contact": "g%03d" % i, "auth": "both",
                     "recipients_files": [str(state / "team-a-recipient.txt")]} for i in range(grants)]
            (state / "grants.json").write_text(json.dumps({"promaccess_grants": spec}))
            first = playbook(env, "promaccess.core.provision_access", *extra_args(state, fmt))
            if first.returncode != 0:
                raise RuntimeError("first %s run failed: %s" % (fmt, first.stdout[-3000:]))
        out = {fmt: {"walls": [], "sops_calls": {}} for fmt in FORMATS}
        for _round in range(repeat):
            for fmt in FORMATS:
                state, env, log = sites[fmt]
                log.write_text("")
                started = time.perf_counter()
                again = playbook(env, "promaccess.core.provision_access", *extra_args(state, fmt))
                out[fmt]["walls"].append(time.perf_counter() - started)
                recap = re.findall(r"^demo\s+:.*\bchanged=(\d+)", again.stdout, re.M)
                if again.returncode != 0 or recap[-1:] != ["0"]:
                    raise RuntimeError("the second %s run failed or changed something: %s" % (fmt, again.stdout[-3000:]))
                calls = log.read_text().split()
                out[fmt]["sops_calls"] = {c: calls.count(c) for c in sorted(set(calls))}
        for fmt in FORMATS:
            out[fmt]["wall"] = statistics.median(out[fmt]["walls"])
        return out
    finally:
        for state, _env, _log in sites.values():
            for service in ("nginx", "prometheus"):
                subprocess.run([str(state / "service.sh"), "stop", service], capture_output=True, check=False)


def extra_args(state: Path, fmt: str) -> list:
    return ["-e", "@%s" % (state / "grants.json"), "-e", "promaccess_credential_store=%s" % store_path(state, fmt)]


def keygen_public(key: Path) -> str:
    return subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()


# -- report -------------------------------------------------------------------------------------------------
def render(access: dict, runs: dict, meta: dict) -> str:
    m = access["median"]
    d_read = m["sops"]["read"] - m["age"]["read"]
    d_write = m["sops"]["write"] - m["age"]["write"]
    lines = [START, "", "## The credential store: sops against age", "",
             "Measured by `%s` on %s, one run, the two formats side by side (%s)."
             % (meta["command"], meta["started"], meta["machine"]), "",
             "Per access at %d grants (median of %d rounds, alternating):" % (access["grants"], access["rounds"]), "",
             "| | age store | sops store | sops - age |", "| --- | --- | --- | --- |",
             "| a run opens and reads it (lock, journal, decrypt, every grant) | %.3f s | %.3f s | %+.3f s |"
             % (m["age"]["read"], m["sops"]["read"], d_read),
             "| a write (one grant minted: cost-12 hash, encrypt, read-back check, rename) | %.3f s | %.3f s | %+.3f s |"
             % (m["age"]["write"], m["sops"]["write"], d_write),
             "| file size | %d bytes | %d bytes | |" % (access["bytes"]["age"], access["bytes"]["sops"]), ""]
    lines += ["A `provision_access` run that changes nothing, on `make demo`'s host (after a first run that minted "
              "the grants), the formats alternating; each run's wall time, and the sops calls of one run (counted by a "
              "wrapper):", "", "| grants | age: walls | sops: walls | sops calls in one run |", "| --- | --- | --- | --- |"]
    worst = None
    for grants, run in sorted(runs.items()):
        calls = run["sops"]["sops_calls"]
        walls = {fmt: ", ".join("%.1f s" % w for w in run[fmt]["walls"]) for fmt in FORMATS}
        counted = ", ".join("%s %d" % kv for kv in calls.items()) or "none"
        lines.append("| %d | %s | %s | %s |" % (grants, walls["age"], walls["sops"], counted))
        reads = calls.get("decrypt", 0)
        writes = calls.get("set", 0) + calls.get("encrypt", 0)
        cost = reads * d_read + writes * d_write
        worst = cost if worst is None else max(worst, cost)
    if worst is not None:
        holds = worst <= BUDGET_SECONDS
        lines += ["", "**Claim: the sops store costs at most %.0f s more per run at %d grants: %s.** The store reads of a run "
                  "(its `decrypt` calls) times the extra cost of a read measured at %d grants, plus its writes times the "
                  "extra cost of a write: %.2f s at most. The wall times above include everything else a run does and "
                  "vary by more than that between runs; they are shown, not used for the claim."
                  % (BUDGET_SECONDS, access["grants"], "holds" if holds else "DOES NOT HOLD", access["grants"], worst)]
    lines += ["", "Run only this part with `.venv/bin/python scripts/bench_store.py` (`--grants`, `--rounds`, "
              "`--run-grants`); raw figures in `state/bench/store/store.json`.", END]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--grants", type=int, default=int(os.environ.get("BENCH_STORE_GRANTS", "200")))
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--run-grants", default=os.environ.get("BENCH_STORE_RUN_GRANTS", "2,20"))
    p.add_argument("--run-repeat", type=int, default=2, help="no-op provision runs per format and size")
    p.add_argument("--state-dir", default=str(REPO / "state" / "bench" / "store"))
    p.add_argument("--output", default=str(REPO / "docs" / "benchmarks.md"))
    args = p.parse_args(argv)
    root = Path(args.state_dir).resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    binary = sops_binary()
    meta = {"command": " ".join(["scripts/bench_store.py"] + (sys.argv[1:] if argv is None else argv)),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": "%d CPUs, load %s at the start" % (os.cpu_count() or 1, " ".join(Path("/proc/loadavg").read_text().split()[:3]))}
    say("per access at %d grants, %d rounds" % (args.grants, args.rounds))
    (root / "access").mkdir()
    access = per_access(root / "access", binary, args.grants, args.rounds)
    runs = {}
    for grants in [int(g) for g in args.run_grants.split(",") if g]:
        say("provision_access runs with %d grants" % grants)
        runs[grants] = per_run(root / "runs", binary, grants, args.run_repeat)
    (root / "store.json").write_text(json.dumps({"meta": meta, "access": access, "runs": runs}, indent=1))
    output = Path(args.output)
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    output.write_text(with_section(text, render(access, runs, meta)), encoding="utf-8")
    say("wrote %s" % output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
