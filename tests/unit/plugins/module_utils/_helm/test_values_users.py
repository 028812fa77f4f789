"""helm_values_users' backend on real files: plain YAML (ruamel round trip) and sops files with the real sops binary
and real age keys; hashes checked with Apache's ``htpasswd -vb``."""

from __future__ import annotations

import base64
import os
import subprocess

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._helm.values_users import ValuesError, run
from ansible_collections.promaccess.core.plugins.plugin_utils.sops_runner import run as sops_run

SUPPORT = """\
# 2i2c-style support chart values
prometheusIngressAuthSecret:
  enabled: true  # the chart renders the Secret
  users:
    # the first entry is the chart's own
    - username: reserved-user
      password: reserved-pass
      note: keep me
    - username: other
      password: other-pass
grafana:
  enabled: false
"""

PROMETHEUS = """\
prometheus:
  serverFiles:
    web.yml:
      basic_auth_users:
        # hand-made
        internal: $2y$05$uA.IOhbkxLXpm12MQRMjoe/u.faan.aaVIWduPAptIqRw7.W/ZUZi
  server:
    replicas: 1
"""

HTPASSWD = """\
ingress:
  basicAuth:
    htpasswd: |
      first:$apr1$abcdefgh$0123456789abcdefghijkl
"""

KMS_ENTRY = {
    "arn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "created_at": "2026-01-01T00:00:00Z",
    "enc": "AQICAHh" + "Q" * 180,
    "aws_profile": "",
}


class FakeModule:
    """What run() uses of an AnsibleModule: params, check_mode, _diff and no_log_values."""

    def __init__(self, check_mode=False, **params):
        base = dict(users=[], exclusive=False, bcrypt_rounds=5, rehash="never", reserved=None, create_key=True,
                    identity=None, sops_binary=None, sops_config=None)
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._diff = True
        self.no_log_values = set()


def apply(path, check_mode=False, runner=None, **params):
    return run(FakeModule(check_mode=check_mode, path=str(path), **params), runner)


def htpasswd_ok(tmp_path, name, hashed, password) -> bool:
    file = tmp_path / "check.htpasswd"
    file.write_text("%s:%s\n" % (name, hashed))
    return subprocess.run(["htpasswd", "-vb", str(file), name, password], capture_output=True,
                          check=False).returncode == 0


def state(path):
    return path.read_bytes(), os.stat(path).st_mtime_ns


# -- list ---------------------------------------------------------------------------------------------------------
def test_list_adds_below_the_reserved_head_keeping_comments_and_other_entries(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(SUPPORT)
    users = [{"name": "minted-name-1", "label": "team-a (current)", "password": "s3cret-a"}]
    kwargs = dict(key_path=["prometheusIngressAuthSecret", "users"], shape="list", users=users)

    check = apply(path, check_mode=True, **kwargs)
    assert check["changed"] and check["users_added"] == ["team-a (current)"]
    assert path.read_text() == SUPPORT  # check mode writes nothing
    diff = check["diff"]["before"] + check["diff"]["after"]
    assert "minted-name-1" not in diff and "s3cret-a" not in diff and "reserved-user" not in diff
    assert "team-a (current): plain password" in check["diff"]["after"]

    result = apply(path, **kwargs)
    assert result["changed"] and result["hash_operations"] == 0
    text = path.read_text()
    assert text.startswith(SUPPORT.split("    - username: other", maxsplit=1)[0])  # comments and the head unchanged
    entries = yaml.safe_load(text)["prometheusIngressAuthSecret"]["users"]
    assert entries == [
        {"username": "reserved-user", "password": "reserved-pass", "note": "keep me"},
        {"username": "other", "password": "other-pass"},
        {"username": "minted-name-1", "password": "s3cret-a"},
    ]
    before = state(path)
    again = apply(path, **kwargs)
    assert not again["changed"] and state(path) == before


def test_list_changes_a_password_in_place_and_exclusive_never_touches_the_head(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(SUPPORT.replace("    - username: other\n      password: other-pass\n",
                                    "    - username: other\n      password: other-pass\n      extra: 1\n"
                                    "    - username: gone\n      password: x\n"))
    result = apply(path, key_path=["prometheusIngressAuthSecret", "users"], shape="list", exclusive=True,
                   users=[{"name": "other", "password": "new-pass"}])
    assert result["users_changed"] == ["other"] and result["users_removed"] == ["gone"]
    entries = yaml.safe_load(path.read_text())["prometheusIngressAuthSecret"]["users"]
    assert entries == [
        {"username": "reserved-user", "password": "reserved-pass", "note": "keep me"},
        {"username": "other", "password": "new-pass", "extra": 1},
    ]
    # the head can be neither changed nor removed
    before = state(path)
    with pytest.raises(ValuesError, match="reserved entries"):
        apply(path, key_path=["prometheusIngressAuthSecret", "users"], shape="list",
              users=[{"name": "reserved-user", "state": "absent"}])
    assert state(path) == before


def test_list_refuses_a_hash_and_a_reserved_place(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(SUPPORT)
    before = state(path)
    with pytest.raises(ValuesError, match="plain passwords"):
        apply(path, key_path=["prometheusIngressAuthSecret", "users"], shape="list",
              users=[{"name": "a", "password_hash": "$2y$05$uA.IOhbkxLXpm12MQRMjoe/u.faan.aaVIWduPAptIqRw7.W/ZUZi"}])
    empty = tmp_path / "empty.yaml"
    empty.write_text("prometheusIngressAuthSecret:\n  users: []\n")
    with pytest.raises(ValuesError, match="reserved place"):
        apply(empty, key_path=["prometheusIngressAuthSecret", "users"], shape="list",
              users=[{"name": "a", "password": "p"}])
    assert state(path) == before
    assert empty.read_text() == "prometheusIngressAuthSecret:\n  users: []\n"


# -- map ----------------------------------------------------------------------------------------------------------
def test_map_hashes_verifies_and_keeps_the_rest(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(PROMETHEUS)
    key_path = ["prometheus", "serverFiles", "web.yml", "basic_auth_users"]
    users = [{"name": "team-a", "password": "pw-a"}, {"name": "minted", "label": "team-b (current)", "password": "pw-b"}]
    result = apply(path, key_path=key_path, shape="map", users=users)
    assert result["changed"] and result["hash_operations"] == 2
    assert result["users_added"] == ["team-a", "team-b (current)"]
    assert "minted" not in result["diff"]["after"] and "$2y$" not in result["diff"]["after"]
    assert "team-b (current): bcrypt (cost 5)" in result["diff"]["after"]
    text = path.read_text()
    assert "# hand-made" in text and "web.yml:" in text
    document = yaml.safe_load(text)
    hashes = document["prometheus"]["serverFiles"]["web.yml"]["basic_auth_users"]
    assert list(hashes) == ["internal", "team-a", "minted"]
    assert hashes["internal"] == "$2y$05$uA.IOhbkxLXpm12MQRMjoe/u.faan.aaVIWduPAptIqRw7.W/ZUZi"
    assert document["prometheus"]["server"] == {"replicas": 1}
    assert htpasswd_ok(tmp_path, "team-a", hashes["team-a"], "pw-a")
    assert htpasswd_ok(tmp_path, "minted", hashes["minted"], "pw-b")
    assert not htpasswd_ok(tmp_path, "minted", hashes["minted"], "pw-a")

    before = state(path)
    again = apply(path, key_path=key_path, shape="map", users=users)
    assert not again["changed"] and again["hash_operations"] == 0 and again["verify_operations"] == 2
    assert state(path) == before
    # exclusive with one reserved user keeps it first and removes the unlisted
    result = apply(path, key_path=key_path, shape="map", reserved=1, exclusive=True, users=users[1:])
    assert result["users_removed"] == ["team-a"]
    hashes = yaml.safe_load(path.read_text())["prometheus"]["serverFiles"]["web.yml"]["basic_auth_users"]
    assert list(hashes) == ["internal", "minted"]


def test_map_creates_the_key_path(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("server:\n  replicas: 1\n")
    key_path = ["prometheus", "serverFiles", "web.yml", "basic_auth_users"]
    before = state(path)
    with pytest.raises(ValuesError, match="has no key 'prometheus'"):
        apply(path, key_path=key_path, shape="map", create_key=False, users=[{"name": "a", "password": "p"}])
    assert state(path) == before
    apply(path, key_path=key_path, shape="map", users=[{"name": "a", "password": "p"}])
    document = yaml.safe_load(path.read_text())
    assert document["server"] == {"replicas": 1}
    assert htpasswd_ok(tmp_path, "a", document["prometheus"]["serverFiles"]["web.yml"]["basic_auth_users"]["a"], "p")


# -- htpasswd -----------------------------------------------------------------------------------------------------
def test_htpasswd_string(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(HTPASSWD)
    kwargs = dict(key_path=["ingress", "basicAuth", "htpasswd"], shape="htpasswd", reserved=1, exclusive=True,
                  users=[{"name": "team-a", "password": "pw-a"}])
    result = apply(path, **kwargs)
    assert result["users_added"] == ["team-a"] and result["users_removed"] == []
    text = path.read_text()
    assert "htpasswd: |" in text  # still a literal block
    lines = yaml.safe_load(text)["ingress"]["basicAuth"]["htpasswd"].splitlines()
    assert lines[0] == "first:$apr1$abcdefgh$0123456789abcdefghijkl"
    name, hashed = lines[1].split(":", 1)
    assert name == "team-a" and htpasswd_ok(tmp_path, name, hashed, "pw-a")
    before = state(path)
    assert not apply(path, **kwargs)["changed"] and state(path) == before


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, key_path, shape, match",
    [
        ("a:\n  - b: 1\n", ["a", "b", "c"], "map", "runs through a list at 'a'"),
        ("a: 3\n", ["a", "b"], "map", "runs through a scalar at 'a'"),
        ("a:\n  b: [x]\n", ["a", "b"], "map", "holds a list; shape map needs a mapping"),
        ("a:\n  b: {x: y}\n", ["a", "b"], "list", "holds a mapping; shape list needs a list"),
        ("a:\n  b: {x: y}\n", ["a", "b"], "htpasswd", "holds a mapping; shape htpasswd needs an htpasswd string"),
        ("a:\n  b: 'no colon here'\n", ["a", "b"], "htpasswd", "line 1 of the htpasswd string"),
        ("a: [\n  b: 1\n", ["a", "b"], "map", "is not valid YAML at line"),
        ("a: 1\na: 2\n", ["a", "b"], "map", "is not valid YAML at line 2"),
        ("- 1\n", ["a"], "map", "must hold a YAML mapping at the top level"),
    ],
)
def test_bad_input_names_the_file_and_leaves_it_byte_identical(tmp_path, text, key_path, shape, match):
    path = tmp_path / "values.yaml"
    path.write_text(text)
    before = state(path)
    with pytest.raises(ValuesError, match=match) as info:
        apply(path, key_path=key_path, shape=shape, users=[{"name": "u", "password": "p"}])
    assert str(path) in str(info.value)
    assert state(path) == before


# -- sops ---------------------------------------------------------------------------------------------------------
def _sops(sops_binary, key, *args, cwd=None):
    env = dict(os.environ, SOPS_AGE_KEY_FILE=str(key), SOPS_DISABLE_VERSION_CHECK="1")
    return subprocess.run([sops_binary, *args], env=env, capture_output=True, check=False, cwd=cwd)


def _keygen(path):
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def sops_values(tmp_path, sops_binary):
    """enc-support.secret.values.yaml encrypted to an age key, with a KMS key group this machine cannot use."""
    repo = tmp_path / "repo"
    repo.mkdir()
    key = tmp_path / "key.txt"
    public = _keygen(key)
    (repo / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": [{"path_regex": r"\.yaml$", "age": public}]}))
    path = repo / "enc-support.secret.values.yaml"
    path.write_text(SUPPORT)
    proc = _sops(sops_binary, key, "encrypt", "-i", str(path), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    document = yaml.safe_load(path.read_text())
    document["sops"]["kms"] = [KMS_ENTRY]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path, key


def test_sops_list_writes_only_the_new_user_and_keeps_key_groups(tmp_path, sops_binary, sops_values):
    path, key = sops_values
    old = path.read_text()
    kwargs = dict(key_path=["prometheusIngressAuthSecret", "users"], shape="list", identity=str(key),
                  sops_binary=sops_binary, users=[{"name": "minted", "label": "team-a", "password": "pw-a"}])
    check = apply(path, check_mode=True, runner=sops_run, **kwargs)
    assert check["changed"] and check["encrypted"] and path.read_text() == old
    result = apply(path, runner=sops_run, **kwargs)
    assert result["changed"] and result["users_added"] == ["team-a"]
    new = path.read_text()
    assert "pw-a" not in new and "minted" not in new  # still encrypted
    metadata = yaml.safe_load(new)["sops"]
    assert metadata["kms"] == [KMS_ENTRY]
    assert metadata["age"] == yaml.safe_load(old)["sops"]["age"]
    # unchanged values keep their ciphertext (comments inside the mapping that holds the list are not kept)

    def values(text):
        return {line.strip(" -") for line in text.splitlines()
                if "ENC[" in line and "mac:" not in line and "type:comment" not in line}

    old_lines, new_lines = values(old), values(new)
    assert old_lines <= new_lines and len(new_lines - old_lines) == 2
    proc = _sops(sops_binary, key, "decrypt", str(path))
    assert proc.returncode == 0, proc.stderr
    entries = yaml.safe_load(proc.stdout)["prometheusIngressAuthSecret"]["users"]
    assert entries[0]["username"] == "reserved-user" and entries[-1] == {"username": "minted", "password": "pw-a"}
    before = state(path)
    again = apply(path, runner=sops_run, **kwargs)
    assert not again["changed"] and state(path) == before
    # exclusive removes the unlisted user, never the head
    apply(path, runner=sops_run, exclusive=True, **kwargs)
    proc = _sops(sops_binary, key, "decrypt", str(path))
    entries = yaml.safe_load(proc.stdout)["prometheusIngressAuthSecret"]["users"]
    assert [e["username"] for e in entries] == ["reserved-user", "minted"]
    assert yaml.safe_load(path.read_text())["sops"]["kms"] == [KMS_ENTRY]


def test_sops_map_hashes_are_checked_with_htpasswd(tmp_path, sops_binary, sops_values):
    path, key = sops_values
    key_path = ["prometheus", "serverFiles", "web.yml", "basic_auth_users"]
    apply(path, runner=sops_run, key_path=key_path, shape="map", identity=str(key), sops_binary=sops_binary,
          users=[{"name": "team-a", "password": "pw-a"}])
    proc = _sops(sops_binary, key, "decrypt", str(path))
    document = yaml.safe_load(proc.stdout)
    assert htpasswd_ok(tmp_path, "team-a", document["prometheus"]["serverFiles"]["web.yml"]["basic_auth_users"]["team-a"], "pw-a")
    assert document["grafana"] == {"enabled": False}


def test_sops_errors_leave_the_file_byte_identical(tmp_path, sops_binary, sops_values):
    path, key = sops_values
    before = state(path)
    kwargs = dict(key_path=["prometheusIngressAuthSecret", "users"], shape="list", sops_binary=sops_binary,
                  users=[{"name": "u", "password": "p"}])
    stranger = tmp_path / "stranger.txt"
    _keygen(stranger)
    with pytest.raises(ValuesError, match=r"values file .*enc-support.*exit 128.*recipients: age:") as info:
        apply(path, runner=sops_run, identity=str(stranger), **kwargs)
    assert str(path) in str(info.value)
    with pytest.raises(ValuesError, match="no 'sops' binary is on PATH"):
        env_path = os.environ["PATH"]
        os.environ["PATH"] = str(tmp_path / "nowhere")
        try:
            without_binary = {**kwargs, "sops_binary": None}
            apply(path, runner=sops_run, identity=str(key), **without_binary)
        finally:
            os.environ["PATH"] = env_path
    with pytest.raises(ValuesError, match="give the operator identity"):
        apply(path, runner=sops_run, **kwargs)
    assert state(path) == before
    # a value edited without sops: the MAC no longer matches
    tampered = path.read_text().replace("ENC[AES256_GCM,data:", "ENC[AES256_GCM,data:AA", 1)
    path.write_text(tampered)
    before = state(path)
    with pytest.raises(ValuesError, match=r"sops refused values file .*enc-support"):
        apply(path, runner=sops_run, identity=str(key), **kwargs)
    assert state(path) == before


# -- the prometheus chart's server (option server) ------------------------------------------------------------------
PROMETHEUS_CHART = """\
prometheus:
  server:
    extraArgs:
      storage.tsdb.retention.time: 30d  # kept
    probeHeaders:
      - name: X-Scope
        value: monitoring
  serverFiles:
    web.yml:
      basic_auth_users: {}
    prometheus.yml:
      scrape_configs:
        # the chart's self-scrape job, copied here
        - job_name: prometheus
          static_configs:
            - targets: [localhost:9090]
        - job_name: other
          static_configs:
            - targets: [other:80]
"""
WEB_USERS = ["prometheus", "serverFiles", "web.yml", "basic_auth_users"]
SCRAPE = ["prometheus", "serverFiles", "prometheus.yml", "scrape_configs"]


def _server(password="probe-pw", **extra):
    return dict(dict(key_path=["prometheus", "server"], web_config_file="/etc/config/web.yml",
                     probe_username="probe-user", probe_username_label="internal.example (current)",
                     probe_password=password, scrape_configs_key_path=SCRAPE, self_scrape_job="prometheus"), **extra)


def test_server_wiring_sets_the_flag_the_probe_header_and_the_self_scrape(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(PROMETHEUS_CHART)
    users = [{"name": "probe-user", "label": "internal.example (current)", "password": "probe-pw"}]
    module = FakeModule(path=str(path), key_path=WEB_USERS, shape="map", users=users, server=_server())
    result = run(module, None)
    assert result["changed"] and result["server_changed"]
    assert "probe-user" in module.no_log_values  # the labelled probe user is masked in what the module returns
    text = path.read_text()
    assert "# kept" in text and "# the chart's self-scrape job, copied here" in text
    server = yaml.safe_load(text)["prometheus"]
    assert server["server"]["extraArgs"] == {"storage.tsdb.retention.time": "30d",
                                             "web.config.file": "/etc/config/web.yml"}
    header = "Basic " + base64.b64encode(b"probe-user:probe-pw").decode()
    assert server["server"]["probeHeaders"] == [{"name": "X-Scope", "value": "monitoring"},
                                                {"name": "Authorization", "value": header}]
    jobs = server["serverFiles"]["prometheus.yml"]["scrape_configs"]
    assert jobs[0]["basic_auth"] == {"username": "probe-user", "password": "probe-pw"}
    assert "basic_auth" not in jobs[1]
    diff = result["diff"]["after"]
    assert "server probe header Authorization: basic auth of internal.example (current)" in diff
    assert "probe-pw" not in str(result) and header not in str(result)
    # idempotent: nothing written
    before = state(path)
    again = run(FakeModule(path=str(path), key_path=WEB_USERS, shape="map", users=users, server=_server()), None)
    assert not again["changed"] and not again["server_changed"] and state(path) == before
    # a rotation of the probe user: the header and the job follow, in place
    users = [{"name": "probe-user", "password": "new-pw"}]
    rotated = run(FakeModule(path=str(path), key_path=WEB_USERS, shape="map", users=users,
                             server=_server("new-pw")), None)
    assert rotated["changed"] and rotated["server_changed"] and rotated["users_changed"] == ["probe-user"]
    server = yaml.safe_load(path.read_text())["prometheus"]
    assert server["server"]["probeHeaders"][1]["value"] == "Basic " + base64.b64encode(b"probe-user:new-pw").decode()
    assert server["serverFiles"]["prometheus.yml"]["scrape_configs"][0]["basic_auth"]["password"] == "new-pw"


@pytest.mark.parametrize("text, server, match", [
    (PROMETHEUS_CHART, _server(self_scrape_job="self"), "no job named 'self'"),
    (PROMETHEUS_CHART.replace("    probeHeaders:\n      - name: X-Scope\n        value: monitoring\n",
                              "    probeHeaders: Authorization\n"), _server(), "is not a list of"),
    (PROMETHEUS_CHART.replace("    extraArgs:\n      storage.tsdb.retention.time: 30d  # kept\n",
                              "    extraArgs: [a]\n"), _server(), "is not a mapping of flags"),
    (PROMETHEUS_CHART, _server(scrape_configs_key_path=["prometheus", "serverFiles", "prometheus.yml"]),
     "must be the list of scrape configs"),
    (PROMETHEUS_CHART, _server(probe_username="someone-else"), "is not one of the file's users"),
])
def test_server_wiring_bad_input_leaves_the_file_byte_identical(tmp_path, text, server, match):
    path = tmp_path / "values.yaml"
    path.write_text(text)
    before = state(path)
    users = [{"name": "probe-user", "password": "probe-pw"}]
    with pytest.raises(ValuesError, match=match):
        run(FakeModule(path=str(path), key_path=WEB_USERS, shape="map", users=users, server=server), None)
    assert state(path) == before


def test_sops_server_wiring_writes_only_what_moved(tmp_path, sops_binary):
    repo = tmp_path / "repo"
    repo.mkdir()
    key = tmp_path / "key.txt"
    public = _keygen(key)
    (repo / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": [{"path_regex": r"\.yaml$", "age": public}]}))
    path = repo / "enc-prometheus.secret.values.yaml"
    path.write_text(PROMETHEUS_CHART)
    assert _sops(sops_binary, key, "encrypt", "-i", str(path), cwd=repo).returncode == 0
    users = [{"name": "probe-user", "password": "probe-pw"}, {"name": "team-a", "password": "pw-a"}]
    kwargs = dict(key_path=WEB_USERS, shape="map", identity=str(key), sops_binary=sops_binary, users=users,
                  server=_server())
    assert apply(path, runner=sops_run, **kwargs)["server_changed"]
    raw = path.read_text()
    # sops encrypts values, not keys: basic_auth_users' names stay readable (docs/gitops.md says so)
    assert "probe-pw" not in raw and "Basic " not in raw and "new-pw" not in raw
    document = yaml.safe_load(_sops(sops_binary, key, "decrypt", str(path)).stdout)["prometheus"]
    assert htpasswd_ok(tmp_path, "team-a", document["serverFiles"]["web.yml"]["basic_auth_users"]["team-a"], "pw-a")
    assert document["server"]["probeHeaders"][-1]["name"] == "Authorization"
    assert document["serverFiles"]["prometheus.yml"]["scrape_configs"][1] == {
        "job_name": "other", "static_configs": [{"targets": ["other:80"]}]}
    before = state(path)
    again = apply(path, runner=sops_run, **kwargs)
    assert not again["changed"] and state(path) == before
