# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The credential store as a sops file: the real ``sops`` binary encrypts and decrypts it. Private to promaccess.core.

Who can read the store is the store's own business: its recipients are the key groups in the file's ``sops``
metadata, set when the file is created by the first matching creation rule of the repository's ``.sops.yaml``,
and changed only by ``sops updatekeys`` (docs/credential_store.md). A write never chooses recipients:

- a new store is made by ``sops encrypt`` under the creation rules (run in the store's folder, as an operator's
  own ``sops`` would be, or with an explicit ``.sops.yaml``);
- an existing store is changed by ``sops set --value-stdin`` on a staged copy beside it: sops decrypts the data
  key with the operator's age identity and keeps every key group as it is, including those this machine cannot
  use (cloud KMS, PGP, Vault). Values that did not change keep their ciphertext, so a git diff shows only the
  grants that changed.

Plaintext only ever passes through pipes. The operator identity reaches sops as a file path
(``SOPS_AGE_KEY_FILE``, or ``SOPS_AGE_SSH_PRIVATE_KEY_FILE`` for an SSH key); other age and sops key settings of
the environment are removed so that the identity the task names is the one used.

sops runs through a *runner*, ``runner(cmd, data, set_env, unset_env, cwd) -> (rc, stdout, stderr)`` (bytes):
module_runner() wraps a module's ``run_command``; the controller's plugins use
plugin_utils/sops_runner.run.
"""

from __future__ import annotations

import json
import os
import shutil
import stat

from ansible_collections.promaccess.core.plugins.module_utils._common.io import staged_file
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import SAFE_LOADER, yaml

#: File names that make a new store a sops file (an existing one is recognised by its ``sops`` metadata).
SOPS_SUFFIXES = (".sops.yaml", ".sops.yml")
#: Key group kinds sops writes into a file's metadata, and the field naming each key.
KEY_KINDS = {
    "age": "recipient",
    "kms": "arn",
    "gcp_kms": "resource_id",
    "azure_kv": "vault_url",
    "hc_vault": "vault_address",
    "pgp": "fp",
}
#: sops exit codes (cmd/sops/codes) that have a cause worth naming.
_EXIT_CAUSES = {
    2: "cannot read the file",
    24: "cannot decrypt its MAC: the file is corrupted",
    25: "cannot decrypt its values: the file is corrupted",
    51: "its MAC does not match its values: the file is corrupted or was edited without sops",
    52: "it has no MAC: the file is corrupted or was edited without sops",
    61: "no .sops.yaml was found",
    111: "no recipient: no creation rule of .sops.yaml gives a key",
    128: "the operator identity is none of the file's recipients",
}
_AGE_ENV = (
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
    "SOPS_AGE_RECIPIENTS",
)


class SopsError(Exception):
    """sops is missing or refused. The message names the file and the cause, never a value of the file."""


def is_sops_path(path: str) -> bool:
    return path.endswith(SOPS_SUFFIXES)


def sops_metadata(raw: bytes):
    """The ``sops`` mapping of an encrypted YAML file, None when the bytes are not a sops YAML file."""
    try:
        document = yaml.load(raw.decode("utf-8"), Loader=SAFE_LOADER)  # nosec B506 - a safe loader
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    if isinstance(document, dict) and isinstance(document.get("sops"), dict):
        return document["sops"]
    return None


def recipients(metadata: dict) -> list[str]:
    """Every key of a file's metadata as ``kind:key``, top-level keys and key groups alike, in file order."""
    out = []
    groups = [metadata] + [g for g in metadata.get("key_groups") or [] if isinstance(g, dict)]
    for group in groups:
        for kind, field in KEY_KINDS.items():
            for entry in group.get(kind) or []:
                if isinstance(entry, dict) and entry.get(field):
                    out.append("%s:%s" % (kind, entry[field]))
    return out


def index_of(keys) -> str:
    """The sops index (``["a"]["web.yml"][0]``) of a key path: strings are mapping keys, ints list positions."""
    return "".join("[%d]" % key if isinstance(key, int) else "[%s]" % json.dumps(key) for key in keys)


class Sops:
    """The ``sops`` binary, run with one operator identity.

    ``subject`` names the file in the message for a missing binary ("the credential store", "values file X").
    """

    def __init__(self, identity_path: str, runner, binary: str | None = None, config: str | None = None,
                 subject: str = "the credential store"):
        self.identity_path = identity_path
        self.runner = runner
        self.config = config
        self.binary = self.find(binary, subject)

    @staticmethod
    def find(binary: str | None, subject: str = "the credential store") -> str:
        if binary:
            if os.path.isfile(binary) and os.access(binary, os.X_OK):
                return binary
            raise SopsError("sops binary %s does not exist or is not executable" % binary)
        found = shutil.which("sops")
        if not found:
            raise SopsError(
                "%s is a sops file, but no 'sops' binary is on PATH; install sops "
                "(https://github.com/getsops/sops) or give its path in sops_binary" % subject
            )
        return found

    def _env(self) -> dict:
        """The variables to set for sops (those of _AGE_ENV are removed first)."""
        env = {"SOPS_DISABLE_VERSION_CHECK": "1"}
        try:
            with open(self.identity_path, "rb") as handle:
                head = handle.read(64)
        except OSError as exc:
            raise SopsError("cannot read the operator identity %s: %s" % (self.identity_path, exc.strerror or exc)) from None
        if b"PRIVATE KEY-----" in head:
            env["SOPS_AGE_SSH_PRIVATE_KEY_FILE"] = self.identity_path
        else:
            env["SOPS_AGE_KEY_FILE"] = self.identity_path
        return env

    def _run(self, args: list, what: str, stdin: bytes | None = None, cwd: str | None = None) -> bytes:
        cmd = [self.binary] + (["--config", self.config] if self.config else []) + args
        try:
            rc, out, err = self.runner(cmd, stdin, self._env(), _AGE_ENV, cwd)
        except OSError as exc:
            raise SopsError("cannot run sops on %s: %s" % (what, exc)) from None
        if rc != 0:
            raise SopsError("sops refused %s (exit %d): %s" % (what, rc, self._cause(rc, err)))
        return out

    @staticmethod
    def _cause(rc: int, err: bytes) -> str:
        cause = _EXIT_CAUSES.get(rc)
        lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        # sops's first line names the failure; it never holds a value of the file.
        first = lines[0] if lines else ""
        if "no matching creation rules" in first:
            cause = "no creation rule of .sops.yaml matches the store's path"
        if cause and first:
            return "%s (%s)" % (cause, first)
        return cause or first or "no message"

    def decrypt(self, path: str, what: str | None = None) -> bytes:
        return self._run(
            ["decrypt", "--input-type", "yaml", "--output-type", "yaml", path], what or "credential store %s" % path
        )

    def encrypt_new(self, path: str, plaintext: bytes) -> bytes:
        """The ciphertext of a new store at ``path``, for the recipients of the first matching creation rule."""
        return self._run(
            ["encrypt", "--filename-override", os.path.abspath(path), "--input-type", "yaml",
             "--output-type", "yaml", "/dev/stdin"],
            "the new credential store %s" % path,
            stdin=plaintext,
            cwd=os.path.dirname(os.path.abspath(path)) or None,
        )

    def set(self, path: str, index: str, value_json: bytes, what: str) -> None:
        """``sops set`` one key of the file at ``path`` (a staged copy) to a JSON value read from stdin."""
        self._run(
            ["set", "--idempotent", "--input-type", "yaml", "--output-type", "yaml", "--value-stdin", path, index], what,
            stdin=value_json,
        )

    def update(self, path: str, raw: bytes, changes: list, what: str, check=None, keep_mode: bool = False) -> None:
        """Change an existing sops file key by key, its key groups untouched, and replace it atomically.

        ``raw`` (the file's bytes as read) is staged beside ``path``; each change ``(index, value_json)`` is a
        ``sops set`` of that index to a JSON value (bytes), in order; ``check(staged)`` may refuse the result
        (raise); then the staged copy is renamed over ``path``. sops sets no list as a whole (set the mapping
        that holds it) and counts a list's comments among its items (an item index may miss).
        Values that did not change keep their ciphertext. On any error ``path`` is left as it was. OSError and
        FileWriteError reach the caller, as SopsError does. ``keep_mode`` gives the new file the old one's mode
        (the staged copy is 0600).
        """
        with staged_file(path, raw) as staged:
            for index, value_json in changes:
                self.set(staged, index, value_json, what)
            if check is not None:
                check(staged)
            if keep_mode:
                os.chmod(staged, stat.S_IMODE(os.stat(path).st_mode))
            os.replace(staged, path)


def module_runner(module):
    """A runner on ``module.run_command`` (the module's own environment loses the variables to unset)."""

    def run(cmd, data, set_env, unset_env, cwd):
        for name in unset_env:
            os.environ.pop(name, None)
        rc, out, err = module.run_command(cmd, data=data, binary_data=True, environ_update=set_env, cwd=cwd,
                                          encoding=None, check_rc=False)
        return rc, out or b"", err or b""

    return run
