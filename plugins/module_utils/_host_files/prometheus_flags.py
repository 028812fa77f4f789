# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prometheus command-line flags in Debian's defaults file or a systemd drop-in. Private to promaccess.core.

Two places are supported:

* ``defaults_file``: Debian's ``/etc/default/prometheus``, read by systemd (``EnvironmentFile=``) and by the
  SysV script (``. /etc/default/prometheus``), with the unit running ``/usr/bin/prometheus $ARGS``. ``$ARGS``
  is split at white space by both, without any further unquoting, so a flag value can never hold white
  space or quotes. Only the flags asked for are touched; every other word of ``ARGS`` keeps its text, and
  every other line of the file is kept byte for byte.
* ``systemd_dropin``: a drop-in owned entirely by the module, with ``ExecStart=`` reset and a full
  ``ExecStart=`` built from the unit file's ExecStart plus the managed flags.

Whether an external URL, a route prefix and an nginx location shape fit together is answered by
``_common/urls.check_prefix_consistency``, which the nginx backend uses too.
"""

from __future__ import annotations

import io
import os
import re
import shlex

from ansible_collections.promaccess.core.plugins.module_utils._common.io import (
    FileWriteError,
    install_file,
    read_file,
    staged_file,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.urls import (
    EXTERNAL_URL_FLAG,
    ROUTE_PREFIX_FLAG,
    check_prefix_consistency,
    check_route_prefix,
    external_path,
)

CONFIG_FILE = "web.config.file"
LISTEN_ADDRESS = "web.listen-address"
KNOWN_FLAGS = (EXTERNAL_URL_FLAG, ROUTE_PREFIX_FLAG, CONFIG_FILE, LISTEN_ADDRESS)

DEFAULT_PATHS = {
    "defaults_file": "/etc/default/prometheus",
    "systemd_dropin": "/etc/systemd/system/prometheus.service.d/promaccess-flags.conf",
}
DEFAULT_UNIT_FILE = "/lib/systemd/system/prometheus.service"
MANAGED_HEADER = "# Managed by promaccess.core.prometheus_flags: local changes are overwritten."

_FLAG_NAME_RE = re.compile(r"^[a-z][a-z0-9._-]*$")
_ASSIGN_RE = re.compile(r"^(?P<lead>\s*(?:export\s+)?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<rest>.*)$")
_FORBIDDEN_VALUE_CHARS = set(" \t\r\n\"'\\$`")
_SYSTEMD_BARE_RE = re.compile(r"^[A-Za-z0-9_@%+=:,./${}-]+$")


class FlagsError(Exception):
    """Flags that cannot be parsed, validated or written; the message names the cause."""


# -- flag values -------------------------------------------------------------------------------------------
def normalize_flag_name(name: str) -> str:
    bare = name[2:] if name.startswith("--") else name
    if not _FLAG_NAME_RE.match(bare):
        raise FlagsError("%r is not a Prometheus flag name (expected e.g. web.external-url)" % name)
    return bare


def validate_value(name: str, value: str) -> None:
    if value == "":
        raise FlagsError("--%s must not be empty; give null to remove the flag" % name)
    bad = sorted(set(value) & _FORBIDDEN_VALUE_CHARS)
    if bad:
        raise FlagsError(
            "--%s=%r holds %s: $ARGS is split at white space and never unquoted, so values cannot hold "
            "white space, quotes, backslashes, $ or `" % (name, value, " ".join(repr(c) for c in bad))
        )
    if name == EXTERNAL_URL_FLAG:
        external_path(value, error=FlagsError)
    elif name == ROUTE_PREFIX_FLAG:
        check_route_prefix(value, error=FlagsError)
    elif name == LISTEN_ADDRESS and not re.match(r"^(\[[0-9a-fA-F:.]+\]|[^:\[\]]*):[0-9]{1,5}$", value):
        raise FlagsError("--%s must be HOST:PORT (HOST may be empty), got %r" % (LISTEN_ADDRESS, value))


def normalize_wanted(flags: dict) -> dict[str, str | None]:
    """Validate the module's ``flags`` option: flag name (with or without ``--``) to value or None."""
    wanted: dict[str, str | None] = {}
    for raw_name, value in (flags or {}).items():
        name = normalize_flag_name(str(raw_name))
        if name in wanted:
            raise FlagsError("flag --%s is given twice" % name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise FlagsError("--%s needs a string value (or null to remove it)" % name)
            value = str(value)
            validate_value(name, value)
        wanted[name] = value
    return wanted


# -- flags in a word list ----------------------------------------------------------------------------------
def _occurrences(words: list[str], name: str) -> list[tuple[int, int, str]]:
    """(index, word count, value) of every ``--name=value`` or ``--name value`` in ``words``."""
    out = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--%s=" % name):
            out.append((i, 1, word[len(name) + 3:]))
        elif word == "--%s" % name:
            if i + 1 < len(words):
                out.append((i, 2, words[i + 1]))
                i += 1
            else:
                out.append((i, 1, ""))
        i += 1
    return out


def current_flags(words: list[str], names) -> dict[str, str | None]:
    """The value Prometheus would see for each of ``names`` (the last occurrence), None when absent."""
    result = {}
    for name in names:
        found = _occurrences(words, name)
        result[name] = found[-1][2] if found else None
    return result


def apply_flags(words: list[str], wanted: dict[str, str | None]) -> list[str]:
    """Return ``words`` with each wanted flag set (in place, keeping its form) or removed (None).

    A flag present more than once keeps only its first place. New flags go to the end, in the order given.
    Every other word is kept as it is.
    """
    words = list(words)
    for name, value in wanted.items():
        found = _occurrences(words, name)
        if value is None:
            drop = {j for (i, n, _v) in found for j in range(i, i + n)}
            words = [w for j, w in enumerate(words) if j not in drop]
            continue
        if not found:
            words.append("--%s=%s" % (name, value))
            continue
        first_index, first_count, _first_value = found[0]
        replacement = ["--%s" % name, value] if first_count == 2 else ["--%s=%s" % (name, value)]
        drop = {j for (i, n, _v) in found[1:] for j in range(i, i + n)}
        new = []
        for j, word in enumerate(words):
            if j in drop:
                continue
            if j == first_index:
                new.extend(replacement)
            elif first_index < j < first_index + first_count:
                continue
            else:
                new.append(word)
        words = new
    return words


# -- Debian defaults file ----------------------------------------------------------------------------------
def _decode_assignment(rest: str) -> tuple[str, str, str]:
    """Split the text after ``NAME=`` into (value, quote style, trailing comment) like the shell would."""
    if rest == "" or rest[0] in " \t#":
        trailer = rest
        quote = '"'
        value = ""
    else:
        stream = io.StringIO(rest)
        lexer = shlex.shlex(stream, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            token = lexer.get_token()
        except ValueError as exc:
            raise FlagsError("cannot parse %r: %s" % (rest, exc)) from exc
        value = token or ""
        end = stream.tell()
        if end > 0 and rest[end - 1] in " \t":
            end -= 1  # the white space that ended the word belongs to the trailer
        trailer = rest[end:]
        quote = "'" if rest.startswith("'") else '"'
    if trailer.strip() and not trailer.lstrip().startswith("#"):
        raise FlagsError("unexpected text after the value: %r (quote the whole value)" % trailer.strip())
    return value, quote, trailer


def quote_shell_value(value: str, quote: str = '"') -> str:
    """Quote a value for a shell / systemd EnvironmentFile assignment."""
    if quote == "'" and "'" not in value:
        return "'%s'" % value
    escaped = re.sub(r'([\\"$`])', r"\\\1", value)
    return '"%s"' % escaped


class DefaultsFile:
    """A parsed shell-style defaults file with one variable holding the flags."""

    def __init__(self, text: str, variable: str = "ARGS"):
        self.lines = text.splitlines(keepends=True)
        self.variable = variable
        self.index = None
        self.value = ""
        self.quote = '"'
        self.lead = ""
        self.trailer = ""
        for i, line in enumerate(self.lines):
            body = line.rstrip("\r\n")
            match = _ASSIGN_RE.match(body)
            if not match or match.group("name") != variable:
                continue
            if body.endswith("\\"):
                raise FlagsError("%s is continued over several lines; put it on one line" % variable)
            try:
                value, quote, trailer = _decode_assignment(match.group("rest"))
            except FlagsError as exc:
                raise FlagsError("line %d (%s=): %s" % (i + 1, variable, exc)) from exc
            # The last assignment wins in the shell and in systemd, so it is the one edited.
            self.index, self.value, self.quote, self.trailer = i, value, quote, trailer
            self.lead = match.group("lead")
        if "$" in self.value or "`" in self.value:
            raise FlagsError(
                "%s uses shell expansion ($ or `): its value is not known without running it, so it is not "
                "edited" % variable
            )

    @property
    def words(self) -> list[str]:
        return self.value.split()

    def render(self, words: list[str]) -> str:
        """The file with the variable set to ``words``; unchanged words leave the file byte-identical."""
        if words == self.words:
            return "".join(self.lines)
        value = quote_shell_value(" ".join(words), self.quote)
        lines = list(self.lines)
        if self.index is None:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines.append("%s=%s\n" % (self.variable, value))
        else:
            old = lines[self.index]
            ending = old[len(old.rstrip("\r\n")):]
            trailer = self.trailer
            if trailer and not trailer[0].isspace():
                trailer = " " + trailer
            lines[self.index] = "%s%s=%s%s%s" % (self.lead, self.variable, value, trailer, ending)
        return "".join(lines)


# -- systemd drop-in ---------------------------------------------------------------------------------------
def unit_service_settings(text: str) -> dict[str, list[str]]:
    """Every ``KEY=value`` of the ``[Service]`` section of a unit file, continuation lines joined."""
    logical = []
    pending = ""
    for raw in text.splitlines():
        if pending:
            raw = pending + raw.lstrip()
            pending = ""
        if raw.rstrip().endswith("\\"):
            pending = raw.rstrip()[:-1] + " "
            continue
        logical.append(raw)
    if pending:
        logical.append(pending)
    section = None
    settings: dict[str, list[str]] = {}
    for line in logical:
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            continue
        if section == "Service" and "=" in stripped:
            key, value = stripped.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def unit_exec_start(text: str) -> str:
    """The effective ``ExecStart=`` of a unit file (the last one; an empty one resets the list)."""
    values = unit_service_settings(text).get("ExecStart", [])
    if not values or not values[-1]:
        raise FlagsError("has no ExecStart= in its [Service] section")
    return values[-1]


def unit_environment_files(text: str) -> list[str]:
    """The ``EnvironmentFile=`` paths of a unit file (a leading ``-`` marks an optional one)."""
    out = []
    for value in unit_service_settings(text).get("EnvironmentFile", []):
        for word in value.split():
            out.append(word[1:] if word.startswith("-") else word)
    return out


def split_exec_start(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise FlagsError("cannot parse ExecStart=%s: %s" % (command, exc)) from exc


def quote_systemd_word(word: str) -> str:
    if _SYSTEMD_BARE_RE.match(word):
        return word
    return '"%s"' % re.sub(r'([\\"])', r"\\\1", word)


def render_dropin(words: list[str], unit_file: str) -> str:
    command = " ".join(quote_systemd_word(w) for w in words)
    return "%s\n# Based on the ExecStart= of %s.\n[Service]\nExecStart=\nExecStart=%s\n" % (
        MANAGED_HEADER,
        unit_file,
        command,
    )


def _escape_percent(wanted: dict[str, str | None]) -> dict[str, str | None]:
    """systemd expands %-specifiers in ExecStart=; a literal % is written %%."""
    return {k: (v.replace("%", "%%") if v is not None else None) for k, v in wanted.items()}


# -- the backend -------------------------------------------------------------------------------------------
class PrometheusFlagsBackend:
    """Backend of promaccess.core.prometheus_flags; uses only module params, check/diff mode and file helpers."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.style = params["style"]
        self.path = params["path"] or DEFAULT_PATHS[self.style]
        self.result: dict = {"path": self.path, "changed": False, "restart_needed": False}

    def file_args(self, exists: bool) -> dict:
        args = self.module.load_file_common_arguments(self.module.params, path=self.path)
        if args.get("mode") is None and not exists:
            args["mode"] = "0644"
        return args

    def _read_text(self, path: str) -> str | None:
        try:
            raw = read_file(path)
        except FileWriteError as exc:
            raise FlagsError(str(exc)) from exc
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FlagsError("%s is not valid UTF-8 text (byte %d)" % (path, exc.start)) from exc

    def _check(self, words: list[str], names) -> dict:
        names = list(KNOWN_FLAGS) + [n for n in names if n not in KNOWN_FLAGS]
        effective = current_flags(words, names)
        params = self.module.params
        if params["check_prefix"] and (effective[EXTERNAL_URL_FLAG] or effective[ROUTE_PREFIX_FLAG]):
            problems = check_prefix_consistency(
                effective[EXTERNAL_URL_FLAG],
                effective[ROUTE_PREFIX_FLAG],
                params["proxy_location"],
                params["proxy_strip_prefix"],
            )
            if problems:
                raise FlagsError("refusing flags that cannot work together: " + "; ".join(problems))
        return effective

    def _check_environment(self, unit_text: str, base_words: list[str], wanted: dict) -> None:
        """Refuse a drop-in flag that the unit's environment file sets too: Prometheus rejects repeats."""
        variables = [w[1:].strip("{}") for w in base_words if w.startswith("$")]
        for env_file in unit_environment_files(unit_text):
            text = self._read_text(env_file)
            if text is None:
                continue
            for variable in variables:
                try:
                    words = DefaultsFile(text, variable).words
                except FlagsError:
                    continue
                for name, value in wanted.items():
                    if value is not None and _occurrences(words, name):
                        raise FlagsError(
                            "--%s is also set in %s of %s; Prometheus refuses a repeated flag, so remove it "
                            "there first (style=defaults_file does that)" % (name, variable, env_file)
                        )

    def run(self) -> dict:
        params = self.module.params
        wanted = normalize_wanted(params["flags"])
        before = self._read_text(self.path)
        if self.style == "defaults_file":
            if before is None and not params["create"]:
                raise FlagsError("%s does not exist and create=false" % self.path)
            try:
                document = DefaultsFile(before or "", params["variable"])
            except FlagsError as exc:
                raise FlagsError("%s: %s" % (self.path, exc)) from exc
            old_words = document.words
            new_words = apply_flags(old_words, wanted)
            after = document.render(new_words)
            if before is None and after == "":
                after = None
            self.result["args"] = new_words
        else:
            unit_file = params["unit_file"]
            unit_text = self._read_text(unit_file)
            if unit_text is None:
                raise FlagsError("unit file %s does not exist" % unit_file)
            try:
                base_words = split_exec_start(unit_exec_start(unit_text))
            except FlagsError as exc:
                raise FlagsError("%s %s" % (unit_file, exc)) from exc
            new_words = apply_flags(base_words, _escape_percent(wanted))
            self._check_environment(unit_text, base_words, wanted)
            after = render_dropin(new_words, unit_file)
            old_words = None
            self.result["exec_start"] = new_words
        effective = self._check(new_words, wanted)
        self.result["flags"] = effective
        changed = after is not None and after != before
        if self.style == "defaults_file":
            self.result["restart_needed"] = new_words != old_words
        else:
            self.result["restart_needed"] = changed
            self.result["daemon_reload_needed"] = changed
        if self.module._diff:
            self.result["diff"] = {
                "before_header": self.path,
                "after_header": self.path,
                "before": before or "",
                "after": after or "",
            }
        exists = before is not None
        if changed and self.style == "systemd_dropin" and not self.module.check_mode:
            directory = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(directory):
                try:
                    os.makedirs(directory, 0o755)
                except OSError as exc:
                    raise FlagsError("cannot create %s: %s" % (directory, exc.strerror or exc)) from exc
        file_args = self.file_args(exists)
        if changed and not self.module.check_mode:
            try:
                if params["backup"] and exists:
                    self.result["backup_file"] = self.module.backup_local(self.path)
                with staged_file(self.path, after.encode("utf-8")) as staged:
                    install_file(self.module, staged, self.path, file_args)
            except FileWriteError as exc:
                raise FlagsError(str(exc)) from exc
        if exists or (after is not None and not self.module.check_mode):
            changed = self.module.set_fs_attributes_if_different(file_args, changed)
        self.result["changed"] = changed
        return self.result
