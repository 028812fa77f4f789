"""``patch_module_args`` for the module tests on every claimed ansible-core.

ansible-core 2.19 and later have ``ansible.module_utils.testing.patch_module_args``; the older cores read a
module's arguments from ``ansible.module_utils.basic._ANSIBLE_ARGS`` (JSON), which this sets the same way.
``_ansible_inject_invocation`` (what -vvv sends: put ``invocation`` in the result) exists from 2.21 on; the
older cores always put ``invocation`` in the result (the controller strips it below -vvv) and refuse the
unknown key, so it is dropped for them.
"""

from __future__ import annotations

import contextlib
import json

from ansible.module_utils.common.parameters import PASS_VARS

try:
    from ansible.module_utils.testing import patch_module_args as _patch
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def _patch(args: dict):
        saved = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()  # pylint: disable=protected-access
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved  # pylint: disable=protected-access

_INJECT_KNOWN = "inject_invocation" in PASS_VARS


def patch_module_args(args: dict | None = None):
    """Run a module's ``main()`` with ``args`` as its arguments (a context manager)."""
    args = dict(args or {})
    if not _INJECT_KNOWN:
        args.pop("_ansible_inject_invocation", None)
    return _patch(args)
