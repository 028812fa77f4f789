"""Real consumers of a user file, as plain processes on 127.0.0.1, for the tests that check what they make of it;
and ``run_module``, one module of the collection run through Ansible on this machine.

* ``with StaticNginx(folder, user_file) as nginx:`` Debian's nginx serving a static page behind ``auth_basic``:
  checks the configuration with ``nginx -t`` (``nginx.check``), starts nginx and waits for its 401; ``nginx.url``
  is the page.
* ``with NativePrometheus(folder, web_yml) as prometheus:`` ``promtool check web-config`` on the file, then
  Debian's Prometheus started with it, waiting for its 401; ``prometheus.url`` is ``/-/healthy``.
"""

from __future__ import annotations

import json
import os
import sys
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def curl_status(url, user=None, password=None, extra=()) -> str:
    """curl's HTTP status of ``url`` as text (``000``: no HTTP answer); credentials through a curl config on
    stdin, never argv; ``extra``: more curl arguments (``--cacert``)."""
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", *extra]
    config = None
    if user is not None:
        config = 'user = "%s:%s"\n' % (user, password)
        cmd += ["-K", "-"]
    return subprocess.run(cmd + [url], input=config, capture_output=True, text=True, timeout=10, check=False).stdout


def _wait_401(url: str, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while curl_status(url) != "401":
        if time.monotonic() > deadline:
            raise AssertionError("%s at %s did not answer 401 within %s s" % (what, url, seconds))
        time.sleep(0.2)


class StaticNginx:
    def __init__(self, folder: Path, user_file: Path):
        self.folder, self.user_file = Path(folder), Path(user_file)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.check = None
        self.proc = None

    def __enter__(self):
        d = self.folder
        for sub in ("logs", "tmp", "www"):
            (d / sub).mkdir(exist_ok=True)
        # a static file, not `return 200`: `return` runs before the access phase and would skip auth_basic
        (d / "www" / "index.html").write_text("ok\n")
        conf = d / "nginx.conf"
        conf.write_text(
            "user root root;\nworker_processes 1;\npid %(d)s/nginx.pid;\nerror_log %(d)s/logs/error.log;\n"
            "events { worker_connections 64; }\n"
            "http {\n  access_log off;\n  client_body_temp_path %(d)s/tmp; proxy_temp_path %(d)s/tmp;\n"
            "  fastcgi_temp_path %(d)s/tmp; uwsgi_temp_path %(d)s/tmp; scgi_temp_path %(d)s/tmp;\n"
            "  server {\n    listen 127.0.0.1:%(port)d;\n    location / {\n      auth_basic \"prometheus\";\n"
            "      auth_basic_user_file %(users)s;\n      root %(d)s/www;\n    }\n  }\n}\n"
            % {"d": d, "port": self.port, "users": self.user_file})
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.check = subprocess.run([nginx, "-t", "-p", str(d), "-c", str(conf)], capture_output=True, text=True,
                                    check=False)
        assert self.check.returncode == 0, self.check.stderr
        self.proc = subprocess.Popen([nginx, "-p", str(d), "-c", str(conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_401(self.url, 15, "nginx")
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class NativePrometheus:
    def __init__(self, folder: Path, web_yml: Path):
        self.folder, self.web_yml = Path(folder), Path(web_yml)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/-/healthy" % self.port
        self.proc = None

    def __enter__(self):
        check = subprocess.run(["promtool", "check", "web-config", str(self.web_yml)], capture_output=True,
                               text=True, timeout=60, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        config = self.folder / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=%s" % config, "--web.config.file=%s" % self.web_yml,
             "--web.listen-address=127.0.0.1:%d" % self.port, "--storage.tsdb.path=%s" % (self.folder / "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_401(self.url, 60, "Prometheus")
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def run_module(module: str, args: dict) -> dict:
    """``ansible localhost -m promaccess.core.<module>`` with ``args`` (JSON); the host's result."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible"), "localhost", "-m", "promaccess.core." + module,
                           "-a", json.dumps(args), "-e", "ansible_python_interpreter=%s" % sys.executable],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
