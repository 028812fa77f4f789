# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""age encryption through pyrage: recipients, identities, encrypt, decrypt. Private to promaccess.core.

Everything happens in memory: plaintext goes to pyrage as bytes and comes back as bytes. Error messages name
public values (recipients, file names, line numbers) and never a secret key or a plaintext.
"""

from __future__ import annotations

import traceback

PYRAGE_IMPORT_ERROR = None
try:
    import pyrage
    from pyrage import ssh as pyrage_ssh
    from pyrage import x25519 as pyrage_x25519
except ImportError:  # pragma: no cover - reported through missing_required_lib
    PYRAGE_IMPORT_ERROR = traceback.format_exc()
    pyrage = pyrage_ssh = pyrage_x25519 = None

SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
_SECRET_MARKERS = ("AGE-SECRET-KEY-", "PRIVATE KEY")
_SHOWN = 80
# The prefix of an age secret key line, spelled in two parts so that a grep for committed keys finds only real ones.
SECRET_KEY_PREFIX = "AGE-SECRET-KEY-" + "1"


class AgeError(Exception):
    """A recipient, identity or ciphertext that cannot be used. The message never holds a secret."""


def _require_pyrage() -> None:
    if PYRAGE_IMPORT_ERROR is not None:
        raise AgeError("the 'pyrage' Python package is required for age encryption; install pyrage")


def _show(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


def looks_secret(value: str) -> bool:
    """True for text that looks like an age or SSH private key (never echo it back)."""
    upper = value.upper()
    return any(marker in upper for marker in _SECRET_MARKERS)


class Recipient:
    """One parsed recipient: its canonical public text (for digests and display) and the pyrage object."""

    __slots__ = ("canonical", "kind", "key")

    def __init__(self, canonical: str, kind: str, key):
        self.canonical = canonical
        self.kind = kind
        self.key = key

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "Recipient(%r)" % (self.canonical,)


def parse_recipient(value, where: str = "recipient") -> Recipient:
    """Parse one recipient: ``age1...``, ``ssh-ed25519 AAAA... [comment]`` or ``ssh-rsa AAAA... [comment]``."""
    _require_pyrage()
    if not isinstance(value, str):
        raise AgeError("%s must be a string, got %s" % (where, type(value).__name__))
    text = value.strip()
    if looks_secret(text):
        raise AgeError(
            "%s looks like a private key (an age identity or SSH private key), not a public key; "
            "give the public key (age-keygen -y key.txt, or the .pub file); the value is not shown" % where
        )
    if not text:
        raise AgeError("%s is empty" % where)
    if text.startswith("age1"):
        try:
            key = pyrage_x25519.Recipient.from_str(text)
        except Exception as exc:  # pyrage.RecipientError; its message never echoes the input
            raise AgeError("%s %s is not a valid age recipient: %s" % (where, _show(text), exc)) from exc
        return Recipient(str(key), "x25519", key)
    fields = text.split()
    if fields[0] in SSH_KEY_TYPES:
        if len(fields) < 2:
            raise AgeError("%s %s has no key data after %s" % (where, _show(text), fields[0]))
        canonical = "%s %s" % (fields[0], fields[1])  # the comment is not part of the key
        try:
            key = pyrage_ssh.Recipient.from_str(canonical)
        except Exception as exc:
            raise AgeError("%s %s is not a valid SSH public key: %s" % (where, _show(text), exc)) from exc
        return Recipient(canonical, fields[0], key)
    raise AgeError(
        "%s %s is not a recipient age understands: expected age1..., ssh-ed25519 ... or ssh-rsa ..."
        % (where, _show(text))
    )


def read_recipients_file(path: str) -> list[Recipient]:
    """Recipients from a file in ``age -R`` format: one per line, blank lines and ``#`` comments ignored."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise AgeError("cannot read recipients file %s: %s" % (path, exc.strerror or exc)) from exc
    except UnicodeDecodeError as exc:
        raise AgeError("recipients file %s is not UTF-8 text" % path) from exc
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        out.append(parse_recipient(line, "%s line %d" % (path, number)))
    if not out:
        raise AgeError("recipients file %s holds no recipient" % path)
    return out


def load_recipients(recipients=None, recipients_files=None, extra: list[Recipient] | None = None) -> list[Recipient]:
    """All recipients from strings and files, de-duplicated in order. Refuses an empty result."""
    found: list[Recipient] = list(extra or [])
    for index, value in enumerate(recipients or []):
        found.append(parse_recipient(value, "recipients[%d]" % index))
    for path in recipients_files or []:
        found.extend(read_recipients_file(path))
    out, seen = [], set()
    for recipient in found:
        if recipient.canonical not in seen:
            seen.add(recipient.canonical)
            out.append(recipient)
    if not out:
        raise AgeError("no recipients: give at least one age or SSH public key, or a recipients file")
    return out


def encrypt(plaintext: bytes, recipients: list[Recipient], armor: bool = False) -> bytes:
    """Encrypt in memory to every recipient; ASCII-armored when ``armor``."""
    _require_pyrage()
    if not recipients:
        raise AgeError("no recipients to encrypt to")
    try:
        return pyrage.encrypt(plaintext, [r.key for r in recipients], armored=armor)
    except Exception as exc:  # pyrage.EncryptError
        raise AgeError("age encryption failed: %s" % exc) from exc


class Identities:
    """The identities of one identity file, and the public keys that can be derived from them."""

    def __init__(self, source: str, keys: list, public: list[Recipient]):
        self.source = source
        self.keys = keys
        self.public = public


def parse_identities(data: bytes, source: str) -> Identities:
    """Parse an identity file: age-keygen output (secret key lines, see SECRET_KEY_PREFIX) or an unencrypted SSH key."""
    _require_pyrage()
    if b"PRIVATE KEY-----" in data:
        try:
            key = pyrage_ssh.Identity.from_buffer(data)
        except Exception as exc:
            raise AgeError(
                "identity %s is not a usable SSH private key (passphrase-protected keys are not supported): %s"
                % (source, exc)
            ) from exc
        return Identities(source, [key], [])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AgeError("identity %s is neither an age identity file nor an SSH private key" % source) from exc
    keys, public = [], []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.upper().startswith(SECRET_KEY_PREFIX):
            raise AgeError("identity %s line %d is not an age secret key (the line is not shown)" % (source, number))
        try:
            key = pyrage_x25519.Identity.from_str(line)
        except Exception as exc:
            raise AgeError("identity %s line %d is not a valid age secret key: %s" % (source, number, exc)) from exc
        keys.append(key)
        pub = key.to_public()
        public.append(Recipient(str(pub), "x25519", pub))
    if not keys:
        raise AgeError("identity %s holds no age secret key" % source)
    return Identities(source, keys, public)


def read_identities(path: str) -> Identities:
    """Read and parse an identity file (``key.txt``)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise AgeError("cannot read identity file %s: %s" % (path, exc.strerror or exc)) from exc
    return parse_identities(data, path)


def decrypt(ciphertext: bytes, identities: Identities, what: str) -> bytes:
    """Decrypt binary or armored age data in memory; ``what`` names the data in errors."""
    _require_pyrage()
    try:
        return pyrage.decrypt(ciphertext, identities.keys)
    except Exception as exc:  # pyrage.DecryptError
        raise AgeError("cannot decrypt %s with identity %s: %s" % (what, identities.source, exc)) from exc
