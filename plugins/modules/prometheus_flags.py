#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: prometheus_flags
short_description: Manage Prometheus web flags where the service reads them
version_added: 0.1.0
description:
  - Sets or removes Prometheus command-line flags such as C(--web.external-url), C(--web.route-prefix),
    C(--web.config.file) and C(--web.listen-address), where the service reads them.
  - With O(style=defaults_file) it edits the C(ARGS="...") line of Debian's C(/etc/default/prometheus) (read by
    the unit's C(EnvironmentFile=) and C(ExecStart=/usr/bin/prometheus $ARGS)). Only the given flags change;
    every other flag keeps its text and place, and every other line, variable and comment of the file stays
    byte for byte. A flag written as C(--flag value) keeps that form. The line keeps its quote style.
  - With O(style=systemd_dropin) it owns a drop-in such as
    C(/etc/systemd/system/prometheus.service.d/promaccess-flags.conf) holding C(ExecStart=) (a reset) and a
    full C(ExecStart=) built from the C(ExecStart=) of O(unit_file) with the flags applied. It refuses a flag
    that the unit's environment file also sets in the variable C(ExecStart) expands, because Prometheus
    refuses a repeated flag.
  - Reports RV(restart_needed) when the flags change. Changes to the C(--web.config.file) file itself need no
    restart (Prometheus reads it on every request); flag changes do.
  - Refuses flags that cannot work together, before writing. The path of C(--web.external-url) must equal
    C(--web.route-prefix), unless a proxy in front strips the prefix (set O(proxy_location)).
author:
  - promaccess.core maintainers (@promaccess)
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    description: Computes the new file and RV(restart_needed) without writing.
    support: full
  diff_mode:
    description: Shows the file text before and after (it holds no secret).
    support: full
  safe_file_operations:
    description: Writes through a temporary file in the same directory and an atomic rename, keeping the mode
      and owner of an existing file.
    support: full
  idempotent:
    description: A second run with the same input reports no change.
    support: full
options:
  path:
    description:
      - The file to edit. Defaults to C(/etc/default/prometheus) with O(style=defaults_file) and to
        C(/etc/systemd/system/prometheus.service.d/promaccess-flags.conf) with O(style=systemd_dropin).
    type: path
  style:
    description:
      - Where the flags live, see the description.
    type: str
    default: defaults_file
    choices: [defaults_file, systemd_dropin]
  variable:
    description:
      - The variable of the defaults file that holds the flags (O(style=defaults_file)).
    type: str
    default: ARGS
  flags:
    description:
      - Flag name (with or without the leading C(--)) to its value; V(null) removes the flag.
      - Only flags that take a value are supported. Values cannot contain white space, quotes, backslashes,
        C($) or a backtick, because C($ARGS) is split at white space without unquoting.
    type: dict
    required: true
  unit_file:
    description:
      - The unit file whose C(ExecStart=) is the base of the drop-in (O(style=systemd_dropin)).
    type: path
    default: /lib/systemd/system/prometheus.service
  create:
    description:
      - Create the defaults file when it does not exist.
    type: bool
    default: true
  check_prefix:
    description:
      - Refuse flags whose external URL path and route prefix cannot work together (with the proxy given by
        O(proxy_location)).
    type: bool
    default: true
  proxy_location:
    description:
      - The nginx location in front of Prometheus (for example C(/prometheus/)), when there is one.
    type: str
  proxy_strip_prefix:
    description:
      - Whether that proxy strips O(proxy_location) (C(proxy_pass http://HOST:PORT/), route prefix C(/)) or
        passes the URI unchanged (C(proxy_pass http://HOST:PORT), route prefix equal to the location).
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of the previous file when it changes.
    type: bool
    default: false
notes:
  - Restart Prometheus when RV(restart_needed) is true; with O(style=systemd_dropin) run C(systemctl
    daemon-reload) first (RV(daemon_reload_needed)).
  - With O(style=systemd_dropin), flags kept in the environment file are not visible to this module, and
    removing a flag (V(null)) only removes it from the unit's own C(ExecStart=).
seealso:
  - module: promaccess.core.nginx_auth
  - module: promaccess.core.web_config
"""

EXAMPLES = r"""
- name: Serve Prometheus behind nginx at /prometheus/ with native basic auth as well
  promaccess.core.prometheus_flags:
    flags:
      web.external-url: https://prometheus.example.org/prometheus/
      web.route-prefix: /
      web.config.file: /etc/prometheus/web.yml
      web.listen-address: 127.0.0.1:9090
    proxy_location: /prometheus/
  notify: Restart prometheus

- name: Same flags in a systemd drop-in, and drop a flag
  promaccess.core.prometheus_flags:
    style: systemd_dropin
    flags:
      --web.listen-address: 127.0.0.1:9090
      --web.config.file: null
"""

RETURN = r"""
path:
  description: The managed file.
  returned: always
  type: str
  sample: /etc/default/prometheus
restart_needed:
  description: Whether the flags Prometheus starts with changed (or would change in check mode).
  returned: always
  type: bool
  sample: true
daemon_reload_needed:
  description: Whether the drop-in changed, so systemd must reload its units before the restart.
  returned: O(style=systemd_dropin)
  type: bool
  sample: true
flags:
  description: The resulting value of the four web flags and of every given flag (V(null) when absent).
  returned: success
  type: dict
  sample: {"web.external-url": "http://127.0.0.1:8080/prometheus/", "web.route-prefix": "/"}
args:
  description: The words of the variable after the change.
  returned: O(style=defaults_file)
  type: list
  elements: str
  sample: ["--web.external-url=http://127.0.0.1:8080/prometheus/", "--web.route-prefix=/"]
exec_start:
  description: The words of the drop-in's C(ExecStart=).
  returned: O(style=systemd_dropin)
  type: list
  elements: str
  sample: ["/usr/bin/prometheus", "$ARGS", "--web.listen-address=127.0.0.1:9090"]
backup_file:
  description: The backup of the previous file.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/default/prometheus.1234.2026-11-23@10:00:00~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.promaccess.core.plugins.module_utils._host_files.prometheus_flags import (
    DEFAULT_UNIT_FILE,
    FlagsError,
    PrometheusFlagsBackend,
)


def main():
    argument_spec = dict(
        path=dict(type="path"),
        style=dict(type="str", default="defaults_file", choices=["defaults_file", "systemd_dropin"]),
        variable=dict(type="str", default="ARGS"),
        flags=dict(type="dict", required=True),
        unit_file=dict(type="path", default=DEFAULT_UNIT_FILE),
        create=dict(type="bool", default=True),
        check_prefix=dict(type="bool", default=True),
        proxy_location=dict(type="str"),
        proxy_strip_prefix=dict(type="bool", default=True),
        backup=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    try:
        result = PrometheusFlagsBackend(module).run()
    except FlagsError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
