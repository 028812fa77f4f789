"""plugin_utils/helm_values: the values a helm upgrade gets, merged as Helm merges --values files, a sops file
decrypted by the real sops binary."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.plugin_utils import sops_runner
from ansible_collections.promaccess.core.plugins.plugin_utils.helm_values import (
    ValuesFileError,
    merge,
    release_values,
)


def test_merge_is_helms_maps_key_by_key_everything_else_replaced():
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "keep": "x", "drop": {"y": 1}}
    override = {"a": {"c": [3], "d": {"f": 2}}, "drop": None, "new": "n"}
    assert merge(base, override) == {"a": {"b": 1, "c": [3], "d": {"e": 1, "f": 2}}, "keep": "x", "drop": None,
                                     "new": "n"}
    assert base["a"]["d"] == {"e": 1}  # inputs untouched
    assert merge({"a": {"b": 1}}, {"a": "scalar"}) == {"a": "scalar"}
    assert merge({"a": "scalar"}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def _no_sops(path):
    raise AssertionError("a plain file needs no sops")


def test_plain_files_in_order_the_last_wins(tmp_path):
    first, second, empty = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "empty.yaml"
    first.write_text("x:\n  y: 1\n  z: 2\n")
    second.write_text("# comment\nx:\n  z: 3\n")
    empty.write_text("")
    assert release_values([str(first), str(empty), str(second)], None, _no_sops) == {"x": {"y": 1, "z": 3}}


@pytest.mark.parametrize("text, msg", [("- a\n", "does not hold a mapping"), ("a: [\n", "is not valid YAML")])
def test_bad_files_are_named(tmp_path, text, msg):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValuesFileError, match="values file %s %s" % (path, msg)):
        release_values([str(path)], None, _no_sops)
    with pytest.raises(ValuesFileError, match="cannot be read"):
        release_values([str(tmp_path / "missing.yaml")], None, _no_sops)


def test_sops_file_decrypted_in_memory_metadata_dropped(tmp_path, sops_binary):
    key = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()
    secret = tmp_path / "enc-support.secret.values.yaml"
    secret.write_text(yaml.safe_dump({"auth": {"users": [{"username": "u", "password": "p"}]}}))
    env = dict(os.environ, SOPS_DISABLE_VERSION_CHECK="1")
    subprocess.run([sops_binary, "encrypt", "-i", "--age", public, str(secret)], check=True, capture_output=True,
                   env=env)
    plain = tmp_path / "support.values.yaml"
    plain.write_text("auth:\n  enabled: true\n")
    before = set(os.listdir(tmp_path))
    values = release_values([str(plain), str(secret)], str(key), sops_runner.run, sops_binary)
    assert values == {"auth": {"enabled": True, "users": [{"username": "u", "password": "p"}]}}
    assert set(os.listdir(tmp_path)) == before  # nothing decrypted on disk
    with pytest.raises(ValuesFileError, match="give the operator identity"):
        release_values([str(secret)], None, sops_runner.run, sops_binary)
    other = tmp_path / "other.txt"
    subprocess.run(["age-keygen", "-o", str(other)], check=True, capture_output=True)
    with pytest.raises(ValuesFileError, match=str(secret)):
        release_values([str(secret)], str(other), sops_runner.run, sops_binary)
