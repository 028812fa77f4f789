# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place that runs promtool on a staged file before it replaces a live one. Private to promaccess.core.

Used by the web_config and prometheus_scrape_auth backends, whose modules both carry the options ``promtool``
(name or path) and ``require_promtool``.
"""

from __future__ import annotations

import os


def find_promtool(module, error) -> str | None:
    """The path of promtool, or None when it is not found and not required (``error`` is raised when it is)."""
    wanted = module.params["promtool"] or "promtool"
    found = module.get_bin_path(wanted, required=False)
    if found is None and module.params["require_promtool"]:
        raise error("promtool (%s) was not found and require_promtool=true" % wanted)
    return found


def _message(out: str, err: str, staged_path: str, path: str) -> str:
    """promtool's complaint on one line, naming the live file instead of the staged one."""
    lines = [line.strip() for line in ("%s\n%s" % (out or "", err or "")).splitlines()]
    message = "; ".join(line for line in lines if line and not line.startswith("Checking "))
    return message.replace(staged_path, path).replace(os.path.basename(staged_path), os.path.basename(path))


def check_staged(module, check: str, staged_path: str, path: str, result: dict, error) -> None:
    """Run ``promtool check <check>`` on ``staged_path`` (the new content of ``path``).

    Without promtool (and ``require_promtool=false``) only a warning is given. Sets ``result["validated"]``
    when promtool ran, and raises ``error`` with promtool's message when it refused the file.
    """
    promtool = find_promtool(module, error)
    if promtool is None:
        module.warn("promtool was not found: %s was written without validation" % path)
        return
    rc, out, err = module.run_command([promtool, "check", check, staged_path])
    result["validated"] = rc == 0
    if rc != 0:
        raise error(
            "promtool check %s rejected the new %s, which was not written: %s"
            % (check, path, _message(out, err, staged_path, path))
        )
