# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run promaccess.core.age_handoff with pipelining only, so its secret arguments never touch a disk."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        if self._task.async_val:
            result.update(failed=True, msg="age_handoff does not support async: it would write the credential to a file")
            return result
        # Without pipelining, Ansible writes the module with its arguments (the password) into a temporary
        # file on the target. Turn pipelining on for this task, and refuse when the connection cannot do it.
        if self._connection.has_pipelining:
            try:
                self._connection.set_option("pipelining", True)
            except KeyError:
                pass
        if not self._is_pipelining_enabled("new"):
            result.update(
                failed=True,
                msg="age_handoff needs pipelining so that the credential is never written to a temporary file; "
                "this connection, become method or ANSIBLE_KEEP_REMOTE_FILES prevents it",
            )
            return result
        result.update(
            self._execute_module(module_name="promaccess.core.age_handoff", module_args=self._task.args, task_vars=task_vars)
        )
        return result
