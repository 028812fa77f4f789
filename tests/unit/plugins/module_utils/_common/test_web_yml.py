"""Unit tests for the exporter-toolkit web configuration format."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._common.web_yml import WebConfigError, parse, render

H1 = "$2y$05$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2"
H2 = "$2b$12$hnf2lssxfm0.i4a.1kvpsovybcfib51vrjgbuyv6kdnytlgwj81ay"


def test_other_keys_keep_value_and_place():
    text = (
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "basic_auth_users:\n  internal: '%s'\n"
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n" % H1
    )
    doc, users = parse(text)
    assert users == {"internal": H1}
    users["team"] = H2
    out = render(doc, users)
    data = yaml.safe_load(out)
    assert list(data) == ["tls_server_config", "basic_auth_users", "http_server_config"]
    assert list(data["basic_auth_users"].items()) == [("internal", H1), ("team", H2)]
    assert data["http_server_config"] == {"headers": {"X-Frame-Options": "deny"}}


@pytest.mark.parametrize("text", ["", "\n", "---\n", "# only a comment\n"])
def test_empty_documents(text):
    assert parse(text) == ({}, {})


@pytest.mark.parametrize(
    "text, message",
    [
        ("- a\n- b\n", "mapping at the top level"),
        ("basic_auth_users: [a, b]\n", "is not a mapping of user name to hash"),
        ("basic_auth_users:\n  a: [1]\n", "string name to a string hash"),
        ("basic_auth_users: {a: 1\n", "not valid YAML at line"),
    ],
)
def test_bad_documents(text, message):
    with pytest.raises(WebConfigError, match=message):
        parse(text)
