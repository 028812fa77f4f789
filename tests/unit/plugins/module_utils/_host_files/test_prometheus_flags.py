"""Unit tests of the Prometheus flags backend: parsing, quoting, flag edits, prefix consistency."""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._host_files.prometheus_flags import (
    DefaultsFile,
    FlagsError,
    PrometheusFlagsBackend,
    apply_flags,
    normalize_wanted,
    quote_systemd_word,
    render_dropin,
    split_exec_start,
    unit_environment_files,
    unit_exec_start,
)

DEBIAN_DEFAULTS = """\
# Set the command-line arguments to pass to the server.
# Due to shell escaping, to pass backslashes for regexes, you need to double
# them (\\\\d for \\d). If running under systemd, you need to double them again
# (\\\\\\\\d to mean \\d), and escape newlines too.
ARGS=""
"""


def _bash_words(text: str, variable: str = "ARGS") -> list[str]:
    """What the SysV script / a shell sees: the variable split at white space, as $ARGS unquoted."""
    script = 'source /dev/stdin; for w in ${%s}; do printf "%%s\\n" "$w"; done' % variable
    out = subprocess.run(["bash", "-c", script], input=text, capture_output=True, text=True, check=True).stdout
    return out.splitlines()


@pytest.mark.parametrize(
    "line, words",
    [
        ('ARGS=""', []),
        ("ARGS=", []),
        ('ARGS="--a=1 --b=2"', ["--a=1", "--b=2"]),
        ("ARGS='--a=1   --b=2'", ["--a=1", "--b=2"]),
        ("ARGS=--a=1", ["--a=1"]),
        ('ARGS="--a=1" # trailing comment', ["--a=1"]),
        ('export ARGS="--a=1"', ["--a=1"]),
        ('  ARGS="--a=\\\\d+"', ["--a=\\d+"]),
        ('ARGS="--a=1"\'--b=2\'', ["--a=1--b=2"]),
    ],
)
def test_parse_args_line_like_bash(line, words):
    doc = DefaultsFile(line + "\n")
    assert doc.words == words
    assert _bash_words(line + "\n") == words


@pytest.mark.parametrize(
    "text, message",
    [
        ('ARGS="--a=1\n', "No closing quotation"),
        ('ARGS="--a=$HOME"\n', "shell expansion"),
        ("ARGS=\"--a=`id`\"\n", "shell expansion"),
        ('ARGS="--a=1" --b\n', "unexpected text"),
        ('ARGS="--a=1 \\\n--b=2"\n', "several lines"),
    ],
)
def test_parse_refuses(text, message):
    with pytest.raises(FlagsError, match=message):
        DefaultsFile(text)


def test_last_assignment_wins_and_is_edited():
    text = 'ARGS="--a=1"\nOTHER=x\nARGS="--b=2"\n'
    doc = DefaultsFile(text)
    assert doc.words == ["--b=2"]
    out = doc.render(apply_flags(doc.words, {"web.route-prefix": "/"}))
    assert out == 'ARGS="--a=1"\nOTHER=x\nARGS="--b=2 --web.route-prefix=/"\n'
    assert _bash_words(out) == ["--b=2", "--web.route-prefix=/"]


@pytest.mark.parametrize(
    "before, wanted, after",
    [
        # added at the end, in the order given
        ([], {"web.external-url": "http://h:1/p/", "web.route-prefix": "/"},
         ["--web.external-url=http://h:1/p/", "--web.route-prefix=/"]),
        # replaced in place, other flags untouched
        (["--storage.tsdb.retention.time=30d", "--web.route-prefix=/x", "--log.level=info"],
         {"web.route-prefix": "/"},
         ["--storage.tsdb.retention.time=30d", "--web.route-prefix=/", "--log.level=info"]),
        # the two-word form keeps its form
        (["--web.listen-address", "0.0.0.0:9090", "--log.level=info"], {"web.listen-address": "127.0.0.1:9090"},
         ["--web.listen-address", "127.0.0.1:9090", "--log.level=info"]),
        # removed in both forms, every occurrence
        (["--web.config.file=/a", "--x", "--web.config.file", "/b"], {"web.config.file": None}, ["--x"]),
        # a repeated flag keeps only its first place
        (["--web.route-prefix=/a", "--x", "--web.route-prefix=/b"], {"web.route-prefix": "/"},
         ["--web.route-prefix=/", "--x"]),
        # removing an absent flag changes nothing
        (["--x"], {"web.config.file": None}, ["--x"]),
        # a flag whose name starts like a managed one is not touched
        (["--web.route-prefix-other=1"], {"web.route-prefix": None}, ["--web.route-prefix-other=1"]),
    ],
)
def test_apply_flags(before, wanted, after):
    assert apply_flags(before, wanted) == after
    assert apply_flags(after, wanted) == after


def test_comments_other_lines_and_quotes_kept():
    text = (
        "# comment one\n"
        "OTHER='keep me'   # and this\n"
        "\n"
        "ARGS='--storage.tsdb.path=/var/lib/prometheus/metrics2/ --web.enable-lifecycle'  # trailing\n"
        "# comment two\n"
    )
    doc = DefaultsFile(text)
    out = doc.render(apply_flags(doc.words, {"web.listen-address": "127.0.0.1:9090"}))
    lines = out.splitlines(keepends=True)
    original = text.splitlines(keepends=True)
    assert lines[:3] == original[:3] and lines[4:] == original[4:]
    assert lines[3] == (
        "ARGS='--storage.tsdb.path=/var/lib/prometheus/metrics2/ --web.enable-lifecycle "
        "--web.listen-address=127.0.0.1:9090'  # trailing\n"
    )
    assert _bash_words(out)[-1] == "--web.listen-address=127.0.0.1:9090"


def test_backslashes_of_other_flags_survive_a_rewrite():
    text = 'ARGS="--a=\\\\d+ --web.route-prefix=/x"\n'
    doc = DefaultsFile(text)
    out = doc.render(apply_flags(doc.words, {"web.route-prefix": "/"}))
    assert out == 'ARGS="--a=\\\\d+ --web.route-prefix=/"\n'
    assert _bash_words(out) == ["--a=\\d+", "--web.route-prefix=/"]


def test_unchanged_words_leave_file_byte_identical():
    text = "ARGS='--web.route-prefix=/'   # x\r\n"
    doc = DefaultsFile(text)
    assert doc.render(apply_flags(doc.words, {"web.route-prefix": "/"})) == text


def test_debian_default_file_and_missing_line():
    doc = DefaultsFile(DEBIAN_DEFAULTS)
    out = doc.render(apply_flags(doc.words, {"web.route-prefix": "/"}))
    assert out == DEBIAN_DEFAULTS.replace('ARGS=""', 'ARGS="--web.route-prefix=/"')
    doc = DefaultsFile("# only a comment")
    assert doc.render(["--a=1"]) == '# only a comment\nARGS="--a=1"\n'


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"web.external-url": "http://h/ a"}, "white space"),
        ({"web.external-url": 'http://h/"'}, "quotes"),
        ({"web.external-url": "/prometheus"}, "absolute"),
        ({"web.external-url": "ftp://h/"}, "absolute"),
        ({"web.route-prefix": "prometheus"}, "must start with /"),
        ({"web.listen-address": "9090"}, "HOST:PORT"),
        ({"web.config.file": ""}, "must not be empty"),
        ({"Web Flag": "x"}, "not a Prometheus flag name"),
        ({"web.config.file": True}, "string value"),
        ({"--web.route-prefix": "/", "web.route-prefix": "/"}, "given twice"),
    ],
)
def test_wanted_refused(flags, message):
    with pytest.raises(FlagsError, match=message):
        normalize_wanted(flags)


def test_wanted_accepts_dashes_and_null():
    assert normalize_wanted({"--web.listen-address": ":9090", "web.config.file": None}) == {
        "web.listen-address": ":9090",
        "web.config.file": None,
    }


UNIT = """\
[Unit]
Description=x
# ExecStart=/not/this
[Service]
EnvironmentFile=-/etc/default/prometheus
ExecStart=/usr/bin/prometheus \\
    $ARGS
ExecReload=/bin/kill -HUP $MAINPID
[Install]
ExecStart=/not/this/either
"""


def test_unit_parsing_and_dropin_render():
    words = split_exec_start(unit_exec_start(UNIT))
    assert words == ["/usr/bin/prometheus", "$ARGS"]
    assert unit_environment_files(UNIT) == ["/etc/default/prometheus"]
    new = apply_flags(words, {"web.listen-address": "127.0.0.1:9090"})
    text = render_dropin(new, "/lib/systemd/system/prometheus.service")
    assert text.splitlines()[-3:] == [
        "[Service]",
        "ExecStart=",
        "ExecStart=/usr/bin/prometheus $ARGS --web.listen-address=127.0.0.1:9090",
    ]
    assert text.startswith("# Managed by promaccess.core.prometheus_flags")


@pytest.mark.parametrize(
    "word, rendered",
    [("/usr/bin/prometheus", "/usr/bin/prometheus"), ("$ARGS", "$ARGS"), ("a b", '"a b"'), ('a"b', '"a\\"b"')],
)
def test_systemd_quoting(word, rendered):
    assert quote_systemd_word(word) == rendered
    assert split_exec_start(rendered) == [word]


def test_unit_without_exec_start():
    with pytest.raises(FlagsError, match="no ExecStart"):
        unit_exec_start("[Service]\nExecStart=\n")


# -- the backend with a stand-in module ----------------------------------------------------------------------
class FakeModule:
    def __init__(self, params, check_mode=False, diff=True):
        base = dict(
            path=None, style="defaults_file", variable="ARGS", flags={}, unit_file=None, create=True,
            check_prefix=True, proxy_location=None, proxy_strip_prefix=True, backup=False,
            mode=None, owner=None, group=None, unsafe_writes=False,
        )
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._diff = diff

    def load_file_common_arguments(self, params, path=None):
        return dict(path=path or params["path"], mode=params["mode"], owner=None, group=None)

    def set_fs_attributes_if_different(self, args, changed, diff=None, expand=True):
        if args.get("mode") is not None and os.path.exists(args["path"]):
            mode = int(args["mode"], 8) if isinstance(args["mode"], str) else args["mode"]
            if os.stat(args["path"]).st_mode & 0o7777 != mode:
                os.chmod(args["path"], mode)
                return True
        return changed

    def atomic_move(self, src, dest, unsafe_writes=False):
        if os.path.exists(dest):
            st = os.stat(dest)
            os.chmod(src, st.st_mode & 0o7777)
        os.rename(src, dest)

    def backup_local(self, path):
        raise AssertionError("not used")


def test_backend_cycle_preserves_mode(tmp_path):
    path = tmp_path / "prometheus"
    path.write_text(DEBIAN_DEFAULTS)
    os.chmod(path, 0o640)
    flags = {"web.external-url": "http://127.0.0.1:8080/prometheus/", "web.route-prefix": "/"}
    params = dict(path=str(path), flags=flags, proxy_location="/prometheus/")
    checked = PrometheusFlagsBackend(FakeModule(params, check_mode=True)).run()
    assert checked["changed"] and checked["restart_needed"]
    assert path.read_text() == DEBIAN_DEFAULTS
    assert 'ARGS="--web.external-url=' in checked["diff"]["after"]
    applied = PrometheusFlagsBackend(FakeModule(params)).run()
    assert applied["changed"] and applied["restart_needed"]
    assert path.read_text() == checked["diff"]["after"]
    assert os.stat(path).st_mode & 0o7777 == 0o640
    again = PrometheusFlagsBackend(FakeModule(params)).run()
    assert not again["changed"] and not again["restart_needed"]
    assert again["flags"]["web.route-prefix"] == "/"


def test_backend_refuses_inconsistent_prefix_without_writing(tmp_path):
    path = tmp_path / "prometheus"
    path.write_text(DEBIAN_DEFAULTS)
    params = dict(path=str(path), flags={"web.external-url": "http://h:8080/prometheus/", "web.route-prefix": "/"})
    with pytest.raises(FlagsError, match="proxy that strips"):
        PrometheusFlagsBackend(FakeModule(params)).run()
    assert path.read_text() == DEBIAN_DEFAULTS


def test_backend_dropin_refuses_flag_also_in_environment_file(tmp_path):
    env = tmp_path / "default"
    env.write_text('ARGS="--web.listen-address=:9090"\n')
    unit = tmp_path / "prometheus.service"
    unit.write_text("[Service]\nEnvironmentFile=%s\nExecStart=/usr/bin/prometheus $ARGS\n" % env)
    dropin = tmp_path / "d" / "flags.conf"
    params = dict(path=str(dropin), style="systemd_dropin", unit_file=str(unit),
                  flags={"web.listen-address": "127.0.0.1:9090"})
    with pytest.raises(FlagsError, match="cannot be|repeated"):
        PrometheusFlagsBackend(FakeModule(params)).run()
    env.write_text('ARGS=""\n')
    result = PrometheusFlagsBackend(FakeModule(params)).run()
    assert result["changed"] and result["daemon_reload_needed"]
    assert dropin.read_text().endswith("ExecStart=/usr/bin/prometheus $ARGS --web.listen-address=127.0.0.1:9090\n")
    assert oct(os.stat(dropin).st_mode & 0o777) == "0o644"
    assert not PrometheusFlagsBackend(FakeModule(params)).run()["changed"]
