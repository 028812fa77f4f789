# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument-spec builders shared by the modules, one per concern. Private to promaccess.core."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback


def user_set_spec() -> dict:
    """The user list and its policy: shared by every module that manages a set of basic-auth users."""
    return dict(
        users=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                name=dict(type="str", required=True),
                label=dict(type="str"),
                password=dict(type="str", no_log=True),
                password_hash=dict(type="str", no_log=True),
                state=dict(type="str", default="present", choices=["present", "absent"]),
            ),
            mutually_exclusive=[("password", "password_hash")],
        ),
        exclusive=dict(type="bool", default=False),
        bcrypt_rounds=dict(type="int", default=12),
        rehash=dict(type="str", default="never", choices=["never", "on_policy_change"]),
    )


def secret_file_spec() -> dict:
    """A local file holding hashes (mode, owner and group come from add_file_common_args)."""
    return dict(
        path=dict(type="path", required=True, aliases=["dest"]),
        create=dict(type="bool", default=True),
        backup=dict(type="bool", default=False),
    )


def fingerprint_key_spec() -> dict:
    """The key of the user-name fingerprints of the inspection modules (doc fragments _access_info, and
    credential_store_info): secret, so that the fingerprints of a report cannot be tested against guessed names."""
    return dict(type="str", no_log=True)


def credential_store_spec() -> dict:
    """The store file and the operator identity (doc fragment promaccess.core._credstore), with their env vars."""
    return dict(
        store=dict(type="path", required=True, fallback=(env_fallback, ["PROMACCESS_CREDENTIAL_STORE"])),
        identity=dict(type="path", required=True, fallback=(env_fallback, ["PROMACCESS_AGE_IDENTITY"])),
        sops_binary=dict(type="path", fallback=(env_fallback, ["PROMACCESS_SOPS_BINARY"])),
        sops_config=dict(type="path", fallback=(env_fallback, ["PROMACCESS_SOPS_CONFIG"])),
        run=dict(type="str"),
    )


def sops_file_spec() -> dict:
    """The sops binary and the operator identity for a sops file other than the store (helm_values_users): the
    same options and environment variables as credential_store_spec, the identity needed only for a sops file."""
    spec = credential_store_spec()
    return dict(identity=dict(spec["identity"], required=False), sops_binary=spec["sops_binary"],
                sops_config=spec["sops_config"])
