# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credential minting, the hand-off plaintext format and the message to the recipient. Private to promaccess.core."""

from __future__ import annotations

import os
import re
import secrets
import string

from ansible_collections.promaccess.core.plugins.module_utils._common.users import name_problem, text_problem

#: What ``pwgen -s 64 1`` draws from.
ALPHABET = string.ascii_letters + string.digits
MINT_LENGTH = 64
#: Longest password bcrypt hashes without silently truncating.
MAX_PASSWORD_BYTES = 72


class CredentialError(Exception):
    """A credential that cannot be used. The message names the field, never its value."""


def mint(length: int = MINT_LENGTH) -> str:
    """A random string of ``length`` characters from [A-Za-z0-9], drawn with ``secrets``."""
    if length < 16:
        raise CredentialError("refusing to mint a credential shorter than 16 characters")
    return "".join(secrets.choice(ALPHABET) for _unused in range(length))


def check_field(field: str, value, what: str = "credential") -> None:
    """Refuse a user name or password the hand-off file, htpasswd or web config would mangle."""
    problem = name_problem(value) if field == "username" else text_problem(value)
    if problem:
        raise CredentialError("%s: %s %s" % (what, field, problem))
    if field == "password" and len(value.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise CredentialError(
            "%s: password is longer than %d bytes, which bcrypt would silently truncate" % (what, MAX_PASSWORD_BYTES)
        )


def check_url(url) -> None:
    if url is None:
        return
    if not isinstance(url, str) or not url or any(ord(c) < 32 or ord(c) == 127 for c in url) or " " in url:
        raise CredentialError("url %r must be a single token without spaces or control characters" % (url,))


# -- the hand-off plaintext (lives only in memory, then goes to age) ------------------------------------------

HANDOFF_HEADER = "# Prometheus credentials. Keep this file private; delete it once stored in a password manager."


def render_handoff(username: str, password: str, url: str | None = None) -> bytes:
    """The plaintext of ``credentials.txt``: ``key: value`` lines (url, username, password)."""
    check_field("username", username, "hand-off")
    check_field("password", password, "hand-off")
    check_url(url)
    lines = [HANDOFF_HEADER]
    if url:
        lines.append("url: %s" % url)
    lines.append("username: %s" % username)
    lines.append("password: %s" % password)
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_handoff(data: bytes) -> dict:
    """Read a decrypted hand-off back into a dict (tests, and recipients' tooling)."""
    out = {}
    for line in data.decode("utf-8").splitlines():
        if not line or line.startswith("#") or ": " not in line:
            continue
        key, value = line.split(": ", 1)
        out[key] = value
    return out


# -- the message to send with the file (never holds a secret) -------------------------------------------------

MESSAGE_TEMPLATE = """\
Hello {name}

We have provisioned credentials for you to access your Prometheus endpoint{url_part}.

Attached is an encrypted file containing the username/password pair. Please run

    age --decrypt -i key.txt -o {plain_name} {file_name}

to retrieve the contents.
{grace_part}{ca_part}
Personally Identifiable Information (PII) is at risk if the credentials are compromised. Please do not share \
these credentials through any insecure channels, and notify us immediately if you need to renew them.

Thanks!
"""


GRACE_TEMPLATE = """
This credential replaces the one you have. The old one keeps working until {until}: please switch every
client that uses it (a Grafana data source, a notebook, a script) before then. Once the new one is in use and
the old one has not been used for a while, the old one may be retired earlier.
"""

CA_TEMPLATE = """
The endpoint's certificate is signed by our own certificate authority, whose certificate is attached too
({ca_name}; it is public). Have your client trust it for this endpoint only (curl --cacert {ca_name}; in Grafana,
the data source's "With CA Cert" setting) rather than turning certificate checks off.
"""


def render_message(handoff_path: str, url: str | None = None, name: str | None = None,
                   ca_name: str | None = None, replaces_until: str | None = None) -> str:
    """The message that goes with the hand-off file: endpoint, decrypt command, the CA certificate sent along
    (``ca_name``, its file name beside the hand-off), until when the credential it replaces keeps working
    (``replaces_until``, ISO 8601 UTC), PII warning. No secret."""
    check_url(url)
    file_name = os.path.basename(handoff_path)
    plain_name = file_name[: -len(".age")] if file_name.endswith(".age") and len(file_name) > 4 else "credentials.txt"
    return MESSAGE_TEMPLATE.format(
        name=(name or "").strip() or "there",
        url_part=" from %s" % url if url else "",
        plain_name=plain_name,
        file_name=file_name,
        ca_part=CA_TEMPLATE.format(ca_name=ca_name) if ca_name else "",
        grace_part=GRACE_TEMPLATE.format(until=_until(replaces_until)) if replaces_until else "",
    )


def _until(value: str) -> str:
    """``2026-12-10T12:00:00Z`` as ``2026-12-10 12:00 UTC``; refused when it is no such time."""
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2})?Z$", str(value))
    if not match:
        raise CredentialError("replaces_until must be a UTC time such as 2026-12-10T12:00:00Z (got %r)" % (value,))
    return "%s %s UTC" % match.groups()
