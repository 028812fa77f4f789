"""Unit tests for the line-ending handling shared by the user-file modules."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._user_file import detect_newline, from_lf, to_lf


@pytest.mark.parametrize(
    "text, newline",
    [
        ("", "\n"),
        ("a:x", "\n"),
        ("a:x\n", "\n"),
        ("a:x\r\n", "\r\n"),
        ("a:x\r\nb:y\r\n", "\r\n"),
        ("a:x\r\nb:y", "\r\n"),
        ("a:x\r\nb:y\nc:z\r\n", "\r\n"),  # mostly CRLF
        ("a:x\nb:y\nc:z\r\n", "\n"),  # mostly LF
    ],
)
def test_detect_newline(text, newline):
    assert detect_newline(text) == newline


@pytest.mark.parametrize("text", ["", "a:x\r\n# c\r\n\r\nb:y\r\n", "a:x\nb:y\n"])
def test_round_trip_keeps_the_bytes(text):
    newline = detect_newline(text)
    assert "\r" not in to_lf(text, newline)
    assert from_lf(to_lf(text, newline), newline) == text
