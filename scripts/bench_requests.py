"""Benchmark: what basic auth costs per request, by hash scheme and consumer, side by side in one run (issue #16).

    .venv/bin/python scripts/bench_requests.py [--seconds 5] [--concurrency 2] [--no-ingress]
                                               [--output docs/benchmarks.md] [--state-dir state/bench/requests]

Every row is measured with Apache's `ab` (Debian's apache2-utils; a bounded load generator: --concurrency
connections, --seconds seconds, no keep-alive, as a browser's or Grafana's new connections) on loopback, in this
one run, one row after the other:

1. **Schemes in nginx `auth_basic`**: one nginx worker serving a static page, one user in each user file, its
   password 64 random characters as the store mints them; a location per scheme (no auth, bcrypt cost 12, 10
   and 5, sha512-crypt at 5000 and 1000 rounds, `$apr1$`, `{SSHA}`). This is what the hash policy's choice for
   nginx rests on.
2. **Prometheus and nginx in front of it**: Debian's Prometheus answering `/-/healthy` without auth and with a
   `web.yml` (bcrypt cost 12, exporter-toolkit caches what it verified); nginx proxying to it without auth, with
   today's cost-12 bcrypt, and with the policy's `$apr1$`.
3. **TLS** (issue #17, the default beyond loopback): nginx to Prometheus with the policy's `$apr1$`, plain HTTP and
   HTTPS (TLS 1.3, an ECDSA P-256 certificate as the playbooks issue), each with a new connection per request
   (a TLS handshake every time) and with keep-alive (`ab -k`, as Grafana and Prometheus keep their connections).
4. **The real ingress controller** of the real-Kubernetes testbed (Traefik, serving the ingress-nginx
   annotations; tests/controlplane, started when it is not running and stopped again) in front of the same kind
   of Prometheus: no auth, the Secret as it was (bcrypt cost 12) and the Secret under the policy (`$apr1$`).
   Skipped with --no-ingress or when the testbed's components cannot be built; the report says so.

Requests/s, p50 and p99 latency (ab's percentiles, in ms) per row. The goals checked: an authenticated request
through nginx (and through the ingress controller) costs at most 1 ms more than an unauthenticated one at p50, and
one worker serves at least 1,000 authenticated requests/s. It rewrites only its section of docs/benchmarks.md
(between markers) and writes its raw figures to <state-dir>/requests.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import shutil
import socket
import string
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "build" / "collections"))

from passlib import hash as passlib_hash  # noqa: E402 - the passlib API of libpass, as the collection uses it

START = "<!-- requests:start (scripts/bench_requests.py rewrites this section) -->"
END = "<!-- requests:end -->"
ALPHABET = string.ascii_letters + string.digits
GOAL_P50_MS = 1.0
GOAL_RPS = 1000

#: name -> how its hash is made (None: no auth). The policy's choice for nginx is apr1.
SCHEMES = {
    "none": None,
    "bcrypt-12": lambda p: passlib_hash.bcrypt.using(ident="2y", rounds=12).hash(p),
    "bcrypt-10": lambda p: passlib_hash.bcrypt.using(ident="2y", rounds=10).hash(p),
    "bcrypt-5": lambda p: passlib_hash.bcrypt.using(ident="2y", rounds=5).hash(p),
    "sha512-5000": lambda p: passlib_hash.sha512_crypt.using(rounds=5000).hash(p),
    "sha512-1000": lambda p: passlib_hash.sha512_crypt.using(rounds=1000).hash(p),
    "apr1": passlib_hash.apr_md5_crypt.hash,
    "ssha": passlib_hash.ldap_salted_sha1.hash,
}
LABELS = {
    "none": "no auth",
    "bcrypt-12": "bcrypt cost 12 (the store's; before the policy)",
    "bcrypt-10": "bcrypt cost 10 (Helm's `htpasswd`)",
    "bcrypt-5": "bcrypt cost 5",
    "sha512-5000": "sha512-crypt, 5000 rounds",
    "sha512-1000": "sha512-crypt, 1000 rounds",
    "apr1": "`$apr1$` (the policy's choice)",
    "ssha": "`{SSHA}` (salted SHA-1; nginx only)",
}


def say(message: str) -> None:
    print("[bench-requests] %s" % message, flush=True)


def mint(length: int = 64) -> str:
    return "".join(secrets.choice(ALPHABET) for _unused in range(length))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_status(url: str, expected: int, auth: tuple | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = http_status(url, auth)
        if last == expected:
            return
        time.sleep(0.2)
    raise RuntimeError("%s did not answer %s within %ss (last %s)" % (url, expected, seconds, last))


def http_status(url: str, auth: tuple | None = None) -> int | None:
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"]
    if url.startswith("https://"):
        cmd.append("--insecure")  # the bench's own throwaway certificate; the tests check trust, not this
    config = None
    if auth is not None:
        cmd += ["-K", "-"]
        config = 'user = "%s:%s"\n' % auth
    out = subprocess.run(cmd + [url], input=config, capture_output=True, text=True, check=False).stdout
    return int(out) if out.isdigit() and out != "000" else None


def ab(url: str, auth: tuple | None, seconds: float, concurrency: int, work: Path, keepalive: bool = False) -> dict:
    """One row: ab for ``seconds`` (at most 1,000,000 requests); requests/s and p50/p99 in ms. ``keepalive``:
    reuse connections (``-k``). ab does not verify certificates: this measures cost, the tests check trust."""
    percentiles, each = work / "ab.csv", work / "ab.tsv"
    cmd = ["ab", "-q", "-c", str(concurrency), "-t", str(seconds), "-n", "1000000", "-s", "60",
           "-e", str(percentiles), "-g", str(each)] + (["-k"] if keepalive else [])
    if auth is not None:
        cmd += ["-A", "%s:%s" % auth]  # the bench's own throwaway credential, never the store's
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=False, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError("ab failed on %s: %s" % (url, out.stderr[-500:]))
    text = out.stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", text).group(1))
    done = int(re.search(r"Complete requests:\s+(\d+)", text).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", text).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", text)
    with open(percentiles, encoding="utf-8") as handle:
        rows = {int(r[0]): float(r[1]) for r in list(csv.reader(handle))[1:]}
    if done < 100:
        # ab leaves its high percentiles at 0 below 100 requests: take them from each request's total time
        # (whole ms, ab's -g file), nearest rank.
        with open(each, encoding="utf-8") as handle:
            times = sorted(int(r[4]) for r in list(csv.reader(handle, delimiter="\t"))[1:])
        rows = {q: float(times[min(len(times) - 1, max(0, -(-q * len(times) // 100) - 1))]) for q in (50, 99)}
    return {"rps": rps, "p50": rows[50], "p99": rows[99], "requests": done, "failed": failed,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


# -- the pieces ------------------------------------------------------------------------------------------------
class Prometheus:
    def __init__(self, work: Path, name: str, web_config: Path | None = None, address: str = "127.0.0.1",
                 prefix: str = ""):
        self.work, self.name, self.web_config, self.address, self.prefix = work, name, web_config, address, prefix
        self.port = free_port()
        self.proc = None

    def __enter__(self):
        config = self.work / ("%s.yml" % self.name)
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        cmd = ["prometheus", "--config.file=%s" % config, "--web.listen-address=%s:%d" % (self.address, self.port),
               "--storage.tsdb.path=%s" % (self.work / ("%s-data" % self.name))]
        if self.web_config is not None:
            cmd.append("--web.config.file=%s" % self.web_config)
        if self.prefix:
            cmd += ["--web.route-prefix=%s" % self.prefix, "--web.external-url=http://localhost%s/" % self.prefix]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_status("http://%s:%d%s/-/healthy" % (self.address, self.port, self.prefix),
                    401 if self.web_config else 200)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Nginx:
    """One worker; /s/<scheme>/ a static page, /p/<scheme>/ proxied to ``upstream``; one user file per scheme."""

    def __init__(self, work: Path, users: dict, upstream: str, tls: tuple | None = None):
        self.work, self.users, self.upstream, self.tls = work, users, upstream, tls
        self.port = free_port()
        self.tls_port = free_port() if tls else 0  # 0: no TLS server
        self.proc = None

    def __enter__(self):
        d = self.work
        for sub in ("logs", "tmp", "www/s"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "www" / "index.html").write_text("ok\n")
        locations = []
        for scheme, (user, hashed) in self.users.items():
            auth = ""
            if hashed is not None:
                (d / ("%s.htpasswd" % scheme)).write_text("%s:%s\n" % (user, hashed))
                auth = 'auth_basic "bench"; auth_basic_user_file %s/%s.htpasswd;' % (d, scheme)
            locations.append("location /s/%s/ { %s alias %s/www/; }" % (scheme, auth, d))
            locations.append("location /p/%s/ { %s proxy_pass %s/; }" % (scheme, auth, self.upstream))
        servers = ["server {\n    listen 127.0.0.1:%d;\n    %s\n  }" % (self.port, "\n    ".join(locations))]
        if self.tls:
            # As nginx_auth writes it for the playbooks: TLS 1.2 and 1.3 only.
            servers.append("server {\n    listen 127.0.0.1:%d ssl;\n    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
                           "    ssl_protocols TLSv1.2 TLSv1.3;\n    %s\n  }"
                           % (self.tls_port, self.tls[0], self.tls[1], "\n    ".join(locations)))
        conf = d / "nginx.conf"
        conf.write_text(
            "user root root;\nworker_processes 1;\npid %(d)s/nginx.pid;\nerror_log %(d)s/logs/error.log;\n"
            "events { worker_connections 256; }\n"
            "http {\n  access_log off;\n  client_body_temp_path %(d)s/tmp; proxy_temp_path %(d)s/tmp;\n"
            "  fastcgi_temp_path %(d)s/tmp; uwsgi_temp_path %(d)s/tmp; scgi_temp_path %(d)s/tmp;\n"
            "  %(servers)s\n}\n" % {"d": d, "servers": "\n  ".join(servers)})
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        check = subprocess.run([nginx, "-t", "-p", str(d), "-c", str(conf)], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise RuntimeError("nginx -t: %s" % check.stderr)
        self.proc = subprocess.Popen([nginx, "-p", str(d), "-c", str(conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_status(self.url("s", "none"), 200)
        return self

    def url(self, kind: str, scheme: str, tls: bool = False) -> str:
        return "%s://127.0.0.1:%d/%s/%s/%s" % ("https" if tls else "http", self.tls_port if tls else self.port, kind,
                                               scheme, "" if kind == "s" else "-/healthy")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def measure(rows: list, label: str, group: str, url: str, auth, args, work: Path, keepalive: bool = False) -> None:
    if auth is not None and http_status(url, auth) != 200:
        raise RuntimeError("%s: the right password is not accepted at %s" % (label, url))
    result = ab(url, auth, args.seconds, args.concurrency, work, keepalive)
    if result["failed"] or result["non_2xx"]:
        raise RuntimeError("%s: %d failed, %d non-2xx answers" % (label, result["failed"], result["non_2xx"]))
    result.update(group=group, label=label)
    rows.append(result)
    say("%-55s %9.1f req/s  p50 %7.3f ms  p99 %8.3f ms" % (label, result["rps"], result["p50"], result["p99"]))


def bench_local(work: Path, args) -> list:
    rows: list = []
    users = {}
    for scheme, make in SCHEMES.items():
        user, password = mint(), mint()
        users[scheme] = (user, make(password) if make else None, password)
    web = work / "web.yml"
    web.write_text("basic_auth_users:\n  %s: '%s'\n" % (users["bcrypt-12"][0], users["bcrypt-12"][1]))
    from tls_material import CA  # noqa: PLC0415 - tests/tls_material.py: a throwaway CA (cryptography)
    tls = CA("bench CA").write(work, "server")
    with Prometheus(work, "plain") as plain, Prometheus(work, "native", web) as native, \
            Nginx(work, {s: u[:2] for s, u in users.items()}, "http://127.0.0.1:%d" % plain.port, tls) as nginx:
        for scheme, (user, _hashed, password) in users.items():
            measure(rows, LABELS[scheme], "nginx scheme (static page)", nginx.url("s", scheme),
                    None if scheme == "none" else (user, password), args, work)
        user, _hashed, password = users["bcrypt-12"]
        measure(rows, "Prometheus, no auth", "Prometheus", "http://127.0.0.1:%d/-/healthy" % plain.port, None,
                args, work)
        measure(rows, "Prometheus, `web.yml` bcrypt cost 12 (exporter-toolkit's cache)", "Prometheus",
                "http://127.0.0.1:%d/-/healthy" % native.port, (user, password), args, work)
        for scheme in ("none", "bcrypt-12", "apr1"):
            user, _hashed, password = users[scheme]
            measure(rows, "nginx to Prometheus, " + LABELS[scheme], "Prometheus", nginx.url("p", scheme),
                    None if scheme == "none" else (user, password), args, work)
        user, _hashed, password = users["apr1"]
        for tls_on, keepalive in ((False, False), (True, False), (False, True), (True, True)):
            label = "nginx to Prometheus, `$apr1$`, %s, %s" % (
                "HTTPS (TLS 1.3, ECDSA P-256)" if tls_on else "plain HTTP",
                "keep-alive" if keepalive else "a new connection per request")
            measure(rows, label, "TLS (nginx to Prometheus, the policy's hash)", nginx.url("p", "apr1", tls_on),
                    (user, password), args, work, keepalive)
    return rows


def bench_ingress(work: Path, args) -> tuple[list, str | None]:
    """Traefik of tests/controlplane in front of a real Prometheus; the Secret rewritten between rows."""
    try:
        from controlplane import controlplane as cp  # noqa: PLC0415 - only with the testbed
        from controlplane.session import ClusterSession  # noqa: PLC0415
        from _ingress_backend import PrometheusBehindIngress  # noqa: PLC0415
    except ImportError as exc:
        return [], "the testbed cannot be imported (%s)" % exc
    try:
        cp.binaries()  # built once per version and cached outside the checkout (scripts/k8s-build.sh)
    except (OSError, subprocess.CalledProcessError) as exc:
        return [], "the testbed's components could not be built (%s)" % exc
    rows: list = []
    ns = "bench-requests"
    with ClusterSession(namespaces=(ns,)) as k8s, PrometheusBehindIngress(k8s, ns, work) as backend:
        url = backend.url + "-/healthy"
        measure(rows, "Traefik to Prometheus, no auth", "ingress controller", url, None, args, work)
        ingress = k8s.get_object("ingresses", ns, backend.name)
        ingress["metadata"].setdefault("annotations", {}).update({
            "nginx.ingress.kubernetes.io/auth-type": "basic",
            "nginx.ingress.kubernetes.io/auth-secret": "bench-basic-auth",
            "nginx.ingress.kubernetes.io/auth-secret-type": "auth-file",
            "nginx.ingress.kubernetes.io/auth-realm": "bench"})
        for scheme in ("bcrypt-12", "apr1"):
            user, password = mint(), mint()
            line = "%s:%s\n" % (user, SCHEMES[scheme](password))
            k8s.put_object("secrets", ns, {"metadata": {"name": "bench-basic-auth"}, "type": "Opaque",
                                           "stringData": {"auth": line}})
            k8s.put_object("ingresses", ns, ingress)
            wait_status(url, 200, (user, password), 120)  # Traefik has the new Secret
            label = "Traefik to Prometheus, Secret " + ("as before the policy (bcrypt cost 12)"
                                                        if scheme == "bcrypt-12" else "under the policy (`$apr1$`)")
            measure(rows, label, "ingress controller", url, (user, password), args, work)
    return rows, None


# -- report -----------------------------------------------------------------------------------------------------
def render(rows: list, meta: dict, skipped: str | None) -> str:
    by = {r["label"]: r for r in rows}
    intro = ("Measured by `%s` on %s, one run, every row one after the other (%s). Load: `ab -c %d` for %s s per "
             "row, no keep-alive unless the row says so, on loopback; one nginx worker; each user file holds one "
             "user whose password is 64 random characters, as the store mints them."
             % (meta["command"], meta["started"], meta["machine"], meta["concurrency"], meta["seconds"]))
    lines = [START, "", "## Per request: what basic auth costs, by scheme and consumer", "", intro, "",
             "| what | requests/s | p50 ms | p99 ms | requests |", "| --- | ---: | ---: | ---: | ---: |"]
    group = None
    for r in rows:
        if r["group"] != group:
            group = r["group"]
            lines.append("| **%s** | | | | |" % group)
        lines.append("| %s | %.1f | %.3f | %.3f | %d |" % (r["label"], r["rps"], r["p50"], r["p99"], r["requests"]))
    lines.append("")
    checks = []
    pairs = [("nginx", "nginx to Prometheus, " + LABELS["none"], "nginx to Prometheus, " + LABELS["apr1"],
              "nginx to Prometheus, " + LABELS["bcrypt-12"]),
             ("the ingress controller", "Traefik to Prometheus, no auth",
              "Traefik to Prometheus, Secret under the policy (`$apr1$`)",
              "Traefik to Prometheus, Secret as before the policy (bcrypt cost 12)")]
    for name, plain, policy, before in pairs:
        if plain in by and policy in by:
            extra = by[policy]["p50"] - by[plain]["p50"]
            holds = extra <= GOAL_P50_MS and by[policy]["rps"] >= GOAL_RPS
            ratio = by[policy]["rps"] / by[before]["rps"] if before in by else None
            checks.append("- **Through %s: %s.** An authenticated request under the policy costs %+.3f ms at p50 over "
                          "an unauthenticated one (goal: at most %.0f ms) and is served %.0f times a second (goal: "
                          "at least %d)%s." % (name, "holds" if holds else "DOES NOT HOLD", extra, GOAL_P50_MS,
                                               by[policy]["rps"], GOAL_RPS,
                                               "; %.0f times the requests/s of cost-12 bcrypt" % ratio if ratio else ""))
    tls_rows = [r for r in rows if r["group"].startswith("TLS")]
    if len(tls_rows) == 4:
        plain_new, tls_new, plain_keep, tls_keep = tls_rows
        checks.append("- **TLS.** With a new connection per request, HTTPS serves %.2f of plain HTTP's requests/s "
                      "(%+.3f ms at p50: a handshake every time); with keep-alive %.2f (%+.3f ms). Clients that keep "
                      "their connections (Grafana, a scraping Prometheus) pay the handshake once."
                      % (tls_new["rps"] / plain_new["rps"], tls_new["p50"] - plain_new["p50"],
                         tls_keep["rps"] / plain_keep["rps"], tls_keep["p50"] - plain_keep["p50"]))
    if skipped:
        checks.append("- The ingress controller was not measured in this run: %s." % skipped)
    else:
        checks.append("- Traefik runs concurrent checks of the same user and password once and shares the answer "
                      "(Go's singleflight in its basic-auth middleware), so under this load many requests wait on "
                      "a bcrypt already running instead of starting one: its bcrypt p50 is low, its p99 is one "
                      "bcrypt, its requests/s are what the CPU allows. Requests that do not coincide each pay the "
                      "full hash.")
    lines += checks
    lines += ["", "Run only this part with `make bench BENCH_ONLY=requests` or `.venv/bin/python "
              "scripts/bench_requests.py` (`--seconds`, `--concurrency`, `--no-ingress`); raw figures in "
              "`state/bench/requests/requests.json`. docs/hash_policy.md explains the choice these rows support.", END]
    return "\n".join(lines) + "\n"


def with_section(text: str, section: str) -> str:
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + section.rstrip("\n") + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + section


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_REQUESTS_SECONDS", "5")))
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--no-ingress", action="store_true")
    p.add_argument("--state-dir", default=str(REPO / "state" / "bench" / "requests"))
    p.add_argument("--output", default=str(REPO / "docs" / "benchmarks.md"))
    args = p.parse_args(argv)
    for tool in ("ab", "nginx", "prometheus", "curl"):
        if shutil.which(tool) is None and not (tool == "nginx" and Path("/usr/sbin/nginx").exists()):
            raise SystemExit("bench_requests: %s is not installed (make bootstrap installs it)" % tool)
    root = Path(args.state_dir).resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    meta = {"command": " ".join(["scripts/bench_requests.py"] + (sys.argv[1:] if argv is None else argv)),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": args.seconds,
            "concurrency": args.concurrency,
            "machine": "%d CPUs, load %s at the start" % (os.cpu_count() or 1,
                                                          " ".join(Path("/proc/loadavg").read_text().split()[:3]))}
    (root / "local").mkdir()
    rows = bench_local(root / "local", args)
    skipped = "--no-ingress was given" if args.no_ingress else None
    if not args.no_ingress:
        (root / "ingress").mkdir()
        ingress_rows, skipped = bench_ingress(root / "ingress", args)
        rows += ingress_rows
    (root / "requests.json").write_text(json.dumps({"meta": meta, "rows": rows, "skipped": skipped}, indent=1))
    output = Path(args.output)
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    output.write_text(with_section(text, render(rows, meta, skipped)), encoding="utf-8")
    say("wrote %s" % output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
