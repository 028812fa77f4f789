"""``patch_module_args`` for the module tests on every claimed ansible-core.

ansible-core 2.19 and later have ``ansible.module_utils.testing.patch_module_args``; the older cores read a
module's arguments from ``ansible.module_utils.basic._ANSIBLE_ARGS`` (JSON), which this sets the same way. Those
cores always put ``invocation`` in a module's result (the controller strips it below -vvv) and do not know the
newer cores' ``_ansible_inject_invocation``, so it is dropped for them.
"""

from __future__ import annotations

import contextlib
import json

try:
    from ansible.module_utils.testing import patch_module_args  # pylint: disable=unused-import
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args: dict | None = None):
        saved = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
        args = {k: v for k, v in (args or {}).items() if k != "_ansible_inject_invocation"}
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()  # pylint: disable=protected-access
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved  # pylint: disable=protected-access
