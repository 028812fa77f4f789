# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nginx site or location file that puts Prometheus behind auth_basic. Private to promaccess.core.

The file is rendered from the options alone (no template, no state), so the same options give the same
bytes. Two proxy shapes are supported, chosen by ``strip_prefix``:

* strip (default, the Prometheus guide's shape): ``location /prometheus/ { proxy_pass http://127.0.0.1:9090/; }``
  with Prometheus started with ``--web.external-url=http://HOST/prometheus/ --web.route-prefix=/``;
* pass-through: ``location /prometheus/ { proxy_pass http://127.0.0.1:9090; }`` with Prometheus started with
  ``--web.external-url=http://HOST/prometheus/`` (the route prefix then defaults to ``/prometheus``).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from ansible_collections.promaccess.core.plugins.module_utils._common.certs import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    CertificateError,
    check_server_files,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.io import (
    FileWriteError,
    install_file,
    read_file,
    staged_file,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.urls import check_http_url, check_prefix_consistency

MANAGED_HEADER = "# Managed by promaccess.core.nginx_auth: local changes are overwritten."
DEFAULT_LISTEN = ("80",)
DEFAULT_PROXY_HEADERS = (
    ("Host", "$host"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
    ("X-Forwarded-Proto", "$scheme"),
)
INDENT = "    "

_WORD_RE = re.compile(r"^[A-Za-z0-9_.:\[\]*=/~@+-]+$")
_HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_NEEDS_QUOTES_RE = re.compile(r"[\s;{}\"'#\\]")


class NginxConfError(Exception):
    """Input that cannot be rendered, or a configuration that nginx refused; the message says why."""


# -- quoting -----------------------------------------------------------------------------------------------
def quote(value: str, what: str) -> str:
    """An nginx parameter: bare when safe, else double-quoted with \\ and " escaped."""
    if _CONTROL_RE.search(value):
        raise NginxConfError("%s must not contain control characters or line breaks: %r" % (what, value))
    if value == "":
        return '""'
    if _NEEDS_QUOTES_RE.search(value):
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return value


def quote_always(value: str, what: str) -> str:
    """A double-quoted nginx string (for texts shown to people, such as the realm)."""
    if _CONTROL_RE.search(value):
        raise NginxConfError("%s must not contain control characters or line breaks: %r" % (what, value))
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def _word(value: str, what: str) -> str:
    if not _WORD_RE.match(value or ""):
        raise NginxConfError("%s %r must be a single word without quotes, ;, { or }" % (what, value))
    return value


# -- validation of the proxy shape -------------------------------------------------------------------------
def check_location(location: str) -> str:
    if not location.startswith("/") or not location.endswith("/") or "//" in location:
        raise NginxConfError(
            "location %r must start and end with / (for example /prometheus/): without the trailing slash "
            "nginx also matches /prometheusX, and a stripping proxy_pass would send //graph to Prometheus"
            % location
        )
    _word(location, "location")
    return location


def check_upstream(upstream: str) -> str:
    parts = check_http_url(upstream, "upstream", NginxConfError)
    if parts.path:
        raise NginxConfError(
            "upstream %r must not have a path (not even a trailing /): the path decides whether nginx strips "
            "the location prefix, so choose that with strip_prefix instead" % upstream
        )
    _word(upstream, "upstream")
    return upstream


def upstream_tls(upstream: str, ca_file: str | None) -> list[str]:
    """The directives that make nginx verify an ``https://`` upstream's certificate against ``ca_file``. A
    loopback IP upstream is checked under the name ``localhost`` (nginx matches host names only, and the
    certificates the collection issues hold ``localhost``)."""
    if not ca_file:
        return []
    parts = urlsplit(upstream)
    if parts.scheme != "https":
        raise NginxConfError("upstream_ca_file verifies an https:// upstream; upstream %r is not one" % upstream)
    host = parts.hostname or ""
    name = "localhost" if host in ("127.0.0.1", "::1") else host
    return [
        "proxy_ssl_trusted_certificate %s;" % quote(ca_file, "upstream_ca_file"),
        "proxy_ssl_verify on;",
        "proxy_ssl_name %s;" % _word(name, "upstream host"),
    ]


def proxy_pass_target(upstream: str, strip_prefix: bool) -> str:
    """``http://HOST:PORT/`` (nginx replaces the location by /) or ``http://HOST:PORT`` (URI passed as is)."""
    return upstream + "/" if strip_prefix else upstream


def prefix_problems(params: dict) -> list[str]:
    """Why the Prometheus flags given to the module do not fit the proxy shape (empty: they fit)."""
    external_url = params.get("prometheus_external_url")
    if not external_url:
        return []
    return check_prefix_consistency(
        external_url, params.get("prometheus_route_prefix"), params["location"], params["strip_prefix"]
    )


# -- rendering ---------------------------------------------------------------------------------------------
def proxy_headers(extra: dict | None) -> list[tuple[str, str]]:
    headers = list(DEFAULT_PROXY_HEADERS)
    for name, value in (extra or {}).items():
        if not _HEADER_NAME_RE.match(str(name)):
            raise NginxConfError("proxy header name %r may hold only letters, digits and -" % name)
        value = "" if value is None else str(value)
        for i, (existing, _old) in enumerate(headers):
            if existing.lower() == str(name).lower():
                headers[i] = (existing, value)
                break
        else:
            headers.append((str(name), value))
    return headers


def redirect_rewrite(location: str) -> list[str]:
    """proxy_redirect lines that put the stripped prefix back on Prometheus's root-relative redirects.

    Behind a stripping proxy, Prometheus (route prefix /) answers /graph with ``Location: /graph/``, which
    would leave the prefix. Redirects Prometheus already builds from its external URL (``/prometheus/...``)
    and absolute ones (``proxy_redirect default``) are left alone.
    """
    inner = location.strip("/")
    return [
        "proxy_redirect default;",
        "proxy_redirect ~^/(?!%s(?:/|$))(.*)$ %s$1;" % (re.escape(inner), location),
    ]


def _directive(text: str, what: str) -> str:
    text = text.strip()
    if not text or _CONTROL_RE.search(text):
        raise NginxConfError("%s %r must be one non-empty line" % (what, text))
    return text if text.endswith((";", "}")) else text + ";"


def render_location(params: dict, indent: str = "") -> list[str]:
    location = check_location(params["location"])
    upstream = check_upstream(params["upstream"])
    realm = params["realm"]
    if "$" in realm:
        raise NginxConfError("realm %r must not contain $ (nginx would expand it as a variable)" % realm)
    if not realm:
        raise NginxConfError("realm must not be empty")
    inner = indent + INDENT
    lines = [
        "%slocation %s {" % (indent, location),
        "%sauth_basic %s;" % (inner, quote_always(realm, "realm")),
        "%sauth_basic_user_file %s;" % (inner, quote(params["user_file"], "user_file")),
        "",
        "%sproxy_pass %s;" % (inner, proxy_pass_target(upstream, params["strip_prefix"])),
        "%sproxy_http_version 1.1;" % inner,
    ]
    lines.extend(inner + line for line in upstream_tls(upstream, params.get("upstream_ca_file")))
    if params.get("access_log"):
        # combined: $remote_user is in it, so a rotation can tell when each credential was last accepted.
        lines.append("%saccess_log %s combined;" % (inner, quote(params["access_log"], "access_log")))
    if params["strip_prefix"] and location != "/" and params.get("rewrite_redirects", True):
        lines.extend("%s%s" % (inner, line) for line in redirect_rewrite(location))
    for name, value in proxy_headers(params.get("proxy_headers")):
        lines.append("%sproxy_set_header %s %s;" % (inner, name, quote(value, "proxy header %s" % name)))
    for directive in params.get("location_directives") or []:
        lines.append(inner + _directive(directive, "location directive"))
    lines.append("%s}" % indent)
    return lines


#: ``ssl_protocols`` by the oldest version served: TLS 1.2 and 1.3, or 1.3 only; never older.
TLS_PROTOCOLS = {"TLS12": "TLSv1.2 TLSv1.3", "TLS13": "TLSv1.3"}
DEFAULT_HSTS_MAX_AGE = 31536000


def _listen_port(entry: str) -> int:
    """The port of a listen entry (``8443``, ``127.0.0.1:8443``, ``[::]:8443 ssl``); 443 when none is given."""
    address = str(entry).split()[0]
    tail = address.rsplit("]:", 1)[-1] if address.startswith("[") else address.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 443


def render_redirect(params: dict) -> list[str]:
    """The plain-HTTP server of ``tls_redirect_listen``: every request sent to the HTTPS address, none served."""
    listens = params.get("listen") or list(DEFAULT_LISTEN)
    port = _listen_port(listens[0])
    target = "https://$host%s$request_uri" % ("" if port == 443 else ":%d" % port)
    lines = ["server {"]
    for item in params["tls_redirect_listen"]:
        words = [_word(w, "tls_redirect_listen") for w in str(item).split()]
        if not words or "ssl" in words:
            raise NginxConfError("tls_redirect_listen entries are plain HTTP addresses (no 'ssl')")
        lines.append("%slisten %s;" % (INDENT, " ".join(words)))
    names = params.get("server_name") or []
    if names:
        lines.append("%sserver_name %s;" % (INDENT, " ".join(_word(n, "server_name") for n in names)))
    lines.append("%sreturn 301 %s;" % (INDENT, target))
    lines.append("}")
    return lines


def render_server(params: dict) -> list[str]:
    tls = bool(params.get("tls_certificate"))
    listens = params.get("listen") or list(DEFAULT_LISTEN)
    lines = ["server {"]
    for item in listens:
        words = [_word(w, "listen") for w in str(item).split()]
        if not words:
            raise NginxConfError("listen entries must not be empty")
        if tls and "ssl" not in words:
            words.insert(1, "ssl")
        lines.append("%slisten %s;" % (INDENT, " ".join(words)))
    names = params.get("server_name") or []
    if names:
        lines.append("%sserver_name %s;" % (INDENT, " ".join(_word(n, "server_name") for n in names)))
    if tls:
        lines.append("%sssl_certificate %s;" % (INDENT, quote(params["tls_certificate"], "tls_certificate")))
        lines.append(
            "%sssl_certificate_key %s;" % (INDENT, quote(params["tls_certificate_key"], "tls_certificate_key"))
        )
        lines.append("%sssl_protocols %s;" % (INDENT, TLS_PROTOCOLS[params.get("tls_min_version") or "TLS12"]))
        max_age = params.get("hsts_max_age")
        max_age = DEFAULT_HSTS_MAX_AGE if max_age is None else max_age
        if max_age < 0:
            raise NginxConfError("hsts_max_age must be 0 (no HSTS header) or more seconds")
        if max_age:
            # always: on 401 answers too, the first a browser gets from this server
            lines.append('%sadd_header Strict-Transport-Security "max-age=%d" always;' % (INDENT, max_age))
    for directive in params.get("server_directives") or []:
        lines.append(INDENT + _directive(directive, "server directive"))
    lines.append("")
    lines.extend(render_location(params, INDENT))
    lines.append("}")
    return lines


def render(params: dict) -> str:
    """The whole managed file for ``params`` (the module's options); same options, same bytes."""
    if params["kind"] == "location":
        for option in ("listen", "server_name", "tls_certificate", "tls_certificate_key", "server_directives",
                       "tls_redirect_listen"):
            if params.get(option):
                raise NginxConfError(
                    "%s belongs to the server block; it cannot be set with kind=location" % option
                )
        body = render_location(params)
    else:
        if bool(params.get("tls_certificate")) != bool(params.get("tls_certificate_key")):
            raise NginxConfError("tls_certificate and tls_certificate_key must be given together")
        if params.get("tls_redirect_listen") and not params.get("tls_certificate"):
            raise NginxConfError("tls_redirect_listen sends plain HTTP to HTTPS: it needs tls_certificate")
        body = render_server(params)
        if params.get("tls_redirect_listen"):
            body += [""] + render_redirect(params)
    return "\n".join([MANAGED_HEADER] + body) + "\n"


def nginx_test_command(binary: str, config: str | None, prefix: str | None) -> list[str]:
    cmd = [binary, "-t", "-q"]
    if prefix:
        cmd += ["-p", prefix]
    if config:
        cmd += ["-c", config]
    return cmd


# -- the backend -------------------------------------------------------------------------------------------
class NginxAuthBackend:
    """Backend of promaccess.core.nginx_auth; uses only module params, check/diff mode, run_command, file helpers."""

    def __init__(self, module):
        self.module = module
        self.path = module.params["path"]
        self.result: dict = {"path": self.path, "changed": False, "reload_needed": False}

    def file_args(self, exists: bool) -> dict:
        args = self.module.load_file_common_arguments(self.module.params)
        if args.get("mode") is None and not exists:
            args["mode"] = "0644"
        return args

    def nginx(self) -> str | None:
        params = self.module.params
        if not params["validate"]:
            return None
        binary = params["nginx_binary"]
        found = binary if os.path.isabs(binary) and os.access(binary, os.X_OK) else None
        if found is None:
            found = self.module.get_bin_path(binary, required=False)
        if found is None:
            raise NginxConfError(
                "%s not found: it is needed to check the configuration (set validate=false to skip that)" % binary
            )
        return found

    def nginx_test(self, binary: str) -> tuple[bool, str]:
        params = self.module.params
        cmd = nginx_test_command(binary, params["nginx_config"], params["nginx_prefix"])
        rc, out, err = self.module.run_command(cmd)
        return rc == 0, (err or out or "").strip()

    def check_certificate(self) -> None:
        """Refuse a certificate nginx would serve and every client would refuse (expired, not yet valid) or
        that nginx -t would refuse (a key of another certificate), before the file changes; without the
        cryptography package on the host only nginx -t checks it (the key, not the dates), with a warning."""
        params = self.module.params
        if params["kind"] != "server" or not params.get("tls_certificate"):
            return
        if CRYPTOGRAPHY_IMPORT_ERROR is not None:
            self.module.warn("the cryptography package is missing on the host: the dates of %s were not checked"
                             % params["tls_certificate"])
            return
        try:
            self.result["certificate"] = check_server_files(params["tls_certificate"], params["tls_certificate_key"])
        except CertificateError as exc:
            raise NginxConfError("%s was not changed: %s" % (self.path, exc)) from exc

    def restore(self, before: bytes | None, old_stat) -> None:
        if before is None:
            os.unlink(self.path)
            return
        old_args = self.module.load_file_common_arguments(self.module.params)
        old_args.update(
            mode="0%o" % (old_stat.st_mode & 0o7777), owner=str(old_stat.st_uid), group=str(old_stat.st_gid)
        )
        with staged_file(self.path, before) as staged:
            install_file(self.module, staged, self.path, old_args)
        self.module.set_fs_attributes_if_different(old_args, False)

    def run(self) -> dict:
        params = self.module.params
        problems = prefix_problems(params)
        if problems:
            raise NginxConfError("refusing a proxy shape that cannot work: " + "; ".join(problems))
        content = render(params).encode("utf-8")
        try:
            before = read_file(self.path)
        except FileWriteError as exc:
            raise NginxConfError(str(exc)) from exc
        exists = before is not None
        changed = before != content
        self.result["reload_needed"] = changed
        if self.module._diff:
            self.result["diff"] = {
                "before_header": self.path,
                "after_header": self.path,
                "before": before.decode("utf-8", "replace") if exists else "",
                "after": content.decode("utf-8"),
            }
        file_args = self.file_args(exists)
        if self.module.check_mode:
            if exists:
                changed = self.module.set_fs_attributes_if_different(file_args, changed)
            self.result["changed"] = changed
            return self.result
        if not changed:
            self.result["changed"] = self.module.set_fs_attributes_if_different(file_args, False)
            return self.result
        binary = self.nginx()
        self.check_certificate()
        ca_file = params.get("upstream_ca_file")
        if ca_file and not os.path.isfile(ca_file):
            raise NginxConfError("%s was not changed: upstream_ca_file %s does not exist" % (self.path, ca_file))
        if not os.path.isdir(os.path.dirname(os.path.abspath(self.path))):
            raise NginxConfError("cannot write %s: its directory does not exist" % self.path)
        old_stat = os.stat(self.path) if exists else None
        try:
            if params["backup"] and exists:
                self.result["backup_file"] = self.module.backup_local(self.path)
            with staged_file(self.path, content) as staged:
                install_file(self.module, staged, self.path, file_args)
            self.module.set_fs_attributes_if_different(file_args, True)
        except FileWriteError as exc:
            raise NginxConfError(str(exc)) from exc
        if binary is not None:
            ok, message = self.nginx_test(binary)
            if not ok:
                try:
                    self.restore(before, old_stat)
                except (OSError, FileWriteError) as exc:
                    raise NginxConfError(
                        "nginx -t rejected the new %s and restoring the previous file failed (%s); nginx was "
                        "not reloaded. nginx said: %s" % (self.path, exc, message)
                    ) from exc
                was_ok, old_message = self.nginx_test(binary)
                if not was_ok:
                    raise NginxConfError(
                        "nginx -t fails with or without the new %s: the rest of the configuration is broken "
                        "(previous file restored). nginx said: %s" % (self.path, old_message)
                    )
                raise NginxConfError(
                    "nginx -t rejected the new %s; the previous %s was put back and nginx was not reloaded. "
                    "nginx said: %s" % (self.path, "file" if exists else "state (no file)", message)
                )
            self.result["validated"] = True
        self.result["changed"] = True
        return self.result
