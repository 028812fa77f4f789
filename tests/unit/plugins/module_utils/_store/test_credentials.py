"""Unit tests for minting, the hand-off plaintext and the message."""

from __future__ import annotations

import re

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._store import credentials as c


def test_mint_is_64_alphanumerics_and_random():
    values = {c.mint() for _unused in range(50)}
    assert len(values) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9]{64}", v) for v in values)
    # every character class shows up across the draws (pwgen -s uses all of them)
    joined = "".join(values)
    assert re.search(r"[a-z]", joined) and re.search(r"[A-Z]", joined) and re.search(r"[0-9]", joined)


def test_handoff_roundtrip():
    user, password = c.mint(), c.mint()
    data = c.render_handoff(user, password, "https://p.example")
    assert c.parse_handoff(data) == {"url": "https://p.example", "username": user, "password": password}


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("username", "a:b", "must not contain ':'"),
        ("password", "x\ny", "newline"),
        ("password", "", "non-empty"),
        ("password", "é" * 40, "longer than 72 bytes"),
        ("username", " padded", "white space"),
    ],
)
def test_bad_fields_never_echo_the_value(field, value, expected):
    with pytest.raises(c.CredentialError) as err:
        c.check_field(field, value)
    assert expected in str(err.value)
    if value.strip():
        assert value.strip() not in str(err.value)


def test_message_follows_the_seed_and_holds_no_secret():
    msg = c.render_message("/x/team-a.txt.age", "https://prometheus.example.org", "Team A")
    assert msg.startswith("Hello Team A\n")
    assert "Prometheus endpoint from https://prometheus.example.org." in msg
    assert "age --decrypt -i key.txt -o team-a.txt team-a.txt.age" in msg
    assert "Personally Identifiable Information (PII) is at risk" in msg
    assert "notify us immediately if you need to renew them" in msg
    generic = c.render_message("out.bin")
    assert "-o credentials.txt out.bin" in generic and "Hello there" in generic
    assert "certificate" not in msg


def test_message_sends_the_ca_along_when_the_endpoint_certificate_is_ours():
    msg = c.render_message("/x/credentials.txt.age", "https://p1.example.org:8080/prometheus/", "Team A", "ca.crt")
    assert "signed by our own certificate authority" in msg and "curl --cacert ca.crt" in msg
    # The seed's text around it is unchanged.
    assert msg.index("to retrieve the contents.") < msg.index("ca.crt") < msg.index("Personally Identifiable")


def test_message_of_a_rotation_in_grace_says_until_when_the_old_credential_works():
    msg = c.render_message("/x/credentials.txt.age", "https://p1.example.org/", "Team A",
                           replaces_until="2026-12-10T12:00:00Z")
    assert "The old one keeps working until 2026-12-10 12:00 UTC" in msg
    assert msg.index("to retrieve the contents.") < msg.index("replaces the one you have") < msg.index("Personally")
    assert "replaces the one you have" not in c.render_message("/x/credentials.txt.age")
    with pytest.raises(c.CredentialError, match="replaces_until"):
        c.render_message("/x/credentials.txt.age", replaces_until="next week")
