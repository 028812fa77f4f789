"""Unit tests of the nginx auth_basic file: rendering, shape checks, and the install / nginx -t / restore flow."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._host_files.nginx_conf import (
    MANAGED_HEADER,
    NginxAuthBackend,
    NginxConfError,
    check_location,
    check_upstream,
    nginx_test_command,
    prefix_problems,
    quote,
    render,
)


def params(**over):
    base = dict(
        path="/tmp/unused", kind="server", listen=["127.0.0.1:8080"], server_name=[], location="/prometheus/",
        upstream="http://127.0.0.1:9090", upstream_ca_file=None, strip_prefix=True, rewrite_redirects=True, realm="Prometheus",
        user_file="/etc/nginx/prometheus.htpasswd", tls_certificate=None, tls_certificate_key=None,
        tls_min_version="TLS12", hsts_max_age=31536000, tls_redirect_listen=[],
        proxy_headers={}, location_directives=[], server_directives=[], prometheus_external_url=None,
        prometheus_route_prefix=None, validate=True, nginx_binary="nginx", nginx_config=None,
        nginx_prefix=None, backup=False, mode=None, owner=None, group=None, unsafe_writes=False,
    )
    base.update(over)
    return base


EXPECTED_SERVER = """\
# Managed by promaccess.core.nginx_auth: local changes are overwritten.
server {
    listen 127.0.0.1:8080;

    location /prometheus/ {
        auth_basic "Prometheus";
        auth_basic_user_file /etc/nginx/prometheus.htpasswd;

        proxy_pass http://127.0.0.1:9090/;
        proxy_http_version 1.1;
        proxy_redirect default;
        proxy_redirect ~^/(?!prometheus(?:/|$))(.*)$ /prometheus/$1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}
"""


def test_render_server_golden_and_deterministic():
    assert render(params()) == EXPECTED_SERVER
    assert render(params()) == render(params())


def test_render_location_pass_through():
    text = render(params(kind="location", listen=None, strip_prefix=False, proxy_headers={"Authorization": ""}))
    lines = text.splitlines()
    assert lines[0] == MANAGED_HEADER
    assert lines[1] == "location /prometheus/ {"
    assert "    proxy_pass http://127.0.0.1:9090;" in lines
    assert not any("proxy_redirect" in line for line in lines)
    assert '    proxy_set_header Authorization "";' in lines
    assert lines[-1] == "}"
    assert "server" not in text and "listen" not in text


def test_render_tls_server_names_and_directives():
    text = render(params(
        listen=["0.0.0.0:443", "[::]:443 default_server"], server_name=["a.example", "b.example"],
        tls_certificate="/etc/ssl/p.pem", tls_certificate_key="/etc/ssl/private/p key.pem",
        server_directives=["client_max_body_size 1m"], location_directives=["proxy_read_timeout 60s;"],
        proxy_headers={"host": "$http_host", "X-Forwarded-Prefix": "/prometheus"},
    ))
    assert "    listen 0.0.0.0:443 ssl;\n" in text
    assert "    listen [::]:443 ssl default_server;\n" in text
    assert "    server_name a.example b.example;\n" in text
    assert "    ssl_certificate /etc/ssl/p.pem;\n" in text
    assert '    ssl_certificate_key "/etc/ssl/private/p key.pem";\n' in text
    assert "    ssl_protocols TLSv1.2 TLSv1.3;\n" in text
    assert '    add_header Strict-Transport-Security "max-age=31536000" always;\n' in text
    assert "    client_max_body_size 1m;\n" in text
    assert "        proxy_read_timeout 60s;\n" in text
    # a default header is replaced in place, a new one appended
    assert "        proxy_set_header Host $http_host;\n" in text and "$host;" not in text
    assert "        proxy_set_header X-Forwarded-Prefix /prometheus;\n" in text


def test_render_verifies_an_https_upstream_against_its_ca():
    text = render(params(upstream="https://127.0.0.1:9090", upstream_ca_file="/etc/promaccess/tls/ca.crt"))
    assert "        proxy_pass https://127.0.0.1:9090/;\n" in text
    assert "        proxy_ssl_trusted_certificate /etc/promaccess/tls/ca.crt;\n" in text
    assert "        proxy_ssl_verify on;\n" in text
    assert "        proxy_ssl_name localhost;\n" in text
    named = render(params(upstream="https://prom-1.internal:9090", upstream_ca_file="/ca.crt"))
    assert "proxy_ssl_name prom-1.internal;" in named
    assert "proxy_ssl" not in render(params(upstream="https://127.0.0.1:9090"))
    with pytest.raises(NginxConfError, match="upstream_ca_file verifies an https:// upstream"):
        render(params(upstream_ca_file="/ca.crt"))


def test_render_logs_the_location_to_its_own_access_log_in_combined_format():
    text = render(params(access_log="/var/log/nginx/promaccess.access.log"))
    assert "        access_log /var/log/nginx/promaccess.access.log combined;\n" in text
    assert "access_log" not in render(params())
    assert 'access_log "/var/log/my logs/p.log" combined;' in render(params(access_log="/var/log/my logs/p.log"))


def test_nginx_t_accepts_the_access_log_in_a_location(tmp_path):
    """The real nginx: -t accepts the directive in a location."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    site = prefix / "site.conf"
    site.write_text(render(params(access_log=str(prefix / "promaccess.access.log"), user_file=str(prefix / "users"))))
    (prefix / "users").write_text("")
    conf = prefix / "nginx.conf"
    conf.write_text("pid %s/nginx.pid;\nerror_log %s/logs/error.log;\nevents {}\nhttp { include %s; }\n"
                    % (prefix, prefix, site))
    done = subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(prefix)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_render_tls_hardening_and_the_redirect():
    base = dict(listen=["192.0.2.1:8443"], server_name=["prom.example"], tls_certificate="/c.pem",
                tls_certificate_key="/k.pem")
    text = render(params(**base, tls_min_version="TLS13", hsts_max_age=0, tls_redirect_listen=["192.0.2.1:8080"]))
    assert "    ssl_protocols TLSv1.3;\n" in text and "Strict-Transport-Security" not in text
    redirect = text.split("}\n\nserver {\n", 1)[1]
    assert redirect == ("    listen 192.0.2.1:8080;\n    server_name prom.example;\n"
                        "    return 301 https://$host:8443$request_uri;\n}\n")
    on_443 = dict(base)
    on_443.update(listen=["443"], tls_redirect_listen=["80"])
    assert "return 301 https://$host$request_uri;" in render(params(**on_443))
    plain = render(params())
    assert "ssl_protocols" not in plain and "Strict-Transport-Security" not in plain and "return 301" not in plain


@pytest.mark.parametrize("over, message", [
    (dict(tls_redirect_listen=["80"]), "needs tls_certificate"),
    (dict(tls_certificate="/c", tls_certificate_key="/k", tls_redirect_listen=["80 ssl"]), "plain HTTP addresses"),
    (dict(tls_certificate="/c", tls_certificate_key="/k", hsts_max_age=-1), "hsts_max_age must be 0"),
    (dict(kind="location", listen=None, tls_redirect_listen=["80"]), "server block"),
])
def test_render_refuses_tls_settings_that_cannot_work(over, message):
    with pytest.raises(NginxConfError, match=message):
        render(params(**over))


@pytest.mark.parametrize(
    "value, rendered",
    [("plain", "plain"), ("", '""'), ("a b", '"a b"'), ('a"b', '"a\\"b"'), ("a;b", '"a;b"'), ("a\\b", '"a\\\\b"')],
)
def test_quote(value, rendered):
    assert quote(value, "x") == rendered


@pytest.mark.parametrize(
    "realm, rendered",
    [("Prometheus", '"Prometheus"'), ('Team "A"', '"Team \\"A\\""'), ("a\\b", '"a\\\\b"')],
)
def test_realm_quoting(realm, rendered):
    assert "auth_basic %s;" % rendered in render(params(realm=realm))


@pytest.mark.parametrize(
    "over, message",
    [
        (dict(location="/prometheus"), "must start and end with /"),
        (dict(location="prometheus/"), "must start and end with /"),
        (dict(location="/a//b/"), "must start and end with /"),
        (dict(upstream="http://127.0.0.1:9090/"), "must not have a path"),
        (dict(upstream="http://127.0.0.1:9090/prometheus"), "must not have a path"),
        (dict(upstream="127.0.0.1:9090"), "upstream must be an absolute http"),
        (dict(realm="a$b"), "must not contain \\$"),
        (dict(realm="a\nb"), "control characters"),
        (dict(user_file="/x\n"), "control characters"),
        (dict(listen=["127.0.0.1:80;"]), "single word"),
        (dict(server_name=["a{"]), "single word"),
        (dict(tls_certificate="/c.pem"), "together"),
        (dict(kind="location", listen=None, tls_certificate="/c", tls_certificate_key="/k"), "server block"),
        (dict(kind="location"), "server block"),
        (dict(proxy_headers={"Bad Name": "x"}), "header name"),
        (dict(location_directives=["a;\nb;"]), "one non-empty line"),
    ],
)
def test_render_refuses(over, message):
    with pytest.raises(NginxConfError, match=message):
        render(params(**over))


@pytest.mark.parametrize(
    "over, ok",
    [
        (dict(prometheus_external_url="http://h:8080/prometheus/", prometheus_route_prefix="/"), True),
        (dict(prometheus_external_url="http://h:8080/prometheus/"), False),
        (dict(strip_prefix=False, prometheus_external_url="http://h:8080/prometheus/"), True),
        (dict(strip_prefix=False, prometheus_external_url="http://h:8080/prometheus/",
              prometheus_route_prefix="/"), False),
        (dict(prometheus_external_url="http://h:8080/other/", prometheus_route_prefix="/"), False),
        (dict(), True),
    ],
)
def test_prefix_problems(over, ok):
    assert (prefix_problems(params(**over)) == []) is ok


def test_checks_accept_good_values():
    assert check_location("/") == "/"
    assert check_upstream("https://[::1]:9090") == "https://[::1]:9090"
    assert nginx_test_command("nginx", "/c.conf", "/p") == ["nginx", "-t", "-q", "-p", "/p", "-c", "/c.conf"]
    assert nginx_test_command("nginx", None, None) == ["nginx", "-t", "-q"]


# -- the backend: install, nginx -t, restore --------------------------------------------------------------------
class FakeModule:
    def __init__(self, params, check_mode=False, nginx_rc=(0,)):
        self.params = params
        self.check_mode = check_mode
        self._diff = True
        self.nginx_rc = list(nginx_rc)
        self.commands = []
        self.seen_during_test = []

    def load_file_common_arguments(self, params, path=None):
        return dict(path=path or params["path"], mode=params["mode"], owner=None, group=None)

    def set_fs_attributes_if_different(self, args, changed, diff=None, expand=True):
        assert {"path", "mode", "owner", "group"} <= set(args), args
        if args.get("mode") is not None and os.path.exists(args["path"]):
            mode = int(args["mode"], 8)
            if os.stat(args["path"]).st_mode & 0o7777 != mode:
                os.chmod(args["path"], mode)
                return True
        return changed

    def atomic_move(self, src, dest, unsafe_writes=False):
        if os.path.exists(dest):
            os.chmod(src, os.stat(dest).st_mode & 0o7777)
        os.rename(src, dest)

    def get_bin_path(self, name, required=False):
        return "/fake/nginx"

    def run_command(self, cmd):
        self.commands.append(cmd)
        path = self.params["path"]
        self.seen_during_test.append(open(path).read() if os.path.exists(path) else None)
        rc = self.nginx_rc.pop(0) if self.nginx_rc else 0
        return rc, "", "" if rc == 0 else 'nginx: [emerg] unknown directive "bogus" in %s:5' % path


def test_backend_cycle(tmp_path):
    path = tmp_path / "prometheus.conf"
    p = params(path=str(path))
    checked = NginxAuthBackend(FakeModule(p, check_mode=True)).run()
    assert checked["changed"] and checked["reload_needed"] and not path.exists()
    assert checked["diff"]["after"] == EXPECTED_SERVER and checked["diff"]["before"] == ""
    module = FakeModule(p)
    applied = NginxAuthBackend(module).run()
    assert applied["changed"] and applied["reload_needed"] and applied["validated"]
    assert path.read_text() == EXPECTED_SERVER
    assert module.seen_during_test == [EXPECTED_SERVER]  # nginx -t saw the new file at its real path
    assert os.stat(path).st_mode & 0o777 == 0o644
    module = FakeModule(p)
    again = NginxAuthBackend(module).run()
    assert not again["changed"] and not again["reload_needed"] and module.commands == []
    assert os.listdir(tmp_path) == ["prometheus.conf"]


def test_backend_restores_previous_file_when_nginx_rejects(tmp_path):
    path = tmp_path / "prometheus.conf"
    path.write_text("# previous\n")
    os.chmod(path, 0o640)
    module = FakeModule(params(path=str(path), location_directives=["bogus on"]), nginx_rc=(1, 0))
    with pytest.raises(NginxConfError, match='rejected.*previous file was put back.*unknown directive "bogus"'):
        NginxAuthBackend(module).run()
    assert path.read_text() == "# previous\n"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert "bogus on;" in module.seen_during_test[0] and module.seen_during_test[1] == "# previous\n"
    assert sorted(os.listdir(tmp_path)) == ["prometheus.conf"]


def test_backend_refuses_a_missing_upstream_ca_file_before_anything_changes(tmp_path):
    path = tmp_path / "prometheus.conf"
    path.write_text("# previous\n")
    module = FakeModule(params(path=str(path), upstream="https://127.0.0.1:9090",
                               upstream_ca_file=str(tmp_path / "missing-ca.crt")))
    with pytest.raises(NginxConfError, match="was not changed: upstream_ca_file .*missing-ca.crt does not exist"):
        NginxAuthBackend(module).run()
    assert path.read_text() == "# previous\n" and module.commands == []


def test_backend_removes_new_file_when_nginx_rejects(tmp_path):
    path = tmp_path / "prometheus.conf"
    module = FakeModule(params(path=str(path)), nginx_rc=(1, 0))
    with pytest.raises(NginxConfError, match=r"previous state \(no file\)"):
        NginxAuthBackend(module).run()
    assert os.listdir(tmp_path) == []


def test_backend_reports_configuration_broken_elsewhere(tmp_path):
    path = tmp_path / "prometheus.conf"
    path.write_text("# previous\n")
    module = FakeModule(params(path=str(path)), nginx_rc=(1, 1))
    with pytest.raises(NginxConfError, match="with or without"):
        NginxAuthBackend(module).run()
    assert path.read_text() == "# previous\n"


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs the nginx binary")
@pytest.mark.parametrize("strip", [True, False])
def test_real_nginx_accepts_rendered_file(tmp_path, strip):
    site = tmp_path / "site.conf"
    site.write_text(render(params(strip_prefix=strip, user_file=str(tmp_path / "htpasswd"))))
    main = tmp_path / "nginx.conf"
    main.write_text(
        "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n include %s;\n}\n" % (tmp_path, tmp_path, site)
    )
    proc = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(main), "-e", str(tmp_path / "e.log")], check=False,
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
