"""Unit tests for the staged, never-world-readable writes."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._common.io import FileWriteError, read_file, staged_file


def test_staged_file_is_0600_in_target_dir_and_removed(tmp_path):
    os.umask(0o022)
    target = tmp_path / "web.yml"
    with staged_file(str(target), b"secret") as staged:
        assert os.path.dirname(staged) == str(tmp_path)
        assert stat.S_IMODE(os.stat(staged).st_mode) == 0o600
        assert open(staged, "rb").read() == b"secret"
    assert not os.path.exists(staged)
    assert list(tmp_path.iterdir()) == []


def test_staged_file_removed_when_validation_fails(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with staged_file(str(target), b"new"):
            raise RuntimeError("validation failed")
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    assert target.read_bytes() == b"old"


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileWriteError, match="does not exist"):
        with staged_file(str(tmp_path / "nope" / "f"), b"x"):
            pass


def test_read_file(tmp_path):
    assert read_file(str(tmp_path / "missing")) is None
    (tmp_path / "f").write_bytes(b"x")
    assert read_file(str(tmp_path / "f")) == b"x"
    with pytest.raises(FileWriteError, match="cannot read"):
        read_file(str(tmp_path))


@pytest.mark.parametrize(
    "current, wanted, expected",
    [(0o644, "0640", 0o640), (0o600, "0640", 0o600), (0o666, 0o640, 0o640), (0o644, "u=rw", 0o644), (0o640, None, 0o640)],
)
def test_narrow_existing_mode_never_widens(tmp_path, current, wanted, expected):
    from ansible_collections.promaccess.core.plugins.module_utils._common.io import _narrow_existing_mode

    target = tmp_path / "f"
    target.write_bytes(b"x")
    os.chmod(target, current)
    _narrow_existing_mode(str(target), wanted)
    assert stat.S_IMODE(os.stat(target).st_mode) == expected
