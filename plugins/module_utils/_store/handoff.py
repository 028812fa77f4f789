# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The age hand-off file backend: encrypt one grant's credential, idempotently. Private to promaccess.core.

age output is randomised, so the file itself cannot tell whether it holds the wanted content. A sidecar
metadata file (JSON, 0600 like the hand-off file) records a salted scrypt digest of what was encrypted (the
plaintext, the recipients and the armor flag), the recipients in clear (public keys) and the SHA-256 of the
ciphertext. A run whose digest, recipients and ciphertext checksum all match changes nothing; anything else
encrypts anew. The plaintext exists only in memory, on its way to pyrage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets

from ansible_collections.promaccess.core.plugins.module_utils._common.io import (
    FileWriteError,
    install_file,
    read_file,
    staged_file,
)
from ansible_collections.promaccess.core.plugins.module_utils._store.age import AgeError, encrypt, load_recipients
from ansible_collections.promaccess.core.plugins.module_utils._store.credentials import (
    CredentialError,
    render_handoff,
    render_message,
)

DEFAULT_HANDOFF_MODE = "0600"
METADATA_SUFFIX = ".meta.json"
METADATA_VERSION = 1
_DOMAIN = b"promaccess.core age_handoff v1\x00"
#: scrypt cost: about 0.15 s and 16 MiB, so a weak caller-supplied password is slow to guess from the sidecar.
SCRYPT_PARAMS = {"n": 2**14, "r": 8, "p": 1}


class HandoffError(Exception):
    """Anything that stops a hand-off file from being written; the message never holds a secret."""


def content_digest(plaintext: bytes, recipients: list[str], armor: bool, salt: bytes, params: dict) -> str:
    """Salted, memory-hard digest of what was encrypted (never the secret itself)."""
    message = b"".join(
        [
            _DOMAIN,
            plaintext,
            b"\x00",
            "\n".join(sorted(recipients)).encode("utf-8"),
            b"\x00",
            b"armor" if armor else b"binary",
        ]
    )
    derived = hashlib.scrypt(
        message, salt=salt, n=params["n"], r=params["r"], p=params["p"], maxmem=64 * 1024 * 1024, dklen=32
    )
    return derived.hex()


class HandoffBackend:
    """Uses only ``module.params``, ``check_mode``, ``_diff`` and AnsibleModule's file helpers."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = self.params["path"]
        self.metadata_path = self.params["metadata_path"] or self.path + METADATA_SUFFIX
        self.result: dict = {"path": self.path, "metadata_path": self.metadata_path, "changed": False}

    def file_args(self, path: str) -> dict:
        args = self.module.load_file_common_arguments(self.params, path=path)
        if args.get("mode") is None:
            args["mode"] = DEFAULT_HANDOFF_MODE
        return args

    def _read_metadata(self) -> dict | None:
        try:
            raw = read_file(self.metadata_path)
        except FileWriteError as exc:
            raise HandoffError(str(exc)) from exc
        if raw is None:
            return None
        try:
            meta = json.loads(raw.decode("utf-8"))
        except ValueError:
            self.module.warn("%s is not valid JSON; the hand-off file is encrypted again" % self.metadata_path)
            return None
        return meta if isinstance(meta, dict) else None

    def _up_to_date(self, meta, ciphertext, plaintext, recipients, armor) -> bool:
        if meta is None or ciphertext is None or meta.get("version") != METADATA_VERSION:
            return False
        if meta.get("file_sha256") != hashlib.sha256(ciphertext).hexdigest():
            return False  # the hand-off file was replaced or edited since
        if meta.get("recipients") != sorted(recipients) or meta.get("armor") != armor:
            return False
        if meta.get("algorithm") != "scrypt" or not isinstance(meta.get("scrypt"), dict):
            return False
        try:
            params = {k: int(meta["scrypt"][k]) for k in ("n", "r", "p")}
            salt = base64.b64decode(meta["salt"], validate=True)
            wanted = content_digest(plaintext, recipients, armor, salt, params)
        except (KeyError, TypeError, ValueError):
            return False
        return hmac.compare_digest(wanted, str(meta.get("digest", "")))

    def run(self) -> dict:
        params = self.params
        try:
            recipients = load_recipients(params["recipients"], params["recipients_files"])
            plaintext = render_handoff(params["username"], params["password"], params["url"])
            message = render_message(self.path, params["url"], params["recipient_name"], params.get("ca_name"),
                                     params.get("replaces_until"))
        except (AgeError, CredentialError) as exc:
            raise HandoffError(str(exc)) from exc
        canonical = sorted(r.canonical for r in recipients)
        armor = params["armor"]
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise HandoffError("cannot write %s: directory %s does not exist" % (self.path, directory))
        try:
            ciphertext = read_file(self.path)
        except FileWriteError as exc:
            raise HandoffError(str(exc)) from exc
        meta = self._read_metadata()
        changed = not self._up_to_date(meta, ciphertext, plaintext, canonical, armor)

        self.result.update(recipients=canonical, armor=armor, message=message)
        if self.module._diff:
            self.result["diff"] = {
                "before_header": "%s (metadata)" % self.path,
                "after_header": "%s (metadata)" % self.path,
                "before": self._describe(meta) if ciphertext is not None and meta else "",
                "after": self._describe(
                    {"recipients": canonical, "armor": armor, "url": params["url"]},
                    "content: %s" % ("re-encrypted" if changed else "unchanged"),
                ),
            }

        file_args = self.file_args(self.path)
        meta_args = self.file_args(self.metadata_path)
        if changed and not self.module.check_mode:
            salt = secrets.token_bytes(16)
            try:
                new_ciphertext = encrypt(plaintext, recipients, armor)
            except AgeError as exc:
                raise HandoffError(str(exc)) from exc
            new_meta = {
                "version": METADATA_VERSION,
                "note": "Written by promaccess.core.age_handoff. Holds no secret: a salted digest of what was "
                "encrypted, to keep re-runs idempotent.",
                "recipients": canonical,
                "armor": armor,
                "url": params["url"],
                "algorithm": "scrypt",
                "scrypt": dict(SCRYPT_PARAMS),
                "salt": base64.b64encode(salt).decode("ascii"),
                "digest": content_digest(plaintext, canonical, armor, salt, SCRYPT_PARAMS),
                "file_sha256": hashlib.sha256(new_ciphertext).hexdigest(),
            }
            self._write(self.path, new_ciphertext, file_args)
            self._write(self.metadata_path, (json.dumps(new_meta, indent=2) + "\n").encode("utf-8"), meta_args)
        if ciphertext is not None or not self.module.check_mode:
            changed = self.module.set_fs_attributes_if_different(file_args, changed)
        if meta is not None or not self.module.check_mode:
            changed = self.module.set_fs_attributes_if_different(meta_args, changed)

        message_path = params["message_path"]
        if message_path:
            self.result["message_path"] = message_path
            changed = self._write_message(message_path, message.encode("utf-8")) or changed
        self.result["changed"] = changed
        return self.result

    def _write_message(self, path: str, content: bytes) -> bool:
        args = self.file_args(path)
        try:
            current = read_file(path)
        except FileWriteError as exc:
            raise HandoffError(str(exc)) from exc
        changed = current != content
        if changed and not self.module.check_mode:
            self._write(path, content, args)
        if current is not None or not self.module.check_mode:
            changed = self.module.set_fs_attributes_if_different(args, changed)
        return changed

    def _write(self, path: str, content: bytes, file_args: dict) -> None:
        try:
            with staged_file(path, content) as staged:
                install_file(self.module, staged, path, file_args)
        except FileWriteError as exc:
            raise HandoffError(str(exc)) from exc

    @staticmethod
    def _describe(meta: dict, extra: str = "") -> str:
        lines = ["recipients:"] + ["  - %s" % r for r in meta.get("recipients") or []]
        lines.append("armor: %s" % bool(meta.get("armor")))
        if meta.get("url"):
            lines.append("url: %s" % meta["url"])
        if extra:
            lines.append(extra)
        return "\n".join(lines) + "\n"
