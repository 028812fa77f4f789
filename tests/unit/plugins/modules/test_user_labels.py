"""A labelled user's name never leaves the user-file modules (the real modules, run in-process).

The result is what AnsibleModule prints, ``invocation`` (the module arguments shown at -vvv) and diff included:
a labelled (minted) user name must appear nowhere in it, while its label does; unlabelled names are shown.
"""

from __future__ import annotations

import json

import pytest
from ._module_args import patch_module_args

from ansible_collections.promaccess.core.plugins.modules import htpasswd_users, web_config

# Given hashes are compared as strings: no hashing work in these tests.
BCRYPT = "$2y$04$qhm.dJTEIpR1KqSxxmGtUutJ.GGCDy99LVCvjazmEHW8Cv6RP7r3y"
MINTED = "Qm3Zt8Kx" * 8  # 64 characters, as the credential store mints them
MINTED_OLD = "pR7wLc2N" * 8


def run(module, capsys, args: dict) -> tuple[dict, str]:
    """Run a module's main() as Ansible does at -vvv with --diff; return its result and the raw output."""
    args = dict(args, _ansible_inject_invocation=True, _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out


@pytest.fixture(params=["htpasswd_users", "web_config"])
def case(request, tmp_path):
    if request.param == "htpasswd_users":
        path = tmp_path / "prometheus.htpasswd"
        path.write_text("internal:%s\n%s:%s\n" % (BCRYPT, MINTED_OLD, BCRYPT))
        return htpasswd_users, path, {}
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users:\n  internal: '%s'\n  %s: '%s'\n" % (BCRYPT, MINTED_OLD, BCRYPT))
    return web_config, path, {"require_promtool": False, "promtool": str(tmp_path / "no-promtool")}


def test_labelled_names_are_nowhere_in_the_result(case, capsys):
    module, path, extra = case
    users = [
        {"name": "team-b", "password_hash": BCRYPT},  # chosen by hand, no label: shown by name
        {"name": MINTED, "label": "team-a (pending)", "password_hash": BCRYPT},
        {"name": MINTED_OLD, "label": "team-a (retired)", "state": "absent"},
    ]
    result, out = run(module, capsys, dict(extra, path=str(path), users=users))
    assert result["changed"] is True, result
    assert result["users_added"] == ["team-b", "team-a (pending)"]
    assert result["users_removed"] == ["team-a (retired)"]
    assert "team-a (pending)" in result["diff"]["after"] and "team-a (retired)" in result["diff"]["before"]
    assert "team-b" in result["diff"]["after"]
    assert result["invocation"]["module_args"]["users"][1]["label"] == "team-a (pending)"  # really -vvv's view
    assert MINTED not in out and MINTED_OLD not in out
    # ... while the file really holds the user by its name.
    text = path.read_text()
    assert MINTED in text and MINTED_OLD not in text


def test_unlabelled_names_are_shown_as_before(case, capsys):
    module, path, extra = case
    users = [{"name": MINTED, "password_hash": BCRYPT}]
    result, _unused = run(module, capsys, dict(extra, path=str(path), users=users))
    assert result["users_added"] == [MINTED]
    assert MINTED in result["diff"]["after"]
    assert result["invocation"]["module_args"]["users"][0]["name"] == MINTED


def test_a_failure_names_the_label_and_masks_the_name(tmp_path, capsys):
    path = tmp_path / "prometheus.htpasswd"
    path.write_text("%s:%s\ninternal:%s\n%s:%s\n" % (MINTED, BCRYPT, BCRYPT, MINTED, BCRYPT))
    users = [{"name": MINTED, "label": "team-a (current)", "password_hash": BCRYPT}]
    result, out = run(htpasswd_users, capsys, {"path": str(path), "users": users})
    assert result.get("failed") is True, result
    assert "user 'team-a (current)' appears on lines 1, 3" in result["msg"]
    assert MINTED not in out
