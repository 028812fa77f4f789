"""Unit tests for scrape-job authentication in prometheus.yml."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._host_files.scrape_config import (
    MASK,
    ScrapeAuthBackend,
    ScrapeConfigError,
    auth_block,
    check_password,
    has_inline_secrets,
    job_names,
    mask_secrets,
    parse,
    remove_auth,
    render,
    set_auth,
    set_transport,
)

DEBIAN = """\
# Sample config for Prometheus.

global:
  scrape_interval:     15s # By default, scrape targets every 15 seconds.
  evaluation_interval: 15s
  external_labels:
      monitor: 'example'

alerting:
  alertmanagers:
  - static_configs:
    - targets: ['localhost:9093']

rule_files:
  # - "first_rules.yml"

scrape_configs:
  - job_name: 'prometheus'
    scrape_interval: 5s
    scrape_timeout: 5s
    static_configs:
      - targets: ['localhost:9090']

  - job_name: node
    static_configs:
      - targets: ['localhost:9100']
"""

BASIC = {"username": "internal", "password_file": "/etc/prometheus/internal.password"}
BEARER = {"type": "Bearer", "credentials_file": "/etc/prometheus/token"}


def test_parse_debian_sample():
    doc = parse(DEBIAN)
    assert job_names(doc) == ["prometheus", "node"]
    assert list(doc) == ["global", "alerting", "rule_files", "scrape_configs"]


@pytest.mark.parametrize("text", ["", "\n", "---\n", "# only a comment\n"])
def test_empty_documents(text):
    assert parse(text) == {}
    assert job_names(parse(text)) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("- a\n- b\n", "mapping at the top level"),
        ("scrape_configs: {job_name: x}\n", "must be a list"),
        ("scrape_configs:\n  - x\n", "entry 1 must be a mapping"),
        ("scrape_configs: [\n", "not valid YAML at line"),
    ],
)
def test_bad_documents(text, message):
    with pytest.raises(ScrapeConfigError, match=message):
        parse(text)


@pytest.mark.parametrize(
    "auth_type, username, expected",
    [
        ("basic_auth", "internal", {"username": "internal", "password_file": "f"}),
        ("authorization", None, {"type": "Bearer", "credentials_file": "f"}),
    ],
)
def test_auth_block(auth_type, username, expected):
    assert auth_block(auth_type, username, "f") == expected


def test_auth_block_needs_username():
    with pytest.raises(ScrapeConfigError, match="username is required"):
        auth_block("basic_auth", None, "f")


@pytest.mark.parametrize(
    "auth_type, block",
    [("basic_auth", BASIC), ("authorization", BEARER)],
)
def test_set_then_idempotent_then_remove(auth_type, block):
    doc = parse(DEBIAN)
    new, changed = set_auth(doc, ["prometheus"], auth_type, block)
    assert changed == ["prometheus"]
    assert doc == parse(DEBIAN), "the input document must not be modified"
    job = new["scrape_configs"][0]
    assert job[auth_type] == block
    # Inserted after the scalar settings, before the lists of configs; other keys keep their order.
    assert list(job) == ["job_name", "scrape_interval", "scrape_timeout", auth_type, "static_configs"]
    assert new["scrape_configs"][1] == doc["scrape_configs"][1]
    assert list(new) == list(doc)
    again = parse(render(new))
    assert again == new
    assert set_auth(again, ["prometheus"], auth_type, dict(block)) == (again, [])
    removed, changed = remove_auth(again, ["prometheus"], auth_type)
    assert changed == ["prometheus"]
    assert removed == doc
    assert remove_auth(removed, ["prometheus"], auth_type) == (removed, [])


@pytest.mark.parametrize(
    "existing, changes",
    [
        ({"username": "internal", "password_file": "/etc/prometheus/internal.password"}, False),
        ({"password_file": "/etc/prometheus/internal.password", "username": "internal"}, False),
        ({"username": "internal", "password": "inline"}, True),
        ({"username": "other", "password_file": "/etc/prometheus/internal.password"}, True),
        ({"username": "internal", "password_file": "/elsewhere"}, True),
        (None, True),
    ],
)
def test_existing_basic_auth(existing, changes):
    doc = {"scrape_configs": [{"job_name": "prometheus", "basic_auth": existing, "static_configs": []}]}
    new, changed = set_auth(doc, ["prometheus"], "basic_auth", BASIC)
    assert bool(changed) is changes
    assert new["scrape_configs"][0]["basic_auth"] == BASIC
    assert list(new["scrape_configs"][0]) == ["job_name", "basic_auth", "static_configs"]


@pytest.mark.parametrize(
    "other, value",
    [
        ("oauth2", {"client_id": "a", "client_secret": "b", "token_url": "http://x"}),
        ("bearer_token", "tok"),
        ("bearer_token_file", "/tok"),
        ("authorization", {"credentials": "x"}),
    ],
)
def test_other_auth_kind_refused_unless_forced(other, value):
    doc = {"scrape_configs": [{"job_name": "prometheus", "honor_labels": True, other: value, "static_configs": []}]}
    with pytest.raises(ScrapeConfigError, match="job 'prometheus' uses %s already; set force=true" % other):
        set_auth(doc, ["prometheus"], "basic_auth", BASIC)
    new, changed = set_auth(doc, ["prometheus"], "basic_auth", BASIC, force=True)
    assert changed == ["prometheus"]
    # The new block takes the place of the one it replaces.
    assert list(new["scrape_configs"][0]) == ["job_name", "honor_labels", "basic_auth", "static_configs"]
    assert other not in new["scrape_configs"][0]


def test_null_other_kind_is_not_a_conflict():
    doc = {"scrape_configs": [{"job_name": "prometheus", "oauth2": None}]}
    new, changed = set_auth(doc, ["prometheus"], "basic_auth", BASIC)
    assert changed == ["prometheus"]
    assert new["scrape_configs"][0] == {"job_name": "prometheus", "basic_auth": BASIC}


@pytest.mark.parametrize(
    "names, message",
    [
        (["prometheus", "missing"], "has no scrape job named 'missing'; the jobs are: 'prometheus', 'node'"),
        (["a", "b"], "named 'a', 'b'"),
        ([], "at least one"),
    ],
)
def test_unknown_job_lists_the_jobs(names, message):
    with pytest.raises(ScrapeConfigError, match=message):
        set_auth(parse(DEBIAN), names, "basic_auth", BASIC)
    with pytest.raises(ScrapeConfigError, match=message):
        remove_auth(parse(DEBIAN), names, "basic_auth")


def test_no_jobs_and_scrape_config_files_hint():
    with pytest.raises(ScrapeConfigError, match=r"the jobs are: \(none\) \(jobs in scrape_config_files"):
        set_auth({"scrape_config_files": ["jobs/*.yml"]}, ["prometheus"], "basic_auth", BASIC)


def test_several_jobs_and_duplicates():
    doc = {"scrape_configs": [
        {"job_name": "a"}, {"job_name": "b", "basic_auth": dict(BASIC)}, {"job_name": "c"}, {"job_name": 123},
    ]}
    new, changed = set_auth(doc, ["a", "b", "123"], "basic_auth", BASIC)
    assert changed == ["a", "123"]
    assert "basic_auth" not in new["scrape_configs"][2]
    assert new["scrape_configs"][3]["basic_auth"] == BASIC


def test_remove_keeps_other_kind():
    doc = {"scrape_configs": [{"job_name": "prometheus", "oauth2": {"client_id": "x"}}]}
    assert remove_auth(doc, ["prometheus"], "basic_auth") == (doc, [])


def test_transport_sets_scheme_and_ca_file_before_the_targets_and_keeps_other_tls_keys():
    doc = parse(DEBIAN)
    doc["scrape_configs"][0]["tls_config"] = {"server_name": "prom-1"}
    new, changed = set_transport(doc, ["prometheus"], "https", "/etc/promaccess/tls/ca.crt")
    job = new["scrape_configs"][0]
    assert changed == ["prometheus"]
    assert job["scheme"] == "https"
    assert job["tls_config"] == {"server_name": "prom-1", "ca_file": "/etc/promaccess/tls/ca.crt"}
    assert list(job).index("scheme") < list(job).index("static_configs")
    assert "scheme" not in doc["scrape_configs"][0]  # the input is not modified
    assert "scheme" not in new["scrape_configs"][1]  # nor any other job
    again, changed = set_transport(new, ["prometheus"], "https", "/etc/promaccess/tls/ca.crt")
    assert (again, changed) == (new, [])
    # Nothing given: nothing changes, even on a job that has TLS.
    assert set_transport(new, ["prometheus"], None, None) == (new, [])


def test_transport_refuses_what_prometheus_would():
    with pytest.raises(ScrapeConfigError, match="scheme must be http or https"):
        set_transport(parse(DEBIAN), ["prometheus"], "ftp", None)
    doc = parse(DEBIAN)
    doc["scrape_configs"][0]["tls_config"] = "yes"
    with pytest.raises(ScrapeConfigError, match="tls_config that is not a mapping"):
        set_transport(doc, ["prometheus"], None, "/ca.crt")


def test_backend_moves_the_self_scrape_to_https_once(config, tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("not read by the module, only required to exist\n")
    params = dict(path=str(config), password_file="internal.password", password="Zx9-very-secret-value",
                  scheme="https", tls_ca_file=str(ca))
    first = ScrapeAuthBackend(FakeModule(params, promtool=(0, "SUCCESS", ""))).run()
    assert first["changed"] and first["reload_needed"] and first["jobs_changed"] == ["prometheus"]
    job = yaml.safe_load(config.read_text())["scrape_configs"][0]
    assert (job["scheme"], job["tls_config"]["ca_file"]) == ("https", str(ca))
    assert job["basic_auth"]["username"] == "internal"
    again = ScrapeAuthBackend(FakeModule(params, promtool=(0, "SUCCESS", ""))).run()
    assert not again["changed"] and not again["reload_needed"]


def test_render_keeps_values_prometheus_cares_about():
    text = (
        "global:\n  scrape_interval: 15s\n  external_labels: {env: 'on', n: '012'}\n"
        "scrape_configs:\n- job_name: prometheus\n  relabel_configs:\n  - regex: '(.*):\\d+'\n    replacement: $1\n"
        "  static_configs:\n  - targets: ['[::1]:9090']\n    labels: {a: 'yes'}\n"
    )
    doc = parse(text)
    new, changed = set_auth(doc, ["prometheus"], "basic_auth", BASIC)
    assert changed
    out = render(new)
    assert "#" not in out
    reparsed = yaml.safe_load(out)
    assert reparsed == new
    assert reparsed["global"]["external_labels"] == {"env": "on", "n": "012"}
    assert reparsed["scrape_configs"][0]["static_configs"][0]["labels"] == {"a": "yes"}
    assert list(reparsed["scrape_configs"][0]) == ["job_name", "basic_auth", "relabel_configs", "static_configs"]


@pytest.mark.parametrize(
    "value, masked, secret",
    [
        ({"basic_auth": {"username": "u", "password": "p"}}, {"basic_auth": {"username": "u", "password": MASK}}, True),
        ([{"authorization": {"credentials": "c"}}], [{"authorization": {"credentials": MASK}}], True),
        ({"bearer_token": "t", "x": [{"client_secret": "s"}]}, {"bearer_token": MASK, "x": [{"client_secret": MASK}]}, True),
        ({"basic_auth": BASIC}, {"basic_auth": BASIC}, False),
        ({"password": ""}, {"password": ""}, False),
    ],
)
def test_mask_secrets(value, masked, secret):
    assert mask_secrets(value) == masked
    assert has_inline_secrets(value) is secret


@pytest.mark.parametrize(
    "password, message",
    [("", "must not be empty"), (" a", "whitespace"), ("a ", "whitespace"), ("   ", "whitespace"), ("a\nb", "single line"),
     ("a\rb", "single line")],
)
def test_bad_passwords(password, message):
    with pytest.raises(ScrapeConfigError, match=message) as info:
        check_password(password)
    if password.strip():
        assert password not in str(info.value)


def test_good_password():
    check_password("S3cret with inner spaces")


# -- the backend with a stand-in module ----------------------------------------------------------------------
class FakeModule:
    def __init__(self, params, check_mode=False, diff=True, promtool=None):
        base = dict(
            path=None, job_name=["prometheus"], state="present", auth_type="basic_auth", username="internal",
            password_file=None, password=None, password_file_mode="0640", password_file_owner=None,
            password_file_group=None, authorization_type="Bearer", force=False, promtool="promtool",
            require_promtool=False, backup=False, unsafe_writes=False, scheme=None, tls_ca_file=None,
        )
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._diff = diff
        self.promtool_result = promtool
        self.warnings = []
        self.commands = []

    def warn(self, msg):
        self.warnings.append(msg)

    def get_bin_path(self, name, required=False):
        return "/usr/bin/promtool" if self.promtool_result is not None else None

    def run_command(self, args):
        self.commands.append(args)
        with open(args[-1]) as f:
            self.staged_text = f.read()
        return self.promtool_result

    def load_file_common_arguments(self, params, path=None):
        return dict(path=path, mode=params.get("mode"), owner=params.get("owner"), group=params.get("group"))

    def set_fs_attributes_if_different(self, args, changed, diff=None, expand=True):
        if args.get("mode") is not None and os.path.exists(args["path"]):
            mode = int(args["mode"], 8) if isinstance(args["mode"], str) else args["mode"]
            if os.stat(args["path"]).st_mode & 0o7777 != mode:
                if not self.check_mode:
                    os.chmod(args["path"], mode)
                return True
        return changed

    def atomic_move(self, src, dest, unsafe_writes=False):
        if os.path.exists(dest):
            os.chmod(src, os.stat(dest).st_mode & 0o7777)
        os.rename(src, dest)

    def backup_local(self, path):
        raise AssertionError("not used")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "prometheus.yml"
    path.write_text(DEBIAN)
    os.chmod(path, 0o644)
    return path


def test_backend_four_step_cycle(config, tmp_path):
    secret = "Zx9-very-secret-value"
    params = dict(path=str(config), password_file="internal.password", password=secret)
    pw = tmp_path / "internal.password"

    checked = ScrapeAuthBackend(FakeModule(params, check_mode=True, promtool=(0, "ok", ""))).run()
    assert checked["changed"] and checked["reload_needed"] and checked["password_file_changed"]
    assert checked["jobs_changed"] == ["prometheus"]
    assert config.read_text() == DEBIAN and not pw.exists()
    assert checked["diff"][0]["before"] == DEBIAN
    assert "password_file: internal.password" in checked["diff"][0]["after"]
    assert checked["diff"][1]["after"] == "password file (changed)\n"
    assert secret not in repr(checked)

    module = FakeModule(params, promtool=(0, "SUCCESS", ""))
    applied = ScrapeAuthBackend(module).run()
    assert applied["changed"] and applied["reload_needed"] and applied["validated"]
    assert pw.read_text() == secret + "\n"
    assert oct(os.stat(pw).st_mode & 0o7777) == "0o640"
    assert oct(os.stat(config).st_mode & 0o7777) == "0o644"
    # promtool saw the new text, staged next to the real file, and the password file already existed then.
    assert os.path.dirname(module.commands[0][-1]) == str(tmp_path)
    assert "password_file: internal.password" in module.staged_text
    assert config.read_text() == checked["diff"][0]["after"] == module.staged_text
    assert secret not in repr(applied)
    assert list(tmp_path.glob(".*tmp")) == []

    again_check = ScrapeAuthBackend(FakeModule(params, check_mode=True)).run()
    assert not again_check["changed"] and not again_check["reload_needed"]
    again = ScrapeAuthBackend(FakeModule(params)).run()
    assert not again["changed"] and not again["reload_needed"] and not again["password_file_changed"]
    assert again["diff"][0]["before"] == again["diff"][0]["after"]


def test_backend_rotation_needs_no_reload(config, tmp_path):
    params = dict(path=str(config), password_file=str(tmp_path / "pw"), password="first")
    ScrapeAuthBackend(FakeModule(params)).run()
    rotated = ScrapeAuthBackend(FakeModule(dict(params, password="second"))).run()
    assert rotated["changed"] and rotated["password_file_changed"] and not rotated["reload_needed"]
    assert (tmp_path / "pw").read_text() == "second\n"


def test_backend_tightens_mode_alone(config, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("same")
    os.chmod(pw, 0o644)
    params = dict(path=str(config), password_file=str(pw), password="same")
    ScrapeAuthBackend(FakeModule(params)).run()
    pw.write_text("same")  # without newline: Prometheus trims, so it is the same password
    os.chmod(pw, 0o644)
    result = ScrapeAuthBackend(FakeModule(params)).run()
    assert result["changed"] and result["password_file_changed"] and not result["reload_needed"]
    assert oct(os.stat(pw).st_mode & 0o7777) == "0o640"
    assert pw.read_text() == "same"


def test_backend_promtool_failure_keeps_old_file(config, tmp_path):
    params = dict(path=str(config), password_file=str(tmp_path / "pw"))
    module = FakeModule(params, promtool=(1, "Checking x\n\n", '  FAILED: error checking "pw": no such file\n'))
    expected = r"promtool check config rejected the new .*prometheus.yml, which was not written: FAILED: error checking \"pw\": no such file$"
    with pytest.raises(ScrapeConfigError, match=expected):
        ScrapeAuthBackend(module).run()
    assert config.read_text() == DEBIAN
    assert list(tmp_path.glob(".*tmp")) == []


def test_backend_without_promtool_warns_or_fails(config, tmp_path):
    params = dict(path=str(config), password_file=str(tmp_path / "pw"))
    module = FakeModule(params)
    assert ScrapeAuthBackend(module).run()["changed"]
    assert "without validation" in module.warnings[0]
    config.write_text(DEBIAN)
    with pytest.raises(ScrapeConfigError, match="require_promtool=true"):
        ScrapeAuthBackend(FakeModule(dict(params, require_promtool=True))).run()
    assert config.read_text() == DEBIAN


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(job_name=["nope"]), "has no scrape job named 'nope'; the jobs are: 'prometheus', 'node'"),
        (dict(username=None), "username is required"),
        (dict(password=" padded"), "whitespace"),
        (dict(password_file=None), "password_file is required"),
        (dict(scheme="https", tls_ca_file="/nonexistent/ca.crt"), "tls_ca_file /nonexistent/ca.crt does not exist"),
    ],
)
def test_backend_refusals_leave_everything(config, tmp_path, params, message):
    base = dict(path=str(config), password_file=str(tmp_path / "pw"), password="p")
    with pytest.raises(ScrapeConfigError, match=message):
        ScrapeAuthBackend(FakeModule(dict(base, **params))).run()
    assert config.read_text() == DEBIAN
    assert not (tmp_path / "pw").exists()


def test_backend_missing_config(tmp_path):
    with pytest.raises(ScrapeConfigError, match="does not exist"):
        ScrapeAuthBackend(FakeModule(dict(path=str(tmp_path / "none.yml"), password_file="x"))).run()


def test_backend_absent_and_diff_hides_inline_secrets(tmp_path):
    path = tmp_path / "prometheus.yml"
    path.write_text(
        "scrape_configs:\n- job_name: prometheus\n  basic_auth: {username: u, password_file: /pw}\n"
        "- job_name: other\n  basic_auth: {username: o, password: inline-secret}\n"
    )
    params = dict(path=str(path), state="absent", password="ignored", password_file=None)
    result = ScrapeAuthBackend(FakeModule(params, promtool=(0, "", ""))).run()
    assert result["changed"] and result["reload_needed"] and not result["password_file_changed"]
    assert "inline-secret" not in repr(result["diff"])
    assert "inline secrets hidden" in result["diff"][0]["before_header"]
    assert len(result["diff"]) == 1
    data = yaml.safe_load(path.read_text())
    assert "basic_auth" not in data["scrape_configs"][0]
    assert data["scrape_configs"][1]["basic_auth"]["password"] == "inline-secret"
    assert not ScrapeAuthBackend(FakeModule(params)).run()["changed"]
