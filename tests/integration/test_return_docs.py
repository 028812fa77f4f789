"""RETURN tells the truth: a real run's result keys compared with each module's documented RETURN.

Each module that runs locally without services is run through ansible-playbook on localhost (the same
runner as the integration targets) in one playbook: a changed run per module, plus the variant runs that meet
the conditions of the conditional keys (backup of an existing file, the systemd drop-in style, validation by
nginx -t and promtool). The registered results are dumped as JSON and compared with RETURN as parsed from
the module source:

* every key whose ``returned`` is exactly ``always``, ``success`` or ``changed`` is in the changed run's result;
* every conditional key is in the result of the variant run that meets its condition (table ``CONDITIONAL``);
* every key of every run's result is documented, except Ansible's own keys and the file-attribute keys
  AnsibleModule adds for ``add_file_common_args`` modules.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
import yaml

from test_targets import run_playbook
from tls_material import CA  # noqa: E402 - tests/ is on sys.path

MODULES_DIR = Path(__file__).resolve().parents[2] / "plugins" / "modules"

# Keys Ansible itself puts in a result, and those AnsibleModule.exit_json adds from the file attributes of
# the path (add_file_common_args modules).
ANSIBLE_KEYS = {"changed", "failed", "invocation", "diff", "warnings", "deprecations"}
FILE_ATTRIBUTE_KEYS = {"path", "uid", "gid", "owner", "group", "mode", "state", "size", "secontext"}
UNCONDITIONAL = {"always", "success", "changed"}

# module -> the run that must change and carry every unconditional key.
CHANGED_RUN = {
    "htpasswd_users": "htpasswd_users_create",
    "web_config": "web_config_create",
    "age_handoff": "age_handoff_create",
    "prometheus_flags": "prometheus_flags_defaults_create",
    "nginx_auth": "nginx_auth_create",
    "prometheus_scrape_auth": "prometheus_scrape_auth_create",
    "helm_values_users": "helm_values_users_create",
}

# (module, conditional key) -> the run that meets the condition RETURN states.
CONDITIONAL = {
    ("htpasswd_users", "backup_file"): "htpasswd_users_backup",
    ("web_config", "validated"): "web_config_create",
    ("web_config", "backup_file"): "web_config_backup",
    ("age_handoff", "message_path"): "age_handoff_create",
    ("prometheus_flags", "args"): "prometheus_flags_defaults_create",
    ("prometheus_flags", "daemon_reload_needed"): "prometheus_flags_dropin_create",
    ("prometheus_flags", "exec_start"): "prometheus_flags_dropin_create",
    ("prometheus_flags", "backup_file"): "prometheus_flags_defaults_backup",
    ("web_config", "certificate"): "web_config_tls",
    ("web_config", "tls_changed"): "web_config_tls",
    ("web_config", "headers_changed"): "web_config_tls",
    ("nginx_auth", "certificate"): "nginx_auth_tls",
    ("nginx_auth", "validated"): "nginx_auth_validated",
    ("nginx_auth", "backup_file"): "nginx_auth_validated",
    ("prometheus_scrape_auth", "validated"): "prometheus_scrape_auth_create",
    ("prometheus_scrape_auth", "backup_file"): "prometheus_scrape_auth_backup",
}

# Keys a run may lack although RETURN's condition suggests otherwise, with the reason. Empty: keep it so.
EXCEPTIONS: dict[tuple[str, str], str] = {}

NEEDS = {"web_config": "promtool", "prometheus_scrape_auth": "promtool", "nginx_auth": "nginx"}

PLAYBOOK = r"""
- hosts: localhost
  gather_facts: false
  vars:
    d: "{{ output_dir }}/files"
    pw: "{{ lookup('ansible.builtin.password', '/dev/null', length=32, chars=['ascii_letters', 'digits']) }}"
  tasks:
    - name: A folder for the managed files
      ansible.builtin.file:
        path: "{{ d }}/{{ item }}"
        state: directory
        mode: "0700"
      loop: [handoff, nginx/logs, nginx/sites, nginx/temp, dropin/prometheus.service.d]

    - name: Fix one password for the run
      ansible.builtin.set_fact:
        pw: "{{ pw }}"
        pw2: "{{ pw }}x"

    # -- htpasswd_users -------------------------------------------------------------------------------------
    - name: htpasswd_users creates the file
      promaccess.core.htpasswd_users:
        path: "{{ d }}/users.htpasswd"
        bcrypt_rounds: 4
        users: [{name: alice, password: "{{ pw }}"}, {name: bob, password: "{{ pw }}"}]
      register: htpasswd_users_create

    - name: htpasswd_users changes it with a backup
      promaccess.core.htpasswd_users:
        path: "{{ d }}/users.htpasswd"
        bcrypt_rounds: 4
        exclusive: true
        backup: true
        users: [{name: alice, password: "{{ pw2 }}"}, {name: carol, password: "{{ pw }}"}]
      register: htpasswd_users_backup

    # -- web_config -----------------------------------------------------------------------------------------
    - name: web_config creates the file (validated by promtool)
      promaccess.core.web_config:
        path: "{{ d }}/web.yml"
        bcrypt_rounds: 4
        require_promtool: true
        users: [{name: internal, password: "{{ pw }}"}]
      register: web_config_create

    - name: web_config changes it with a backup
      promaccess.core.web_config:
        path: "{{ d }}/web.yml"
        bcrypt_rounds: 4
        backup: true
        users: [{name: team, password: "{{ pw }}"}]
      register: web_config_backup

    - name: web_config serves TLS with HSTS
      promaccess.core.web_config:
        path: "{{ d }}/web.yml"
        bcrypt_rounds: 4
        tls_server_config: {cert_file: "{{ tls_dir }}/server.crt", key_file: "{{ tls_dir }}/server.key"}
        http_headers: {Strict-Transport-Security: max-age=31536000}
        users: [{name: team, password: "{{ pw }}"}]
      register: web_config_tls

    # -- age_handoff ----------------------------------------------------------------------------------------
    - name: age_handoff writes the hand-off file and the message
      promaccess.core.age_handoff:
        path: "{{ d }}/handoff/credentials.txt.age"
        recipients: ["{{ age_recipient }}"]
        url: https://prometheus.test.example
        username: team-a
        password: "{{ pw }}"
        recipient_name: Team A
        message_path: "{{ d }}/handoff/message.txt"
      register: age_handoff_create

    # -- prometheus_flags -----------------------------------------------------------------------------------
    - name: prometheus_flags creates a defaults file
      promaccess.core.prometheus_flags:
        path: "{{ d }}/default-prometheus"
        flags:
          web.external-url: http://127.0.0.1:8080/prometheus/
          web.route-prefix: /
        proxy_location: /prometheus/
      register: prometheus_flags_defaults_create

    - name: prometheus_flags changes it with a backup
      promaccess.core.prometheus_flags:
        path: "{{ d }}/default-prometheus"
        backup: true
        proxy_location: /prometheus/
        flags:
          web.listen-address: 127.0.0.1:9099
      register: prometheus_flags_defaults_backup

    - name: A unit file for the drop-in style
      ansible.builtin.copy:
        dest: "{{ d }}/dropin/prometheus.service"
        mode: "0644"
        content: |
          [Unit]
          Description=Prometheus
          [Service]
          EnvironmentFile=-{{ d }}/dropin/env
          ExecStart=/usr/bin/prometheus $ARGS
          [Install]
          WantedBy=multi-user.target

    - name: prometheus_flags writes a systemd drop-in
      promaccess.core.prometheus_flags:
        style: systemd_dropin
        path: "{{ d }}/dropin/prometheus.service.d/flags.conf"
        unit_file: "{{ d }}/dropin/prometheus.service"
        flags:
          web.listen-address: 127.0.0.1:9099
      register: prometheus_flags_dropin_create

    # -- nginx_auth -----------------------------------------------------------------------------------------
    - name: nginx_auth writes the site without nginx -t
      promaccess.core.nginx_auth:
        path: "{{ d }}/nginx/sites/prometheus.conf"
        user_file: "{{ d }}/users.htpasswd"
        listen: ["127.0.0.1:18080"]
        validate: false
      register: nginx_auth_create

    - name: nginx_auth writes a TLS site (certificate checked) without nginx -t
      promaccess.core.nginx_auth:
        path: "{{ d }}/nginx/tls.conf"
        user_file: "{{ d }}/users.htpasswd"
        listen: ["127.0.0.1:18443"]
        tls_certificate: "{{ tls_dir }}/server.crt"
        tls_certificate_key: "{{ tls_dir }}/server.key"
        validate: false
      register: nginx_auth_tls

    - name: A main nginx configuration under output_dir for nginx -t
      ansible.builtin.copy:
        dest: "{{ d }}/nginx/nginx.conf"
        mode: "0600"
        content: |
          pid {{ d }}/nginx/nginx.pid;
          error_log {{ d }}/nginx/logs/error.log;
          events { worker_connections 64; }
          http {
              access_log {{ d }}/nginx/logs/access.log;
              client_body_temp_path {{ d }}/nginx/temp/client_body;
              proxy_temp_path {{ d }}/nginx/temp/proxy;
              fastcgi_temp_path {{ d }}/nginx/temp/fastcgi;
              uwsgi_temp_path {{ d }}/nginx/temp/uwsgi;
              scgi_temp_path {{ d }}/nginx/temp/scgi;
              include {{ d }}/nginx/sites/*.conf;
          }
      when: with_nginx | bool

    - name: nginx_auth changes the site with a backup, checked by nginx -t
      promaccess.core.nginx_auth:
        path: "{{ d }}/nginx/sites/prometheus.conf"
        user_file: "{{ d }}/users.htpasswd"
        listen: ["127.0.0.1:18081"]
        nginx_config: "{{ d }}/nginx/nginx.conf"
        nginx_prefix: "{{ d }}/nginx"
        backup: true
      register: nginx_auth_validated
      when: with_nginx | bool

    # -- prometheus_scrape_auth -----------------------------------------------------------------------------
    - name: A prometheus.yml whose self-scrape has no credentials
      ansible.builtin.copy:
        dest: "{{ d }}/prometheus.yml"
        mode: "0644"
        content: |
          scrape_configs:
            - job_name: prometheus
              static_configs:
                - targets: ['127.0.0.1:9090']

    - name: prometheus_scrape_auth sets basic_auth and writes the password file (validated by promtool)
      promaccess.core.prometheus_scrape_auth:
        path: "{{ d }}/prometheus.yml"
        username: internal
        password: "{{ pw }}"
        password_file: "{{ d }}/internal.password"
        require_promtool: true
      register: prometheus_scrape_auth_create

    - name: prometheus_scrape_auth changes it with a backup
      promaccess.core.prometheus_scrape_auth:
        path: "{{ d }}/prometheus.yml"
        username: internal2
        password_file: "{{ d }}/internal.password"
        backup: true
      register: prometheus_scrape_auth_backup

    # -- helm_values_users ----------------------------------------------------------------------------------
    - name: A plain Helm values file
      ansible.builtin.copy:
        dest: "{{ d }}/values.yaml"
        mode: "0600"
        content: |
          server:
            replicas: 1

    - name: helm_values_users adds web.yml users under the prometheus chart's serverFiles
      promaccess.core.helm_values_users:
        path: "{{ d }}/values.yaml"
        key_path: [serverFiles, web.yml, basic_auth_users]
        shape: map
        bcrypt_rounds: 4
        users: [{name: alice, password: "{{ pw }}"}]
      register: helm_values_users_create

    - name: Dump every result
      ansible.builtin.copy:
        dest: "{{ output_dir }}/results.json"
        mode: "0600"
        content: "{{ results | to_json }}"
      vars:
        results:
          htpasswd_users_create: "{{ htpasswd_users_create }}"
          htpasswd_users_backup: "{{ htpasswd_users_backup }}"
          web_config_create: "{{ web_config_create }}"
          web_config_backup: "{{ web_config_backup }}"
          web_config_tls: "{{ web_config_tls }}"
          age_handoff_create: "{{ age_handoff_create }}"
          prometheus_flags_defaults_create: "{{ prometheus_flags_defaults_create }}"
          prometheus_flags_defaults_backup: "{{ prometheus_flags_defaults_backup }}"
          prometheus_flags_dropin_create: "{{ prometheus_flags_dropin_create }}"
          nginx_auth_create: "{{ nginx_auth_create }}"
          nginx_auth_validated: "{{ nginx_auth_validated }}"
          nginx_auth_tls: "{{ nginx_auth_tls }}"
          prometheus_scrape_auth_create: "{{ prometheus_scrape_auth_create }}"
          prometheus_scrape_auth_backup: "{{ prometheus_scrape_auth_backup }}"
          helm_values_users_create: "{{ helm_values_users_create }}"
"""


def module_return(module: str) -> dict:
    """RETURN of a module, parsed with PyYAML from its source."""
    tree = ast.parse((MODULES_DIR / ("%s.py" % module)).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RETURN" for t in node.targets):
            return yaml.safe_load(node.value.value) or {}
    raise AssertionError("%s has no RETURN" % module)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed (bindep.txt, test profile: prometheus)")
    from pyrage import x25519  # pylint: disable=import-outside-toplevel

    tmp_path = tmp_path_factory.mktemp("return_docs")
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    CA().write(tls_dir, "server")
    with_nginx = shutil.which("nginx") is not None
    proc = run_playbook(
        playbook, tmp_path, None,
        "-e", "age_recipient=%s" % x25519.Identity.generate().to_public(),
        "-e", "with_nginx=%s" % with_nginx,
        "-e", "tls_dir=%s" % tls_dir,
    )
    assert proc.returncode == 0, "playbook failed:\n%s\n%s" % (proc.stdout[-20000:], proc.stderr[-5000:])
    return json.loads((tmp_path / "results.json").read_text())


def _undocumented(module: str, result: dict) -> set[str]:
    documented = set(module_return(module))
    return set(result) - documented - ANSIBLE_KEYS - FILE_ATTRIBUTE_KEYS


@pytest.mark.slow
@pytest.mark.parametrize("module", sorted(CHANGED_RUN))
def test_unconditional_keys_are_returned(results, module):
    result = results[CHANGED_RUN[module]]
    assert result.get("changed") is True, "%s did not change: %s" % (CHANGED_RUN[module], result)
    wanted = {k for k, v in module_return(module).items() if str(v.get("returned", "")).strip() in UNCONDITIONAL}
    missing = wanted - set(result) - {k for (m, k) in EXCEPTIONS if m == module}
    assert not missing, "%s: RETURN says always/success/changed but the changed run lacks %s" % (
        module, sorted(missing))


@pytest.mark.slow
@pytest.mark.parametrize("module,key", sorted(CONDITIONAL))
def test_conditional_keys_are_returned_when_their_condition_holds(results, module, key):
    run = CONDITIONAL[(module, key)]
    if (module, key) in EXCEPTIONS:
        pytest.skip(EXCEPTIONS[(module, key)])
    if results[run].get("skipped"):
        pytest.skip("%s skipped: %s not installed" % (run, NEEDS.get(module)))
    doc = module_return(module)
    assert key in doc, "%s: %s is not in RETURN" % (module, key)
    assert results[run].get("changed") is True, "%s did not change: %s" % (run, results[run])
    assert key in results[run], "%s: RETURN says %s is returned %r, but %s lacks it" % (
        module, key, doc[key].get("returned"), run)


def test_every_returned_key_is_classified():
    """Every RETURN key is either unconditional or has a run in CONDITIONAL that meets its condition."""
    for module in CHANGED_RUN:
        for key, spec in module_return(module).items():
            if str(spec.get("returned", "")).strip() not in UNCONDITIONAL:
                assert (module, key) in CONDITIONAL, "%s: conditional key %s has no run in CONDITIONAL" % (
                    module, key)


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(set(CHANGED_RUN.values()) | set(CONDITIONAL.values())))
def test_every_result_key_is_documented(results, run):
    module = next(m for m in CHANGED_RUN if run.startswith(m + "_"))
    if results[run].get("skipped"):
        pytest.skip("%s skipped: %s not installed" % (run, NEEDS.get(module)))
    extra = _undocumented(module, results[run])
    assert not extra, "%s returns keys RETURN does not document: %s" % (module, sorted(extra))
