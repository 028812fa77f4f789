#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: nginx_auth
short_description: Put Prometheus behind nginx auth_basic with one managed site or location file
version_added: 0.1.0
description:
  - Renders one nginx file, a complete C(server {}) site (O(kind=server)) or only the C(location) block for
    inclusion into an existing server (O(kind=location)), that asks for basic auth with C(auth_basic) and
    C(auth_basic_user_file) and proxies to Prometheus with C(proxy_pass).
  - The module owns exactly that file and never edits any other part of the nginx configuration. The file
    is rendered from the options alone, with a header saying it is managed, so re-runs are byte-identical.
  - Before the new file is kept, the whole configuration is checked with C(nginx -t). As nginx reads the file
    from its real path, the new file is installed atomically, checked, and when nginx rejects it the previous
    file is put back atomically (or the new one removed when there was none) and the task fails with nginx's
    message. nginx is never reloaded by this module, so it keeps serving the old configuration.
  - Two proxy shapes are supported. With O(strip_prefix=true) (the Prometheus guide's shape),
    C(location /prometheus/) proxies to C(http://127.0.0.1:9090/) and nginx strips the prefix, so Prometheus
    needs C(--web.external-url=http://HOST/prometheus/) and C(--web.route-prefix=/). With
    O(strip_prefix=false), it proxies to C(http://127.0.0.1:9090) and passes the URI unchanged, so Prometheus
    needs the route prefix C(/prometheus) (the default when only the external URL is set).
  - Give O(prometheus_external_url) (and O(prometheus_route_prefix)) to have the combination checked; an
    inconsistent one is refused before anything is written.
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    description: Renders and compares the file without writing it or running nginx.
    support: full
  diff_mode:
    description: Shows the file text before and after (it holds no secret).
    support: full
  safe_file_operations:
    description: Installs through a temporary file in the same directory and an atomic rename; restores the
      previous file the same way when nginx rejects the new one.
    support: full
  idempotent:
    description: Same options, same bytes; a second run reports no change.
    support: full
options:
  path:
    description:
      - The managed file, for example C(/etc/nginx/sites-enabled/prometheus) or
        C(/etc/nginx/conf.d/prometheus.conf) for O(kind=server), or a snippet included inside a server block
        for O(kind=location). Its directory must exist.
    type: path
    required: true
  kind:
    description:
      - V(server) writes a complete C(server {}) block; V(location) writes only the C(location) block.
    type: str
    default: server
    choices: [server, location]
  listen:
    description:
      - C(listen) entries of the server, each C(ADDRESS:PORT) or C(PORT), optionally followed by nginx listen
        parameters (C(default_server)). C(ssl) is added when O(tls_certificate) is set.
      - Defaults to V(80) with O(kind=server); not allowed with O(kind=location).
    type: list
    elements: str
  server_name:
    description:
      - C(server_name) values; omitted when empty.
    type: list
    elements: str
    default: []
  location:
    description:
      - The location prefix, starting and ending with C(/). It is the path of Prometheus's external URL.
    type: str
    default: /prometheus/
  upstream:
    description:
      - Prometheus as nginx reaches it, C(http://HOST:PORT) without a path (the path is chosen by
        O(strip_prefix)).
    type: str
    default: http://127.0.0.1:9090
  upstream_ca_file:
    description:
      - With an C(https://) O(upstream) (Prometheus's own port serving TLS), the CA certificate file nginx verifies
        its certificate with (C(proxy_ssl_verify on)); a loopback IP upstream is checked under the name
        C(localhost).
    type: path
  access_log:
    description:
      - A file the location logs its requests to, in nginx's C(combined) format (which holds the user name a
        client sent), instead of the server's log. M(promaccess.core.access_info) reads it to tell when each
        credential was last accepted, which lets a rotation retire an old credential once it has fallen silent.
      - The file is not created here. nginx creates it (as root, C(0644) under the usual umask) unless it exists,
        so create it first with the mode it should keep (the C(nginx_basic_auth) role makes it C(0640)).
      - Unset, the location logs where the server does.
    type: path
  strip_prefix:
    description:
      - V(true) proxies to O(upstream) with a trailing C(/), so nginx replaces O(location) by C(/) and Prometheus
        runs with C(--web.route-prefix=/). V(false) passes the URI unchanged, so Prometheus's route prefix must
        equal O(location).
    type: bool
    default: true
  rewrite_redirects:
    description:
      - With O(strip_prefix=true), add C(proxy_redirect) lines that put the prefix back on root-relative
        redirects from Prometheus (for example C(/graph) to C(/graph/)), which would otherwise leave the
        prefix.
    type: bool
    default: true
  realm:
    description:
      - The C(auth_basic) realm shown by browsers. Must not contain C($).
    type: str
    default: Prometheus
  user_file:
    description:
      - The htpasswd file for C(auth_basic_user_file), as managed by M(promaccess.core.htpasswd_users).
    type: path
    required: true
  tls_certificate:
    description:
      - C(ssl_certificate) of the server; turns on C(ssl) for every O(listen) entry.
    type: path
  tls_certificate_key:
    description:
      - C(ssl_certificate_key) of the server (a path, not the key itself).
    type: path
  tls_min_version:
    description:
      - With O(tls_certificate), the oldest TLS version served - C(ssl_protocols TLSv1.2 TLSv1.3) for V(TLS12),
        C(ssl_protocols TLSv1.3) for V(TLS13). Older versions are never offered.
    type: str
    choices: [TLS12, TLS13]
    default: TLS12
  hsts_max_age:
    description:
      - With O(tls_certificate), the C(max-age) of the C(Strict-Transport-Security) header sent with every answer
        (401s included), in seconds. V(0) sends no such header.
    type: int
    default: 31536000
  tls_redirect_listen:
    description:
      - Plain-HTTP C(listen) entries (for example V(80)) of a second server block, of the same O(server_name), that
        answers every request with a 301 to the HTTPS address (the port of the first O(listen) entry) and serves
        nothing. Needs O(tls_certificate).
    type: list
    elements: str
    default: []
  proxy_headers:
    description:
      - C(proxy_set_header) entries added to, or replacing, the defaults C(Host $host), C(X-Real-IP
        $remote_addr), C(X-Forwarded-For $proxy_add_x_forwarded_for) and C(X-Forwarded-Proto $scheme).
        An empty value stops nginx from passing that header (for example C(Authorization) when Prometheus
        must not see the proxy's credentials).
    type: dict
    default: {}
  location_directives:
    description:
      - Further nginx directives, one per entry, appended inside the location block as given (a missing
        C(;) is added). They are checked by C(nginx -t) like the rest.
    type: list
    elements: str
    default: []
  server_directives:
    description:
      - Further nginx directives appended inside the server block (O(kind=server) only).
    type: list
    elements: str
    default: []
  prometheus_external_url:
    description:
      - Prometheus's C(--web.external-url). When given, the module refuses a proxy shape that does not fit it.
    type: str
  prometheus_route_prefix:
    description:
      - Prometheus's C(--web.route-prefix); defaults, as in Prometheus, to the path of
        O(prometheus_external_url).
    type: str
  validate:
    description:
      - Check the whole configuration with C(nginx -t) after installing the new file, restoring the previous
        one when it fails.
    type: bool
    default: true
  nginx_binary:
    description:
      - Name or path of the nginx binary used for C(nginx -t).
    type: str
    default: nginx
  nginx_config:
    description:
      - The main nginx configuration passed as C(nginx -t -c); nginx's compiled-in default when not set.
    type: path
  nginx_prefix:
    description:
      - The prefix passed as C(nginx -t -p).
    type: path
  backup:
    description:
      - Keep a timestamped copy of the previous file when it changes.
    type: bool
    default: false
notes:
  - Reload nginx when RV(reload_needed) is true, for example with a handler; the module does not reload.
  - Between installing the new file and restoring the old one, a reload started by someone else would see
    the new file; nginx keeps running on its old configuration if that reload fails.
seealso:
  - module: promaccess.core.htpasswd_users
  - module: promaccess.core.prometheus_flags
  - name: Prometheus basic auth guide
    description: The nginx shape this module renders.
    link: https://prometheus.io/docs/guides/basic-auth/
"""

EXAMPLES = r"""
- name: Serve Prometheus under /prometheus/ with basic auth
  promaccess.core.nginx_auth:
    path: /etc/nginx/sites-enabled/prometheus
    listen: ["0.0.0.0:443"]
    server_name: [prometheus.example.org]
    tls_certificate: /etc/ssl/certs/prometheus.pem
    tls_certificate_key: /etc/ssl/private/prometheus.key
    user_file: /etc/nginx/prometheus.htpasswd
    prometheus_external_url: https://prometheus.example.org/prometheus/
    prometheus_route_prefix: /
  notify: Reload nginx

- name: Only the location block, included into an existing server
  promaccess.core.nginx_auth:
    path: /etc/nginx/snippets/prometheus-location.conf
    kind: location
    location: /prometheus/
    strip_prefix: false
    user_file: /etc/nginx/prometheus.htpasswd
    proxy_headers:
      Authorization: ""
"""

RETURN = r"""
path:
  description: The managed file.
  returned: always
  type: str
  sample: /etc/nginx/sites-enabled/prometheus
reload_needed:
  description: Whether the file content changed (or would change in check mode), so nginx must be reloaded.
  returned: always
  type: bool
  sample: true
validated:
  description: Whether C(nginx -t) accepted the configuration with the new file.
  returned: when the file was written and O(validate=true)
  type: bool
  sample: true
certificate:
  description: The server certificate's expiry, checked before the file was written.
  returned: when the file changed, O(tls_certificate) is set and the cryptography package is on the host
  type: dict
  contains:
    not_after:
      description: When it expires (UTC, ISO 8601).
      type: str
      sample: "2027-12-03T10:00:00Z"
    days_left:
      description: Whole days until then.
      type: int
      sample: 364
backup_file:
  description: The backup of the previous file.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/nginx/sites-enabled/prometheus.1234.2026-11-23@10:00:00~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.promaccess.core.plugins.module_utils._host_files.nginx_conf import (
    NginxAuthBackend,
    NginxConfError,
)


def main():
    argument_spec = dict(
        path=dict(type="path", required=True),
        kind=dict(type="str", default="server", choices=["server", "location"]),
        listen=dict(type="list", elements="str"),
        server_name=dict(type="list", elements="str", default=[]),
        location=dict(type="str", default="/prometheus/"),
        upstream=dict(type="str", default="http://127.0.0.1:9090"),
        upstream_ca_file=dict(type="path"),
        access_log=dict(type="path"),
        strip_prefix=dict(type="bool", default=True),
        rewrite_redirects=dict(type="bool", default=True),
        realm=dict(type="str", default="Prometheus"),
        user_file=dict(type="path", required=True),
        tls_certificate=dict(type="path"),
        tls_certificate_key=dict(type="path", no_log=False),
        tls_min_version=dict(type="str", default="TLS12", choices=["TLS12", "TLS13"]),
        hsts_max_age=dict(type="int", default=31536000),
        tls_redirect_listen=dict(type="list", elements="str", default=[]),
        proxy_headers=dict(type="dict", default={}),
        location_directives=dict(type="list", elements="str", default=[]),
        server_directives=dict(type="list", elements="str", default=[]),
        prometheus_external_url=dict(type="str"),
        prometheus_route_prefix=dict(type="str"),
        validate=dict(type="bool", default=True),
        nginx_binary=dict(type="str", default="nginx"),
        nginx_config=dict(type="path"),
        nginx_prefix=dict(type="path"),
        backup=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        add_file_common_args=True,
        supports_check_mode=True,
        required_together=[("tls_certificate", "tls_certificate_key")],
    )
    try:
        result = NginxAuthBackend(module).run()
    except NginxConfError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
