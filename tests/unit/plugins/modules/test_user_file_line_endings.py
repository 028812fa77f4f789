"""The user-file modules keep the line endings of the file they edit (the real modules, run in-process)."""

from __future__ import annotations

import json

import pytest
from ._module_args import patch_module_args

from ansible_collections.promaccess.core.plugins.modules import htpasswd_users, web_config

# Well-formed hashes in the forms htpasswd -B -C 4, -s and -m write (given hashes are compared as strings).
INTERNAL = "$2y$04$qhm.dJTEIpR1KqSxxmGtUutJ.GGCDy99LVCvjazmEHW8Cv6RP7r3y"
LEGACY = "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="
MD5 = "$apr1$0QnUDy7i$pDJmCtK2u7j0YQjxIH39H/"
CRLF_FILE = (
    "internal:%s\r\n# added by hand\r\n\r\nlegacy:%s\r\n" % (INTERNAL, LEGACY)
).encode()


def run(module, capsys, args: dict) -> dict:
    """Run a module's main() with ``args``; return its result (exit_json or fail_json)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_htpasswd_crlf_file_keeps_crlf_and_old_lines_byte_identical(tmp_path, capsys):
    path = tmp_path / "prometheus.htpasswd"
    path.write_bytes(CRLF_FILE)
    args = {"path": str(path), "users": [{"name": "team-a", "password_hash": MD5}]}

    result = run(htpasswd_users, capsys, args)
    assert result["changed"] is True and result["users_added"] == ["team-a"], result
    written = path.read_bytes()
    assert written == CRLF_FILE + b"team-a:" + MD5.encode() + b"\r\n"
    old_lines = CRLF_FILE.split(b"\r\n")[:-1]
    assert written.split(b"\r\n")[: len(old_lines)] == old_lines
    assert b"\n" not in written.replace(b"\r\n", b"")

    again = run(htpasswd_users, capsys, args)
    assert again["changed"] is False
    assert path.read_bytes() == written


def test_htpasswd_crlf_file_replacing_and_removing_keep_crlf(tmp_path, capsys):
    path = tmp_path / "prometheus.htpasswd"
    path.write_bytes(CRLF_FILE)
    result = run(htpasswd_users, capsys, {
        "path": str(path),
        "users": [{"name": "internal", "password_hash": MD5}, {"name": "legacy", "state": "absent"}],
    })
    assert result["changed"] is True, result
    assert path.read_bytes() == ("internal:%s\r\n# added by hand\r\n\r\n" % MD5).encode()


def test_htpasswd_lf_file_stays_lf(tmp_path, capsys):
    path = tmp_path / "prometheus.htpasswd"
    lf = CRLF_FILE.replace(b"\r\n", b"\n")
    path.write_bytes(lf)
    run(htpasswd_users, capsys, {"path": str(path), "users": [{"name": "team-a", "password_hash": MD5}]})
    assert path.read_bytes() == lf + b"team-a:" + MD5.encode() + b"\n"


def test_web_config_crlf_file_keeps_crlf(tmp_path, capsys):
    path = tmp_path / "web.yml"
    path.write_bytes(b"http_server_config:\r\n  http2: true\r\nbasic_auth_users:\r\n  internal: '%s'\r\n" % INTERNAL.encode())
    args = {
        "path": str(path),
        "require_promtool": False,
        "promtool": str(tmp_path / "no-promtool"),
        "users": [{"name": "team-a", "password_hash": INTERNAL}],
    }
    result = run(web_config, capsys, args)
    assert result["changed"] is True, result
    written = path.read_bytes()
    assert written.startswith(b"http_server_config:\r\n  http2: true\r\nbasic_auth_users:\r\n")
    assert written.endswith(b"\r\n") and b"\n" not in written.replace(b"\r\n", b"")

    again = run(web_config, capsys, args)
    assert again["changed"] is False
    assert path.read_bytes() == written
