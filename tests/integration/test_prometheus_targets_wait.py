"""promaccess.core.prometheus_targets_wait against two real Prometheus servers (Debian's ``prometheus``).

The *target* is a Prometheus whose exporter-toolkit web config accepts two scrape users (old and new); the
*scraper* is a Prometheus with ``--web.enable-lifecycle`` whose job ``serviceMonitor/apps/exporter/0`` (the pool
name the Prometheus Operator gives an endpoint of ServiceMonitor apps/exporter) scrapes the target every second
with basic auth. The test plays the operator and its config reloader: it rewrites the scraper's configuration
with the new credential and POSTs ``/-/reload``. What must hold:

* read first, the module returns the configuration's load time; after the move and the reload, the wait returns
  once the target is up and scraped since that load (one pass through ansible-playbook, as the playbooks call it);
* a credential the target refuses: the wait fails at its timeout, naming the pool, the target and Prometheus's
  401; a reload that never comes: it fails saying no configuration was loaded since the time given;
* the password of the URL never appears in the output.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request

import bcrypt
import pytest
import yaml

from _ingress_backend import free_port
from test_targets import run_playbook

POOL = "serviceMonitor/apps/exporter/0"

PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait (or only read)
      promaccess.core.prometheus_targets_wait:
        url: "{{ url }}"
        scrape_pools: "{{ pools | default([]) }}"
        config_after: "{{ after | default(omit) }}"
        timeout: "{{ timeout | default(60) }}"
        delay: 0.5
      register: r
      ignore_errors: true

    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ r | to_json }}"
        dest: "{{ output_dir }}/result.json"
        mode: "0600"
"""


def _start(tmp, name, args):
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(["prometheus", "--web.listen-address=127.0.0.1:%d" % port,
                             "--storage.tsdb.path=%s" % (tmp / (name + "-data")), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d/" % port
    deadline = time.monotonic() + 60
    while not _answers(url):  # the target, behind its web config, is ready when it answers 401
        assert proc.poll() is None, "%s exited" % name
        assert time.monotonic() < deadline, "%s never became ready" % name
        time.sleep(0.2)
    return proc, url


def _answers(url):
    try:
        with urllib.request.urlopen(url + "-/ready", timeout=2):  # noqa: S310 - the test's own server
            return True
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except OSError:
        return False


@pytest.mark.slow
def test_wait_follows_a_real_reload_and_fails_on_a_refused_credential(tmp_path):
    old, new = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {
        user: bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
        for user, password in (("old", old), ("new", new))}}))
    (tmp_path / "target.yml").write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    scraper_config = tmp_path / "scraper.yml"
    procs = []
    try:
        target, target_url = _start(tmp_path, "target", ["--config.file=%s" % (tmp_path / "target.yml"),
                                                         "--web.config.file=%s" % web])
        procs.append(target)
        address = target_url.split("//")[1].rstrip("/")

        def configure(user, password):
            scraper_config.write_text(yaml.safe_dump({
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": [{"job_name": POOL, "basic_auth": {"username": user, "password": password},
                                    "static_configs": [{"targets": [address]}]}]}))

        configure("old", old)
        scraper, url = _start(tmp_path, "scraper", ["--config.file=%s" % scraper_config, "--web.enable-lifecycle"])
        procs.append(scraper)

        def reload():
            request = urllib.request.Request(url + "-/reload", method="POST")
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - the test's own server
                pass

        def module(**extra):
            playbook = tmp_path / "play.yml"
            playbook.write_text(PLAY)
            args = []
            for key, value in dict(url=url, **extra).items():
                args += ["-e", json.dumps({key: value})]
            proc = run_playbook(playbook, tmp_path, None, *args)
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
            assert old not in proc.stdout and new not in proc.stdout
            return json.loads((tmp_path / "result.json").read_text())

        first = module(pools=[POOL], timeout=60)  # the first scrapes with the old credential
        assert not first.get("failed"), first
        before = first["last_config_time"]
        assert first["pools"] == [{"pool": POOL, "targets": 1, "ready": 1, "problem": None}]

        # -- the move: new credential, reload; the wait sees the new load and a scrape after it ------------------
        configure("new", new)
        reload()
        moved = module(pools=["serviceMonitor/apps/exporter/"], after=before, timeout=60)
        assert not moved.get("failed"), moved
        assert moved["last_config_time"] > before and moved["reload_success"] is True
        assert moved["pools"][0]["ready"] == 1

        # -- a reload that never comes -------------------------------------------------------------------------
        stale = module(pools=[POOL], after=moved["last_config_time"], timeout=3)
        assert stale["failed"] and "has not loaded a configuration since %s" % moved["last_config_time"] in stale["msg"]

        # -- a credential the target refuses -------------------------------------------------------------------
        configure("new", old)
        reload()
        refused = module(pools=[POOL], after=moved["last_config_time"], timeout=8)
        assert refused["failed"], refused
        assert "%s: %s is down" % (POOL, address) in refused["msg"] and "401" in refused["msg"], refused["msg"]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
