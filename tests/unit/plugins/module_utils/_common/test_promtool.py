"""Unit tests for the one promtool runner (web_config and prometheus_scrape_auth)."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._common.promtool import check_staged


class Refused(Exception):
    pass


class Module:
    def __init__(self, found="/usr/bin/promtool", answer=(0, "", ""), required=False):
        self.params = {"promtool": None, "require_promtool": required}
        self.found, self.answer = found, answer
        self.commands, self.warnings = [], []

    def get_bin_path(self, name, required=False):
        return self.found

    def run_command(self, args):
        self.commands.append(args)
        return self.answer

    def warn(self, message):
        self.warnings.append(message)


def test_accepted_file_is_validated():
    module, result = Module(), {}
    check_staged(module, "web-config", "/etc/p/.web.yml.x.tmp", "/etc/p/web.yml", result, Refused)
    assert module.commands == [["/usr/bin/promtool", "check", "web-config", "/etc/p/.web.yml.x.tmp"]]
    assert result == {"validated": True}


def test_missing_promtool_warns_unless_required():
    module, result = Module(found=None), {}
    check_staged(module, "config", "/s", "/etc/p/prometheus.yml", result, Refused)
    assert result == {} and module.commands == []
    assert module.warnings == ["promtool was not found: /etc/p/prometheus.yml was written without validation"]
    with pytest.raises(Refused, match=r"promtool \(promtool\) was not found and require_promtool=true"):
        check_staged(Module(found=None, required=True), "config", "/s", "/etc/p/prometheus.yml", {}, Refused)


def test_refusal_names_the_live_file_not_the_staged_one():
    staged = "/etc/p/.prometheus.yml.abc.tmp"
    out = "Checking %s\n  FAILED: parsing YAML file .prometheus.yml.abc.tmp: bad key\n" % staged
    module, result = Module(answer=(1, out, "")), {}
    with pytest.raises(Refused) as caught:
        check_staged(module, "config", staged, "/etc/p/prometheus.yml", result, Refused)
    assert result == {"validated": False}
    assert str(caught.value) == (
        "promtool check config rejected the new /etc/p/prometheus.yml, which was not written: "
        "FAILED: parsing YAML file prometheus.yml: bad key"
    )
