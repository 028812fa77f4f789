"""A STAND-IN for a scrape target that checks bearer tokens (an exporter, the certctl server: applications not in
this testbed): 200 with one metric for a token ``accepted()`` lists (the collection's token Secret, read anew at
each request), else 401.

``seen`` keeps (token, status) per request, so a test can tell which checks the playbooks made; ``scrapes``
keeps those of requests from a Prometheus (by its User-Agent).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TokenTarget:
    def __init__(self, accepted, address: str = "127.0.0.1", path: str = "/metrics"):
        seen, scrapes = self.seen, self.scrapes = [], []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                header = self.headers.get("Authorization", "")
                token = header[7:] if header.startswith("Bearer ") else None
                ok = token is not None and token in accepted()
                seen.append((token, 200 if ok else 401))
                if self.headers.get("User-Agent", "").startswith("Prometheus/"):
                    scrapes.append((token, 200 if ok else 401))
                body = b"up 1\n" if ok else b"unauthorized\n"
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.httpd.daemon_threads = True
        self.address, self.port = address, self.httpd.server_address[1]
        self.url = "http://%s:%d%s" % (address, self.port, path)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
