# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the controller's plugins (the credential lookup) run sops. Private to promaccess.core.

The runner interface of module_utils/_store/sops.py: ``run(cmd, data, set_env, unset_env, cwd)`` returns
``(rc, stdout, stderr)`` as bytes; plaintext only passes through pipes.
"""

from __future__ import annotations

import os
import subprocess

TIMEOUT = 120


def run(cmd, data, set_env, unset_env, cwd):
    env = {k: v for k, v in os.environ.items() if k not in unset_env}
    env.update(set_env)
    try:
        proc = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 124, b"", b"sops did not finish within %d s" % TIMEOUT
    return proc.returncode, proc.stdout, proc.stderr
