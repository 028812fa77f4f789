"""Unit tests for parsing and rendering htpasswd files."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._host_files.htpasswd import HtpasswdError, HtpasswdFile

SAMPLE = (
    "internal:$2y$05$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2\n"
    "# managed by hand below\n"
    "\n"
    "legacy:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
    "md5:$apr1$eIYuQBhY$FSoLTeAeTZ7CZuEG.BPaP1\n"
)


def test_round_trip_is_byte_identical():
    f = HtpasswdFile.parse(SAMPLE)
    assert f.render(f.users()) == SAMPLE
    assert list(f.users()) == ["internal", "legacy", "md5"]


def test_render_replaces_in_place_removes_and_appends():
    f = HtpasswdFile.parse(SAMPLE)
    users = f.users()
    users["legacy"] = "NEW"
    del users["md5"]
    users["bob"] = "BOB"
    assert f.render(users) == (
        "internal:$2y$05$L58Yw0U7Y7MEzLzEIsP68erTZa5I32L9McoFuOGz9UM0uN5sU7tC2\n"
        "# managed by hand below\n\nlegacy:NEW\nbob:BOB\n"
    )


def test_missing_final_newline_is_added():
    assert HtpasswdFile.parse("a:x").render({"a": "x"}) == "a:x\n"


def test_duplicates_reported_and_later_lines_kept():
    f = HtpasswdFile.parse("a:1\nb:2\na:3\n")
    assert f.duplicates() == {"a": [1, 3]}
    assert f.users()["a"] == "1"
    assert f.render({"a": "1", "b": "2"}) == "a:1\nb:2\na:3\n"
    assert f.render({"b": "2"}) == "b:2\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("ok:x\nbroken line\n", "line 2 is malformed"),
        (":hash\n", "line 1 is malformed: empty user name"),
        ("a:x\n\nb:\n", "line 3 is malformed: user 'b' has an empty hash"),
    ],
)
def test_malformed_lines_name_the_line(text, message):
    with pytest.raises(HtpasswdError, match=message):
        HtpasswdFile.parse(text)


def test_error_never_quotes_a_hash():
    with pytest.raises(HtpasswdError) as err:
        HtpasswdFile.parse("a:$2y$05$secretsecret\nnocolon$2y$05$secret\n")
    assert "$2y$" not in str(err.value)
