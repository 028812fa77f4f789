"""Unit tests for the operator_dir filter: the folder of the inventory, else the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.promaccess.core.plugins.filter.operator_dir import COLLECTION_DIR, operator_dir


@pytest.fixture
def layout(tmp_path):
    (tmp_path / "ops" / "inventory").mkdir(parents=True)
    (tmp_path / "ops" / "hosts.yml").write_text("all: {}\n")
    (tmp_path / "collection" / "playbooks" / "demo").mkdir(parents=True)
    (tmp_path / "collection" / "playbooks" / "demo" / "inventory.yml").write_text("all: {}\n")
    (tmp_path / "cwd").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "sources, expected",
    [
        (["ops/hosts.yml"], "ops"),  # a file source: its folder
        (["ops/inventory"], "ops/inventory"),  # a directory source: itself
        (["localhost,"], "cwd"),  # a host list: no folder
        (["missing/hosts"], "cwd"),  # the default /etc/ansible/hosts when it does not exist
        ([], "cwd"),
        (None, "cwd"),
        (["localhost,", "ops/hosts.yml", "ops/inventory"], "ops"),  # the first one on disk
        (["collection/playbooks/demo/inventory.yml"], "cwd"),  # never inside the collection
        (["collection/playbooks/demo/inventory.yml", "ops/inventory"], "ops/inventory"),
        ("ops/hosts.yml", "ops"),
    ],
)
def test_operator_dir(layout, sources, expected):
    if isinstance(sources, list):
        sources = [str(layout / s) if s != "localhost," else s for s in sources]
    elif isinstance(sources, str):
        sources = str(layout / sources)
    got = operator_dir(sources, cwd=str(layout / "cwd"), collection_dir=str(layout / "collection"))
    assert got == str(layout / expected)


def test_defaults_are_the_working_directory_and_this_collection(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert operator_dir(["localhost,"]) == str(tmp_path)
    assert operator_dir([COLLECTION_DIR + "/playbooks"]) == str(tmp_path)
    assert (Path(COLLECTION_DIR) / "plugins" / "filter" / "operator_dir.py").is_file()


def test_refuses_what_is_not_a_list_of_sources():
    with pytest.raises(AnsibleFilterError, match="ansible_inventory_sources"):
        operator_dir({"a": 1})
